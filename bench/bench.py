#!/usr/bin/env python3
"""Start-up cost of usagectl, as a ratio to a bare `python -c pass`.

    .venv/bin/python bench/bench.py                 # 30 alternating runs per case
    .venv/bin/python bench/bench.py --runs 50 --json
    .venv/bin/python bench/bench.py --profile-imports   # where the time goes (-X importtime)

Every case is a fresh process timed by wall clock around subprocess.run. The cases run
in alternation (the order rotates every round) so that a noisy neighbour on a shared
machine slows all of them alike instead of one; medians are reported. All files live in
a temporary directory: HOME, XDG_* and USAGECTL_* point there, so the real home is never
read or written. A real consent file is made first by the real `usagectl enable`.

To add a case (a runtime hook, a log scan), add a Case to CASES: argv is a list in which
"{python}" is this interpreter and "{usagectl}" expands to the installed console script.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time


class Case:
    def __init__(self, name, description, argv, target=None, expect=None, tty=False):
        self.name = name
        self.description = description
        self.argv = argv
        #: Highest acceptable median, as a multiple of bare python (None: reported only).
        self.target = target
        #: Text the case must print (checked once before timing), so that a broken
        #: command that fails fast cannot look like a fast one.
        self.expect = expect
        #: Run with stdout on a pseudo-terminal, as a person at a terminal sees it.
        self.tty = tty


BASELINE = "python"
#: Variables that would change what is measured (a decision, or bytecode caching).
DROPPED_VARIABLES = ("DO_NOT_TRACK", "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES",
                     "PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX",
                     "PYTHONPATH")
CONSENT_CHECK = ("import usagectl.consent as consent; "
                 "print(consent.decide('ray').mode)")

CASES = [
    Case(BASELINE, "bare `python -c pass`", ["{python}", "-c", "pass"]),
    Case("version", "`usagectl --version`", ["{usagectl}", "--version"], expect="usagectl "),
    Case("consent", "fresh process: `import usagectl.consent` + decide('ray')",
         ["{python}", "-c", CONSENT_CHECK], target=1.5, expect="on"),
    Case("status-json", "`usagectl status --json`", ["{usagectl}", "status", "--json"],
         target=5.0, expect='"frameworks"'),
    Case("status", "`usagectl status` (human table, stdout not a terminal)",
         ["{usagectl}", "status"], target=8.0, expect="ray"),
    Case("status-tty", "`usagectl status` with stdout on a terminal (80 columns)",
         ["{usagectl}", "status"], target=8.0, expect="ray", tty=True),
]

#: Pieces that the cases above pay for, timed alone with --components to explain a ratio.
#: Only stdlib and declared dependencies are imported unconditionally; PyYAML and
#: importlib.metadata are what adapters reach for at run time.
COMPONENTS = [
    Case(BASELINE, "bare `python -c pass`", ["{python}", "-c", "pass"]),
    Case("import-usagectl.consent", "import usagectl.consent (no decision)",
         ["{python}", "-c", "import usagectl.consent"]),
    Case("tomllib", "import tomllib", ["{python}", "-c", "import tomllib"]),
    Case("json", "import json", ["{python}", "-c", "import json"]),
    Case("tempfile", "import tempfile", ["{python}", "-c", "import tempfile"]),
    Case("click", "import click", ["{python}", "-c", "import click"]),
    Case("usagectl.cli.app", "import usagectl.cli.app (click and the lazy group)",
         ["{python}", "-c", "import usagectl.cli.app"]),
    Case("rich", "import rich.console, rich.table",
         ["{python}", "-c", "import rich.console, rich.table"]),
    Case("entry-points", "importlib.metadata.entry_points(group=...)",
         ["{python}", "-c",
          "import importlib.metadata as m; m.entry_points(group='usagectl.adapters')"]),
    Case("pyyaml", "import yaml (PyYAML)", ["{python}", "-c", "import yaml"]),
]


def usagectl_command():
    """The console script installed next to this interpreter, else `python -m usagectl`."""
    script = os.path.join(os.path.dirname(sys.executable), "usagectl")
    if os.path.isfile(script) and os.access(script, os.X_OK):
        return [script]
    found = shutil.which("usagectl")
    return [found] if found else [sys.executable, "-m", "usagectl"]


def expand(argv, usagectl):
    out = []
    for word in argv:
        if word == "{usagectl}":
            out.extend(usagectl)
        else:
            out.append(word.replace("{python}", sys.executable))
    return out


def isolated_environment(root):
    """os.environ with every user location moved under ``root``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("USAGECTL_") and k not in DROPPED_VARIABLES}
    # An installed package has its bytecode compiled (pip does it at install time). With
    # PYTHONDONTWRITEBYTECODE set, as in some CI and sandbox setups, every run would
    # compile usagectl from source and measure the compiler instead; so the bytecode is
    # cached here, in the temporary directory, never next to the sources.
    env["PYTHONPYCACHEPREFIX"] = os.path.join(root, "pycache")
    home = os.path.join(root, "home")
    places = {
        "HOME": home,
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
        "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
        "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        "USAGECTL_CONFIG_DIR": os.path.join(home, ".config", "usagectl"),
        "USAGECTL_STATE_DIR": os.path.join(home, ".local", "state", "usagectl"),
        "XDG_CONFIG_DIRS": os.path.join(root, "etc"),
    }
    for path in places.values():
        os.makedirs(path, mode=0o700, exist_ok=True)
    env.update(places)
    # The policy directory exists, as /etc/xdg/usagectl does; no policy file (the usual case).
    os.makedirs(os.path.join(root, "etc", "usagectl"), exist_ok=True)
    env["USAGECTL_POLICY_FILE"] = os.path.join(root, "etc", "usagectl", "policy.toml")
    return env


