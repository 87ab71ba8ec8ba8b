"""`usagectl verify` as a CI gate can't pass having checked nothing."""

import pytest
from clirun import run_in_process


def test_a_failing_watched_command_fails_the_gate():
    result = run_in_process("verify", "--run", "--json", "--", "sh", "-c", "exit 3")
    assert result.exit_code == 3, result
    envelope = result.json()
    assert envelope["exit_code"] == 3 and envelope["data"]["run"]["exit_status"] == 3
    assert any("exit status 3" in w["message"] for w in envelope["warnings"])


def test_a_passing_watched_command_passes():
    assert run_in_process("verify", "--run", "--", "true").exit_code == 0


def test_a_watched_command_stopped_by_the_timeout_fails_the_gate():
    result = run_in_process("verify", "--run", "--timeout", "0.5", "--", "sleep", "30")
    assert result.exit_code == 124, result


def test_a_trailing_command_without_run_is_refused():
    result = run_in_process("verify", "--", "pytest")
    assert result.exit_code == 2, result
    assert "--run" in result.stderr


@pytest.mark.parametrize("python", ["/bin/false", "/nonexistent/python"])
def test_a_python_that_is_not_one_is_refused(python):
    result = run_in_process("verify", "--python", python, "--json")
    assert result.exit_code == 2, result
    assert result.json()["error"]["file"] == python


def test_an_unreadable_framework_file_is_unknown_never_ok(isolated_home):
    assert run_in_process("disable").exit_code == 0
    (isolated_home / ".bacalhau" / "config.yaml").write_text("DisableAnalytics: [true\n")   # malformed
    result = run_in_process("verify", "bacalhau", "--json")
    assert result.exit_code == 7, result
    checks = {c["check"]: c for c in result.json()["data"]["checks"]}
    assert checks["settings"]["status"] == "unknown"
    human = run_in_process("verify", "bacalhau").stdout
    assert "UNKNOWN" in human and "can't tell whether" in human and "1 unknown" in human
    assert run_in_process("verify", "bacalhau", "--allow-unknown").exit_code == 0
    status = run_in_process("status", "bacalhau")
    assert "UNKNOWN" in status.stderr


def test_a_malformed_dask_file_is_unknown_too(isolated_home):
    assert run_in_process("disable").exit_code == 0
    (isolated_home / ".config" / "dask" / "broken.yaml").write_text("coiled: [\n")
    result = run_in_process("verify", "coiled", "--json")
    assert result.exit_code in (5, 7), result   # 5 if dask itself (in the probe) fails on it
    statuses = {c["check"]: c["status"] for c in result.json()["data"]["checks"]}
    assert statuses["settings"] == "unknown"
