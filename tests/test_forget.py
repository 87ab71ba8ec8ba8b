"""`usagectl forget`: after a deletion request, the local identifiers and usagectl's own
copies go; what can't be reset is said; nothing of another framework's is lost."""

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "deletion"))
from support import run_cli, write_settings  # noqa: E402

from usagectl import _ledger  # noqa: E402

RECORD = ("import sys, time\nfrom usagectl import _ledger as ledger\n"
          "for i in range(int(sys.argv[2])):\n"
          "    time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 0)\n"
          "    assert ledger.record_sent(sys.argv[1], 'https://example.invalid/', b'{\"n\": %d}' % i,"
          " identifiers={'session_id': 'ab' * 28} if sys.argv[1] == 'ray' else None)\n")


def _record(framework, count):
    subprocess.run([sys.executable, "-c", RECORD, framework, str(count)], check=True, timeout=120)


def _lines(framework):
    path = _ledger.ledger_path(os.environ)
    found = 0
    for name in _ledger.rotated_paths(path) + [path]:
        if os.path.exists(name):
            found += sum(json.loads(line).get("framework") == framework for line in open(name, "rb"))
    return found


def _installation_id():
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "bacalhau" / "installation_id"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("5f2c8f3e-1111-4222-8333-944455556666\n")
    return path


def test_forget_refuses_until_a_request_names_the_ids_then_removes_them(tmp_path):
    install = _installation_id()
    _record("bacalhau", 3)
    _record("ray", 4)
    write_settings('[deletion.bacalhau]\nemail = "privacy@example.org"\n')

    shown = run_cli("forget", "bacalhau", "--dry-run", "--json")
    assert shown.exit_code == 0
    [item] = shown.json()["data"]["frameworks"]
    assert [e["kind"] for e in item["remove"]] == ["installation_id"] and item["ledger_lines"] == 3
    assert {e["kind"] for e in item["kept"]} == {"instance_id", "node_id_hash"}
    assert "machine-id" in {e["kind"]: e["how"] for e in item["kept"]}["instance_id"]
    assert install.exists() and _lines("bacalhau") == 3  # a dry run removes nothing

    refused = run_cli("forget", "bacalhau", "--yes")
    assert refused.exit_code == 1 and "request-deletion bacalhau" in refused.stderr
    assert install.exists() and _lines("bacalhau") == 3

    asked = run_cli("request-deletion", "bacalhau", "--via", "file", "--output", str(tmp_path / "out"), "--yes")
    assert asked.exit_code == 0, asked.stderr
    done = run_cli("forget", "bacalhau", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json()["data"]["forgotten"] == ["bacalhau"]
    assert not install.exists()
    assert _lines("bacalhau") == 0 and _lines("ray") == 4  # only bacalhau's copies went
    receipts = run_cli("request-deletion", "--status", "--json").json()["data"]["requests"]
    assert [r["framework"] for r in receipts] == ["bacalhau"]  # the receipt stays

    again = run_cli("forget", "bacalhau", "--dry-run", "--json").json()["data"]["frameworks"][0]
    assert again["remove"] == [] and again["ledger_lines"] == 0


def test_without_a_terminal_or_yes_nothing_is_removed():
    install = _installation_id()
    result = run_cli("forget", "bacalhau", "--force")
    assert result.exit_code == 2 and "not a terminal" in result.stderr
    assert install.exists()


def test_appends_racing_a_forget_are_never_lost():
    """The runtime hook keeps appending Ray's records while forget rewrites the ledger to
    drop Parsl's (which another writer keeps adding, so every pass replaces the file):
    every Ray line survives, because an append that waited on the replaced file's lock
    goes to the new file."""
    import time

    ray = subprocess.Popen([sys.executable, "-c", RECORD, "ray", "1500", "0.001"])
    parsl = subprocess.Popen([sys.executable, "-c", RECORD, "parsl", "1500", "0.001"])
    passes = replaced = 0
    deadline = time.monotonic() + 60
    try:
        while (ray.poll() is None or parsl.poll() is None) and time.monotonic() < deadline:
            dropped = _ledger.drop_lines(_ledger.ledger_path(os.environ), lambda e: e.get("framework") == "parsl")
            passes += 1
            replaced += dropped > 0
            time.sleep(0.005)
    finally:
        assert ray.wait(timeout=120) == 0 and parsl.wait(timeout=120) == 0
    _ledger.drop_lines(_ledger.ledger_path(os.environ), lambda e: e.get("framework") == "parsl")
    assert _lines("ray") == 1500 and _lines("parsl") == 0
    assert replaced >= 20, (passes, replaced)  # the file really was replaced under the writers
