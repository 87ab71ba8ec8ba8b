"""The Ray adapter against Ray's own code (ray._common.usage.usage_lib), run in subprocesses."""

import json
import os
import subprocess
import sys

import pytest
from helpers import decision_for, make_env

from usagectl.core.environment import Environment
from usagectl.core.errors import FrameworkFileDamaged
from usagectl.frameworks.ray import framework as ray_adapter

pytestmark = pytest.mark.frameworks

FRAMEWORK = ray_adapter.FRAMEWORK

# Runs each case's environment through Ray's own decision function in one interpreter:
# usage_lib reads the env var and the file on every call, and expanduser reads HOME.
_RAY_JUDGE = r"""
import json, os, sys
from ray._common.usage import usage_lib
cases = json.loads(sys.stdin.read())
base = dict(os.environ)
out = []
for environ in cases:
    os.environ.clear()
    os.environ.update(environ)
    try:
        out.append({"enabled": usage_lib.usage_stats_enabled()})
    except ValueError as exc:
        out.append({"error": "ValueError"})
os.environ.clear()
os.environ.update(base)
print(json.dumps(out))
"""


def ray_judge(environs):
    proc = subprocess.run([sys.executable, "-c", _RAY_JUDGE], input=json.dumps(environs),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def decision(mode):
    return decision_for("ray", mode)


def model_answer(state):
    return {"on": {"enabled": True}, "off": {"enabled": False}, "unknown": {"error": "ValueError"}}[state["mode"]]


# (name, env var value or None, config.json bytes or None (missing) or "DIR")
FILE_CASES = [
    ("missing", None),
    ("true", b'{"usage_stats": true}'),
    ("false", b'{"usage_stats": false}'),
    ("false-with-token", b'{"auth_token": "s3cret", "usage_stats": false}'),
    ("string-false", b'{"usage_stats": "false"}'),
    ("number-zero", b'{"usage_stats": 0}'),
    ("null", b'{"usage_stats": null}'),
    ("no-key", b'{"other": 1}'),
    ("list", b'[1, 2]'),
    ("top-string", b'"usage_stats"'),
    ("invalid", b'{"usage_stats": fals'),
    ("empty", b''),
    ("bom", b'\xef\xbb\xbf{"usage_stats": false}'),
    ("not-utf8", b'{"usage_stats": false, "x": "\xff"}'),
    ("directory", "DIR"),
    ("duplicate-keys", b'{"usage_stats": true, "usage_stats": false}'),
]
ENV_CASES = [None, "0", "1", "true", "", " 1", "yes"]


def test_native_state_matches_ray_across_the_table(tmp_path):
    cases = []
    for file_name, content in FILE_CASES:
        for env_value in ENV_CASES:
            home = tmp_path / ("%s-%s" % (file_name, env_value))
            (home / ".ray").mkdir(parents=True)
            path = home / ".ray" / "config.json"
            if content == "DIR":
                path.mkdir()
            elif content is not None:
                path.write_bytes(content)
            cases.append((file_name, env_value, make_env(home, RAY_USAGE_STATS_ENABLED=env_value)))
    # RAY_USAGE_STATS_CONFIG_PATH moves the file; ~ in HOME follows $HOME.
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(b'{"usage_stats": false}')
    home = tmp_path / "moved"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "config.json").write_bytes(b'{"usage_stats": true}')
    cases.append(("config-path", None, make_env(home, RAY_USAGE_STATS_CONFIG_PATH=str(elsewhere))))
    cases.append(("config-path-empty", None, make_env(home, RAY_USAGE_STATS_CONFIG_PATH="")))
    cases.append(("config-path-missing", None,
                  make_env(home, RAY_USAGE_STATS_CONFIG_PATH=str(tmp_path / "nope.json"))))

    answers = ray_judge([env.environ for _, _, env in cases])
    mismatches = []
    for (file_name, env_value, env), ray_says in zip(cases, answers):
        state = FRAMEWORK.native_state(env)
        if model_answer(state) != ray_says:
            mismatches.append((file_name, env_value, state, ray_says))
    assert not mismatches
    # The table really exercises all three outcomes.
    assert {json.dumps(a, sort_keys=True) for a in answers} == {
        '{"enabled": true}', '{"enabled": false}', '{"error": "ValueError"}'}


def test_native_state_names_source_and_traps(tmp_path):
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "config.json").write_text('{"usage_stats": false}')
    state = FRAMEWORK.native_state(make_env(tmp_path))
    assert (state["mode"], state["source"]) == ("off", "file:%s/.ray/config.json" % tmp_path)
    assert state["traps"] == []

    state = FRAMEWORK.native_state(make_env(tmp_path, RAY_USAGE_STATS_ENABLED="1"))
    assert (state["mode"], state["source"]) == ("on", "env:RAY_USAGE_STATS_ENABLED")

    state = FRAMEWORK.native_state(make_env(tmp_path, RAY_USAGE_STATS_ENABLED="true"))
    assert state["mode"] == "unknown"
    assert [t["variable"] for t in state["traps"]] == ["RAY_USAGE_STATS_ENABLED"]
    assert "ValueError" in state["traps"][0]["problem"]

    (tmp_path / ".ray" / "config.json").write_text('{"usage_stats": "false"}')
    state = FRAMEWORK.native_state(make_env(tmp_path))
    assert state["mode"] == "unknown"
    assert state["traps"][0]["variable"] == "usage_stats" and state["traps"][0]["value"] == "false"


