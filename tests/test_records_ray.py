"""Ray payloads read back from real usage_stats.json files (fixtures from a real
`ray start --head`, see tests/fixtures/ray/README.md, and files written by Ray's own code)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from usagectl.frameworks.ray import records as ray_sessions

FIXTURES = Path(__file__).parent / "fixtures" / "ray"
ENABLED = FIXTURES / "enabled"
SESSION = "session_2026-11-24_00-02-40_976526_5951"

# Runs `usagectl show-last` whether or not the lead has registered the command yet.
#: The real console-script entry point, run as `python -c RUNNER show-last ...`.
RUNNER = "from usagectl.main import run; run()"


def show_last(*args, timeout=60):
    return subprocess.run([sys.executable, "-c", RUNNER, "show-last", *args], capture_output=True,
                          env=dict(os.environ), timeout=timeout)


def ray_write(session_dir, error=None, extra_tags=None, disabled=False, ts=1795478600000):
    """Write usage_stats.json in ``session_dir`` with Ray's own code (in a subprocess)."""
    code = """
import json, sys
from ray._common.usage import usage_lib as u
args = json.loads(sys.argv[1])
if args["disabled"]:
    data = u.generate_disabled_report_data()
else:
    data = u.UsageStatsToReport(schema_version="0.1", source="OSS", collect_timestamp_ms=args["ts"],
        seq_number=3, session_id="ab" * 28, ray_version="2.60.0", extra_usage_tags=args["tags"])
u.UsageReportClient().write_usage_data(u.generate_write_data(data, args["error"]), args["dir"])
"""
    os.makedirs(session_dir, exist_ok=True)
    args = {"dir": str(session_dir), "error": error, "tags": extra_tags, "disabled": disabled,
            "ts": ts}
    subprocess.run([sys.executable, "-c", code, json.dumps(args)], check=True, timeout=60,
                   env=dict(os.environ))
    return Path(session_dir) / "usage_stats.json"


def test_raw_is_byte_identical_to_json_dumps_of_usage_stats_and_to_the_post_body():
    result = show_last("ray", "--raw", "--path", str(ENABLED))
    assert result.returncode == 0, result
    document = json.loads((ENABLED / SESSION / "usage_stats.json").read_bytes())
    assert result.stdout == json.dumps(document["usage_stats"]).encode()
    # ...which is exactly what the real sink received for that report (seq 2 = third POST).
    assert result.stdout == (ENABLED / "sink" / "post-3.body").read_bytes()


@pytest.mark.parametrize("seq, post, outcome", [(0, 1, "sent"), (1, 2, "failed"), (2, 3, "failed")])
def test_each_real_snapshot_gives_the_posted_bytes_and_outcome(tmp_path, seq, post, outcome):
    session = tmp_path / "tmp" / "ray" / SESSION
    session.mkdir(parents=True)
    shutil.copy(ENABLED / "snapshots" / ("seq%d.usage_stats.json" % seq), session / "usage_stats.json")
    result = show_last("ray", "--json")  # found through TMPDIR/ray, no --path
    assert result.returncode == 0, result
    [payload] = json.loads(result.stdout)["data"]["frameworks"][0]["payloads"]
    assert payload["body"].encode() == (ENABLED / "sink" / ("post-%d.body" % post)).read_bytes()
    assert payload["outcome"] == outcome
    # The sink (tests/fixtures/ray/sink.py) received every one of these POSTs.
    assert payload["delivery"] == "delivered"
    if outcome == "failed":
        assert payload["reason"].startswith("500 Server Error")
        assert payload["http_status"] == 500
    assert payload["identifiers"]["session_id"] == "a368c6afa0ec8e95b9eb9160038d6d289c31b5c2577bba8b4f79c6cd"
    assert payload["identifiers"]["seq_number"] == str(seq)


