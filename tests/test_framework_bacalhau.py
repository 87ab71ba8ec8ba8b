"""The Bacalhau adapter: round-trip edits of $DataDir/config.yaml and the native-state model.

Bacalhau is a Go binary that isn't installed here, so the files are checked with YAML
loaders (PyYAML and ruamel) and the rules from FRAMEWORKS.md (checked against Bacalhau's
Go source v1.6.0): case-insensitive keys, strconv.ParseBool for the env var.
"""

import os
import re

import pytest
import yaml as pyyaml
from helpers import decision_for, make_env

from usagectl.core.errors import FrameworkFileDamaged
from usagectl.frameworks.bacalhau import framework as bacalhau_adapter

FRAMEWORK = bacalhau_adapter.FRAMEWORK


def decision(mode):
    return decision_for("bacalhau", mode)


def ci_get(mapping, *names):
    node = mapping
    for name in names:
        matches = [k for k in node if k.lower() == name.lower()]
        assert len(matches) == 1, "%s appears %d times" % (name, len(matches))
        node = node[matches[0]]
    return node


def count_key_lines(text, key):
    return len(re.findall(r"(?im)^\s*%s\s*:" % re.escape(key), text))


USER_FILE = """\
# My Bacalhau node: keep these comments!
API:
  Host: 0.0.0.0   # listen everywhere
  Port: 1234
DisableAnalytics: false
NameProvider: puuid
Orchestrator:
  Enabled: true
  Advertise: 10.0.0.1   # internal address
"""

# The shape `bacalhau config set` writes: keys lower-cased and sorted, 4-space indent.
CONFIG_SET_FILE = """\
api:
    host: 0.0.0.0
    port: 1234
disableanalytics: false
labels:
    - a=b
    - c=d
updateconfig:
    interval: 24h0m0s
"""


def test_existing_key_is_updated_not_duplicated_and_comments_survive(tmp_path):
    env = make_env(tmp_path)
    path = tmp_path / ".bacalhau" / "config.yaml"
    path.parent.mkdir()
    path.write_text(USER_FILE)

    result = FRAMEWORK.apply(env, decision("off"))
    assert result["changed"] == [str(path)]
    assert result["side_channels_closed"] == ["update-check"]
    assert any("update check" in n and "installation and instance IDs" in n for n in result["notes"])

    text = path.read_text()
    for comment in ("# My Bacalhau node: keep these comments!", "# listen everywhere", "# internal address"):
        assert comment in text
    assert count_key_lines(text, "DisableAnalytics") == 1
    assert "DisableAnalytics: true" in text  # the user's spelling is kept
    parsed = pyyaml.safe_load(text)
    assert ci_get(parsed, "DisableAnalytics") is True
    assert ci_get(parsed, "UpdateConfig", "Interval") == "0s"
    assert parsed["API"] == {"Host": "0.0.0.0", "Port": 1234}
    assert parsed["Orchestrator"] == {"Enabled": True, "Advertise": "10.0.0.1"}
    assert parsed["NameProvider"] == "puuid"

    # idempotent: no second write
    stat = os.stat(path)
    assert FRAMEWORK.apply(env, decision("off"))["changed"] == []
    assert os.stat(path).st_mtime_ns == stat.st_mtime_ns


def test_lower_case_file_from_config_set_keeps_its_style(tmp_path):
    env = make_env(tmp_path)
    path = tmp_path / ".bacalhau" / "config.yaml"
    path.parent.mkdir()
    path.write_text(CONFIG_SET_FILE)

    FRAMEWORK.apply(env, decision("local"))
    text = path.read_text()
    assert count_key_lines(text, "disableanalytics") == 1
    assert count_key_lines(text, "updateconfig") == 1 and count_key_lines(text, "interval") == 1
    assert "disableanalytics: true\n" in text
    assert "updateconfig:\n    interval: 0s\n" in text
    assert "    - a=b\n    - c=d\n" in text  # 4-space style kept
    parsed = pyyaml.safe_load(text)
    assert parsed["labels"] == ["a=b", "c=d"]
    assert parsed["disableanalytics"] is True


def test_mixed_case_update_section_is_reused(tmp_path):
    env = make_env(tmp_path)
    path = tmp_path / ".bacalhau" / "config.yaml"
    path.parent.mkdir()
    path.write_text("disableAnalytics: true\nupdateConfig:\n  INTERVAL: 1h  # daily-ish\n")
    FRAMEWORK.apply(env, decision("off"))
    text = path.read_text()
    assert count_key_lines(text, "interval") == 1 and "INTERVAL: 0s" in text
    assert count_key_lines(text, "updateconfig") == 1
    assert "# daily-ish" in text


