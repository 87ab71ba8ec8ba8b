"""docs/exit-codes.md, "Damaged files: one table", cell by cell.

Each case damages one file, runs one command in-process, and checks the exit code, that
no traceback leaks, and (for read-only commands) that nothing was written.
"""

import json
import os

import pytest

from usagectl import consent

READ_ONLY = ["status", "preview", "env", "history", "show-last", "hook status"]
DAMAGED = 'schema = 1\n[default]\nmode = 3\n'


def _tree(root):
    found = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            found[path] = open(path, "rb").read()
    return found


@pytest.fixture
def damaged_consent(consent_file):
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_text(DAMAGED)
    return consent_file


@pytest.fixture
def damaged_policy(policy_file):
    policy_file.write_text('schema = 1\n[default]\nceiling = 3\n')
    return policy_file


@pytest.fixture
def damaged_ray(env):
    path = os.path.join(env.home, ".ray", "config.json")
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        handle.write('{"auth_token": "t", ')
    return path


@pytest.mark.parametrize("command", READ_ONLY)
@pytest.mark.parametrize("which", ["damaged_consent", "damaged_policy"])
def test_read_only_commands_exit_4_and_write_nothing(cli, tmp_path, request, command, which):
    request.getfixturevalue(which)
    before = _tree(tmp_path)
    result = cli(*command.split())
    assert result.exit_code == 4, (command, result.stderr)
    assert "treating every framework as off" in result.stderr
    assert "Traceback" not in result.stderr
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("which", ["damaged_consent", "damaged_policy"])
def test_verify_checks_against_off_and_fails_or_exits_4(cli, request, which):
    request.getfixturevalue(which)
    result = cli("verify", "--json")
    envelope = json.loads(result.stdout)
    assert envelope["data"]["counts"]["fail"] > 0  # nothing was synced: Ray's default is on
    assert result.exit_code == 5
    # Once the frameworks carry "off" (sync does, fail closed), only the damage remains: 4.
    cli("sync")
    after = cli("verify", "--json", "--allow-unknown")
    assert json.loads(after.stdout)["data"]["counts"]["fail"] == 0, after.stdout
    assert after.exit_code == 4


@pytest.mark.parametrize("command", ["enable", "local"])
@pytest.mark.parametrize("which", ["damaged_consent", "damaged_policy"])
def test_looser_choices_are_refused(cli, request, command, which):
    path = request.getfixturevalue(which)
    before = path.read_bytes()
    result = cli(command)
    assert result.exit_code == 4 and "Traceback" not in result.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize("command", ["disable", "reset"])
def test_stricter_choices_on_a_damaged_consent_file_need_repair(cli, damaged_consent, command):
    assert cli(command).exit_code == 4
    assert damaged_consent.read_text() == DAMAGED
    assert cli(command, "--repair").exit_code == 0
    assert consent.read_consent(str(damaged_consent)).problem is None


def test_disable_under_a_damaged_policy_is_written_and_exits_4(cli, damaged_policy, env):
    result = cli("disable")
    assert result.exit_code == 4
    assert consent.read_consent(env.consent_path).default.mode == "off"


@pytest.mark.parametrize("which", ["damaged_consent", "damaged_policy"])
def test_sync_carries_off_to_the_frameworks_and_exits_4(cli, env, request, which):
    request.getfixturevalue(which)
    result = cli("sync")
    assert result.exit_code == 4
    ray_config = json.load(open(os.path.join(env.home, ".ray", "config.json")))
    assert ray_config == {"usage_stats": False}


@pytest.mark.parametrize("command", READ_ONLY)
def test_read_only_commands_report_a_damaged_framework_file_and_exit_0(cli, damaged_ray, command):
    before = open(damaged_ray).read()
    result = cli(*command.split())
    assert result.exit_code == 0, (command, result.stderr)
    assert "auth_token" not in result.stdout + result.stderr  # content is never quoted
    assert open(damaged_ray).read() == before


@pytest.mark.parametrize("command", ["enable", "local", "disable", "sync"])
def test_writing_commands_leave_a_damaged_framework_file_and_exit_6(cli, damaged_ray, command, env):
    if command == "sync":
        cli("disable", "--consent-only")
    before = open(damaged_ray).read()
    result = cli(command)
    assert result.exit_code == 6, result.stderr
    assert open(damaged_ray).read() == before
    assert cli(command, "--repair").exit_code == 0
    assert json.load(open(damaged_ray))["usage_stats"] is (command in ("enable",))


def test_verify_with_a_damaged_framework_file_is_unknown_or_failed(cli, damaged_ray):
    cli("disable", "--consent-only")
    result = cli("verify", "ray", "--json")
    checks = [c for c in json.loads(result.stdout)["data"]["checks"] if c["check"] == "settings"]
    # consent says off; Ray ignores a broken config.json and falls back to on: a failure.
    assert [c["status"] for c in checks] == ["fail"], checks
    assert result.exit_code == 5
