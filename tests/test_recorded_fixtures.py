"""Records each release of the version matrix wrote itself (tests/fixtures/matrix, made by
the matrix run: see its README), read by this usagectl in the default run, where the
older releases' venvs need not exist."""

import json
import re
from pathlib import Path

import pytest

MATRIX = Path(__file__).parent / "fixtures" / "matrix"


def _dirs(framework):
    found = sorted(p for p in MATRIX.glob(framework + "-*") if p.is_dir())
    return found or [pytest.param(None, marks=pytest.mark.skip(reason="no recorded %s fixtures" % framework))]


def _id(path):
    return path.name if path is not None else "none"


@pytest.mark.parametrize("recorded", _dirs("ray"), ids=_id)
def test_a_usage_stats_file_each_ray_release_wrote_is_shown_byte_for_byte(cli, tmp_path, recorded):
    session = tmp_path / "tmp" / "ray" / "session_2026-12-02_07-00-00_000001_4242"
    session.mkdir(parents=True)
    raw = (recorded / "usage_stats.json").read_bytes()
    (session / "usage_stats.json").write_bytes(raw)
    [payload] = cli("show-last", "ray", "--json").json()["data"]["frameworks"][0]["payloads"]
    written = json.loads(raw)
    assert payload["outcome"] == "sent" and written["success"] is True
    # The report as Ray posted it: the file's "usage_stats" object, unchanged.
    assert json.loads(payload["body"]) == written["usage_stats"]


@pytest.mark.parametrize("recorded", _dirs("parsl"), ids=_id)
def test_each_parsl_releases_own_log_gives_its_messages_or_says_there_are_none(cli, tmp_path, recorded):
    run = tmp_path / "runinfo" / "000"
    run.mkdir(parents=True)
    text = (recorded / "parsl.log").read_text(errors="replace")
    (run / "parsl.log").write_text(text)
    result = cli("show-last", "parsl", "--json", "-n", "5", "--path", str(tmp_path / "runinfo"))
    assert result.exit_code == 0, result.output
    payloads = result.json()["data"]["frameworks"][0]["payloads"]
    logged = re.findall(r"Usage tracking (start|end) message", text)
    # Releases with levels log each message before sending it; 2024.3 logs none.
    assert len(payloads) == len(logged)
    version = recorded.name.split("-", 1)[1]
    for payload in payloads:
        assert payload["outcome"] in ("logged-not-known-sent", "failed")
        assert ('"parsl_v": "%s' % version[:4]) in payload["body"] or '"end"' in payload["body"]


def test_parsl_s_sender_lines_pair_each_message_with_what_arrived(cli, tmp_path):
    """parsl.log of a run whose datagrams could arrive (the matrix README says how it was
    made): a message shown as sent is byte for byte a datagram that arrived; the one
    whose sender was still running when Parsl joined it stays not known to be sent."""
    import base64

    recorded = MATRIX / "parsl-2025.1.6"
    if not (recorded / "parsl-loopback.log").exists():
        pytest.skip("no recorded loopback run")
    run = tmp_path / "runinfo" / "000"
    run.mkdir(parents=True)
    (run / "parsl.log").write_bytes((recorded / "parsl-loopback.log").read_bytes())
    arrived = [base64.b64decode(d) for d in json.loads((recorded / "datagrams.json").read_text())]
    payloads = cli("show-last", "parsl", "--json", "-n", "5", "--path", str(tmp_path / "runinfo")
                   ).json()["data"]["frameworks"][0]["payloads"]
    by_kind = {p["kind"]: p for p in payloads}
    assert by_kind["start"]["outcome"] == "sent" and by_kind["start"]["body"].encode() in arrived
    assert "ended (exit 0) without logging a failure" in " ".join(by_kind["start"]["notes"])
    assert by_kind["end"]["outcome"] == "logged-not-known-sent"
    assert by_kind["end"]["body"].encode() in arrived  # it did arrive: the log alone can't say so


def test_a_sender_s_own_failure_line_fails_its_message(cli, tmp_path):
    """parsl-2025.1.6/parsl.log: both sender processes logged a name-resolution failure
    (the namespace had no DNS); each fails its own message, by pid."""
    run = tmp_path / "runinfo" / "000"
    run.mkdir(parents=True)
    (run / "parsl.log").write_bytes((MATRIX / "parsl-2025.1.6" / "parsl.log").read_bytes())
    payloads = cli("show-last", "parsl", "--json", "-n", "5", "--path", str(tmp_path / "runinfo")
                   ).json()["data"]["frameworks"][0]["payloads"]
    assert [(p["kind"], p["outcome"], p["delivery"]) for p in payloads] == [
        ("end", "failed", "not-delivered"), ("start", "failed", "not-delivered")]
    assert all("Temporary failure in name resolution" in p["reason"] for p in payloads)
    assert "pid 3" in " ".join(payloads[1]["notes"]) and "pid 7" in " ".join(payloads[0]["notes"])
