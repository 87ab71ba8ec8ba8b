"""The built wheel ships the man pages, the completions and the console script.

pyproject.toml maps man/man1 and completions/* into the wheel's shared data; this
builds the real wheel from the checkout (hatchling, no isolation, no network) and
checks that what a user installs is byte for byte what is committed.
"""

import configparser
import os
import subprocess
import sys
import zipfile

import docgen
import pytest

from usagectl import __version__

ROOT = docgen.repository_root()
DATA = "usagectl-%s.data/data/" % __version__

#: repository path -> where the wheel installs it, relative to the prefix.
EXPECTED_SHARED = {
    "completions/usagectl.bash": "share/bash-completion/completions/usagectl",
    "completions/_usagectl": "share/zsh/site-functions/_usagectl",
    "completions/usagectl.fish": "share/fish/vendor_completions.d/usagectl.fish",
}


def committed_man_pages():
    directory = os.path.join(ROOT, docgen.MAN_DIR)
    return sorted(n for n in os.listdir(directory) if n.endswith(".1"))


def read_committed(path):
    with open(os.path.join(ROOT, path), "rb") as handle:
        return handle.read()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                           "--outdir", str(outdir), ROOT],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wheels = list(outdir.glob("usagectl-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def expected_files():
    files = {"man/man1/" + name: "share/man/man1/" + name for name in committed_man_pages()}
    files.update(EXPECTED_SHARED)
    return files


def test_the_repository_has_what_the_wheel_should_ship():
    pages = committed_man_pages()
    assert "usagectl.1" in pages and "usagectl-status.1" in pages
    for path in EXPECTED_SHARED:
        assert os.path.isfile(os.path.join(ROOT, path)), path


def test_wheel_contains_man_pages_and_completions_byte_identical(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped_pages = sorted(n[len(DATA + "share/man/man1/"):] for n in names
                               if n.startswith(DATA + "share/man/man1/"))
        assert shipped_pages == committed_man_pages()
        for repo_path, installed in expected_files().items():
            member = DATA + installed
            assert member in names, member
            assert archive.read(member) == read_committed(repo_path), member


def test_wheel_declares_the_console_script(wheel):
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read("usagectl-%s.dist-info/entry_points.txt" % __version__).decode()
    parser = configparser.ConfigParser()
    parser.read_string(text)
    assert parser["console_scripts"]["usagectl"] == "usagectl.main:run"


# No test runs `pip install --prefix` on the wheel: with this checkout installed in
# editable mode, pip uninstalls the editable copy from the running environment first.
# The .data/data/share/... layout checked above is what the wheel format installs
# into <prefix>/share/.