def prepare(env, usagectl):
    """Make a real consent file with the real writer, and check every case works."""
    proc = subprocess.run(usagectl + ["enable"], env=env, capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0:
        sys.exit("bench: `usagectl enable` failed (%d): %s" % (proc.returncode, proc.stderr))
    consent_file = os.path.join(env["USAGECTL_CONFIG_DIR"], "consent.toml")
    if not os.path.isfile(consent_file):
        sys.exit("bench: `usagectl enable` did not create %s" % consent_file)
    for case in CASES:
        code, out, err = run_for_output(expand(case.argv, usagectl), env, tty=case.tty)
        if code != 0 or (case.expect and case.expect not in out):
            sys.exit("bench: case %r does not work (exit %d):\n%s%s"
                     % (case.name, code, out[-2000:], err[-2000:]))


class RunTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise RunTimeout()


class Terminal:
    """A pseudo-terminal for a child's stdout, drained by a thread so it never blocks."""

    def __init__(self):
        import pty
        import threading

        self.master, self.slave = pty.openpty()
        # 24 rows x 80 columns, so the table is drawn the same way on every machine.
        import fcntl
        import struct
        import termios

        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.output = bytearray()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO once the slave side is closed
                return
            if not chunk:
                return
            self.output += chunk

    def close(self):
        os.close(self.slave)
        self.reader.join(timeout=10)
        os.close(self.master)
        return bytes(self.output)


def run_for_output(argv, env, tty=False):
    """(exit code, stdout text, stderr text) of one untimed run."""
    if not tty:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stdout, proc.stderr
    terminal = Terminal()
    try:
        proc = subprocess.run(argv, env=env, stdout=terminal.slave, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    finally:
        output = terminal.close()
    return proc.returncode, output.decode("utf-8", "replace"), proc.stderr


def time_once(argv, env, limit=60, tty=False):
    """Wall time of one run, bounded by ``limit`` seconds.

    Not subprocess.run(timeout=...): with a timeout, Popen.wait polls with sleeps of up
    to 50 ms, which rounds every measurement up to a multiple of that. A blocking wait
    under a SIGALRM timer measures the real exit time.
    """
    use_alarm = hasattr(signal, "setitimer")
    if use_alarm:
        signal.signal(signal.SIGALRM, _on_alarm)
    terminal = Terminal() if tty else None
    stdout = terminal.slave if tty else subprocess.DEVNULL
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.DEVNULL)
    try:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, limit)
            proc.wait()
        else:
            proc.wait(timeout=limit)
        elapsed = time.perf_counter() - start
    except (RunTimeout, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()
        sys.exit("bench: %s ran longer than %d s" % (" ".join(argv), limit))
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if terminal is not None:
            terminal.close()
    return elapsed


def measure(cases, env, usagectl, runs, warmup):
    samples = {case.name: [] for case in cases}
    commands = [(case.name, expand(case.argv, usagectl), case.tty) for case in cases]
    for round_no in range(warmup + runs):
        shift = round_no % len(commands)
        for name, argv, tty in commands[shift:] + commands[:shift]:
            elapsed = time_once(argv, env, tty=tty)
            if round_no >= warmup:
                samples[name].append(elapsed)
    return samples


def summarize(cases, samples):
    base = statistics.median(samples[BASELINE])
    rows = []
    for case in cases:
        values = sorted(samples[case.name])
        median = statistics.median(values)
        ratio = median / base
        rows.append({
            "name": case.name,
            "description": case.description,
            "median_ms": round(median * 1000, 2),
            "min_ms": round(values[0] * 1000, 2),
            "max_ms": round(values[-1] * 1000, 2),
            "ratio": round(ratio, 2),
            "target_ratio": case.target,
            "passed": None if case.target is None else ratio <= case.target,
        })
    return rows


def load_average():
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def machine():
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }


