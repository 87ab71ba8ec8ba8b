"""`usagectl history` of a large history: peak memory and time, against a baseline.

    .venv/bin/python bench/bench_history.py                  # 1,000,000 entries
    .venv/bin/python bench/bench_history.py --entries 100000 --strict

Writes N history records (the shape `usagectl enable` writes) into a scratch state dir,
then runs `usagectl history --json` and `usagectl history` (stdout a file), each in a
fresh process, and reports each one's peak RSS (ru_maxrss of the child) and time next to
`usagectl history -n 1` on the same file (the baseline: the CLI's own start-up and
imports). Target: under 100 MB RSS for a million entries, whatever the output.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

USAGECTL = [sys.executable, "-c", "from usagectl.main import run; run()"]
TARGET_MB = 100


def run(args, environ, out_path):
    with open(out_path, "wb") as out:
        started = time.monotonic()
        pid = subprocess.Popen(USAGECTL + args, stdout=out, stderr=subprocess.DEVNULL, env=environ).pid
        _, status, usage = os.wait4(pid, 0)
    return time.monotonic() - started, usage.ru_maxrss / 1024.0, os.waitstatus_to_exitcode(status)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="ubench-history-")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("USAGECTL_", "XDG_"))}
    environ.update(HOME=os.path.join(root, "home"), USAGECTL_CONFIG_DIR=os.path.join(root, "config"),
                   USAGECTL_STATE_DIR=os.path.join(root, "state"), USAGECTL_POLICY_FILE=os.path.join(root, "p.toml"))
    os.makedirs(environ["USAGECTL_STATE_DIR"])
    history = os.path.join(environ["USAGECTL_STATE_DIR"], "history.jsonl")
    with open(history, "w") as handle:
        for number in range(args.entries):
            handle.write(json.dumps({"time": "2026-12-01T00:%02d:%02dZ" % (number // 60 % 60, number % 60),
                                     "command": "usagectl enable ray", "event": "change", "entry": "ray",
                                     "framework": "ray", "from": "off", "to": "on", "level": None}) + "\n")
    size_mb = os.path.getsize(history) / 1e6
    out = os.path.join(root, "out")
    base_s, base_mb, _ = run(["history", "-n", "1"], environ, out)
    failed = False
    print("history: %d entries, %.0f MB; baseline `history -n 1`: %.2f s, %.1f MB RSS"
          % (args.entries, size_mb, base_s, base_mb))
    for label, argv in (("history --json", ["history", "--json"]), ("history", ["history"])):
        seconds, mb, code = run(argv, environ, out)
        ok = code == 0 and mb < TARGET_MB
        failed |= not ok
        print("%-15s %6.1f s  %6.1f MB RSS  (%.2fx the baseline's memory; exit %d; output %.0f MB)%s"
              % (label, seconds, mb, mb / base_mb, code, os.path.getsize(out) / 1e6,
                 "" if ok else "   <-- target: < %d MB, exit 0" % TARGET_MB))
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())
