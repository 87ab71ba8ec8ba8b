"""Test isolation: no test may read or write the real home.

The autouse fixture points HOME, every XDG dir, TMPDIR, the frameworks' own
locations and every USAGECTL_* path into tmp_path, and clears variables that would
change a decision (DO_NOT_TRACK, RAY_*, BACALHAU_*, DASK_*).
"""

import os
import sys

import pytest

# Development tools that are not part of the installed package (tools/docgen.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))

from usagectl.core.environment import Environment

_CLEARED_PREFIXES = ("RAY_", "BACALHAU_", "DASK_", "COILED_", "USAGECTL_", "PARSL_")
_CLEARED = ("DO_NOT_TRACK", "NO_COLOR", "FORCE_COLOR", "PYTHONPATH")


# --- what a run verified, for docs/supported-versions.md (tools/supported_versions.py) ---
# A test states a fact with the `verified` fixture; the fact is kept only if the test
# passes, and the session writes the kept facts to $USAGECTL_VERIFIED_OUT (read here, at
# import, before the isolation fixture clears USAGECTL_* variables).
_VERIFIED_OUT = os.environ.get("USAGECTL_VERIFIED_OUT")
_PENDING: dict = {}
_KEPT: list = []


@pytest.fixture
def verified(request):
    """``verified(entry_or_framework, aspect, text, version=None, detail=None)``: this
    test, if it passes, shows ``text`` about ``aspect`` of that framework release (the
    table lists the details of one text together: the variants a test ran)."""
    facts = _PENDING.setdefault(request.node.nodeid, [])

    def record(subject, aspect, text, version=None, detail=None):
        framework = subject["framework"] if isinstance(subject, dict) else subject
        version = (subject.get("label") or subject["version"]) if isinstance(subject, dict) else version
        facts.append({"framework": framework, "version": version, "aspect": aspect, "text": text,
                      "detail": detail, "test": request.node.nodeid.split("[")[0]})

    return record


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        facts = _PENDING.pop(item.nodeid, [])
        if report.passed:
            _KEPT.extend(facts)
    elif report.failed:
        _PENDING.pop(item.nodeid, None)


def pytest_sessionfinish(session, exitstatus):
    if _VERIFIED_OUT:
        import json

        with open(_VERIFIED_OUT + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(_KEPT, handle, indent=1)
        os.replace(_VERIFIED_OUT + ".tmp", _VERIFIED_OUT)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name in _CLEARED:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    dirs = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_RUNTIME_DIR": tmp_path / "run",
        "TMPDIR": tmp_path / "tmp",
        "USAGECTL_CONFIG_DIR": home / ".config" / "usagectl",
        "USAGECTL_STATE_DIR": home / ".local" / "state" / "usagectl",
    }
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        monkeypatch.setenv(name, str(path))
    # `usagectl --system` writes under this root (never the real /etc) in every test, and
    # users read the policy it writes there. Its directory exists (as /etc/xdg/usagectl
    # would); the file does not.
    policy_dir = tmp_path / "sysroot" / "etc" / "xdg" / "usagectl"
    policy_dir.mkdir(parents=True)
    for directory in (policy_dir, policy_dir.parent, policy_dir.parent.parent, policy_dir.parent.parent.parent):
        directory.chmod(0o755)
    monkeypatch.setenv("USAGECTL_POLICY_FILE", str(policy_dir / "policy.toml"))
    monkeypatch.setenv("USAGECTL_SYSTEM_ROOT", str(tmp_path / "sysroot"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "etc"))
    monkeypatch.setenv("XDG_DATA_DIRS", str(tmp_path / "share"))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def env():
    """An Environment built from the isolated os.environ."""
    return Environment(environ=dict(os.environ), argv=[])


@pytest.fixture
def consent_file(env):
    from pathlib import Path

    return Path(env.consent_path)


@pytest.fixture
def settings_file(env):
    """usagectl's own settings ([search], [deletion.*], [verify]) in the isolated home."""
    from pathlib import Path

    return Path(env.settings_path)


@pytest.fixture
def policy_file(env):
    from pathlib import Path

    path = Path(env.policy_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def cli():
    """Run a `usagectl` command line in this process, with the isolated environment
    (clirun.run_in_process: the same entry point, its own Environment and streams)."""
    from clirun import run_in_process

    return run_in_process


@pytest.fixture
def cli_process():
    """Run the real `usagectl` in a subprocess, for the end-to-end tests (see clirun.py)."""
    from clirun import run_usagectl

    return run_usagectl
