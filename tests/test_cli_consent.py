"""The core commands as a user runs them: enable/disable/local/status/history."""

import json
import os
import stat

import pytest

KNOWN = ("ray", "parsl", "bacalhau", "coiled")


def rows(result):
    return {row["framework"]: row for row in result.json()["data"]["frameworks"]}


def test_disable_then_status_all_off_by_consent_file(cli):
    assert cli("disable").exit_code == 0
    result = cli("status", "--json")
    assert result.exit_code == 0, result
    envelope = result.json()
    assert envelope["schema"] == 1 and envelope["command"] == "status" and envelope["ok"] is True
    for name in KNOWN:
        assert rows(result)[name]["mode"] == "off"
        assert rows(result)[name]["source"] == "consent:default"
        assert rows(result)[name]["since"].endswith("Z")


def test_enable_then_do_not_track_wins(cli):
    assert cli("enable").exit_code == 0
    assert all(r["mode"] == "on" for r in rows(cli("status", "--json")).values())
    result = cli("status", "--json", env={"DO_NOT_TRACK": "1"})
    for name in KNOWN:
        assert rows(result)[name]["mode"] == "off"
        assert rows(result)[name]["source"] == "do-not-track"
        assert rows(result)[name]["decided_by"] == "DO_NOT_TRACK"


def test_status_without_choices_says_own_default_applies(cli):
    result = cli("status", "--json")
    ray = rows(result)["ray"]
    assert (ray["mode"], ray["source"], ray["own_default"]) == ("unset", "unset", "on")
    assert "own default applies" in ray["reason"]
    human = cli("status")
    assert "unset (on)" in human.stdout and "framework's own default" in human.stdout


def test_named_enable_under_a_default_off_explains_why_it_stays_off(cli):
    cli("disable")
    result = cli("enable", "ray")
    assert result.exit_code == 0
    assert "ray stays off" in result.stderr and "default entry" in result.stderr
    assert rows(cli("status", "--json", "ray"))["ray"]["mode"] == "off"


def test_policy_ceiling_refuses_enable_and_status_shows_lock(cli, policy_file, consent_file):
    policy_file.write_text('schema = 1\n[frameworks.ray]\nceiling = "off"\n'
                           'message = "Ray telemetry is off by site rule 12"\n')
    result = cli("enable", "ray")
    assert result.exit_code == 3, result
    assert result.stderr.count("\n") == 1 and str(policy_file) in result.stderr
    assert "site rule 12" in result.stderr
    assert not consent_file.exists()  # refused before anything was written
    status = cli("status", "--json")
    ray = rows(status)["ray"]
    assert (ray["mode"], ray["locked"], ray["source"]) == ("off", True, "policy")
    assert "locked by policy" in cli("status").stdout
    # Stricter than the ceiling is always fine.
    assert cli("disable", "ray").exit_code == 0
    # enable --json carries the refusal in the envelope too
    refused = cli("enable", "ray", "--json")
    assert refused.exit_code == 3 and refused.json()["error"]["kind"] == "policy_refused"


def test_policy_level_ceiling_refuses_uncapped_enable(cli, policy_file):
    policy_file.write_text('schema = 1\n[frameworks.parsl]\nceiling = "on"\nlevel = 1\n')
    assert cli("enable", "parsl").exit_code == 3
    assert cli("enable", "parsl", "--level", "2").exit_code == 3
    ok = cli("enable", "parsl", "--level", "1", "--json")
    assert ok.exit_code == 0, ok
    assert rows(cli("status", "--json", "parsl"))["parsl"]["level"] == 1


DAMAGED = {
    "truncated": b'schema = 1\n[default]\nmode = "of',
    "binary": b"\x00\x01\x02\xff\xfe binary \x89PNG",
    "wrong type": b"schema = 1\n[default]\nmode = 0\n",
}


@pytest.mark.parametrize("kind", sorted(DAMAGED))
def test_damaged_consent_file_is_off_named_exit_4_and_untouched(cli, consent_file, kind):
    data = DAMAGED[kind]
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_bytes(data)
    result = cli("status", "--json")
    assert result.exit_code == 4, result
    assert all(r["mode"] == "off" and r["source"] == "damaged:consent" for r in rows(result).values())
    warnings = result.json()["warnings"]
    # One warning names the damaged file; any others are drift of frameworks whose own
    # settings still say on, or a framework nothing enforces (true: they would send,
    # whatever usagectl assumes).
    damage = [w for w in warnings if w["file"] == str(consent_file)]
    assert len(damage) == 1 and "treating every framework as off" in damage[0]["message"]
    assert all("DRIFT" in w["message"] or "NOT ENFORCED" in w["message"] for w in warnings if w not in damage)
    assert result.stderr.count(str(consent_file)) == 1
    human = cli("status")
    assert human.exit_code == 4 and "Traceback" not in human.stderr
    # writing commands refuse to touch it without --repair
    for args in (("disable",), ("enable", "ray"), ("local",)):
        refused = cli(*args)
        assert refused.exit_code == 4 and "--repair" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert consent_file.read_bytes() == data


