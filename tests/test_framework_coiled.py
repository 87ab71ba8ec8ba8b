"""The Coiled/Dask adapter against dask's own config resolution, run in subprocesses."""

import json
import os
import subprocess
import sys

import pytest
from helpers import decision_for, make_env

from usagectl.core.environment import Environment
from usagectl.frameworks.coiled import framework as coiled_adapter

pytestmark = pytest.mark.frameworks

FRAMEWORK = coiled_adapter.FRAMEWORK
KEYS = [key for key, _ in coiled_adapter.OFF_VALUES]
MISSING = "<missing>"

# A fresh interpreter, exactly as a user's program starts: import dask and coiled (which
# registers coiled.yaml as defaults), refresh, and ask for every analytics key.
_DASK_FRESH = r"""
import json, sys
import dask.config, coiled
dask.config.refresh()
keys = json.loads(sys.argv[1])
print(json.dumps({k: dask.config.get(k, "<missing>") for k in keys}))
"""

# Many cases in one interpreter (importing coiled costs ~1.8 s): for each case the
# environment is replaced, dask's own _get_paths() recomputes its search path (as it
# does at import) and refresh() re-reads files and env with the registered defaults.
_DASK_TABLE = r"""
import json, os, sys
import dask.config, coiled
cases = json.loads(sys.stdin.read())
keys = cases.pop(0)
out = []
for environ in cases:
    os.environ.clear()
    os.environ.update(environ)
    try:
        dask.config.paths[:] = dask.config._get_paths()
        dask.config.refresh()
        out.append({k: dask.config.get(k, "<missing>") for k in keys})
    except ValueError as exc:
        out.append({"error": "malformed"})
print(json.dumps(out))
"""


