"""The Go reader (reader/go/consent) from the Python side: its `go test` (the shared
vectors) passes, and a ledger line it writes is one usagectl reads and shows."""

import os
import shutil
import subprocess

import docgen
import pytest

GO_DIR = os.path.join(docgen.repository_root(), "reader", "go")

pytestmark = pytest.mark.skipif(shutil.which("go") is None and not os.environ.get("CI"),
                                reason="no Go toolchain here (.ci/run requires one)")


def _go_test(*args, env=None):
    environ = dict(os.environ)
    environ.update(env or {})
    environ.setdefault("GOFLAGS", "-mod=mod")
    return subprocess.run(["go", "test", "-count=1", *args, "./..."], cwd=GO_DIR, capture_output=True,
                          text=True, timeout=600, env=environ)


def test_a_line_the_go_reader_records_is_shown_by_usagectl(env, cli):
    done = _go_test("-run", "TestLedgerInterop", "-v", env={"USAGECTL_GO_INTEROP_STATE_DIR": env.state_dir})
    assert done.returncode == 0 and "--- PASS: TestLedgerInterop" in done.stdout, done.stdout + done.stderr
    shown = cli("show-last", "ray", "--json")
    payloads = shown.json()["data"]["frameworks"][0]["payloads"]
    assert any('"go-interop"' in (p.get("body") or "") and p.get("delivery") == "delivered" for p in payloads), \
        shown.stdout[-2000:]