def test_repair_keeps_a_byte_identical_backup_and_stays_off(cli, consent_file):
    data = b'schema = 1\n[default]\nmode = "of'
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_bytes(data)
    result = cli("enable", "ray", "--repair", "--json")
    assert result.exit_code == 0, result
    backup = result.json()["data"]["backup"]
    assert backup and open(backup, "rb").read() == data
    # The damaged file meant "off for all"; the repaired one keeps that until the user says otherwise.
    status = rows(cli("status", "--json"))
    assert status["ray"]["mode"] == "off" and status["parsl"]["mode"] == "off"
    assert status["parsl"]["source"] == "consent:default"
    history = cli("history", "--json").json()["data"]["entries"]
    assert history[0]["event"] == "repair" and history[0]["backup"] == backup


def test_comments_and_unknown_keys_survive_enable_disable(cli, consent_file):
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    original = ('# my own notes about telemetry\nschema = 1\nteam = "physics"  # who owns this\n\n'
                '[default]\n# keep everything off on the cluster\nmode = "off"\n\n'
                '[frameworks.ray]\nmode = "off"\nticket = "OPS-42"\n')
    consent_file.write_text(original)
    assert cli("enable", "ray").exit_code == 0
    assert cli("enable").exit_code == 0
    assert cli("disable", "parsl").exit_code == 0
    assert cli("local", "ray").exit_code == 0
    text = consent_file.read_text()
    for kept in ("# my own notes about telemetry", 'team = "physics"  # who owns this',
                 "# keep everything off on the cluster", 'ticket = "OPS-42"'):
        assert kept in text
    status = rows(cli("status", "--json"))
    assert (status["ray"]["mode"], status["parsl"]["mode"], status["coiled"]["mode"]) == ("local", "off", "on")


