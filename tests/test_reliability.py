"""Regressions for the defects the stress suite found (issue #11), one test per defect.

The stress suite (stress/) measures the same properties at scale; these keep each
fixed defect fixed on every run.
"""

import datetime
import os

import pytest

from usagectl import consent
from usagectl.core import store

NOW = datetime.datetime(2026, 12, 2, 8, 0, tzinfo=datetime.timezone.utc)


def _written_file(tmp_path):
    """A consent file written by usagectl: default on, ray off, parsl on at level 2."""
    path, history = str(tmp_path / "consent.toml"), str(tmp_path / "history.jsonl")
    store.set_modes(path, history, [None], "on", None, "test", now=NOW)
    store.set_modes(path, history, ["ray"], "off", None, "test", now=NOW)
    store.set_modes(path, history, ["parsl"], "on", 2, "test", now=NOW)
    with open(path, "rb") as handle:
        return path, handle.read()


def _decisions(data, path):
    snapshot = consent.parse_consent(data, path)
    if snapshot.problem:
        return "damaged"
    return ({k: (e.mode, e.level) for k, e in snapshot.frameworks.items()},
            snapshot.default and (snapshot.default.mode, snapshot.default.level))


def test_every_truncation_of_a_written_file_is_damaged_or_identical(tmp_path):
    path, data = _written_file(tmp_path)
    full = _decisions(data, path)
    assert full != "damaged"
    outcomes = {"damaged": 0, "identical": 0}
    for cut in range(len(data)):
        got = _decisions(data[:cut], path)
        # A cut that keeps the whole end line (only its newline lost) is the same file.
        assert got in ("damaged", full), "cut at %d of %d reads %r" % (cut, len(data), got)
        outcomes["damaged" if got == "damaged" else "identical"] += 1
    assert outcomes["identical"] <= 1 and outcomes["damaged"] >= len(data) - 1


def test_a_file_written_before_sealing_is_still_read_and_gets_sealed_on_the_next_write(tmp_path):
    path, history = str(tmp_path / "consent.toml"), str(tmp_path / "history.jsonl")
    old = ('# usagectl consent file: one telemetry decision shared by every framework.\n'
           '# Format: docs/consent-file.md. Change it with `usagectl enable|disable|local`;\n'
           '# hand edits are fine and their comments are kept.\n'
           'schema = 1\n\n[frameworks.ray]\nmode = "off"\n')
    with open(path, "w") as handle:
        handle.write(old)
    assert consent.read_consent(path).frameworks["ray"].mode == "off"
    store.set_modes(path, history, ["parsl"], "off", None, "test", now=NOW)
    text = open(path).read()
    assert text.startswith(consent.SEALED_PREFIX) and text.endswith(consent.END_LINE + "\n")
    assert text.count(consent.END_LINE) == 1
    assert consent.read_consent(path).frameworks.keys() == {"ray", "parsl"}


def test_the_end_line_stays_last_after_many_writes(tmp_path):
    path, history = str(tmp_path / "consent.toml"), str(tmp_path / "history.jsonl")
    for name in ("ray", "parsl", "bacalhau", "coiled", "fifth"):
        store.set_modes(path, history, [name], "off", None, "test", now=NOW)
        text = open(path).read()
        assert text.count(consent.END_LINE) == 1 and text.endswith(consent.END_LINE + "\n")


@pytest.mark.parametrize("name", [" ray", "ray ", " Y"])
def test_framework_names_with_surrounding_spaces_are_damage(tmp_path, name):
    data = ('schema = 1\n[frameworks."%s"]\nmode = "on"\n' % name).encode()
    problem = consent.parse_consent(data, "c.toml").problem
    assert problem is not None and "not a valid framework name" in problem.message


def test_a_level_beyond_toml_int64_is_damage():
    data = b'schema = 1\n[frameworks.parsl]\nmode = "on"\nlevel = 99999999999999999999999\n'
    problem = consent.parse_consent(data, "c.toml").problem
    assert problem is not None and problem.line == 4
    ok = b'schema = 1\n[frameworks.parsl]\nmode = "on"\nlevel = 9223372036854775807\n'
    assert consent.parse_consent(ok, "c.toml").problem is None