def test_native_state_shows_drift_when_file_flipped_back(tmp_path):
    env = make_env(tmp_path)
    FRAMEWORK.apply(env, decision("off"))
    assert FRAMEWORK.native_state(env)["mode"] == "off"
    # someone runs `ray enable-usage-stats`: Ray's own writer
    code = "from ray._common.usage import usage_lib; usage_lib.set_usage_stats_enabled_via_config(True)"
    subprocess.run([sys.executable, "-c", code], env=env.environ, check=True, timeout=120,
                   capture_output=True)
    state = FRAMEWORK.native_state(env)
    assert (state["mode"], state["source"]) == ("on", "file:%s/.ray/config.json" % tmp_path)


def test_apply_off_then_on_is_what_ray_decides(tmp_path):
    env = make_env(tmp_path)
    result = FRAMEWORK.apply(env, decision("off"))
    path = str(tmp_path / ".ray" / "config.json")
    assert result["changed"] == [path]
    assert any("disabled" in note for note in result["notes"])
    assert (tmp_path / ".ray" / "config.json").read_bytes() == b'{"usage_stats": false}'
    assert ray_judge([env.environ]) == [{"enabled": False}]

    result = FRAMEWORK.apply(env, decision("on"))
    assert result["changed"] == [path]
    assert ray_judge([env.environ]) == [{"enabled": True}]


def test_local_means_off_and_unset_changes_nothing(tmp_path):
    env = make_env(tmp_path)
    assert FRAMEWORK.apply(env, decision("unset")) == {"changed": [], "notes": [],
                                                      "side_channels_closed": []}
    assert not (tmp_path / ".ray").exists()
    FRAMEWORK.apply(env, decision("local"))
    assert ray_judge([env.environ]) == [{"enabled": False}]


def test_apply_keeps_auth_token_and_other_keys_and_is_idempotent(tmp_path):
    (tmp_path / ".ray").mkdir()
    path = tmp_path / ".ray" / "config.json"
    original = {"auth_token": "tok-\u00e9-\u2603-0123456789abcdef", "usage_stats": True,
                "nested": {"a": [1, 2.5, None]}, "zzz": "last"}
    path.write_text(json.dumps(original, indent=2))
    os.chmod(path, 0o640)
    env = make_env(tmp_path)

    result = FRAMEWORK.apply(env, decision("off"))
    assert result["changed"] == [str(path)]
    after = json.loads(path.read_text())
    assert after == dict(original, usage_stats=False)
    assert list(after) == list(original)  # order kept
    assert after["auth_token"] == original["auth_token"]
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o640)
    for note in result["notes"]:
        assert "tok-" not in note

    stat_before = os.stat(path)
    again = FRAMEWORK.apply(env, decision("off"))
    assert again["changed"] == []
    assert os.stat(path).st_ino == stat_before.st_ino and os.stat(path).st_mtime_ns == stat_before.st_mtime_ns


def test_file_written_by_ray_itself_is_understood(tmp_path):
    env = make_env(tmp_path)
    code = "from ray._common.usage import usage_lib; usage_lib.set_usage_stats_enabled_via_config(False)"
    subprocess.run([sys.executable, "-c", code], env=env.environ, check=True, timeout=120,
                   capture_output=True)
    assert FRAMEWORK.native_state(env)["mode"] == "off"
    assert FRAMEWORK.apply(env, decision("off"))["changed"] == []


def test_invalid_json_is_refused_then_repaired_with_a_backup(tmp_path):
    (tmp_path / ".ray").mkdir()
    path = tmp_path / ".ray" / "config.json"
    damaged = b'{\n  "auth_token": "abc",\n  "usage_stats": tru\n}'
    path.write_bytes(damaged)
    env = make_env(tmp_path)

    with pytest.raises(FrameworkFileDamaged) as caught:
        FRAMEWORK.apply(env, decision("off"))
    assert caught.value.path == str(path)
    assert caught.value.line == 3
    assert str(path) in caught.value.message and "line 3" in caught.value.message
    assert "abc" not in caught.value.message
    assert path.read_bytes() == damaged

    result = FRAMEWORK.apply(env, decision("off"), repair=True)
    assert result["changed"] == [str(path)]
    backups = [p for p in (tmp_path / ".ray").iterdir() if ".damaged-" in p.name]
    assert len(backups) == 1 and backups[0].read_bytes() == damaged
    assert json.loads(path.read_text()) == {"usage_stats": False}
    assert ray_judge([env.environ]) == [{"enabled": False}]


def test_config_path_override_and_symlink_are_honoured(tmp_path):
    target_dir = tmp_path / "real"
    target_dir.mkdir()
    target = target_dir / "ray.json"
    target.write_text('{"keep": 1}')
    link = tmp_path / "link.json"
    link.symlink_to(target)
    env = make_env(tmp_path / "home", RAY_USAGE_STATS_CONFIG_PATH=str(link))
    FRAMEWORK.apply(env, decision("off"))
    assert link.is_symlink()
    assert json.loads(target.read_text()) == {"keep": 1, "usage_stats": False}
    assert not (tmp_path / "home" / ".ray").exists()
    assert ray_judge([env.environ]) == [{"enabled": False}]


def test_env_override_is_reported_in_notes(tmp_path):
    env = make_env(tmp_path, RAY_USAGE_STATS_ENABLED="1")
    result = FRAMEWORK.apply(env, decision("off"))
    assert any("RAY_USAGE_STATS_ENABLED=1" in note for note in result["notes"])


def test_native_state_does_not_import_ray(tmp_path):
    code = ("import sys; from usagectl.core.environment import Environment; from usagectl.frameworks import ray;"
            "ray.FRAMEWORK.native_state(Environment()); ray.FRAMEWORK.detect(Environment());"
            "print('ray' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "False", proc.stderr


def test_side_channels_name_the_disabled_ping():
    names = [c["name"] for c in FRAMEWORK.side_channels(Environment(environ={}, argv=[]))]
    assert "disabled-ping" in names
