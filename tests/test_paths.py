"""The stdlib path logic agrees with platformdirs on this platform."""

import platformdirs
import pytest

from usagectl import _paths


@pytest.mark.parametrize("overrides", [
    {},
    {"XDG_CONFIG_HOME": None, "XDG_STATE_HOME": None, "XDG_CONFIG_DIRS": None},
    {"XDG_CONFIG_HOME": "relative/ignored", "XDG_STATE_HOME": "", "XDG_CONFIG_DIRS": "rel:/opt/etc:/etc/xdg"},
    {"XDG_CONFIG_DIRS": ""},
])
def test_default_paths_match_platformdirs(monkeypatch, overrides):
    monkeypatch.delenv("USAGECTL_CONFIG_DIR")
    monkeypatch.delenv("USAGECTL_STATE_DIR")
    for key, value in overrides.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    assert _paths.user_config_dir() == platformdirs.user_config_dir("usagectl", appauthor=False)
    assert _paths.site_config_dir() == platformdirs.site_config_dir("usagectl", appauthor=False)
    assert _paths.user_state_dir() == platformdirs.user_state_dir("usagectl", appauthor=False)


def test_environment_variables_move_every_file(monkeypatch, tmp_path):
    monkeypatch.setenv("USAGECTL_CONFIG_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("USAGECTL_STATE_DIR", str(tmp_path / "s"))
    monkeypatch.setenv("USAGECTL_POLICY_FILE", str(tmp_path / "p.toml"))
    assert _paths.consent_path() == str(tmp_path / "c" / "consent.toml")
    assert _paths.history_path() == str(tmp_path / "s" / "history.jsonl")
    assert _paths.policy_path() == str(tmp_path / "p.toml")


def test_isolation_fixture_keeps_tests_out_of_the_real_home(tmp_path):
    import os

    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "TMPDIR", "USAGECTL_CONFIG_DIR",
                 "USAGECTL_STATE_DIR", "USAGECTL_POLICY_FILE"):
        assert os.environ[name].startswith(str(tmp_path)), name