# --- torn reads: never rewrite a framework file from a view another writer is cutting ---

def test_a_ray_config_caught_empty_mid_rewrite_keeps_its_keys(env, tmp_path):
    """Ray's `ray disable-usage-stats` opens config.json with "w": for an instant it is
    empty. A rewrite from that view used to keep only {"usage_stats": false}."""
    import json
    import os
    import threading

    from helpers import decision_for

    from usagectl import frameworks

    path = os.path.join(env.home, ".ray", "config.json")
    os.makedirs(os.path.dirname(path))
    open(path, "w").close()  # Ray has just truncated it ...
    refill = threading.Timer(0.05, lambda: open(path, "w").write(
        json.dumps({"usage_stats": True, "auth_token": "canary-7f3"})))  # ... and writes it back
    refill.start()
    try:
        frameworks.get("ray").apply(env, decision_for("ray", "off"))
    finally:
        refill.join()
    assert json.load(open(path)) == {"usage_stats": False, "auth_token": "canary-7f3"}


def test_a_file_replaced_between_read_and_write_is_not_overwritten(tmp_path):
    from usagectl.core import fsutil

    path = str(tmp_path / "config.json")
    open(path, "w").write('{"a": 1}')
    seen = fsutil.fingerprint(path)
    open(path + ".new", "w").write('{"a": 1, "b": 2}')
    os.replace(path + ".new", path)
    with pytest.raises(fsutil.FileChanged):
        fsutil.atomic_write(path, b'{"a": 1, "usage_stats": false}', expect=seen)
    assert open(path).read() == '{"a": 1, "b": 2}'
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []


def test_temp_files_of_dead_writers_are_removed_by_the_next_write(tmp_path):
    import subprocess
    import sys

    from usagectl.core import fsutil

    # A real process that has exited: its pid is gone (or reused, then the file waits).
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / (".consent.toml.%s.abc123.tmp" % dead)
    stale.write_text("half a file")
    live = tmp_path / (".consent.toml.%d.def456.tmp" % os.getpid())
    live.write_text("in flight")
    fsutil.atomic_write(str(tmp_path / "consent.toml"), b"schema = 1\n")
    assert not stale.exists()
    assert live.exists()  # this process is alive: its temp file is in flight


# --- symlinks -------------------------------------------------------------------

def test_a_symlink_at_history_is_never_followed(tmp_path, cli, env):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.makedirs(os.path.dirname(env.history_path), exist_ok=True)
    os.symlink(victim, env.history_path)
    result = cli("disable")
    assert victim.read_text() == "precious\n"
    assert result.exit_code == 1 and "symlink" in result.stderr
    assert "Traceback" not in result.stderr
    # Nothing landed: the change and its history go together.
    assert not os.path.exists(env.consent_path)


def test_a_dangling_consent_link_never_creates_directories(tmp_path, cli, env):
    target = tmp_path / "nonexistent" / "deeper" / "x.toml"
    os.makedirs(os.path.dirname(env.consent_path), exist_ok=True)
    os.symlink(target, env.consent_path)
    result = cli("disable")
    assert result.exit_code == 1
    assert "never creates the file a link points to" in result.stderr
    assert not (tmp_path / "nonexistent").exists()


def test_a_symlinked_consent_file_is_followed_and_the_link_kept(tmp_path, cli, env):
    real = tmp_path / "dotfiles" / "consent.toml"
    real.parent.mkdir()
    real.write_text("schema = 1\n")  # a link whose target is missing is never written through
    os.makedirs(os.path.dirname(env.consent_path), exist_ok=True)
    os.symlink(real, env.consent_path)
    assert cli("disable").exit_code == 0
    assert os.path.islink(env.consent_path)
    assert consent.read_consent(str(real)).default.mode == "off"


# --- history is part of the change ------------------------------------------------

