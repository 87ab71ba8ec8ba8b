"""Root trusts nothing a user can write (docs/security.md): every attack of the security
stage (stress/security.py), one test each.

Each attack runs in its own process inside a fresh mount namespace with a tmpfs over the
system directories a mistake could reach, against its own scratch root; the attacker is
uid 65534 (setpriv). A test fails when the attack succeeded, or when anything landed in
those directories. The same catalogue against the code before this change (5b6e33b):
46 of the 52 attacks succeed (docs/security.md).
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(HERE), "stress", "security.py")
sys.path.insert(0, os.path.dirname(SCRIPT))
_spec = importlib.util.spec_from_file_location("security_stage", SCRIPT)
security = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(security)
sys.path.remove(os.path.dirname(SCRIPT))

ATTACKS = [(surface, attack.__name__) for surface, attacks in security.SURFACES.items() for attack in attacks]


@pytest.mark.parametrize("surface,name", ATTACKS, ids=[name for _s, name in ATTACKS])
def test_the_attack_fails(surface, name):
    if not security.usable():
        if os.environ.get("CI"):
            pytest.fail("the security stage needs root, setpriv and unshare, and CI has them")
        pytest.skip("needs root, setpriv and unshare")
    proc = subprocess.run(security.namespaced(["--attack", name]), capture_output=True, text=True, timeout=600,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome["leaked"] == [], "written under the machine's system directories: %s" % outcome["leaked"]
    assert outcome["error"] is None, outcome["error"]
    assert outcome["succeeded"] is False, "%s: the attack on %s succeeded" % (name, surface)


def test_the_catalogue_covers_every_surface_of_the_threat_model():
    with open(os.path.join(os.path.dirname(HERE), "docs", "security.md"), encoding="utf-8") as handle:
        page = handle.read()
    for surface, attacks in security.SURFACES.items():
        assert "| %s | %d |" % (surface, len(attacks)) in page, "docs/security.md: the %s row" % surface
    for _surface, name in ATTACKS:
        if not name.startswith(("attack_blackhole_", "attack_policy_")):
            assert "`%s`" % name in page, "docs/security.md names no test for %s" % name


def test_no_blocking_open_for_reading():
    """Every read of a file usagectl didn't write goes through the non-blocking reader
    (consent.open_regular/read_regular): a plain open() on a FIFO waits forever. Only the
    kernel's own /proc files are opened plainly."""
    import ast

    package = os.path.join(os.path.dirname(HERE), "usagectl")
    found = []
    for base, _dirs, files in os.walk(package):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(base, name)
            with open(path, encoding="utf-8") as handle:
                source = handle.read()
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
                    first = ast.get_source_segment(source, node.args[0]) if node.args else ""
                    if "proc" not in (first or ""):
                        found.append("%s:%d" % (os.path.relpath(path, package), node.lineno))
    assert found == []


@pytest.mark.parametrize("url", security.HOSTILE_URLS)
def test_a_hostile_blackhole_is_named_and_never_exported(cli, env, url):
    import tomlkit

    assert cli("disable").exit_code == 0
    os.makedirs(os.path.dirname(env.settings_path), exist_ok=True)
    with open(env.settings_path, "w", encoding="utf-8") as handle:
        handle.write(tomlkit.dumps({"blackhole": {"ray": url}}))
    for fmt in ("systemd", "k8s-env", "dockerfile"):
        result = cli("export", fmt, "--json")
        envelope = result.json()
        assert result.exit_code == 0, result
        assert "127.0.0.1:9" not in envelope["data"]["text"] and "javascript" not in envelope["data"]["text"]
        warnings = [w for w in envelope["warnings"] if "[blackhole] ray" in w["message"]]
        assert warnings and warnings[0]["file"] == env.settings_path, envelope["warnings"]


def test_exports_pass_their_real_consumers(cli, env, tmp_path):
    """A valid blackhole reaches each format quoted for it, and the format's own consumer
    accepts the result: systemd-analyze for the unit, sh -n for the Dockerfile's shell,
    a YAML loader for the env list."""
    import shutil

    import yaml

    assert cli("disable").exit_code == 0
    os.makedirs(os.path.dirname(env.settings_path), exist_ok=True)
    with open(env.settings_path, "w", encoding="utf-8") as handle:
        handle.write('[blackhole]\nray = "http://127.0.0.1:9/sink?a=1%20b"\n')

    unit = cli("export", "systemd").stdout
    assert "RAY_USAGE_STATS_REPORT_URL=http://127.0.0.1:9/sink?a=1%%20b" in unit  # % doubled for systemd
    if shutil.which("systemd-analyze"):
        service = tmp_path / "usagectl-test.service"
        service.write_text("[Unit]\nDescription=t\n" + unit + "Type=oneshot\nExecStart=/bin/true\n")
        proc = subprocess.run(["systemd-analyze", "verify", str(service)], capture_output=True, text=True,
                              timeout=60)
        bad = [line for line in proc.stderr.splitlines() if service.name in line]
        assert bad == [], proc.stderr

    docker = cli("export", "dockerfile").stdout
    run = docker[docker.index("RUN ") + 4:].replace("\\\n", " ")
    assert subprocess.run(["sh", "-n", "-c", run], capture_output=True, timeout=60).returncode == 0
    env_line = docker[docker.index("ENV "):docker.index("\n#", docker.index("ENV "))]
    assert "RAY_USAGE_STATS_REPORT_URL=\"http://127.0.0.1:9/sink?a=1%20b\"" in env_line

    listed = yaml.safe_load(cli("export", "k8s-env").stdout)
    assert {"name": "RAY_USAGE_STATS_REPORT_URL", "value": "http://127.0.0.1:9/sink?a=1%20b"} in listed
    assert all(isinstance(item["value"], str) for item in listed)
