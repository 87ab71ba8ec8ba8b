"""Start-up cost of the runtime hook: `python -c pass` with and without usagectl-hook.pth.

Makes two throwaway virtual environments from this interpreter, identical but for
the hook's .pth in one of them, and times `python -c pass` in each, alternating runs
so that load changes on the machine hit both sides alike. Prints the medians and
their ratio; the budget is a ratio of at most 1.10.

    python bench/hook_bench.py [--runs 300] [--keep DIR]

Plain venvs (no --system-site-packages) are used on purpose: .pth files of the base
installation would add their own cost and noise to both sides.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BUDGET = 1.10


def make_venv(path):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", path], check=True, timeout=120)
    python = os.path.join(path, "bin", "python")
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    return python, purelib


def time_once(python):
    """(wall seconds, CPU seconds) of one `python -c pass`.

    CPU time (user + system, from wait4) is reported too: on a machine shared with
    other work it is far less noisy than wall time.
    """
    start = time.perf_counter()
    if hasattr(os, "wait4"):
        pid = os.posix_spawn(python, [python, "-c", "pass"], os.environ)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError("%s -c pass failed" % python)
        return wall, usage.ru_utime + usage.ru_stime
    subprocess.run([python, "-c", "pass"], check=True, timeout=60)
    return time.perf_counter() - start, float("nan")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="runs per side (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed runs per side first")
    parser.add_argument("--keep", metavar="DIR", help="make the venvs here and keep them")
    args = parser.parse_args(argv)

    from usagectl.hook import installer

    base = args.keep or tempfile.mkdtemp(prefix="usagectl-hook-bench-")
    try:
        return measure(base, args, installer)
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(base, ignore_errors=True)


def measure(base, args, installer):
    plain, _ = make_venv(os.path.join(base, "without"))
    hooked, purelib = make_venv(os.path.join(base, "with"))
    installer.place(purelib)

    check = subprocess.run([hooked, "-c", "import sys; print(any(getattr(f, '_usagectl_hook', False) "
                                          "for f in sys.meta_path))"],
                           capture_output=True, text=True, timeout=60)
    if check.stdout.strip() != "True" or check.stderr:
        sys.exit("the hook did not load in %s: %r" % (hooked, check))

    for _ in range(args.warmup):  # page cache, .pyc files written
        time_once(plain)
        time_once(hooked)
    without, with_hook = [], []
    for i in range(args.runs):
        # Alternate which side goes first, so neither always runs right after the other.
        order = ((plain, without), (hooked, with_hook)) if i % 2 == 0 else ((hooked, with_hook), (plain, without))
        for python, sink in order:
            sink.append(time_once(python))

    print("python %s, %d alternating runs per side" % (sys.version.split()[0], args.runs))
    ratios = {}
    for index, label in ((0, "wall"), (1, "cpu")):
        m_without = statistics.median(run[index] for run in without)
        m_with = statistics.median(run[index] for run in with_hook)
        ratios[label] = m_with / m_without
        print("%-4s median python -c pass: without %.2f ms, with %.2f ms, added %+.2f ms, ratio %.3f"
              % (label, m_without * 1000, m_with * 1000, (m_with - m_without) * 1000, ratios[label]))
    ratio = ratios["wall"]
    print("budget: ratio <= %.2f (wall): %s" % (BUDGET, "within budget" if ratio <= BUDGET else "OVER BUDGET"))
    return 0 if ratio <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
