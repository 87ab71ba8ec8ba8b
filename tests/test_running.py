"""A Ray head started while usage stats were on keeps reporting after `usagectl disable`:
disable warns, status shows drift, verify fails until the head is restarted.

A real `ray start --head` inside isolated namespaces (tests/isolation.py), reporting to
a loopback sink (tests/fixtures/ray/sink.py) every 2 s.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import isolation
import pytest

SCRIPT = pathlib.Path(__file__).resolve().parent / "fixtures" / "ray" / "running_head.sh"


@pytest.mark.frameworks
@pytest.mark.netns
@pytest.mark.slow
def test_a_head_started_before_the_opt_out_is_named_until_it_stops(tmp_path):
    isolation.require()
    temp = tempfile.mkdtemp(prefix="ur-", dir="/tmp")   # short: AF_UNIX paths <= 107 bytes
    out = tmp_path / "out"
    out.mkdir()
    try:
        proc = subprocess.run(isolation.isolated(["sh", SCRIPT, sys.executable, temp, out]),
                              capture_output=True, text=True, timeout=400, env=dict(os.environ))
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "sink" / "post-1.body").exists(), (out / "ray_start.out").read_text()

    disable = json.loads((out / "disable.json").read_text())
    assert any("keeps reporting until it is restarted" in w["message"] for w in disable["warnings"]), \
        (out / "disable.err").read_text()
    (row,) = json.loads((out / "status.json").read_text())["data"]["frameworks"]
    assert row["mode"] == "off" and row["drift"] is True
    assert row["running"] and row["running"][0]["reporting"] is True
    verify = json.loads((out / "verify.json").read_text())
    assert (out / "verify.rc").read_text().strip() == "5"
    assert {c["check"]: c["status"] for c in verify["data"]["checks"]}["running"] == "fail"
    # What the sink saw proves the claim: reports kept coming after the opt-out.
    assert int((out / "reports_before_stop").read_text()) >= 2

    (after,) = json.loads((out / "status_after.json").read_text())["data"]["frameworks"]
    assert after["drift"] is False and after["running"] == []
    assert (out / "verify_after.rc").read_text().strip() == "0", (out / "verify_after.json").read_text()


def test_a_running_bacalhau_serve_is_judged_by_when_it_read_its_config(isolated_home):
    """A process called `bacalhau ... serve` (a stand-in: this machine has no Bacalhau
    binary) that started after usagectl wrote DisableAnalytics: true read that file, so
    it honours off; once the file changes under it, whether it does is unknown."""
    import time

    from clirun import run_in_process

    assert run_in_process("disable").exit_code == 0
    time.sleep(1.1)   # /proc start times have a 10 ms tick; file times 1 s on some filesystems
    stand_in = subprocess.Popen(["bacalhau", "-c", "import time; time.sleep(60)", "serve"],
                                executable=sys.executable)
    try:
        time.sleep(0.5)
        checks = {c["check"]: c for c in run_in_process("verify", "bacalhau", "--json").json()["data"]["checks"]}
        assert checks["running"]["status"] == "pass", checks["running"]
        time.sleep(1.1)
        config = isolated_home / ".bacalhau" / "config.yaml"
        config.write_text(config.read_text() + "# edited after it started\n")
        result = run_in_process("verify", "bacalhau", "--json")
        checks = {c["check"]: c for c in result.json()["data"]["checks"]}
        assert checks["running"]["status"] == "unknown", checks["running"]
        assert "pid %d" % stand_in.pid in json.dumps(checks["running"]["evidence"])
        assert result.exit_code == 7
    finally:
        stand_in.kill()
        stand_in.wait()