def test_on_enables_analytics_but_leaves_update_check_stopped(tmp_path):
    env = make_env(tmp_path)
    FRAMEWORK.apply(env, decision("off"))
    result = FRAMEWORK.apply(env, decision("on"))
    path = tmp_path / ".bacalhau" / "config.yaml"
    parsed = pyyaml.safe_load(path.read_text())
    assert ci_get(parsed, "DisableAnalytics") is False
    assert ci_get(parsed, "UpdateConfig", "Interval") == "0s"
    assert any("update check is left as it is" in n for n in result["notes"])
    assert FRAMEWORK.native_state(env)["mode"] == "on"


def test_missing_file_is_created_privately_with_a_header(tmp_path):
    env = make_env(tmp_path, PATH=str(tmp_path / "empty-bin"))
    result = FRAMEWORK.apply(env, decision("off"))
    path = tmp_path / ".bacalhau" / "config.yaml"
    assert result["changed"] == [str(path)]
    assert oct(os.stat(path.parent).st_mode & 0o777) == oct(0o700)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)
    text = path.read_text()
    assert text.startswith("# Bacalhau configuration.")
    assert any("isn't installed" in n for n in result["notes"])
    parsed = pyyaml.safe_load(text)
    assert parsed == {"DisableAnalytics": True, "UpdateConfig": {"Interval": "0s"}}


def test_unset_writes_nothing(tmp_path):
    env = make_env(tmp_path)
    assert FRAMEWORK.apply(env, decision("unset"))["changed"] == []
    assert not (tmp_path / ".bacalhau").exists()


@pytest.mark.parametrize("datadir,bdir,expected", [
    ("{t}/dd", "{t}/bd", "{t}/dd"),
    ("", "{t}/bd", "{t}/bd"),
    (None, "{t}/bd", "{t}/bd"),
    (None, None, "{t}/home/.bacalhau"),
    ("", "", "{t}/home/.bacalhau"),
])
def test_data_dir_precedence(tmp_path, datadir, bdir, expected):
    fill = lambda v: None if v is None else v.replace("{t}", str(tmp_path))  # noqa: E731
    env = make_env(tmp_path / "home", BACALHAU_DATADIR=fill(datadir), BACALHAU_DIR=fill(bdir))
    FRAMEWORK.apply(env, decision("off"))
    assert (tmp_path.joinpath(fill(expected)) / "config.yaml").is_file()
    assert bacalhau_adapter.config_path(env) == os.path.join(fill(expected), "config.yaml")


def test_invalid_yaml_is_refused_then_repaired_with_a_backup(tmp_path):
    env = make_env(tmp_path)
    path = tmp_path / ".bacalhau" / "config.yaml"
    path.parent.mkdir()
    damaged = b"API:\n  Host: 0.0.0.0\nDisableAnalytics: [false\nOther: 1\n"
    path.write_bytes(damaged)
    with pytest.raises(FrameworkFileDamaged) as caught:
        FRAMEWORK.apply(env, decision("off"))
    assert caught.value.path == str(path) and caught.value.line is not None
    assert "line %d" % caught.value.line in caught.value.message
    assert path.read_bytes() == damaged
    assert FRAMEWORK.native_state(env)["mode"] == "unknown"

    FRAMEWORK.apply(env, decision("off"), repair=True)
    backups = [p for p in path.parent.iterdir() if ".damaged-" in p.name]
    assert len(backups) == 1 and backups[0].read_bytes() == damaged
    assert ci_get(pyyaml.safe_load(path.read_text()), "DisableAnalytics") is True


ENV_TABLE = [(v, "off") for v in bacalhau_adapter.GO_TRUE] + \
            [(v, "on") for v in bacalhau_adapter.GO_FALSE] + \
            [(v, "unknown") for v in ("yes", "on", "TRUE ", "tRUE", "2", "y")]


@pytest.mark.parametrize("value,mode", ENV_TABLE)
def test_env_var_is_parsed_like_go_parsebool(tmp_path, value, mode):
    state = FRAMEWORK.native_state(make_env(tmp_path, BACALHAU_DISABLEANALYTICS=value))
    assert state["mode"] == mode
    assert state["source"] == "env:BACALHAU_DISABLEANALYTICS"
    assert bool(state["traps"]) is (mode == "unknown")


