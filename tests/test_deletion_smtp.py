"""request-deletion --via email against a real aiosmtpd server on 127.0.0.1.

STARTTLS with a trustme CA, AUTH required (and only over TLS). The message must arrive
exactly once with the right identifiers; servers without STARTTLS or with a certificate
we don't trust are refused before AUTH; a SIGKILL between the ledger write and the send
still ends with exactly one delivery.
"""

import email
import os
import sys
import time
from email import policy
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "deletion"))
from servers import RAY_SESSION_ID, CertAuthority, SmtpServer, install_ray_session  # noqa: E402
from support import ledger_records, ledger_text, popen_cli, run_cli, smtp_consent, write_settings  # noqa: E402

PASSWORD = "s3cret-smtp-pw"
# The no-STARTTLS server is insecure on purpose; aiosmtpd warns about exactly that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def ray_session():
    return install_ray_session(os.environ["TMPDIR"])


@pytest.fixture
def ca(tmp_path):
    return CertAuthority(str(tmp_path), "trusted-ca")


def _send(*extra, env=None):
    environ = {"USAGECTL_SMTP_PASSWORD": PASSWORD}
    environ.update(env or {})
    return run_cli("request-deletion", "ray", "--via", "email", "--yes", *extra, env=environ)


def test_message_arrives_once_with_the_session_id(ray_session, ca):
    with SmtpServer(tls_cert=ca.server_cert, password=PASSWORD) as server:
        write_settings(smtp_consent(server.port, ca.cafile))
        result = _send()
        assert result.exit_code == 0, result
        assert len(server.recorder.messages) == 1
        assert server.recorder.logins == [("alice", PASSWORD)]
        message = email.message_from_bytes(server.recorder.messages[0], policy=policy.default)
        assert message["To"] == "usage_stats@ray.io"
        assert message["From"] == "alice@example.org"
        assert RAY_SESSION_ID in message.get_content()
        assert server.recorder.envelopes == [("alice@example.org", ["usage_stats@ray.io"])]

        records = ledger_records()
        assert len(records) == 1
        record = records[0]
        assert record["status"] == "sent"
        assert message["Message-ID"] == record["message_id"]
        assert record["id"] in record["message_id"]
        assert "queued as TEST1" in record["response"]["reply"]
        assert [e["status"] for e in record["events"]] == ["pending", "sent"]
        assert record["identifiers"] == [{"kind": "session_id", "value": RAY_SESSION_ID}]

        # Running again never duplicates a sent request.
        again = _send()
        assert again.exit_code == 0, again
        assert len(server.recorder.messages) == 1
        assert "already sent" in again.stderr
        assert len(ledger_records()) == 1

        status = run_cli("request-deletion", "--status", "--json")
        assert status.exit_code == 0, status
        [row] = status.json()["data"]["requests"]
        assert row["status"] == "sent" and row["id"] == record["id"]
    for text in (result.stdout, result.stderr, again.stdout, again.stderr, status.stdout, ledger_text()):
        assert PASSWORD not in text


def test_server_without_starttls_is_refused_before_auth(ray_session, ca):
    with SmtpServer(tls_cert=None, password=PASSWORD) as server:
        write_settings(smtp_consent(server.port, ca.cafile))
        result = _send()
        assert result.exit_code == 1, result
        assert "does not offer STARTTLS" in result.stderr
        assert "Traceback" not in result.stderr
        assert server.recorder.auth_attempts == 0
        assert server.recorder.logins == []
        assert server.recorder.messages == []
    [record] = ledger_records()
    assert record["status"] == "failed"
    assert "STARTTLS" in record["reason"]


def test_untrusted_certificate_is_refused_before_auth(ray_session, ca, tmp_path):
    other = CertAuthority(str(tmp_path), "untrusted-ca")
    with SmtpServer(tls_cert=other.server_cert, password=PASSWORD) as server:
        write_settings(smtp_consent(server.port, ca.cafile))  # we trust `ca`, not `other`
        result = _send()
        assert result.exit_code == 1, result
        assert "failed verification" in result.stderr
        assert "Traceback" not in result.stderr
        assert server.recorder.auth_attempts == 0
        assert server.recorder.messages == []
    [record] = ledger_records()
    assert record["status"] == "failed"

    # Fixing the trust and running again resends the same request (same Message-ID).
    with SmtpServer(tls_cert=ca.server_cert, password=PASSWORD) as server:
        write_settings(smtp_consent(server.port, ca.cafile))
        result = _send()
        assert result.exit_code == 0, result
        assert len(server.recorder.messages) == 1
        message = email.message_from_bytes(server.recorder.messages[0], policy=policy.default)
    [resent] = ledger_records()
    assert resent["id"] == record["id"]
    assert message["Message-ID"] == record["message_id"]
    assert resent["status"] == "sent"
    assert [e["status"] for e in resent["events"]] == ["pending", "failed", "pending", "sent"]


def test_sigkill_between_ledger_write_and_send_delivers_exactly_once(ray_session, ca):
    with SmtpServer(tls_cert=ca.server_cert, password=PASSWORD) as server:
        write_settings(smtp_consent(server.port, ca.cafile))
        proc = popen_cli("request-deletion", "ray", "--via", "email", "--yes",
                         env={"USAGECTL_SMTP_PASSWORD": PASSWORD, "USAGECTL_TEST_PAUSE_BEFORE_SEND": "60"})
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not ledger_records():
                time.sleep(0.05)
            records = ledger_records()
            assert records and records[0]["status"] == "pending", "no pending record was written"
        finally:
            proc.kill()  # SIGKILL: no cleanup runs
            proc.communicate(timeout=10)
        assert proc.returncode == -9
        assert server.recorder.messages == []
        [pending] = ledger_records()

        result = _send()
        assert result.exit_code == 0, result
        assert len(server.recorder.messages) == 1
        message = email.message_from_bytes(server.recorder.messages[0], policy=policy.default)
        assert message["Message-ID"] == pending["message_id"]

        third = _send()
        assert third.exit_code == 0, third
        assert len(server.recorder.messages) == 1
    [record] = ledger_records()
    assert record["id"] == pending["id"] and record["status"] == "sent"