def _history(env):
    return store.read_history(env.history_path, consent_path=env.consent_path)[0]


def test_a_change_killed_before_its_history_line_is_finished_by_the_next_writer(env, monkeypatch):
    calls = []

    def killed(path, lines, new_mode=0o600):
        calls.append(path)
        raise KeyboardInterrupt  # stands for kill -9 between the replace and the append

    real_append = store.fsutil.append_lines
    monkeypatch.setattr(store.fsutil, "append_lines", killed)
    with pytest.raises(KeyboardInterrupt):
        store.set_modes(env.consent_path, env.history_path, ["ray"], "off", None, "one", now=NOW)
    monkeypatch.setattr(store.fsutil, "append_lines", real_append)
    assert consent.read_consent(env.consent_path).frameworks["ray"].mode == "off"
    # Read-only: `history` shows the landed change from the journal without writing.
    assert [r["command"] for r in _history(env)] == ["one"]
    assert os.path.exists(env.history_path + ".pending")
    store.set_modes(env.consent_path, env.history_path, ["parsl"], "off", None, "two", now=NOW)
    assert [r["command"] for r in _history(env)] == ["one", "two"]
    assert not os.path.exists(env.history_path + ".pending")


def test_a_change_killed_before_the_replace_leaves_no_history_line(env, monkeypatch):
    real_write = store.fsutil.atomic_write

    def killed(path, data, *args, **kwargs):
        if path == env.consent_path:
            raise SystemExit("killed")  # after the journal, before the consent file
        return real_write(path, data, *args, **kwargs)

    store.set_modes(env.consent_path, env.history_path, ["ray"], "off", None, "one", now=NOW)
    monkeypatch.setattr(store.fsutil, "atomic_write", killed)
    with pytest.raises(SystemExit):
        store.set_modes(env.consent_path, env.history_path, ["ray"], "on", None, "two", now=NOW)
    monkeypatch.setattr(store.fsutil, "atomic_write", real_write)
    # The journal was removed on the way out; even if it were not, it matches no file.
    assert consent.read_consent(env.consent_path).frameworks["ray"].mode == "off"
    store.set_modes(env.consent_path, env.history_path, ["parsl"], "off", None, "three", now=NOW)
    assert [r["command"] for r in _history(env)] == ["one", "three"]


def test_a_full_state_dir_stops_the_change_before_it_lands(env, monkeypatch):
    real_write = store.fsutil.atomic_write

    def full(path, data, *args, **kwargs):
        if path.endswith(".pending"):
            raise OSError(28, "No space left on device", path)
        return real_write(path, data, *args, **kwargs)

    monkeypatch.setattr(store.fsutil, "atomic_write", full)
    with pytest.raises(store.UsagectlError, match="nothing was changed"):
        store.set_modes(env.consent_path, env.history_path, ["ray"], "off", None, "one", now=NOW)
    assert not os.path.exists(env.consent_path)


def test_history_last_reads_from_the_end_and_across_rotated_files(env, monkeypatch):
    monkeypatch.setattr(store, "HISTORY_ROTATE_BYTES", 2000)
    for index in range(60):
        store.set_modes(env.consent_path, env.history_path, ["ray"], "off" if index % 2 else "on",
                        None, "cmd-%d" % index, now=NOW)
    from usagectl import _ledger

    rotated = _ledger.rotated_paths(env.history_path)
    assert len(rotated) >= 2
    records = store.read_history(env.history_path)[0]
    assert [r["command"] for r in records] == ["cmd-%d" % i for i in range(60)]  # nothing lost
    last = store.read_history(env.history_path, last=3)[0]
    assert [r["command"] for r in last] == ["cmd-57", "cmd-58", "cmd-59"]


# --- secrets never on screen ----------------------------------------------------------

CANARY = "canary-tok-5e1f9a"


