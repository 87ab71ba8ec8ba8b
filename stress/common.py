"""Shared by the stress scripts: scale, an isolated home, figures and their floors.

Every script prints its figures as ``name: value`` lines and exits 1 when a figure falls
short of its floor (``Figures.check``). ``--scale small`` (CI, every change) and
``--scale full`` (the figures in docs/reliability.md) change only how much is done.
Nothing here touches the real home: each run gets a fresh HOME, XDG dirs, TMPDIR and
usagectl dirs under a temporary root, and talks to no network.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

#: The usagectl command line, run by the interpreter running the stress suite.
USAGECTL = [sys.executable, "-c", "from usagectl.main import run; run()"]

_CLEARED_PREFIXES = ("RAY_", "BACALHAU_", "DASK_", "COILED_", "USAGECTL_", "PARSL_")


def parse_args(description, **scales):
    """``scales``: name -> (small, full). Returns (args, {name: value at the chosen scale})."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scale", choices=("small", "full"), default="small")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    chosen = {name: pair[0 if args.scale == "small" else 1] for name, pair in scales.items()}
    return args, chosen


class Home:
    """A scratch home; ``environ`` is what usagectl and the frameworks see."""

    def __init__(self, root=None):
        self.root = root or tempfile.mkdtemp(prefix="ustress-", dir="/tmp")
        self.home = os.path.join(self.root, "home")
        self.environ = {k: v for k, v in os.environ.items()
                        if not k.startswith(_CLEARED_PREFIXES) and k not in ("DO_NOT_TRACK", "PYTHONPATH")}
        dirs = {
            "HOME": self.home,
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "XDG_DATA_HOME": os.path.join(self.home, ".local", "share"),
            "XDG_STATE_HOME": os.path.join(self.home, ".local", "state"),
            "XDG_CACHE_HOME": os.path.join(self.home, ".cache"),
            "TMPDIR": os.path.join(self.root, "tmp"),
            "USAGECTL_CONFIG_DIR": os.path.join(self.home, ".config", "usagectl"),
            "USAGECTL_STATE_DIR": os.path.join(self.home, ".local", "state", "usagectl"),
        }
        for name, path in dirs.items():
            os.makedirs(path, mode=0o700, exist_ok=True)
            self.environ[name] = path
        os.makedirs(os.path.join(self.root, "etc"), exist_ok=True)
        self.environ["USAGECTL_POLICY_FILE"] = os.path.join(self.root, "etc", "policy.toml")
        self.environ["XDG_CONFIG_DIRS"] = os.path.join(self.root, "etc")
        self.environ["PYTHONDONTWRITEBYTECODE"] = "1"

    @property
    def consent_path(self):
        return os.path.join(self.environ["USAGECTL_CONFIG_DIR"], "consent.toml")

    @property
    def state_dir(self):
        return self.environ["USAGECTL_STATE_DIR"]

    @property
    def history_path(self):
        return os.path.join(self.state_dir, "history.jsonl")

    @property
    def ray_config(self):
        return os.path.join(self.home, ".ray", "config.json")

    def activate(self):
        """Make this process's os.environ this home's (for in-process library calls)."""
        os.environ.clear()
        os.environ.update(self.environ)
        tempfile.tempdir = None

    def cleanup(self, keep=False):
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)


class Figures:
    """Figures with their floors: ``add(name, value, ok)``; ``report()`` prints and exits."""

    def __init__(self, title):
        self.title = title
        self.rows = []
        self.started = time.monotonic()

    def add(self, name, value, ok=True, want=""):
        self.rows.append((name, value, ok, want))
        return ok

    def report(self):
        print("# %s (%.1f s)" % (self.title, time.monotonic() - self.started))
        failed = 0
        for name, value, ok, want in self.rows:
            mark = "" if ok else "   <-- FALLS SHORT%s" % (" (want %s)" % want if want else "")
            print("%s: %s%s" % (name, value, mark))
            failed += not ok
        sys.stdout.flush()
        return 1 if failed else 0


@contextlib.contextmanager
def time_limit(seconds):
    """Raise TimeoutError if the block runs longer than ``seconds`` (main thread only)."""
    def expire(signum, frame):
        raise TimeoutError("took more than %s s" % seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def temp_leftovers(*directories):
    """usagectl's temp files (.<file>.<pid>.<random>.tmp) left in these directories."""
    found = []
    for directory in directories:
        for base, _dirs, files in os.walk(directory):
            found.extend(os.path.join(base, n) for n in files if n.startswith(".") and n.endswith(".tmp"))
    return found
