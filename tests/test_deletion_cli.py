"""request-deletion's other ways out (mailto, file, dry run), confirmation, and what follows."""

import email
import os
import sys
import tomllib
from email import policy
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "deletion"))
from clirun import run_in_terminal  # noqa: E402
from servers import RAY_SESSION_ID, CertAuthority, SmtpServer, install_ray_session  # noqa: E402
from support import consent_path, ledger_records, run_cli, smtp_consent, write_settings  # noqa: E402

PASSWORD = "pw-cli-tests"


@pytest.fixture(autouse=True)
def ray_session():
    return install_ray_session(os.environ["TMPDIR"])


def test_mailto_url_is_percent_encoded_and_recorded_as_shown():
    result = run_cli("request-deletion", "ray", "--via", "mailto")
    assert result.exit_code == 0, result
    [url] = [line for line in result.stdout.splitlines() if line.startswith("mailto:")]
    assert " " not in url and "\n" not in url
    parts = urlsplit(url)
    assert unquote(parts.path) == "usage_stats@ray.io"
    query = parse_qs(parts.query)
    assert RAY_SESSION_ID in query["body"][0]
    assert "delete" in query["subject"][0]
    [record] = ledger_records()
    assert record["status"] == "shown"
    assert "not sent" in result.stderr


def test_file_writes_an_eml_and_never_claims_it_was_sent(tmp_path):
    out = tmp_path / "out"
    result = run_cli("request-deletion", "ray", "--via", "file", "--output", str(out))
    assert result.exit_code == 0, result
    [eml] = list(out.glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "usage_stats@ray.io"
    assert RAY_SESSION_ID in message.get_content()
    [record] = ledger_records()
    assert record["status"] == "written"
    assert message["Message-ID"] == record["message_id"]
    assert "not sent" in result.stderr


def test_dry_run_shows_the_message_and_records_nothing():
    result = run_cli("request-deletion", "ray", "--dry-run")
    assert result.exit_code == 0, result
    assert RAY_SESSION_ID in result.stdout
    assert "To: usage_stats@ray.io" in result.stdout
    assert ledger_records() == []


def test_framework_without_a_channel_is_said_plainly():
    result = run_cli("request-deletion", "parsl", "--yes")
    assert result.exit_code == 1, result
    assert "Parsl documents no way to ask for usage data to be deleted" in result.stderr
    assert "[deletion.parsl]" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_framework_named_is_a_usage_error():
    result = run_cli("request-deletion", "--yes")
    assert result.exit_code == 2, result
    assert "name the frameworks" in result.stderr


def test_declining_sends_and_records_nothing_then_yes_sends_and_offers_disable(tmp_path):
    ca = CertAuthority(str(tmp_path))
    with SmtpServer(tls_cert=ca.server_cert, password=PASSWORD) as server:
        settings = write_settings(smtp_consent(server.port, ca.cafile))
        env = {"USAGECTL_SMTP_PASSWORD": PASSWORD}
        piped = run_cli("request-deletion", "ray", "--via", "email", input="y\n", env=env)
        assert piped.exit_code == 2 and "--yes" in piped.stderr, piped  # a pipe is no one's answer
        assert server.recorder.messages == [] and ledger_records() == []

        declined = run_in_terminal("request-deletion", "ray", "--via", "email", answers="n\n", env=env)
        assert declined.exit_code == 0, declined
        assert RAY_SESSION_ID in declined.stdout  # the exact message was shown first
        assert server.recorder.messages == [] and server.recorder.auth_attempts == 0
        assert ledger_records() == []

        # "y" to send, "y" to the offer of `usagectl disable ray`.
        accepted = run_in_terminal("request-deletion", "ray", "--via", "email", answers="y\ny\n",
                                   env=env)
        assert accepted.exit_code == 0, accepted
        assert len(server.recorder.messages) == 1
    assert "usagectl verify" in accepted.stderr
    doc = tomllib.loads(consent_path().read_text())
    assert doc["frameworks"]["ray"]["mode"] == "off"
    assert "deletion" not in doc  # the decision file holds the decision only
    assert tomllib.loads(settings.read_text())["deletion"]["smtp"]["host"] == "127.0.0.1"


def test_json_lists_next_steps_while_the_framework_is_still_on(tmp_path):
    ca = CertAuthority(str(tmp_path))
    with SmtpServer(tls_cert=ca.server_cert, password=PASSWORD) as server:
        write_settings(smtp_consent(server.port, ca.cafile))
        result = run_cli("request-deletion", "ray", "--via", "email", "--yes", "--json",
                         env={"USAGECTL_SMTP_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result
    data = result.json()["data"]
    commands = [step["command"] for step in data["next_steps"]]
    assert commands == ["usagectl disable ray", "usagectl verify"]
    assert data["requests"][0]["status"] == "sent"
    assert RAY_SESSION_ID in data["requests"][0]["message"]


def test_a_crash_between_the_file_and_its_receipt_leaves_no_second_request(tmp_path, monkeypatch):
    """Killed after the .eml is written but before the ledger says "written": the next run
    finishes the same request (same id, same Message-ID, same file), never a second one."""
    from clirun import run_in_process

    from usagectl.deletion import ledger

    out = tmp_path / "out"
    real_save = ledger.Ledger.save

    def crash_on_receipt(self, record, status=None, **kwargs):
        if status == ledger.WRITTEN:
            raise KeyboardInterrupt  # stands for kill -9 right after the file landed
        return real_save(self, record, status=status, **kwargs)

    monkeypatch.setattr(ledger.Ledger, "save", crash_on_receipt)
    assert run_in_process("request-deletion", "ray", "--via", "file", "--output", str(out)).exit_code == 130
    monkeypatch.setattr(ledger.Ledger, "save", real_save)
    [pending] = ledger_records()
    assert pending["status"] == "pending"
    result = run_cli("request-deletion", "ray", "--via", "file", "--output", str(out))
    assert result.exit_code == 0, result
    [eml] = list(out.glob("*.eml"))
    [record] = ledger_records()
    assert record["id"] == pending["id"] and record["status"] == "written"
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["Message-ID"] == pending["message_id"]
