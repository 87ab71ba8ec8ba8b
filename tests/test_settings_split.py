"""The consent file holds the decision only; usagectl's own settings live in settings.toml.

A mistake in a setting can no longer turn every framework off, a repair of a damaged
consent file no longer drops a setting, and the old layout (settings inside
consent.toml) is read with a warning and moved, byte for byte kept, by the next
writing command.
"""

import json
import tomllib

from clirun import run_in_process

OLD_LAYOUT = """\
schema = 1

# my own note about the decision
[default]
mode = "off"

[search]
# where my workflows run
parsl = ["~/work/*/runinfo"]

[deletion.smtp]
host = "smtp.example.org"   # the relay at work
port = 587
from = "me@example.org"

[verify]
endpoints = ["collector.example.org:4317"]
"""


def modes(result):
    return {r["framework"]: r["mode"] for r in result.json()["data"]["frameworks"]}


def test_a_broken_setting_does_not_touch_the_decision(consent_file, settings_file):
    assert run_in_process("enable").exit_code == 0
    settings_file.write_text('[deletion.smtp]\nhost = "smtp.example.org\nport = 587\n')  # unclosed string
    status = run_in_process("status", "--json")
    assert status.exit_code == 0, status
    assert set(modes(status).values()) == {"on"}
    # Only what needs the settings says so, naming the file and line, not its content.
    result = run_in_process("request-deletion", "ray", "--list-ids", "--json")
    assert any(w["file"] == str(settings_file) for w in result.json()["warnings"]), result.stdout
    assert "smtp.example.org" not in result.stdout + result.stderr


def test_repair_keeps_every_setting(consent_file, settings_file):
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_text('[search]\nparsl = ["~/work/*/runinfo"]\n')
    consent_file.write_bytes(b"schema = 1\n[default\nmode = 'on'\n")   # damaged
    assert run_in_process("disable", "--repair").exit_code == 0
    assert tomllib.loads(settings_file.read_text()) == {"search": {"parsl": ["~/work/*/runinfo"]}}


def test_old_layout_is_read_with_a_warning_and_never_written_by_reading(consent_file, settings_file):
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_text(OLD_LAYOUT)
    before = consent_file.read_bytes()
    for argv in (["status", "--json"], ["show-last", "parsl", "--json"],
                 ["request-deletion", "ray", "--list-ids", "--json"]):
        result = run_in_process(*argv)
        assert result.exit_code == 0, result
    assert consent_file.read_bytes() == before and not settings_file.exists()
    listing = run_in_process("request-deletion", "ray", "--list-ids", "--json").json()
    assert any("settings.toml" in w["message"] and w["file"] == str(consent_file)
               for w in listing["warnings"]), listing["warnings"]
    # The old tables still work where they are: the configured endpoint is watched.
    from usagectl.core.environment import Environment
    from usagectl.watch import endpoints

    found, _ = endpoints.collect(Environment())
    assert ("collector.example.org", 4317) in {(e.host, e.port) for e in found}


def test_the_next_write_moves_the_settings_and_keeps_a_byte_identical_backup(consent_file, settings_file):
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_text(OLD_LAYOUT)
    result = run_in_process("enable", "ray")
    assert result.exit_code == 0, result
    assert "moved [search], [deletion], [verify]" in result.stderr
    decision = tomllib.loads(consent_file.read_text())
    assert set(decision) == {"schema", "default", "frameworks"}
    assert "# my own note about the decision" in consent_file.read_text()
    settings_text = settings_file.read_text()
    old = tomllib.loads(OLD_LAYOUT)
    assert tomllib.loads(settings_text) == {k: old[k] for k in ("search", "deletion", "verify")}
    for comment in ("# where my workflows run", "# the relay at work"):
        assert comment in settings_text  # the user's own words moved with their tables
    (backup,) = consent_file.parent.glob("consent.toml.before-split-*")
    assert backup.read_text() == OLD_LAYOUT
    history = run_in_process("history", "--json").json()["data"]
    assert "settings-moved" in json.dumps(history)
    # Idempotent: a second write moves nothing and keeps no second backup.
    assert "moved" not in run_in_process("disable", "ray").stderr
    assert len(list(consent_file.parent.glob("consent.toml.before-split-*"))) == 1


def test_sync_moves_them_too(consent_file, settings_file):
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_text(OLD_LAYOUT)
    result = run_in_process("sync")
    assert result.exit_code == 0, result
    assert "search" in tomllib.loads(settings_file.read_text())
    assert "search" not in tomllib.loads(consent_file.read_text())


def test_a_table_already_in_settings_wins_over_the_old_copy(consent_file, settings_file):
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_text(OLD_LAYOUT)
    settings_file.write_text('[search]\nparsl = ["/scratch/runinfo"]\n')
    assert run_in_process("enable", "ray").exit_code == 0
    settings = tomllib.loads(settings_file.read_text())
    assert settings["search"] == {"parsl": ["/scratch/runinfo"]}
    assert settings["deletion"]["smtp"]["host"] == "smtp.example.org"
    # Nothing is lost: the other copy of [search] is in the backup.
    (backup,) = consent_file.parent.glob("consent.toml.before-split-*")
    assert '"~/work/*/runinfo"' in backup.read_text()


def test_history_shows_the_move(consent_file):
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_text(OLD_LAYOUT)
    assert run_in_process("enable", "ray").exit_code == 0
    shown = run_in_process("history").stdout
    assert "[search], [deletion], [verify] moved to settings.toml; backup " in shown
