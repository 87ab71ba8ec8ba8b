"""The standalone reader distribution (reader/python, `usage-consent`): usagectl's own
reader byte for byte, installable on its own, and working with nothing of usagectl's
installed: it decides, and what it records, usagectl reads."""

import json
import os
import subprocess
import sys
import zipfile

import docgen
import pytest

ROOT = docgen.repository_root()
DIST = os.path.join(ROOT, "reader", "python")


def test_the_module_is_usagectls_reader_byte_for_byte():
    with open(os.path.join(ROOT, "usagectl", "consent.py"), "rb") as a, \
            open(os.path.join(DIST, "usage_consent.py"), "rb") as b:
        assert a.read() == b.read(), "run `python tools/reader_dist.py --write`"


def test_the_reader_imports_nothing_of_usagectl():
    import ast

    with open(os.path.join(DIST, "usage_consent.py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported and imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def test_the_major_version_is_the_schema():
    from usagectl import consent

    assert int(consent.__version__.split(".")[0]) == consent.SCHEMA_VERSION


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    """A fresh venv with only the built usage-consent wheel in it (no usagectl)."""
    out = tmp_path_factory.mktemp("reader-dist")
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                            str(out / "dist"), DIST], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    wheels = list((out / "dist").glob("usage_consent-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as archive:
        modules = [n for n in archive.namelist() if n.endswith(".py")]
    assert modules == ["usage_consent.py"]
    venv = out / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    # Install by unpacking the wheel into site-packages (no pip in the venv, no network).
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    with zipfile.ZipFile(wheels[0]) as archive:
        archive.extractall(site)
    return python


PROBE = r"""
import json, sys
import usage_consent as c
assert "usagectl" not in sys.modules
d = c.decide("ray")
ok = c.record_sent("mytool", "https://telemetry.example.org/v1", b'{"n": 1}', delivery="delivered",
                   http_status=204)
print(json.dumps({"mode": d.mode, "source": d.source, "recorded": ok, "allowed": c.allowed("parsl", level=1),
                  "version": c.__version__}))
"""


def test_the_standalone_reader_decides_and_records_for_usagectl(standalone, consent_file, env, cli):
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_text('schema = 1\n[default]\nmode = "on"\n[frameworks.ray]\nmode = "off"\n')
    proc = subprocess.run([standalone, "-I", "-c", PROBE], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    from usagectl import consent

    assert got == {"mode": "off", "source": "consent:framework", "recorded": True, "allowed": True,
                   "version": consent.__version__}
    # The line it wrote is one usagectl's own ledger reader accepts.
    from usagectl import _ledger

    with open(_ledger.ledger_path(os.environ), "rb") as handle:
        entries = [_ledger.decode_entry(line) for line in handle.read().splitlines()]
    assert [(e["framework"], e["body"], e["delivery"], e["http_status"]) for e in entries] == [
        ("mytool", b'{"n": 1}', "delivered", 204)]
