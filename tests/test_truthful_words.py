"""Smaller untruths, each checked where a user would meet it."""

import json
import os

from clirun import run_in_process


def test_drift_under_do_not_track_does_not_advise_a_sync_that_changes_nothing(cli, monkeypatch):
    assert run_in_process("enable").exit_code == 0          # recorded choice: on
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    result = run_in_process("status")
    drift = [line for line in result.stderr.splitlines() if "DRIFT" in line]
    assert drift, result.stderr
    for line in drift:
        assert "run `usagectl sync`" not in line and "usagectl disable" in line
    # ... and indeed sync changes nothing, and says so: not repaired, with the same fix.
    synced = run_in_process("sync")
    assert synced.exit_code == 9 and "Not repaired" in synced.stdout and "already match" not in synced.stdout
    assert all("usagectl disable" in line for line in synced.stderr.splitlines() if "NOT REPAIRED" in line)


def test_env_never_says_the_hook_enforces_on():
    assert run_in_process("enable").exit_code == 0
    out = run_in_process("env").stdout + json.dumps(run_in_process("env", "--json").json())
    assert "enforce on" not in out and "enforces on" not in out
    assert run_in_process("disable").exit_code == 0
    assert "enforces off at run time" in run_in_process("env").stdout


def test_sync_never_says_everything_matches_while_a_file_is_damaged(isolated_home):
    assert run_in_process("disable").exit_code == 0
    (isolated_home / ".ray" / "config.json").write_text('{"usage_stats": true, ')   # damaged
    result = run_in_process("sync")
    assert result.exit_code == 6, result
    assert "already match" not in result.stdout
    assert "Not applied to ray" in result.stdout


def test_no_message_or_page_claims_what_is_not_so(tmp_path):
    """#24 case 8: the README said coiled.yaml is never touched (disable removes a preload
    of coiled.analytics from whichever dask file sets it), and export ray-cluster's note said
    `usagectl status` names the disabled ping (it never does)."""
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md"), encoding="utf-8").read()
    assert "never touched" not in readme
    assert run_in_process("disable").exit_code == 0
    cluster = tmp_path / "c.yaml"
    cluster.write_text("head_start_ray_commands: [ray start --head]\nworker_start_ray_commands: []\n")
    result = run_in_process("export", "ray-cluster", str(cluster), "--json")
    notes = " ".join(result.json()["data"]["notes"])
    assert "disabled ping" in notes and "usagectl status` names" not in notes and "status names" not in notes