@pytest.mark.parametrize("body", [
    "coiled:\n  token: %s\n  token: %s-2\n" % (CANARY, CANARY),      # duplicate key
    "coiled:\n  token: %s\n   bad: [\n" % CANARY,                       # syntax error after it
    "coiled:\n  token: \"%s\n" % CANARY,                                # unterminated quote
    "coiled: {token: %s, token: x}\n" % CANARY,
])
def test_a_malformed_dask_file_never_shows_its_content(cli, tmp_path, body):
    config = tmp_path / "home" / ".config" / "dask"
    config.mkdir(parents=True, exist_ok=True)
    (config / "coiled.yaml").write_text(body)
    for args in (("status", "--json"), ("status",), ("preview", "coiled"), ("disable", "coiled"),
                 ("verify", "coiled", "--json")):
        result = cli(*args)
        assert CANARY not in result.stdout + result.stderr, args
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("body", [
    "API:\n  Host: x\nAPI:\n  Token: %s\n" % CANARY,
    "Orchestrator:\n  Auth:\n    Token: %s\n   oops: [\n" % CANARY,
    "DisableAnalytics: %s: true\n" % CANARY,
])
def test_a_malformed_bacalhau_config_never_shows_its_content(cli, tmp_path, body):
    config = tmp_path / "home" / ".bacalhau"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.yaml").write_text(body)
    for args in (("status", "--json"), ("preview", "bacalhau", "--json"), ("disable", "bacalhau")):
        result = cli(*args)
        assert CANARY not in result.stdout + result.stderr, args
        assert "Traceback" not in result.stderr


# --- one hostile record never breaks the viewer ---------------------------------------

def _ray_session(tmp_path, name, body):
    session = tmp_path / "tmp" / "ray" / name
    session.mkdir(parents=True)
    (session / "usage_stats.json").write_bytes(body)
    return session


def test_absurd_nesting_in_one_ray_file_is_skipped_and_the_others_shown(cli, tmp_path):
    import json
    import shutil
    from pathlib import Path

    good = Path(__file__).parent / "fixtures" / "ray" / "enabled" / "session_2026-11-24_00-02-40_976526_5951"
    shutil.copytree(good, tmp_path / "tmp" / "ray" / good.name)
    _ray_session(tmp_path, "session_2026-11-25_10-00-00_000001_42", b"[" * 10000 + b"]" * 10000)
    _ray_session(tmp_path, "session_2026-11-25_11-00-00_000001_43",
                 b'{"usage_stats": {"x": ' + b"[" * 900 + b"]" * 900 + b'}, "success": true}')
    for args in (("show-last", "ray", "--json"), ("show-last", "ray"), ("show-last", "ray", "-n", "5"),
                 ("preview", "ray"), ("request-deletion", "ray", "--list-ids")):
        result = cli(*args)
        assert "Traceback" not in result.stderr and "RecursionError" not in result.stdout + result.stderr, args
        assert result.exit_code in (0, 5), (args, result.stderr)
    envelope = json.loads(cli("show-last", "ray", "-n", "5", "--json").stdout)
    sources = [json.dumps(p["source"]) for p in envelope["data"]["frameworks"][0]["payloads"]]
    assert any(good.name in source for source in sources)
    assert any("session_2026-11-25_10-00-00_000001_42" in (w["file"] or "") for w in envelope["warnings"])


def test_rich_markup_in_a_session_directory_name_is_shown_not_interpreted(cli, tmp_path):
    import shutil
    from pathlib import Path

    good = Path(__file__).parent / "fixtures" / "ray" / "enabled" / "session_2026-11-24_00-02-40_976526_5951"
    hostile = "session_2026-11-26_00-00-00_000001_[reverse]X[blink]"
    shutil.copytree(good, tmp_path / "tmp" / "ray" / hostile)
    for args in (("show-last", "ray", "-n", "5"), ("request-deletion", "ray", "--list-ids")):
        shown = cli(*args).stdout
        assert "[reverse]X[blink]" in shown.replace("\n", ""), args
        # With colour forced too: the name is printed, never interpreted as markup.
        coloured = cli(*args, env={"FORCE_COLOR": "1"}).stdout
        assert "[reverse]X[blink]" in coloured.replace("\n", ""), args
        assert "\x1b[7m" not in coloured and "\x1b[5m" not in coloured


