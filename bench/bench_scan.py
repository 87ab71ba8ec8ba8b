"""Benchmarks for `usagectl show-last` (issue #4, section 5). Run:

    .venv/bin/python bench/bench_scan.py

1. Parsl: a 1 GiB parsl.log (sparse-ish: the real fixture's head, a hole, 8 MiB of
   log lines, the real tail) against a 1 KiB one; show-last must take <= 1.2x and its
   memory must not grow with the file. Timed in-process (the scan itself) and
   through the CLI (what a user waits for).
2. Ray: 10,000 session dirs, each with a usage_stats.json; the scan must take <= 300 ms.

Everything is generated in a temp dir and deleted afterwards.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from usagectl.core.environment import Environment  # noqa: E402
from usagectl.frameworks.parsl import records as parsl_log  # noqa: E402
from usagectl.frameworks.ray import records as ray_sessions  # noqa: E402

FIX = ROOT / "tests" / "fixtures"
REAL_LOG = FIX / "parsl" / "runinfo" / "000" / "parsl.log"
REAL_USAGE = FIX / "ray" / "enabled" / "session_2026-11-24_00-02-40_976526_5951" / "usage_stats.json"
GIB = 1024 ** 3
RUNNER = "from usagectl.main import run; run()"


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def make_logs(base):
    lines = REAL_LOG.read_bytes().split(b"\n")
    start = next(i for i, line in enumerate(lines) if b"Usage tracking start message" in line)
    small = base / "small" / "000"
    small.mkdir(parents=True)
    (small / "parsl.log").write_bytes(lines[start] + b"\n" + lines[start + 1] + b"\n")
    big = base / "big" / "000"
    big.mkdir(parents=True)
    head = b"\n".join(lines[:60]) + b"\n"
    tail = b"\n".join(lines[60:])
    filler_line = lines[40] + b"\n"   # a real DEBUG line from the same run
    filler = filler_line * (8 * 1024 * 1024 // len(filler_line))
    with open(big / "parsl.log", "wb") as handle:
        handle.write(head)
        handle.seek(GIB - len(tail) - len(filler))   # the hole: no disk used
        handle.write(filler)
        handle.write(tail)
    return small.parent, big.parent


def bench_parsl(base, repeat=15):
    small, big = make_logs(base)
    env = Environment(environ={"HOME": str(base), "USAGECTL_CONFIG_DIR": str(base / "cfg"),
                               "USAGECTL_STATE_DIR": str(base / "state")}, argv=[])
    print("parsl.log sizes: small %d bytes, big %.2f GiB (sparse)" % (
        os.path.getsize(small / "000" / "parsl.log"), os.path.getsize(big / "000" / "parsl.log") / GIB))
    results = {}
    for n in (1, 2):
        for name, path in (("1 KiB", small), ("1 GiB", big)):
            fn = lambda path=path, n=n: parsl_log.scan(env, [str(path)], limit=n)  # noqa: E731
            assert fn()[0], "no payload found in %s" % name
            results[(n, name)] = (median_time(fn, repeat), peak_memory(fn))
        s, b = results[(n, "1 KiB")], results[(n, "1 GiB")]
        print("  in-process scan -n %d: 1 KiB %.2f ms, 1 GiB %.2f ms, ratio %.2f; "
              "peak Python memory 1 KiB %d KiB, 1 GiB %d KiB" % (
                  n, s[0] * 1e3, b[0] * 1e3, b[0] / s[0], s[1] // 1024, b[1] // 1024))
    environ = dict(os.environ, HOME=str(base), USAGECTL_CONFIG_DIR=str(base / "cfg"),
                   USAGECTL_STATE_DIR=str(base / "state"), TMPDIR=str(base / "none"))
    cli = {"1 KiB": [], "1 GiB": []}

    def run(path):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", RUNNER, "show-last", "parsl", "--json", "--path",
                        str(path)], check=True, capture_output=True, env=environ, cwd=str(base))
        return time.perf_counter() - start

    run(small), run(big)  # warm the page cache and bytecode first
    for _ in range(15):  # alternate, so load from other processes hits both sides alike
        cli["1 KiB"].append(run(small))
        cli["1 GiB"].append(run(big))
    cli = {name: statistics.median(times) for name, times in cli.items()}
    print("  CLI `show-last parsl --json`: 1 KiB %.0f ms, 1 GiB %.0f ms, ratio %.2f (limit 1.2)" % (
        cli["1 KiB"] * 1e3, cli["1 GiB"] * 1e3, cli["1 GiB"] / cli["1 KiB"]))


def bench_ray(base, count=10000, repeat=7):
    root = base / "raytmp" / "ray"
    root.mkdir(parents=True)
    data = REAL_USAGE.read_bytes()
    for i in range(count):
        session = root / ("session_2026-%02d-%02d_%02d-%02d-00_%06d_%d" % (
            1 + i // 2000, 1 + (i // 80) % 25, (i // 4) % 20, i % 60, i, 1000 + i))
        session.mkdir()
        (session / "usage_stats.json").write_bytes(data)
    environ = {"TMPDIR": str(base / "raytmp")}
    list_time = median_time(lambda: ray_sessions.list_sessions(ray_sessions.candidate_roots(environ)), repeat)
    scan_time = median_time(lambda: ray_sessions.scan(environ, limit=1), repeat)
    scan10 = median_time(lambda: ray_sessions.scan(environ, limit=10), repeat)
    print("ray: %d session dirs: list %.1f ms, scan -n 1 %.1f ms, scan -n 10 %.1f ms (limit 300 ms)" % (
        count, list_time * 1e3, scan_time * 1e3, scan10 * 1e3))


def main():
    base = Path(tempfile.mkdtemp(prefix="usagectl-bench."))
    try:
        bench_parsl(base)
        bench_ray(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