@pytest.mark.parametrize("content,mode", [
    (None, "on"),
    ("DisableAnalytics: true\n", "off"),
    ("disableanalytics: TRUE\n", "off"),
    ("DISABLEANALYTICS: false\n", "on"),
    ("DisableAnalytics:\n", "on"),
    ("Other: 1\n", "on"),
    ("DisableAnalytics: \"yes\"\n", "unknown"),
    ("DisableAnalytics: true\ndisableanalytics: false\n", "unknown"),
    ("DisableAnalytics: [\n", "unknown"),
    ("", "on"),
])
def test_native_state_from_file(tmp_path, content, mode):
    if content is not None:
        (tmp_path / ".bacalhau").mkdir()
        (tmp_path / ".bacalhau" / "config.yaml").write_text(content)
    state = FRAMEWORK.native_state(make_env(tmp_path))
    assert state["mode"] == mode
    # An empty env var is ignored, exactly like an unset one.
    assert FRAMEWORK.native_state(make_env(tmp_path, BACALHAU_DISABLEANALYTICS=""))["mode"] == mode


def test_drift_is_visible_when_env_overrides_the_file(tmp_path):
    env = make_env(tmp_path)
    FRAMEWORK.apply(env, decision("off"))
    assert FRAMEWORK.native_state(env)["mode"] == "off"
    env = make_env(tmp_path, BACALHAU_DISABLEANALYTICS="false", BACALHAU_UPDATECONFIG_INTERVAL="1h")
    state = FRAMEWORK.native_state(env)
    assert (state["mode"], state["source"]) == ("on", "env:BACALHAU_DISABLEANALYTICS")
    assert state["update_check"] == {"stopped": False, "source": "env:BACALHAU_UPDATECONFIG_INTERVAL",
                                     "value": "1h"}
    notes = FRAMEWORK.apply(env, decision("off"))["notes"]
    assert any("BACALHAU_DISABLEANALYTICS=false" in n for n in notes)
    assert any("BACALHAU_UPDATECONFIG_INTERVAL=1h" in n for n in notes)


def test_update_check_state(tmp_path):
    env = make_env(tmp_path)
    assert FRAMEWORK.native_state(env)["update_check"]["stopped"] is False
    FRAMEWORK.apply(env, decision("off"))
    assert FRAMEWORK.native_state(env)["update_check"]["stopped"] is True
    assert FRAMEWORK.native_state(make_env(tmp_path, BACALHAU_UPDATECONFIG_INTERVAL="0"))["update_check"][
        "stopped"] is True


def test_identifier_files_are_read_not_written(tmp_path):
    env = make_env(tmp_path, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    ids = {i["name"]: i for i in FRAMEWORK.identifier_files(env)}
    assert ids["installation_id"]["exists"] is False and ids["installation_id"]["value"] is None
    assert not (tmp_path / "xdg").exists()

    (tmp_path / "xdg" / "bacalhau").mkdir(parents=True)
    (tmp_path / "xdg" / "bacalhau" / "installation_id").write_text("0b4d9c36-aaaa-bbbb-cccc-0123456789ab\n")
    (tmp_path / ".bacalhau").mkdir()
    (tmp_path / ".bacalhau" / "system_metadata.yaml").write_text("RepoVersion: 4\nInstanceID: abc123\n")
    ids = {i["name"]: i for i in FRAMEWORK.identifier_files(env)}
    assert ids["installation_id"]["value"] == "0b4d9c36-aaaa-bbbb-cccc-0123456789ab"
    assert ids["instance_id"]["value"] == "abc123"
    assert ids["instance_id"]["path"] == str(tmp_path / ".bacalhau" / "system_metadata.yaml")


def test_detect_never_runs_the_binary(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "ran"
    fake = bin_dir / "bacalhau"
    fake.write_text("#!/bin/sh\ntouch %s\n" % marker)
    fake.chmod(0o755)
    found = FRAMEWORK.detect(make_env(tmp_path, PATH=str(bin_dir)))
    assert found["installed"] is True and found["binary"] == str(fake)
    assert not marker.exists()
    assert FRAMEWORK.detect(make_env(tmp_path, PATH=str(tmp_path / "nowhere")))["installed"] is False


def test_preview_takes_the_node_type_from_the_config_file(cli, env):
    path = os.path.join(env.home, ".bacalhau", "config.yaml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for text, expected in (("orchestrator:\n  enabled: true\ncompute:\n  enabled: true\n", "hybrid"),
                           ("Orchestrator:\n  Enabled: true\n", "orchestrator"),
                           ("Compute:\n  Enabled: true\n", "compute"),
                           ("API:\n  Port: 1234\n", "orchestrator or hybrid (only orchestrators send)")):
        with open(path, "w") as handle:
            handle.write(text)
        item = cli("preview", "bacalhau", "--json").json()["data"]["frameworks"][0]
        assert item["resource_attributes"]["node_type"] == expected, text
        # Only orchestrators send: a compute-only node is said to send no events.
        assert any("compute-only" in n for n in item["notes"]) is (expected == "compute"), item["notes"]