# --- output and exit-code edges -------------------------------------------------------

def test_closed_stdout_makes_the_change_and_exits_1_in_one_line(env, cli_process):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "from usagectl.main import run; run()", "enable"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60,
                          env=dict(os.environ), close_fds=True,
                          preexec_fn=lambda: os.close(1))
    assert proc.returncode == 1
    assert "standard output is closed" in proc.stderr and "Traceback" not in proc.stderr
    assert "AttributeError" not in proc.stderr
    assert consent.read_consent(env.consent_path).default.mode == "on"


def test_credentials_from_a_closed_stdin_is_one_line(env):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "from usagectl.main import run; run()",
                           "credentials", "set", "smtp", "--stdin"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ), preexec_fn=lambda: os.close(0))
    assert proc.returncode == 2, proc.stderr
    assert "standard input is closed" in proc.stderr
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr


@pytest.mark.parametrize("since", ["99999999999d", "99999999999999999999999w"])
def test_a_since_beyond_the_calendar_is_a_usage_error(cli, since):
    result = cli("show-last", "--since", since)
    assert result.exit_code == 2 and "OverflowError" not in result.stderr
    assert "--since" in result.stderr


@pytest.mark.parametrize("args, words", [
    (("enable", "--level", "99999999999999999999999"), "64-bit"),
    (("enable", "parsl", "--level", "4"), "1-3"),
    (("enable", "ray", "--level", "2"), "no telemetry levels"),
    (("local", "bacalhau", "--level", "1"), "no telemetry levels"),
])
def test_levels_are_bounded_and_nothing_is_written(cli, env, args, words):
    result = cli(*args)
    assert result.exit_code == 2 and words in result.stderr
    assert not os.path.exists(env.consent_path)


def test_a_level_within_bounds_is_accepted(cli, env):
    assert cli("enable", "parsl", "--level", "3").exit_code == 0
    assert consent.read_consent(env.consent_path).frameworks["parsl"].level == 3


# --- append-only files grow without bound: rotated, nothing lost ----------------------

def test_the_sent_ledger_rotates_and_every_record_is_still_read(env, monkeypatch):
    from usagectl import _ledger
    from usagectl.core import ledger_scan

    monkeypatch.setattr(consent, "ROTATE_BYTES", 4000)  # the writer lives in the reader
    for index in range(120):
        assert _ledger.record_sent("ray" if index % 3 else "parsl", "https://x.invalid/",
                                   b'{"n": %d}' % index, environ=env.environ)
    rotated = _ledger.rotated_paths(_ledger.ledger_path(env.environ))
    assert len(rotated) >= 3
    found, skipped = ledger_scan.scan(env.environ, ["ray", "parsl"], limit=None)
    assert skipped == []
    bodies = sorted(int(p.body[6:-1]) for name in found for p in found[name])
    assert bodies == list(range(120))
    newest, _ = ledger_scan.scan(env.environ, ["ray", "parsl"], limit=1)
    assert newest["ray"][0].body == b'{"n": 119}' and newest["parsl"][0].body == b'{"n": 117}'


def test_a_dangling_consent_link_reads_as_damaged_not_as_no_choice(tmp_path):
    link = tmp_path / "consent.toml"
    os.symlink(tmp_path / "unmounted" / "consent.toml", link)
    snapshot = consent.read_consent(str(link))
    assert snapshot.problem is not None and "does not exist" in snapshot.problem.message
    assert consent.decide("ray", environ={}, consent_path=str(link)).mode == "off"