def dask_fresh(env):
    proc = subprocess.run([sys.executable, "-c", _DASK_FRESH, json.dumps(KEYS)], env=env.environ,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def dask_table(environs):
    proc = subprocess.run([sys.executable, "-c", _DASK_TABLE], input=json.dumps([KEYS] + environs),
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def decision(mode):
    return decision_for("coiled", mode)


COILED_YAML_ALL_TRUE = """\
coiled:
  user: alice
  token: not-a-real-token-0123456789   # the API token lives here
  server: https://cloud.coiled.io
  send-client-events: true
  analytics:
    disabled: false
    computation:
      code:
        transmit: true
    profile:
      transmit: true
    events:
      allow: ["*"]
    client-spans:
      transmit: true
"""


def model_values(env):
    state = FRAMEWORK.native_state(env)
    if state["mode"] == "unknown" and not state["keys"]:
        return {"error": "malformed"}, state
    return {k: info["value"] for k, info in state["keys"].items()}, state


def test_apply_off_wins_over_coiled_yaml_through_dask_itself(tmp_path):
    env = make_env(tmp_path)
    dask_dir = tmp_path / ".config" / "dask"
    dask_dir.mkdir(parents=True)
    coiled_yaml = dask_dir / "coiled.yaml"
    coiled_yaml.write_text(COILED_YAML_ALL_TRUE)
    os.chmod(coiled_yaml, 0o600)
    before = coiled_yaml.read_bytes()
    before_stat = os.stat(coiled_yaml)

    assert FRAMEWORK.native_state(env)["mode"] == "on"
    result = FRAMEWORK.apply(env, decision("off"))
    ours = dask_dir / coiled_adapter.FILE_NAME
    assert result["changed"] == [str(ours)]
    assert ours.read_text().startswith("# Managed by usagectl")

    values = dask_fresh(env)
    assert values == {k: v for k, v in coiled_adapter.OFF_VALUES}
    assert all(values[k] is False for k in KEYS if k.endswith(("transmit", "send-client-events")))
    assert values["coiled.analytics.disabled"] is True
    assert coiled_yaml.read_bytes() == before
    assert os.stat(coiled_yaml).st_ino == before_stat.st_ino
    assert FRAMEWORK.native_state(env)["mode"] == "off"

    # idempotent
    assert FRAMEWORK.apply(env, decision("off"))["changed"] == []

    # on: our file goes, coiled.yaml's own values come back
    result = FRAMEWORK.apply(env, decision("on"))
    assert result["changed"] == [str(ours)] and not ours.exists()
    values = dask_fresh(env)
    assert values == {
        "coiled.analytics.disabled": False,
        "coiled.analytics.computation.code.transmit": True,
        "coiled.analytics.profile.transmit": True,
        "coiled.analytics.events.allow": ["*"],
        "coiled.analytics.client-spans.transmit": True,
        "coiled.send-client-events": True,
    }
    assert coiled_yaml.read_bytes() == before
    assert FRAMEWORK.apply(env, decision("on"))["changed"] == []


def test_apply_on_without_user_files_restores_coiled_defaults(tmp_path):
    env = make_env(tmp_path)
    FRAMEWORK.apply(env, decision("local"))
    assert dask_fresh(env)["coiled.analytics.computation.code.transmit"] is False
    FRAMEWORK.apply(env, decision("on"))
    values = dask_fresh(env)
    assert values["coiled.analytics.computation.code.transmit"] is True
    assert values["coiled.analytics.disabled"] is False
    assert values["coiled.send-client-events"] is True


def test_unset_leaves_dask_alone(tmp_path):
    env = make_env(tmp_path)
    assert FRAMEWORK.apply(env, decision("unset"))["changed"] == []
    assert not (tmp_path / ".config" / "dask").exists()


def test_dask_config_env_var_dir_is_used(tmp_path):
    elsewhere = tmp_path / "daskcfg"
    env = make_env(tmp_path / "home", DASK_CONFIG=str(elsewhere))
    (elsewhere).mkdir()
    (elsewhere / "coiled.yaml").write_text(COILED_YAML_ALL_TRUE)
    FRAMEWORK.apply(env, decision("off"))
    assert (elsewhere / coiled_adapter.FILE_NAME).exists()
    assert dask_fresh(env)["coiled.analytics.profile.transmit"] is False


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_native_state_matches_dask_across_the_table(tmp_path):
    ours = coiled_adapter.FILE_TEXT
    cases = {}

    def case(name, files=(), **env_vars):
        home = tmp_path / name
        home.mkdir()
        for relative, text in files:
            _write(home / relative, text)
        extra = {k: (v.replace("{home}", str(home)) if isinstance(v, str) else v) for k, v in env_vars.items()}
        cases[name] = make_env(home, **extra)

    d = ".config/dask/"
    case("nothing")
    case("coiled-true", [(d + "coiled.yaml", COILED_YAML_ALL_TRUE)])
    case("ours-over-coiled", [(d + "coiled.yaml", COILED_YAML_ALL_TRUE), (d + "zz-usagectl.yaml", ours)])
    case("later-file-beats-ours", [(d + "zz-usagectl.yaml", ours),
                                    (d + "zzz.yml", "coiled:\n  analytics:\n    disabled: false\n")])
    case("env-beats-ours", [(d + "zz-usagectl.yaml", ours)],
         DASK_COILED__ANALYTICS__COMPUTATION__CODE__TRANSMIT="True")
    case("env-no-string", [], DASK_COILED__ANALYTICS__COMPUTATION__CODE__TRANSMIT="no",
         DASK_COILED__ANALYTICS__DISABLED="off")
    case("env-false-lower", [], DASK_COILED__ANALYTICS__PROFILE__TRANSMIT="false",
         DASK_COILED__SEND_CLIENT_EVENTS="0")
    case("underscore-spelling", [(d + "a.yaml", "coiled:\n  send_client_events: false\n"
                                               "  analytics:\n    client_spans:\n      transmit: false\n")])
    case("yaml11-booleans", [(d + "a.yaml", "coiled:\n  analytics:\n    disabled: yes\n"
                                           "    profile:\n      transmit: off\n")])
    case("json-file", [(d + "b.JSON", json.dumps({"coiled": {"analytics": {"events": {"allow": []}}}}))])
    case("dask-config-dir-beats-home", [(d + "zz-usagectl.yaml", ours),
                                         ("other/a.yaml", "coiled:\n  send-client-events: true\n")],
         DASK_CONFIG="{home}/other")
    case("root-config", [("root/x.yaml", "coiled:\n  analytics:\n    disabled: true\n")],
         DASK_ROOT_CONFIG="{home}/root")
    case("scalar-vs-mapping", [(d + "a.yaml", "coiled:\n  analytics:\n    events: {allow: []}\n"),
                                (d + "b.yaml", "coiled:\n  analytics:\n    events: null\n")])
    case("malformed", [(d + "bad.yaml", "coiled: [unclosed\n")])
    case("top-level-list", [(d + "bad.yaml", "- 1\n- 2\n")])
    case("empty-file", [(d + "empty.yaml", "")])

    names = list(cases)
    answers = dask_table([cases[n].environ for n in names])
    mismatches = []
    for name, dask_says in zip(names, answers):
        mine, state = model_values(cases[name])
        if "error" not in dask_says:
            # A key no layer sets is missing in dask; Coiled's code then uses its own default
            # (dask.config.get(key, True)), which the model reports with source "default".
            for key, value in dask_says.items():
                if value == MISSING and state["keys"][key]["source"] == "default":
                    dask_says[key] = coiled_adapter.FALLBACK_DEFAULTS[key]
        if mine != dask_says:
            mismatches.append((name, mine, dask_says))
    assert not mismatches, mismatches
    by_name = dict(zip(names, answers))
    assert by_name["ours-over-coiled"]["coiled.analytics.disabled"] is True
    assert by_name["env-no-string"]["coiled.analytics.computation.code.transmit"] == "no"
    assert by_name["malformed"] == {"error": "malformed"}


def test_native_state_modes_sources_and_traps(tmp_path):
    env = make_env(tmp_path)
    state = FRAMEWORK.native_state(env)
    assert (state["mode"], state["source"]) == ("on", "default")

    FRAMEWORK.apply(env, decision("off"))
    ours = str(tmp_path / ".config" / "dask" / coiled_adapter.FILE_NAME)
    state = FRAMEWORK.native_state(env)
    assert (state["mode"], state["source"]) == ("off", "file:" + ours)

    # drift: an exported variable turns one channel back on
    env = make_env(tmp_path, DASK_COILED__SEND_CLIENT_EVENTS="True")
    state = FRAMEWORK.native_state(env)
    assert (state["mode"], state["source"]) == ("on", "env:DASK_COILED__SEND_CLIENT_EVENTS")

    # trap: "no" stays a truthy string
    env = make_env(tmp_path, DASK_COILED__ANALYTICS__COMPUTATION__CODE__TRANSMIT="no")
    state = FRAMEWORK.native_state(env)
    assert state["mode"] == "on"
    assert [t["variable"] for t in state["traps"]] == ["DASK_COILED__ANALYTICS__COMPUTATION__CODE__TRANSMIT"]
    assert "string" in state["traps"][0]["problem"]

    # apply reports that the env var still wins
    result = FRAMEWORK.apply(env, decision("off"))
    assert any("overrides" in note for note in result["notes"])


def test_malformed_neighbour_is_reported_not_touched(tmp_path):
    env = make_env(tmp_path)
    bad = tmp_path / ".config" / "dask" / "bad.yaml"
    _write(bad, "coiled: [unclosed\n")
    state = FRAMEWORK.native_state(env)
    assert state["mode"] == "unknown" and "import dask" in state["detail"]
    assert str(bad) in state["source"]


def test_written_file_is_checked_before_it_replaces_anything(tmp_path, monkeypatch):
    env = make_env(tmp_path)
    monkeypatch.setattr(coiled_adapter, "FILE_TEXT", "coiled:\n  analytics: [broken\n")
    with pytest.raises(ValueError):
        FRAMEWORK.apply(env, decision("off"))
    assert not (tmp_path / ".config" / "dask" / coiled_adapter.FILE_NAME).exists()
    monkeypatch.setattr(coiled_adapter, "FILE_TEXT", "coiled:\n  analytics:\n    disabled: false\n")
    with pytest.raises(ValueError):
        FRAMEWORK.apply(env, decision("off"))
    assert not (tmp_path / ".config" / "dask" / coiled_adapter.FILE_NAME).exists()


def test_native_state_does_not_import_dask():
    code = ("import sys; from usagectl.core.environment import Environment; from usagectl.frameworks import coiled;"
            "coiled.FRAMEWORK.native_state(Environment()); coiled.FRAMEWORK.detect(Environment());"
            "print(sorted(m for m in ('dask', 'coiled', 'distributed') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr


def test_side_channels_are_listed():
    names = [c["name"] for c in FRAMEWORK.side_channels(Environment(environ={}, argv=[]))]
    assert names == ["interactions", "config-forwarding"]


def test_known_files_parse_to_what_a_yaml_parser_gives():
    """The YAML-free fast path (status must stay quick) agrees with a real parse."""
    import hashlib
    import importlib.util

    import yaml

    from usagectl.frameworks.coiled import framework as adapter

    assert adapter._known_tree(adapter.FILE_TEXT.encode()) == yaml.safe_load(adapter.FILE_TEXT)
    spec = importlib.util.find_spec("coiled")
    path = os.path.join(list(spec.submodule_search_locations)[0], "coiled.yaml")
    data = open(path, "rb").read()
    known = adapter._known_tree(data)
    if known is None:
        pytest.skip("this coiled's coiled.yaml is not in KNOWN_PACKAGE_DEFAULTS (it is parsed)")
    parsed = yaml.safe_load(data)
    for dotted, _ in adapter.OFF_VALUES:
        assert adapter.get(known, dotted) == adapter.get(parsed, dotted), dotted
    assert hashlib.sha256(data).hexdigest() in adapter.KNOWN_PACKAGE_DEFAULTS


# ---------------------------------------------------------------------------
# A config-driven opt-in: a scheduler preload of coiled.analytics

PRELOAD_FILE = """\
# my scheduler plugins
distributed:
  scheduler:
    preload:
      - coiled.analytics   # added by a colleague's setup script
      - my_site_plugin
    work-stealing: false
"""


def _dask_says(key):
    code = ("import json, dask.config; dask.config.refresh(); "
            "print(json.dumps(dask.config.get(%r, None)))" % key)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ), check=True)
    return json.loads(proc.stdout)


@pytest.mark.frameworks
def test_a_preload_of_coiled_analytics_is_drift_that_verify_fails_and_sync_clears(cli, isolated_home):
    assert cli("disable").exit_code == 0
    config = isolated_home / ".config" / "dask" / "distributed.yaml"
    config.write_text(PRELOAD_FILE)
    assert "coiled.analytics" in _dask_says("distributed.scheduler.preload")   # dask's own answer

    (row,) = cli("status", "coiled", "--json").json()["data"]["frameworks"]
    assert row["drift"] is True and row["native"]["source"] == "file:%s" % config
    verify = cli("verify", "coiled", "--json")
    assert verify.exit_code == 5, verify
    failed = {c["check"] for c in verify.json()["data"]["checks"] if c["status"] == "fail"}
    assert "settings" in failed and "own-code" in failed   # usagectl's model and dask agree

    assert cli("sync", "coiled").exit_code == 0
    assert _dask_says("distributed.scheduler.preload") == ["my_site_plugin"]
    text = config.read_text()
    assert "# my scheduler plugins" in text and "work-stealing: false" in text
    (row,) = cli("status", "coiled", "--json").json()["data"]["frameworks"]
    assert row["drift"] is False and row["native"]["mode"] == "off"


@pytest.mark.frameworks
def test_a_preload_from_the_environment_is_named_not_edited(cli, monkeypatch):
    assert cli("disable").exit_code == 0
    monkeypatch.setenv("DASK_DISTRIBUTED__SCHEDULER__PRELOAD", "['coiled.analytics']")
    (row,) = cli("status", "coiled", "--json").json()["data"]["frameworks"]
    assert row["drift"] is True
    result = cli("sync", "coiled")
    assert "DASK_DISTRIBUTED__SCHEDULER__PRELOAD" in result.stderr and "remove it there" in result.stderr


@pytest.mark.frameworks
@pytest.mark.parametrize("how", ["later-file", "env"])
def test_sync_says_what_it_could_not_repair_and_exits_9(cli, isolated_home, monkeypatch, how):
    """#24 case 1: a dask file ranked after usagectl's own, or a DASK_ variable, still lets
    analytics through after sync. dask itself says so; sync says NOT REPAIRED, names the
    file or variable, exits 9, and agrees with status."""
    assert cli("disable").exit_code == 0
    if how == "later-file":
        later = isolated_home / ".config" / "dask" / "zzz-mine.yaml"
        later.write_text("coiled:\n  analytics:\n    disabled: false\n")
        named = str(later)
        assert _dask_says("coiled.analytics.disabled") is False   # dask's own answer
    else:
        monkeypatch.setenv("DASK_COILED__ANALYTICS__COMPUTATION__CODE__TRANSMIT", "True")
        named = "DASK_COILED__ANALYTICS__COMPUTATION__CODE__TRANSMIT"
        assert _dask_says("coiled.analytics.computation.code.transmit") is True
    result = cli("sync", "--json")
    assert result.exit_code == 9, result
    left = result.json()["data"]["not_repaired"]
    assert [item["framework"] for item in left] == ["coiled"] and named in left[0]["fix"], left
    assert any("NOT REPAIRED" in w["message"] for w in result.json()["warnings"])
    (row,) = cli("status", "coiled", "--json").json()["data"]["frameworks"]
    assert row["drift"] is True  # the same judgment
    human = cli("sync")
    assert "already match" not in human.stdout and "Not repaired: coiled" in human.stdout
