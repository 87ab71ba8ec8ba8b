"""Issue 3 end to end: the CLI carries the consent decision into the real frameworks.

Each check asks the framework's own code, in a fresh subprocess with the test's HOME,
what it will do. Nothing here starts a cluster or sends anything.
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.frameworks

COILED_KEYS = (
    "coiled.analytics.disabled",
    "coiled.analytics.computation.code.transmit",
    "coiled.analytics.profile.transmit",
    "coiled.analytics.events.allow",
    "coiled.analytics.client-spans.transmit",
    "coiled.send-client-events",
)


def ask(code, env=None, timeout=120):
    environ = dict(os.environ)
    environ.update(env or {})
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ray_enabled(env=None):
    pytest.importorskip("ray")
    return ask("import json; from ray._common.usage import usage_lib; "
               "print(json.dumps(usage_lib.usage_stats_enabled()))", env)


def dask_values(env=None):
    pytest.importorskip("dask")
    pytest.importorskip("coiled")
    return ask("import json, dask.config, coiled; dask.config.refresh(); "
               "print(json.dumps({k: dask.config.get(k, None) for k in %r}))" % (COILED_KEYS,), env)


def rows(result):
    return {row["framework"]: row for row in result.json()["data"]["frameworks"]}


def test_disable_and_enable_reach_rays_own_decision(cli):
    assert ray_enabled() is True  # Ray's default
    assert cli("disable").exit_code == 0
    assert ray_enabled() is False
    assert cli("enable").exit_code == 0
    assert ray_enabled() is True


def test_ray_auth_token_survives(cli, isolated_home):
    ray_dir = isolated_home / ".ray"
    ray_dir.mkdir()
    (ray_dir / "config.json").write_text('{"usage_stats": true, "auth_token": "s3cr3t-token"}')
    result = cli("disable")
    assert result.exit_code == 0
    assert json.loads((ray_dir / "config.json").read_text()) == {"usage_stats": False,
                                                                 "auth_token": "s3cr3t-token"}
    assert "s3cr3t" not in result.stdout + result.stderr


def test_disable_turns_coiled_analytics_off_over_coiled_yaml(cli, isolated_home):
    dask_dir = isolated_home / ".config" / "dask"
    dask_dir.mkdir(parents=True)
    coiled_yaml = dask_dir / "coiled.yaml"
    coiled_yaml.write_bytes(
        b"coiled:\n  token: abc123-secret\n  user: alice\n  send-client-events: true\n"
        b"  analytics:\n    disabled: false\n    computation:\n      code:\n        transmit: true\n"
        b"    profile:\n      transmit: true\n    events:\n      allow: ['*']\n"
        b"    client-spans:\n      transmit: true\n")
    before = coiled_yaml.read_bytes()
    assert dask_values()["coiled.analytics.computation.code.transmit"] is True
    assert cli("disable").exit_code == 0
    values = dask_values()
    assert values == {
        "coiled.analytics.disabled": True,
        "coiled.analytics.computation.code.transmit": False,
        "coiled.analytics.profile.transmit": False,
        "coiled.analytics.events.allow": [],
        "coiled.analytics.client-spans.transmit": False,
        "coiled.send-client-events": False,
    }
    assert coiled_yaml.read_bytes() == before
    assert cli("enable").exit_code == 0
    assert dask_values()["coiled.analytics.computation.code.transmit"] is True
    assert coiled_yaml.read_bytes() == before


def test_bacalhau_existing_key_updated_not_duplicated(cli, isolated_home):
    from ruamel.yaml import YAML

    data_dir = isolated_home / ".bacalhau"
    data_dir.mkdir()
    config = data_dir / "config.yaml"
    config.write_text("# my orchestrator\nAPI:\n  Port: 1234  # keep\ndisableanalytics: false\n")
    assert cli("disable").exit_code == 0
    text = config.read_text()
    assert "# my orchestrator" in text and "# keep" in text
    assert text.lower().count("disableanalytics") == 1
    loaded = YAML(typ="safe").load(text)
    assert loaded["disableanalytics"] is True and loaded["API"]["Port"] == 1234
    interval = {k.lower(): v for k, v in loaded.items()}["updateconfig"]
    assert {k.lower(): v for k, v in interval.items()}["interval"] == "0s"


def test_env_var_drift_is_shown(cli):
    cli("disable")
    result = cli("status", "--json", env={"RAY_USAGE_STATS_ENABLED": "1"})
    ray = rows(result)["ray"]
    assert ray["drift"] is True and ray["native"]["source"] == "env:RAY_USAGE_STATS_ENABLED"
    assert "DRIFT" in result.stderr
    assert rows(cli("status", "--json"))["ray"]["drift"] is False


def test_flipped_ray_file_is_drift_and_sync_repairs_it(cli, isolated_home):
    cli("disable")
    config = isolated_home / ".ray" / "config.json"
    config.write_text('{"usage_stats": true}')  # as `ray enable-usage-stats` would
    ray = rows(cli("status", "--json"))["ray"]
    assert ray["drift"] is True and ray["native"]["mode"] == "on"
    assert "DRIFT" in cli("status").stdout
    synced = cli("sync", "--json")
    assert synced.exit_code == 0, synced
    assert str(config) in synced.json()["data"]["applied"][0]["changed"]
    assert rows(cli("status", "--json"))["ray"]["drift"] is False
    assert ray_enabled() is False


def test_bad_ray_env_value_is_flagged_as_a_trap(cli):
    result = cli("status", "--json", env={"RAY_USAGE_STATS_ENABLED": "true"})
    assert rows(result)["ray"]["traps"][0]["variable"] == "RAY_USAGE_STATS_ENABLED"
    assert "RAY_USAGE_STATS_ENABLED" in result.stderr


def test_dask_no_string_is_flagged_as_a_trap(cli):
    name = "DASK_COILED__ANALYTICS__COMPUTATION__CODE__TRANSMIT"
    result = cli("status", "--json", env={name: "no"})
    traps = rows(result)["coiled"]["traps"]
    assert any(t["variable"] == name for t in traps), traps


def test_invalid_ray_file_is_not_replaced_without_repair(cli, isolated_home):
    config = isolated_home / ".ray" / "config.json"
    config.parent.mkdir()
    config.write_bytes(b'{"usage_stats": tru')
    result = cli("disable")
    assert result.exit_code == 6, result
    assert str(config) in result.stderr and config.read_bytes() == b'{"usage_stats": tru'
    repaired = cli("sync", "--repair")
    assert repaired.exit_code == 0, repaired
    assert ray_enabled() is False


def test_env_output_makes_frameworks_off_in_a_fresh_shell(cli, tmp_path):
    cli("disable")
    exported = cli("env").stdout
    assert "export RAY_USAGE_STATS_ENABLED=0" in exported and "export DO_NOT_TRACK=1" in exported
    script = tmp_path / "env.sh"
    script.write_text(exported)
    probe = ("import json, os; print(json.dumps({k: os.environ.get(k) for k in os.environ "
             "if k.startswith(('RAY_', 'BACALHAU_', 'DASK_', 'DO_NOT'))}))")
    out = subprocess.run(["sh", "-c", '. "$1" && exec "$2" -c "$3"', "sh", str(script), sys.executable,
                          probe], capture_output=True, text=True, timeout=60, check=True)
    variables = json.loads(out.stdout)
    assert variables["BACALHAU_DISABLEANALYTICS"] == "true"
    assert variables["BACALHAU_UPDATECONFIG_INTERVAL"] == "0s"
    # Move the files away: the environment alone must now keep Ray and Coiled off.
    clean_home = tmp_path / "clean-home"
    clean_home.mkdir()
    env = dict(variables, HOME=str(clean_home), XDG_CONFIG_HOME=str(clean_home / ".config"))
    assert ray_enabled(env) is False
    assert dask_values(env)["coiled.analytics.computation.code.transmit"] is False
    assert dask_values(env)["coiled.analytics.disabled"] is True
    dotenv = cli("env", "--shell", "dotenv").stdout
    assert "RAY_USAGE_STATS_ENABLED=0\n" in dotenv
    fish = cli("env", "--shell", "fish").stdout
    assert "set -gx RAY_USAGE_STATS_ENABLED '0'" in fish
    powershell = cli("env", "--shell", "powershell").stdout
    assert "$env:RAY_USAGE_STATS_ENABLED = '0'" in powershell
    assert "$env:DASK_COILED__ANALYTICS__EVENTS__ALLOW = '[]'" in powershell
    as_json = cli("env", "--json").json()["data"]
    assert ["RAY_USAGE_STATS_ENABLED", "0"] in next(
        f["variables"] for f in as_json["frameworks"] if f["framework"] == "ray")


def test_env_without_a_choice_sets_nothing(cli):
    out = cli("env").stdout
    assert "export" not in out and "no choice recorded" in out