def print_table(rows, runs, usagectl, host):
    print("usagectl start-up benchmark: %d runs per case, medians (%s)" % (runs, " ".join(usagectl)))
    print("Python %s on %s, %s CPUs, load average before/after %s / %s"
          % (host["python"], host["platform"], host["cpu_count"], host["load_before"],
             host["load_after"]))
    width = max(len(row["name"]) for row in rows)
    print("%-*s %10s %10s %8s %8s  %s" % (width, "case", "median ms", "min ms", "ratio", "target",
                                          "result"))
    for row in rows:
        target = "" if row["target_ratio"] is None else "<= %.1fx" % row["target_ratio"]
        result = "" if row["passed"] is None else ("pass" if row["passed"] else "FAIL")
        print("%-*s %10.1f %10.1f %7.2fx %8s  %s" % (width, row["name"], row["median_ms"],
                                                    row["min_ms"], row["ratio"], target, result))
    for row in rows:
        print("  %-*s %s" % (width, row["name"], row["description"]))


def profile_imports(cases, env, usagectl, top):
    """Run each case once with -X importtime and print the costliest imports."""
    profile_env = dict(env, PYTHONPROFILEIMPORTTIME="1")
    for case in cases:
        if case.name == BASELINE:
            continue
        proc = subprocess.run(expand(case.argv, usagectl), env=profile_env, capture_output=True,
                              text=True, timeout=60)
        entries = []
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or "cumulative" in line:
                continue
            own, cumulative, name = line[len("import time:"):].split("|", 2)
            depth = (len(name) - len(name.lstrip())) // 2
            entries.append((int(cumulative), int(own), name.strip(), depth))
        total_own = sum(e[1] for e in entries)
        print("\n== %s: %d modules imported, %.1f ms of import time (own)"
              % (case.name, len(entries), total_own / 1000))
        top_level = sorted((e for e in entries if e[3] == 0), reverse=True)[:top]
        for cumulative, _own, name, _ in top_level:
            print("   %8.1f ms cumulative  %s" % (cumulative / 1000, name))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per case (default 30)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed rounds first, which also fill the bytecode cache (default 3)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--components", action="store_true",
                        help="time the pieces the cases are made of (COMPONENTS) instead")
    parser.add_argument("--profile-imports", action="store_true",
                        help="instead of timing, show each case's costliest imports")
    parser.add_argument("--top", type=int, default=12, help="imports shown per case (default 12)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    usagectl = usagectl_command()
    with tempfile.TemporaryDirectory(prefix="usagectl-bench-") as root:
        env = isolated_environment(root)
        prepare(env, usagectl)
        if args.profile_imports:
            profile_imports(CASES, env, usagectl, args.top)
            return 0
        host = machine()
        host["load_before"] = load_average()
        cases = COMPONENTS if args.components else CASES
        samples = measure(cases, env, usagectl, args.runs, args.warmup)
        host["load_after"] = load_average()
    rows = summarize(cases, samples)
    if args.json:
        json.dump({"schema_version": 1, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "runs": args.runs, "usagectl": usagectl, "machine": host, "cases": rows},
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_table(rows, args.runs, usagectl, host)
    missed = [row["name"] for row in rows if row["passed"] is False]
    return 1 if (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
