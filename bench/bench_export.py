"""`usagectl export ray-cluster` on hostile and large cluster files: time and peak memory.

    .venv/bin/python bench/bench_export.py [--strict]

Each case is a fresh process (peak RSS of the child from wait4) next to the same command
on a three-line cluster file in the same run (the baseline: start-up and imports).
Targets (#22): a 200 KB command line under 1 s; a 10 MB valid config under 2 s and
under 100 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

USAGECTL = [sys.executable, "-c", "from usagectl.main import run; run()"]


def run(argv, environ):
    started = time.monotonic()
    proc = subprocess.Popen(USAGECTL + argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environ)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.monotonic() - started, usage.ru_maxrss / 1024.0, os.waitstatus_to_exitcode(status)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="ubench-export-")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("USAGECTL_", "XDG_"))}
    environ.update(HOME=os.path.join(root, "home"), USAGECTL_CONFIG_DIR=os.path.join(root, "config"),
                   USAGECTL_STATE_DIR=os.path.join(root, "state"), USAGECTL_POLICY_FILE=os.path.join(root, "p.toml"))
    subprocess.run(USAGECTL + ["disable", "--consent-only"], env=environ, capture_output=True, check=True)
    files = {
        "small": "head_start_ray_commands:\n  - ray start --head\nworker_start_ray_commands: []\n",
        # Path characters and slashes: the old single regular expression backtracked over
        # every slash from every position (97 s for this line at 7b2eb15).
        "200 KB line": "head_start_ray_commands:\n  - echo %s; ray start --head\nworker_start_ray_commands: []\n"
                       % ("a/" * 100_000),
        "10 MB config": "head_start_ray_commands:\n%sworker_start_ray_commands:\n  - ray start --address=h:6379\n"
                        % "".join("  - ulimit -n 65536; ray start --head --port=%d  # item %d\n" % (6000 + i, i)
                                  for i in range(160_000)),
    }
    targets = {"200 KB line": (1.0, None), "10 MB config": (2.0, 100.0)}
    results = {}
    for name, text in files.items():
        path = os.path.join(root, name.replace(" ", "-") + ".yaml")
        with open(path, "w") as handle:
            handle.write(text)
        results[name] = (len(text),) + run(["export", "ray-cluster", path], environ)
    base = results["small"]
    failed = False
    print("baseline (3-line file): %.2f s, %.1f MB RSS" % (base[1], base[2]))
    for name in ("200 KB line", "10 MB config"):
        size, seconds, mb, code = results[name]
        limit_s, limit_mb = targets[name]
        ok = code == 0 and seconds < limit_s and (limit_mb is None or mb < limit_mb)
        failed |= not ok
        print("%-13s %5.1f MB input  %5.2f s (%.1fx)  %6.1f MB RSS (%.2fx)  exit %d%s" % (
            name, size / 1e6, seconds, seconds / base[1], mb, mb / base[2], code,
            "" if ok else "   <-- target: < %s s%s" % (limit_s, ", < %s MB" % limit_mb if limit_mb else "")))
    shutil.rmtree(root, ignore_errors=True)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())
