"""Bad input is an error, never a crash or a silent success (#22, point 7).

One table: each row is a setup (files written first), a command line, the exit code and
what the first line of stderr says. Every row runs the real command line in-process with
the isolated environment; none may print a traceback. The rows are the bad inputs a new
user tried, each of which used to succeed silently, crash or print the wrong thing.
"""

import os
import signal
import subprocess
import sys
import time

import pytest


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def _settings(env, text):
    _write(env.settings_path, text)


def _truncated_consent(env, cli):
    assert cli("disable").exit_code == 0
    with open(env.consent_path, "rb") as handle:
        head = handle.read(60)
    _write(env.consent_path, head)


def _python_file(text):
    def setup(env, cli, tmp):
        _write(os.path.join(tmp, "cfg.py"), text)
    return setup


# (id, setup(env, cli, tmp) or None, argv (TMP replaced), extra env, exit code, first stderr line contains)
CASES = [
    ("search-int", lambda env, cli, tmp: _settings(env, "[search]\nray = 5\n"), ["show-last", "ray"], {}, 0,
     "[search] ray must be a glob or a list of globs; ignored"),
    ("settings-binary", lambda env, cli, tmp: _settings(env, b"\x00\xff\xfe"), ["show-last", "ray"], {}, 0,
     "not UTF-8 text; its [search] paths are not used"),
    ("settings-directory", lambda env, cli, tmp: os.makedirs(env.settings_path), ["show-last", "ray"], {}, 0,
     "its [search] paths are not used"),
    ("fleet-missing-beside-good", lambda env, cli, tmp: _write(os.path.join(tmp, "ok.json"), "{}"),
     ["fleet", "TMP/ok.json", "TMP/missing.json"], {}, 7, "not a `usagectl verify --json` envelope"),
    ("fleet-empty-dir", lambda env, cli, tmp: os.makedirs(os.path.join(tmp, "empty")), ["fleet", "TMP/empty"], {},
     7, "holds no *.json envelopes"),
    ("preview-config-missing-file", None, ["preview", "parsl", "--config", "TMP/none.py"], {}, 2, "no such file"),
    ("preview-config-missing-module", None, ["preview", "parsl", "--config", "no_such_module_x:config"], {}, 2,
     "missing module no_such_module_x"),
    ("preview-config-syntax-error", _python_file("config = (\n"), ["preview", "parsl", "--config", "TMP/cfg.py"],
     {}, 2, "SyntaxError"),
    ("preview-config-raises", _python_file("raise RuntimeError('x')\n"),
     ["preview", "parsl", "--config", "TMP/cfg.py"], {}, 2, "RuntimeError"),
    ("preview-config-exits", _python_file("import sys; sys.exit(3)\n"),
     ["preview", "parsl", "--config", "TMP/cfg.py"], {}, 2, "exit 3"),
    ("preview-config-no-attribute", _python_file("other = 1\n"), ["preview", "parsl", "--config", "TMP/cfg.py"],
     {}, 2, "could not be loaded"),
    ("preview-ray-config", None, ["preview", "ray", "--config", "x:y"], {}, 2, "--config doesn't apply to ray"),
    ("preview-ray-level", None, ["preview", "ray", "--level", "2"], {}, 2, "--level doesn't apply to ray"),
    ("show-last-path-missing", None, ["show-last", "ray", "--path", "TMP/nonexistent"], {}, 2,
     "no such file or directory"),
    ("show-last-path-not-records", lambda env, cli, tmp: _write(os.path.join(tmp, "passwd"), "root:x:0:0::/:/bin/sh\n"),
     ["show-last", "ray", "--path", "TMP/passwd"], {}, 0, "no payload of ray found under --path"),
    ("show-last-since-empty", None, ["show-last", "ray", "--since", ""], {}, 2, "--since '' is not a time"),
    ("export-output-dir-missing", None, ["export", "k8s-env", "-o", "TMP/nonexistent/dir/x.yaml"], {}, 2,
     "does not exist"),
    ("blackhole-not-a-url", lambda env, cli, tmp: (cli("disable"), _settings(env, '[blackhole]\nray = "not-a-url"\n')),
     ["export", "systemd"], {}, 0, "[blackhole] ray must be an http:// or https:// URL"),
    ("system-parsl-level-9", None, ["--system", "enable", "parsl", "--level", "9"], {}, 2, "levels are 1-3, not 9"),
    ("system-local-parsl-level-7", None, ["--system", "local", "parsl", "--level", "7"], {}, 2,
     "levels are 1-3, not 7"),
    ("system-ray-level", None, ["--system", "enable", "ray", "--level", "2"], {}, 2, "ray has no telemetry levels"),
    ("deletion-status-and-list-ids", None, ["request-deletion", "ray", "--status", "--list-ids"], {}, 2,
     "--list-ids and --status can't be combined"),
    ("keyring-timeout-not-a-number", None, ["credentials", "status"], {"USAGECTL_KEYRING_TIMEOUT": "abc"}, 0,
     "USAGECTL_KEYRING_TIMEOUT='abc' is not a number"),
    ("any-name-default", None, ["disable", "--any-name", "default"], {}, 2, "'default' is the entry for every"),
    ("sync-truncated-consent", lambda env, cli, tmp: _truncated_consent(env, cli), ["sync"], {}, 4,
     "no 'schema' key"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(case, cli, env, tmp_path):
    name, setup, argv, extra, code, said = case
    if setup is not None:
        setup(env, cli, str(tmp_path))
    result = cli(*[a.replace("TMP", str(tmp_path)) for a in argv], env=extra or None)
    assert result.exit_code == code, result
    lines = [line for line in result.stderr.splitlines() if line.startswith("usagectl: ")]
    assert lines and said in "\n".join(lines), result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_sync_never_says_match_when_the_consent_file_is_damaged(cli, env):
    _truncated_consent(env, cli)
    result = cli("sync")
    assert result.exit_code == 4 and "already match" not in result.stdout
    assert "treated as off" in result.stdout


def test_a_full_stdout_is_one_line_and_exit_1(tmp_path):
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "usagectl", "status", "--json"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "usagectl: error: cannot write to standard output (No space left on device); the command ran but its "
        "output was lost"], proc.stderr


def test_follow_json_ends_with_an_end_line_on_ctrl_c(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "usagectl", "show-last", "ray", "--follow", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    line = ""
    while "following" not in line and time.monotonic() < deadline:
        line = proc.stderr.readline()
    assert "following" in line
    proc.send_signal(signal.SIGINT)  # a process this test started
    out, _err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    import json

    last = json.loads(out.strip().splitlines()[-1])
    assert last == {"schema": 1, "command": "show-last", "event": "end", "ok": False, "exit_code": 130,
                    "reason": "interrupted"}
