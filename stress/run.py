"""Run the whole stress suite: `python stress/run.py [--scale small|full]`.

Each script runs in its own process and prints its figures; this exits 1 if any figure
of any script falls short (docs/reliability.md has the full-scale figures and how they
were produced).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

SCRIPTS = ("concurrency.py", "kills.py", "corruption.py", "fuzz.py", "hostile.py", "canary.py", "scale.py",
           "ledger.py", "hostile_inputs.py", "security.py")
HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    scale = "full" if "--scale" in argv and argv[argv.index("--scale") + 1] == "full" else "small"
    only = [a for a in argv if a.endswith(".py")]
    failed = []
    started = time.monotonic()
    for script in only or SCRIPTS:
        print("+ stress/%s --scale %s" % (script, scale), flush=True)
        # Bounded: the full-scale suite takes minutes per script, never hours.
        try:
            code = subprocess.run([sys.executable, os.path.join(HERE, script), "--scale", scale],
                                  timeout=3 * 3600).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        if code != 0:
            failed.append("%s (%s)" % (script, code))
        print(flush=True)
    print("stress suite (%s): %s in %.0f s" % (scale, "FAILED: " + ", ".join(failed) if failed else "all figures met",
                                               time.monotonic() - started))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