def test_human_output_shows_session_id_outcome_and_destination(monkeypatch):
    # Not the URL this environment would use: the one in Ray's own error message.
    monkeypatch.setenv("RAY_USAGE_STATS_REPORT_URL", "https://elsewhere.example/")
    result = show_last("ray", "--path", str(ENABLED))
    out = result.stdout.decode()
    assert result.returncode == 0, result
    assert "session: a368c6afa0ec8e95b9eb9160038d6d289c31b5c2577bba8b4f79c6cd" in out
    # The sink answered 500: it received every byte, whatever Ray calls it.
    assert "FAILED, DELIVERED (HTTP 500: the server answered with an error, after receiving the data): " \
           "500 Server Error" in out
    assert "not sent" not in out
    assert "to:      http://127.0.0.1:8999/" in out
    assert '"seq_number": 2,' in out  # pretty-printed
    assert "disabled ping" in out  # the no-local-trace note


def test_file_written_by_rays_own_code_round_trips(tmp_path):
    path = ray_write(tmp_path / "tmp" / "ray" / "session_2026-11-25_10-00-00_000001_42", error=None,
                     extra_tags={"k": "v"})
    result = show_last("ray", "--raw")
    assert result.stdout == json.dumps(json.loads(path.read_bytes())["usage_stats"]).encode()


def test_newest_first_across_sessions_and_roots(tmp_path, monkeypatch):
    older = tmp_path / "tmp" / "ray" / "session_2026-11-20_10-00-00_000001_1"
    newer = tmp_path / "other" / "session_2026-11-22_10-00-00_000001_2"
    ray_write(older, error="boom", ts=1795000000000)
    ray_write(newer, error=None, ts=1795100000000)
    (tmp_path / "tmp" / "ray" / "session_latest").symlink_to(older)
    result = show_last("ray", "-n", "5", "--json", "--path", str(tmp_path / "other"))
    payloads = json.loads(result.stdout)["data"]["frameworks"][0]["payloads"]
    # session_latest is a link to `older`, not a third session.
    assert [p["identifiers"]["session_dir"] for p in payloads] == [newer.name, older.name]
    assert [p["outcome"] for p in payloads] == ["sent", "failed"]


def test_list_sessions_sorts_by_name_and_skips_latest_link(tmp_path):
    root = tmp_path / "r"
    for name in ("session_2026-01-02_00-00-00_000000_9", "session_2026-01-01_00-00-00_000000_10",
                 "not_a_session"):
        (root / "ray" / name).mkdir(parents=True)
    (root / "ray" / "session_latest").symlink_to(root / "ray" / "session_2026-01-02_00-00-00_000000_9")
    names = [s.name for s in ray_sessions.list_sessions([str(root)])]
    assert names == ["session_2026-01-02_00-00-00_000000_9", "session_2026-01-01_00-00-00_000000_10"]


def test_limit_opens_only_the_newest_sessions(tmp_path):
    root = tmp_path / "r" / "ray"
    for day in range(1, 6):
        (root / ("session_2026-01-%02d_00-00-00_000000_1" % day)).mkdir(parents=True)
    opened = []
    real = ray_sessions.read_session

    def spy(session, environ, trust=False):
        opened.append(session.name)
        return real(session, environ, trust)

    ray_sessions.read_session = spy
    try:
        ray_write(root / "session_2026-01-05_00-00-00_000000_1")
        payloads, _ = ray_sessions.scan({}, [str(tmp_path / "r")], limit=1)
    finally:
        ray_sessions.read_session = real
    assert len(payloads) == 1
    assert opened == ["session_2026-01-05_00-00-00_000000_1"]


def test_not_ray_format_is_skipped_with_a_reason(tmp_path):
    session = tmp_path / "tmp" / "ray" / "session_2026-11-25_10-00-00_000001_42"
    session.mkdir(parents=True)
    (session / "usage_stats.json").write_text('{"nope": 1}')
    result = show_last("ray", "--json")
    envelope = json.loads(result.stdout)
    assert envelope["data"]["frameworks"][0]["payloads"] == []
    assert any("not in Ray's usage_stats.json format" in w["message"] for w in envelope["warnings"])