def test_the_digest_record_never_copies_secrets_from_bacalhaus_config(cli, env):
    """written.json lets `status` skip the YAML parser; it keeps only the keys usagectl reads."""
    config = os.path.join(env.home, ".bacalhau", "config.yaml")
    os.makedirs(os.path.dirname(config))
    with open(config, "w") as handle:
        handle.write("API:\n    Auth:\n        Token: %s\nDisableAnalytics: false\n" % CANARY)
    assert cli("disable").exit_code == 0
    record = open(os.path.join(env.state_dir, "written.json")).read()
    assert CANARY not in record and "DisableAnalytics" in record
    assert CANARY in open(config).read()  # the user's token stays in the user's file
    assert '"mode": "off"' in cli("status", "bacalhau", "--json").stdout


def test_usagectls_own_records_replace_a_symlink_never_its_target(cli, env, tmp_path):
    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    os.makedirs(env.state_dir, exist_ok=True)
    os.symlink(victim, os.path.join(env.state_dir, "written.json"))
    assert cli("disable").exit_code == 0
    assert victim.read_text() == "precious"
    assert not os.path.islink(os.path.join(env.state_dir, "written.json"))


def test_absurdly_nested_toml_is_damage_not_a_crash():
    data = b"schema = 1\n[default]\nmode = " + b"[" * 5000 + b"\n"
    problem = consent.parse_consent(data, "c.toml").problem
    assert problem is not None and "nested too deeply" in problem.message
    assert consent.parse_policy(b"schema = " + b"[" * 5000, "p.toml").problem is not None


def test_parser_warnings_that_quote_a_config_never_reach_the_screen(cli_process, env):
    """ruamel warns about a reused anchor by printing the lines around it: one can hold a token."""
    config = os.path.join(env.home, ".bacalhau", "config.yaml")
    os.makedirs(os.path.dirname(config))
    with open(config, "w") as handle:
        handle.write("API: &a\n    Token: %s\nOther: &a\n    x: 1\nDisableAnalytics: false\n" % CANARY)
    for args in (("status",), ("status", "--json"), ("disable", "bacalhau"), ("preview", "bacalhau")):
        result = cli_process(*args)
        assert CANARY not in result.stdout + result.stderr, args
        assert "Warning" not in result.stderr, args


def test_a_filesystem_without_hard_links_keeps_the_ledger_growing_rather_than_losing_lines(env, monkeypatch):
    from usagectl import _ledger

    monkeypatch.setattr(consent, "ROTATE_BYTES", 500)  # the writer lives in the reader

    def no_links(*args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(_ledger.os, "link", no_links)
    for index in range(20):
        assert _ledger.record_sent("ray", "https://x.invalid/", b'{"n": %d}' % index, environ=env.environ)
    path = _ledger.ledger_path(env.environ)
    assert _ledger.rotated_paths(path) == []
    assert open(path, "rb").read().count(b"\n") == 20


def test_history_streams_and_a_damaged_line_is_a_warning_not_a_crash(cli, env):
    """`usagectl history` without -n reads while it writes (docs/benchmarks.md has the
    million-entry figures); a line of the wrong shape is named and skipped."""
    assert cli("disable").exit_code == 0
    assert cli("enable", "ray").exit_code == 0
    with open(env.history_path, "a") as handle:
        handle.write('{"time": 5, "to": "on"}\n[1]\n{"time": "2026-01-01T00:00:00Z", "level": "x"}\nnot json\n')
    assert cli("local", "parsl").exit_code == 0
    human = cli("history")
    assert human.exit_code == 0, human.stderr
    assert human.stdout.splitlines()[0].split() == ["WHEN", "ENTRY", "CHANGE", "COMMAND"]
    assert len(human.stdout.splitlines()) == 4  # header + disable + enable + local
    assert human.stderr.count("damaged line skipped") == 4
    assert "time is not a string" in human.stderr and "level is not a int" in human.stderr
    assert "Traceback" not in human.stderr
    result = cli("history", "--json")
    envelope = result.json()
    assert [e["to"] for e in envelope["data"]["entries"]] == ["off", "on", "local"]
    assert len(envelope["warnings"]) == 4 and all(w["file"] == env.history_path for w in envelope["warnings"])
    assert [w["line"] for w in envelope["warnings"]] == [3, 4, 5, 6]
