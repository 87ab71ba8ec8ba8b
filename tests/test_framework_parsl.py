"""The Parsl adapter: detection through package metadata, a native state that says
where Parsl's switch really is (code), and the runtime hook as its mechanism."""

import importlib.metadata
import json
import os
import subprocess
import sys

import pytest

from usagectl import frameworks as adapters
from usagectl.frameworks.parsl import framework as parsl_adapter
from usagectl.hook import installer

FRAMEWORK = parsl_adapter.FRAMEWORK


@pytest.fixture
def site_dir(tmp_path, monkeypatch):
    """Point the engines' hook lookup (usagectl.hook.state) at a scratch site-packages dir."""
    from usagectl.hook import state as hook_state_mod

    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(hook_state_mod, "hook_installed",
                        lambda env: installer.hook_installed(env, site_dir=str(site)))
    return site


def effective_state(env):
    """Parsl's state as every engine sees it: its own, plus what the hook makes of it."""
    from usagectl import consent
    from usagectl.hook.state import native_state

    decision = consent.decide("parsl", environ=env.environ, consent_path=env.consent_path,
                              policy_path=env.policy_path)
    return native_state(env, FRAMEWORK, decision)


def install_hook(site):
    installer.place(str(site))


def test_registered_under_its_name():
    assert adapters.get("parsl") is FRAMEWORK
    assert FRAMEWORK.has_levels and FRAMEWORK.own_default == "off"


@pytest.mark.frameworks
def test_detect_reports_the_version_parsl_itself_reports(env):
    found = FRAMEWORK.detect(env)
    own = subprocess.run([sys.executable, "-c", "import parsl; print(parsl.__version__)"],
                         capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    assert found == {"installed": True, "version": own, "files": []}


def test_detect_when_not_installed(env, monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert FRAMEWORK.detect(env) == {"installed": False, "version": None, "files": []}


def test_native_state_without_hook_is_code_default_off(env, site_dir, cli):
    assert cli("disable", "parsl").exit_code == 0
    state = effective_state(env)
    assert state["mode"] == "off"
    assert state["source"] == "code:Config.usage_tracking"
    assert state["hook"]["installed"] is False
    assert state["effective"]["via"] == "code" and state["effective"]["mode"] == "unknown"
    assert state["traps"] == []


def test_native_state_with_hook_and_consent_off_is_off_via_hook(env, site_dir, cli):
    install_hook(site_dir)
    assert cli("disable", "parsl").exit_code == 0
    state = effective_state(env)
    assert state["hook"]["installed"] and state["hook"]["current"]
    assert state["effective"] == {"mode": "off", "level": 0, "via": "hook",
                                  "detail": "the runtime hook caps every Config(usage_tracking=...) at 0"}


def test_native_state_with_hook_and_level_cap(env, site_dir, cli):
    install_hook(site_dir)
    assert cli("enable", "parsl", "--level", "2").exit_code == 0
    effective = effective_state(env)["effective"]
    assert (effective["mode"], effective["level"], effective["via"]) == ("on", 2, "hook")


def test_native_state_with_hook_and_do_not_track(site_dir):
    from usagectl.core.environment import Environment

    install_hook(site_dir)
    environ = dict(os.environ, DO_NOT_TRACK="1")
    effective = effective_state(Environment(environ=environ, argv=[]))["effective"]
    assert effective["mode"] == "off" and effective["via"] == "hook"


def test_sync_writes_nothing_and_points_at_the_hook(env, site_dir, tmp_path):
    from usagectl.commands import sync
    from usagectl.output import Report

    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = sync.apply_all(env, Report("sync"), ["parsl"])[0]
    assert result["changed"] == []
    assert "not installed" in result["notes"][0] and "usagectl hook install" in result["notes"][0]
    assert sorted(p.name for p in tmp_path.rglob("*")) == before

    install_hook(site_dir)
    result = sync.apply_all(env, Report("sync"), ["parsl"])[0]
    assert result["changed"] == []
    assert result["notes"] == ["Parsl has no settings file; the runtime hook in %s caps its tracking "
                               "level at run time" % (site_dir / installer.PTH_NAME)]


def test_hook_state_is_json_for_status(env):
    from usagectl.hook.state import hook_state

    state = hook_state(env)
    assert set(state) >= {"installed", "path", "current", "active", "runtime_exists"}
    assert state["path"].endswith(installer.PTH_NAME)
    json.dumps(state)  # the lead puts it in `status --json`


def test_status_never_shows_parsl_off_while_scripts_can_still_send(site_dir, cli):
    """Without the hook, a Parsl script can still choose usage_tracking=3: not "off"."""
    assert cli("disable").exit_code == 0
    result = cli("status", "parsl", "--json")
    (row,) = result.json()["data"]["frameworks"]
    assert row["enforced"] is False and row["fix"] == "usagectl hook install"
    assert any("NOT ENFORCED" in w["message"] for w in result.json()["warnings"])
    human = cli("status", "parsl").stdout
    assert "not enforced" in human and "off (Config.usage_tracking)" not in human

    install_hook(site_dir)
    (row,) = cli("status", "parsl", "--json").json()["data"]["frameworks"]
    assert row["enforced"] is True and row["effective"]["via"] == "hook"


def test_status_python_judges_another_environment(tmp_path, cli):
    """The workflow's environment (under pipx, not usagectl's own): its hook, its frameworks."""
    import venv

    target = tmp_path / "workflow-venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    assert cli("disable").exit_code == 0
    (row,) = cli("status", "parsl", "--python", str(python), "--json").json()["data"]["frameworks"]
    assert row["installed_here"] is False            # Parsl isn't in that venv
    assert row["enforced"] is False and row["fix"] == "usagectl hook install --python %s" % python
    assert cli("status", "--python", "/nonexistent/python").exit_code == 2


def test_before_levels_reads_the_installed_parsl_source_without_importing_it(tmp_path, monkeypatch):
    import importlib.util
    import sys

    from usagectl.frameworks.parsl import framework

    package = tmp_path / "parsl"
    (package / "usage_tracking").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('never imported')\n")
    (package / "usage_tracking" / "usage.py").write_text("def check_tracking_enabled(self):\n    pass\n")
    real = importlib.util.find_spec

    def find_spec(name, *args):
        if name == "parsl":
            return importlib.util.spec_from_file_location("parsl", str(package / "__init__.py"))
        return real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.delitem(sys.modules, "parsl", raising=False)
    assert framework.before_levels() is True          # 2024.3 and older: no levels
    (package / "usage_tracking" / "usage.py").write_text("def check_tracking_level(self):\n    pass\n")
    assert framework.before_levels() is False
    assert "parsl" not in sys.modules