def test_new_file_is_private_and_existing_mode_is_kept(cli, consent_file):
    cli("disable")
    assert stat.S_IMODE(consent_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(consent_file.parent.stat().st_mode) in (0o700,) or consent_file.parent.exists()
    os.chmod(consent_file, 0o644)
    cli("enable")
    assert stat.S_IMODE(consent_file.stat().st_mode) == 0o644


def test_new_directories_are_0700(cli, tmp_path):
    config = tmp_path / "fresh" / "nested" / "usagectl"
    cli("disable", env={"USAGECTL_CONFIG_DIR": str(config)})
    assert stat.S_IMODE(config.stat().st_mode) == 0o700
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700


def test_symlinked_consent_file_is_updated_through_the_link(cli, consent_file, tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "consent.toml"
    real.write_text("schema = 1\n# tracked in git\n")
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.symlink_to(real)
    assert cli("disable").exit_code == 0
    assert consent_file.is_symlink() and os.readlink(consent_file) == str(real)
    assert "# tracked in git" in real.read_text() and 'mode = "off"' in real.read_text()


def test_history_records_what_when_and_which_command(cli):
    cli("disable")
    cli("enable", "parsl", "--level", "2")
    cli("enable", "parsl", "--level", "2")  # no change, no history line
    result = cli("history", "--json")
    entries = result.json()["data"]["entries"]
    assert [(e["entry"], e["from"], e["to"], e["level"]) for e in entries] == [
        ("default", None, "off", None), ("parsl", None, "on", 2)]
    assert entries[1]["command"] == "usagectl enable parsl --level 2"
    assert entries[1]["time"].endswith("Z")
    human = cli("history")
    assert "usagectl enable parsl --level 2" in human.stdout.replace("\n", " ") or "enable parsl" in human.stdout


def test_version_and_python_m(cli):
    from usagectl import __version__

    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.strip() == "usagectl %s" % __version__


def test_bad_framework_name_is_a_one_line_usage_error(cli):
    result = cli("disable", "../etc")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "not a framework name" in result.stderr


def test_a_typo_is_refused_with_the_close_match_and_nothing_is_written(cli, consent_file):
    for argv in (["disable", "rya"], ["enable", "rya"], ["status", "rya"], ["verify", "rya"],
                 ["show-last", "rya"], ["request-deletion", "rya", "--list-ids"], ["sync", "rya"]):
        result = cli(*argv)
        assert result.exit_code == 2, (argv, result)
        assert "did you mean 'ray'?" in result.stderr and "--any-name" in result.stderr
    assert not consent_file.exists()


def test_a_name_usagectl_has_no_plugin_for_needs_any_name(cli):
    result = cli("disable", "mytool", "--any-name")
    assert result.exit_code == 0, result
    assert "no adapter for 'mytool'" in result.stderr
    # Once recorded, the entry is a name every command accepts (to show it, or undo it).
    assert rows(cli("status", "--json"))["mytool"]["mode"] == "off"
    assert cli("enable", "mytool").exit_code == 0


def test_unknown_option_is_a_usage_error(cli):
    result = cli("status", "--nope")
    assert result.exit_code == 2 and "No such option" in result.stderr


def test_io_error_is_one_line_and_debug_gives_traceback(cli_process, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = cli_process("disable", env={"USAGECTL_CONFIG_DIR": str(blocker / "usagectl")})
    assert result.exit_code == 1, result
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    debug = cli_process("disable", env={"USAGECTL_CONFIG_DIR": str(blocker / "usagectl"), "USAGECTL_DEBUG": "1"})
    assert "Traceback" in debug.stderr


def test_data_on_stdout_messages_on_stderr(cli, consent_file):
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_bytes(b"garbage = [")
    result = cli("status", "--json")
    result.json()  # stdout is pure JSON even with a warning
    assert "warning" in result.stderr


def test_no_color_and_non_tty_output_has_no_escape_sequences(cli):
    cli("disable")
    for extra in ({}, {"NO_COLOR": "1"}):
        out = cli("status", env=extra)
        assert "\x1b" not in out.stdout and "\x1b" not in out.stderr


@pytest.mark.parametrize("args", [("status", "--json"), ("status",), ("status", "ray", "--json"),
                                  ("--version",)])
def test_fast_path_prints_exactly_what_the_click_path_prints(cli_process, args):
    cli_process("disable", "parsl")
    fast = cli_process(*args)
    slow = cli_process(*args, env={"USAGECTL_NO_FAST_PATH": "1"})
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


def test_status_help_still_goes_through_click(cli_process):
    result = cli_process("status", "--help")
    assert result.exit_code == 0 and "Usage: usagectl status" in result.stdout


def test_third_party_adapter_from_an_entry_point(cli_process, tmp_path):
    site = tmp_path / "site"
    dist = site / "toyfw_adapter-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toyfw-adapter\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[usagectl.adapters]\ntoyfw = toyfw_adapter:ADAPTER\n")
    (site / "toyfw_adapter.py").write_text(
        "from usagectl.frameworks.base import Adapter\n"
        "class Toy(Adapter):\n"
        "    name = 'toyfw'\n    title = 'Toy'\n    own_default = 'on'\n"
        "    def native_state(self, env):\n"
        "        return {'mode': 'on', 'source': 'default', 'detail': 'always on', 'traps': []}\n"
        "ADAPTER = Toy()\n")
    env = {"PYTHONPATH": str(site)}
    cli_process("disable", env=env)
    result = cli_process("status", "--json", env=env)
    toy = rows(result)["toyfw"]
    assert toy["adapter"] is True and toy["title"] == "Toy" and toy["mode"] == "off"
    assert toy["drift"] is True  # its own state says on


def test_an_entry_spelled_in_another_case_is_updated_not_duplicated(cli, consent_file):
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_text('schema = 1\n[frameworks.RAY]\nmode = "on"  # typed by hand\n')
    assert cli("disable", "ray").exit_code == 0
    text = consent_file.read_text()
    assert text.lower().count("[frameworks.ray]") == 1 and "[frameworks.RAY]" in text
    assert rows(cli("status", "--json"))["ray"]["mode"] == "off"


def test_reset_removes_entries_back_to_unset_and_keeps_the_rest(cli, consent_file):
    assert cli("disable").exit_code == 0
    assert cli("enable", "parsl", "--level", "2").exit_code == 0
    consent_file.write_text("# my note\n" + consent_file.read_text())
    result = cli("reset", "parsl", "--json")
    assert result.exit_code == 0, result
    assert [(c["entry"], c["to"]) for c in result.json()["data"]["changes"]] == [("parsl", "unset")]
    assert rows(cli("status", "--json"))["parsl"]["source"] == "consent:default"   # the default decides now
    assert "# my note" in consent_file.read_text()
    assert cli("reset").exit_code == 0
    assert {r["mode"] for r in rows(cli("status", "--json")).values()} == {"unset"}
    history = cli("history", "--json").json()["data"]
    assert "unset" in json.dumps(history)
    # Nothing to remove is no change, and a typo is still refused.
    assert cli("reset", "parsl", "--json").json()["data"]["changes"] == []
    assert cli("reset", "prsl").exit_code == 2
