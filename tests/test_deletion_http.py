"""request-deletion --via http against a real HTTPS server on 127.0.0.1 (trustme CA)."""

import datetime
import email.utils
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "deletion"))
from servers import CertAuthority, HttpsServer  # noqa: E402
from support import ledger_records, ledger_text, run_cli, write_settings  # noqa: E402

from usagectl.deletion import deliver_http  # noqa: E402
from usagectl.deletion.channels import HttpSettings  # noqa: E402

TOKEN = "tok-9f8e7d6c5b4a-secret"
PARSL_LOG = Path(__file__).resolve().parent / "fixtures" / "parsl" / "runinfo" / "000" / "parsl.log"
PARSL_CORRELATOR = "92c5290d-77eb-4108-9628-e00da3122fc0"


@pytest.fixture
def ca(tmp_path):
    return CertAuthority(str(tmp_path), "ca")


@pytest.fixture
def parsl_run(tmp_path):
    """The real Parsl 2026.10.26 log, where `./runinfo` puts it (the tests' cwd is tmp_path)."""
    target = tmp_path / "runinfo" / "000"
    target.mkdir(parents=True)
    (target / "parsl.log").write_bytes(PARSL_LOG.read_bytes())
    return target


def _consent(url, cafile):
    return ('[deletion.parsl]\nurl = "%s"\n\n[deletion.http]\ncafile = "%s"\n' % (url, cafile))


def test_500_then_429_then_201_is_one_request_with_one_idempotency_key(parsl_run, ca):
    script = [(500, {}), (429, {"Retry-After": "1"}), (201, {})]
    with HttpsServer(ca.server_cert, script) as server:
        write_settings(_consent(server.url, ca.cafile))
        result = run_cli("request-deletion", "parsl", "--via", "http", "--yes", "--json",
                         env={"USAGECTL_HTTP_TOKEN": TOKEN})
        assert result.exit_code == 0, result
        requests = server.requests
    assert len(requests) == 3
    keys = {r["headers"]["Idempotency-Key"] for r in requests}
    assert len(keys) == 1
    assert {r["headers"]["Authorization"] for r in requests} == {"Bearer " + TOKEN}
    bodies = {r["body"] for r in requests}
    assert len(bodies) == 1  # the same logical request every time
    payload = json.loads(requests[0]["body"])
    assert payload["identifiers"]["correlator"] == [PARSL_CORRELATOR]
    assert payload["identifiers"]["project_name"] == ["usagectl-fixture"]

    [record] = ledger_records()
    assert record["status"] == "sent"
    assert record["idempotency_key"] == keys.pop()
    assert record["idempotency_key"].endswith(record["id"])
    assert record["attempts"] == 3
    assert record["response"]["status"] == 201
    envelope = result.json()
    assert envelope["data"]["requests"][0]["status"] == "sent"
    for text in (result.stdout, result.stderr, ledger_text()):
        assert TOKEN not in text

    # Run again: nothing new to send, nothing resent.
    with HttpsServer(ca.server_cert, []) as server:
        write_settings(_consent(server.url, ca.cafile))
        again = run_cli("request-deletion", "parsl", "--via", "http", "--yes",
                        env={"USAGECTL_HTTP_TOKEN": TOKEN})
        assert again.exit_code == 0, again
        assert server.requests == []


def test_client_error_is_not_retried_and_rerun_reuses_the_key(parsl_run, ca):
    with HttpsServer(ca.server_cert, [(400, {})]) as server:
        write_settings(_consent(server.url, ca.cafile))
        result = run_cli("request-deletion", "parsl", "--via", "http", "--yes",
                         env={"USAGECTL_HTTP_TOKEN": TOKEN})
        assert result.exit_code == 1, result
        assert len(server.requests) == 1
        assert "HTTP 400" in result.stderr
    [failed] = ledger_records()
    assert failed["status"] == "failed"
    with HttpsServer(ca.server_cert, [(200, {})]) as server:
        write_settings(_consent(server.url, ca.cafile))
        result = run_cli("request-deletion", "parsl", "--via", "http", "--yes",
                         env={"USAGECTL_HTTP_TOKEN": TOKEN})
        assert result.exit_code == 0, result
        assert [r["headers"]["Idempotency-Key"] for r in server.requests] == [failed["idempotency_key"]]
    [record] = ledger_records()
    assert record["status"] == "sent" and record["id"] == failed["id"]


def test_untrusted_https_certificate_sends_nothing(parsl_run, ca, tmp_path):
    other = CertAuthority(str(tmp_path), "other")
    with HttpsServer(other.server_cert, [(201, {})]) as server:
        write_settings(_consent(server.url, ca.cafile))
        result = run_cli("request-deletion", "parsl", "--via", "http", "--yes",
                         env={"USAGECTL_HTTP_TOKEN": TOKEN})
        assert result.exit_code == 1, result
        assert "failed verification" in result.stderr
        assert server.requests == []


def test_plain_http_url_is_refused_with_file_and_line(parsl_run):
    path = write_settings('[deletion.parsl]\nurl = "http://127.0.0.1:9/x"\n')
    result = run_cli("request-deletion", "parsl", "--via", "http", "--yes")
    assert result.exit_code == 2, result
    assert "%s line 2" % path in result.stderr
    assert "https://" in result.stderr
    assert "Traceback" not in result.stderr


def test_retry_after_seconds_and_http_date():
    now = datetime.datetime(2026, 11, 24, 12, 0, 0, tzinfo=datetime.timezone.utc)
    later = email.utils.format_datetime(now + datetime.timedelta(seconds=7), usegmt=True)
    assert deliver_http.retry_after_seconds("3") == 3.0
    assert deliver_http.retry_after_seconds(later, now=now) == 7.0
    assert deliver_http.retry_after_seconds("soon") is None
    assert deliver_http.retry_after_seconds(None) is None


def test_retries_are_bounded_in_count_and_time(ca, monkeypatch):
    """Retry-After beyond the total budget stops at once instead of sleeping."""
    slept = []
    with HttpsServer(ca.server_cert, [(503, {"Retry-After": "3600"})]) as server:
        with pytest.raises(deliver_http.DeliveryError) as info:
            deliver_http.post(server.url, b"{}", None, "k-1", HttpSettings(ca.cafile, 5.0),
                              sleep=slept.append)
        assert len(server.requests) == 1
    assert slept == []
    assert "limit" in info.value.reason

    with HttpsServer(ca.server_cert, [(502, {})] * 10) as server:
        with pytest.raises(deliver_http.DeliveryError):
            deliver_http.post(server.url, b"{}", None, "k-2", HttpSettings(ca.cafile, 5.0),
                              sleep=slept.append)
        assert len(server.requests) == deliver_http.MAX_ATTEMPTS
    assert slept == [1.0, 2.0, 4.0]
