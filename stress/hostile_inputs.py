"""Hostile input for the readers of other programs' and other hosts' files: fleet and export.

- fleet: 1,000 hostile envelopes (wrong types in every field fleet reads, FIFOs, 4 MiB
  fields, non-UTF-8 and terminal-driving file names, a host whose checks fail while its
  exit_code says 0) beside one failing host, shown on a pty. Figures: rows per host,
  tracebacks, raw control bytes that reached the terminal, the failing host's verdict
  and the exit code, and the time for 1,000 envelopes against 100 in the same run
  (linear: about 10x).
- export: hostile cluster files and manifests (a merge key, a 200 KB line of slashes,
  wrong types, an alias bomb, binary, deep nesting, empty) into ray-cluster and kuberay.
  Figures: tracebacks, exit codes other than 0 and 2, runs over 10 s; and `export
  --in-place` racing a writer that keeps rewriting the file: versions of the writer lost.

``hostile_fleet`` is also what tests/test_fleet.py plants.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import common

USAGECTL = common.USAGECTL
CONTROL = (b"\x1b", b"\x9b", b"\xc2\x9b", b"\x00", b"\x07")


def synthetic_envelope():
    """A `usagectl verify --json` envelope of a passing host (the schema's shape)."""
    return json.dumps({"schema": 1, "tool": "usagectl", "version": "0.1.0", "command": "verify", "ok": True,
                       "exit_code": 0, "warnings": [], "error": None,
                       "data": {"ok": True, "host": "h", "python": "/usr/bin/python3",
                                "counts": {"pass": 1, "fail": 0, "warn": 0, "skip": 0},
                                "checks": [{"framework": "ray", "check": "settings", "status": "pass",
                                            "summary": "off", "evidence": [], "fix": None}]}})


def hostile_fleet(directory, good, count=1000):
    """``count`` hostile envelopes beside one failing real host: wrong types in every field
    fleet reads, FIFOs, huge fields, non-UTF-8 and terminal-driving file names, a host
    whose checks fail while its exit_code says 0. -> (names written, failing host names)."""
    import os

    base = json.loads(good)
    variants = []
    for field, value in (("error", "x"), ("exit_code", "5"), ("exit_code", True), ("exit_code", 9999),
                         ("ok", "yes"), ("data", []), ("data", "x"), ("command", 5), ("version", 7)):
        variants.append(dict(base, **{field: value}))
    for field, value in (("checks", 5), ("checks", ["x"]), ("checks", [{"framework": 1}]), ("host", ["h"]),
                         ("checks", [{"framework": "ray", "check": "settings", "status": 3}])):
        variants.append(dict(base, data=dict(base["data"], **{field: value})))
    lying = dict(base, exit_code=0, ok=True, data=dict(base["data"], checks=base["data"]["checks"] + [
        {"framework": "ray", "check": "settings", "status": "fail", "summary": "x", "evidence": [], "fix": None}]))
    huge = dict(base, data=dict(base["data"], host="\x1b[2J" + "h" * (4 << 20)))
    names = []
    for index in range(count):
        kind = index % 5
        raw = ("host-%04d" % index).encode() + (b"\x9b31m\xff" if kind == 0 else b"")
        path = os.path.join(os.fsencode(directory), raw + b".json")
        if kind == 1 and index < 50:
            os.mkfifo(path)
        elif kind == 2 and index < 20:
            with open(path, "w") as handle:
                json.dump(huge, handle)
        elif kind == 3:
            with open(path, "w") as handle:
                json.dump(variants[index % len(variants)], handle)
        else:
            with open(path, "wb") as handle:
                handle.write(b"\x00\xff{" if index % 2 else b"[1, 2]")
        names.append(raw)
    with open(os.path.join(directory, "liar.json"), "w") as handle:
        json.dump(lying, handle)
    return names, ["liar"]



def on_pty(argv, environ, timeout=300):
    """(exit code, bytes shown) of ``argv`` with stdout and stderr on a pseudo-terminal."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(argv, stdout=follower, stderr=follower, env=environ)
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    code = proc.wait(timeout=timeout)
    os.close(leader)
    return code, b"".join(chunks)


def fleet_figures(home, figures):
    good = synthetic_envelope()
    timings = {}
    for count in (100, 1000):
        directory = os.path.join(home.root, "fleet-%d" % count)
        os.makedirs(directory)
        names, _failing = hostile_fleet(directory, good, count)
        started = time.monotonic()
        proc = subprocess.run(USAGECTL + ["fleet", "--json", directory], capture_output=True, env=home.environ,
                              timeout=600)
        timings[count] = time.monotonic() - started
        envelope = json.loads(proc.stdout)
        rows = envelope["data"]["hosts"]
        if count == 1000:
            figures.add("fleet: hosts written", len(names) + 1)
            figures.add("fleet: rows", len(rows), ok=len(rows) == len(names) + 1, want=str(len(names) + 1))
            liar = [r for r in rows if r["host"] == "liar"]
            figures.add("fleet: the lying host's verdict", liar[0]["verdict"] if liar else "missing",
                        ok=bool(liar) and liar[0]["verdict"] == "fail", want="fail")
            figures.add("fleet: exit code", proc.returncode, ok=proc.returncode == 5, want="5")
            code, shown = on_pty(USAGECTL + ["fleet", directory], dict(home.environ, COLUMNS="100"))
            raw = sum(shown.count(c) for c in CONTROL)
            figures.add("fleet: raw control bytes on a terminal", raw, ok=raw == 0, want="0")
            tracebacks = (proc.stderr + shown).count(b"Traceback")
            figures.add("fleet: tracebacks", tracebacks, ok=tracebacks == 0, want="0")
    ratio = timings[1000] / max(timings[100], 1e-3)
    figures.add("fleet: time for 1,000 envelopes / for 100", "%.1fx (%.2f s / %.2f s)" % (
        ratio, timings[1000], timings[100]), ok=ratio < 20, want="< 20x (linear: about 10x)")


HOSTILE_CLUSTERS = {
    "merge-key": "base: &b\n  head_start_ray_commands: [ray start --head]\n  worker_start_ray_commands: []\n<<: *b\n",
    "long-line": "head_start_ray_commands:\n  - echo %s; ray start --head\nworker_start_ray_commands: []\n"
                 % ("a/" * 100_000),
    "wrong-types": "head_start_ray_commands: 5\nprovider: x\n",
    "provider-type": "provider: {type: [1]}\n",
    "alias-bomb": "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        "%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n" % ((c, c) + (p,) * 9)
        for p, c in zip("abcdefgh", "bcdefghi")) + "head_start_ray_commands: *i\n",
    "binary": b"\x00\xff\xfe\x00".decode("latin-1"),
    "deep": "head_start_ray_commands: " + "[" * 5000 + "]" * 5000 + "\n",
    "empty": "",
    "top-list": "- ray start\n",
    "tabs": "head_start_ray_commands:\n\t- ray start\n",
}
HOSTILE_MANIFESTS = {
    "rayStartParams-list": "apiVersion: ray.io/v1\nkind: RayCluster\nspec:\n  headGroupSpec:\n    rayStartParams: []\n",
    "containers-map": "apiVersion: ray.io/v1\nkind: RayCluster\nspec:\n  headGroupSpec:\n    template:\n"
                      "      spec: {containers: {a: b}}\n",
    "workers-scalar": "apiVersion: ray.io/v1\nkind: RayCluster\nspec:\n  workerGroupSpecs: 7\n",
    "directives": "%YAML 1.2\n---\n...\n---\napiVersion: ray.io/v1\nkind: RayCluster\nspec: {headGroupSpec: {}}\n",
    "alias-bomb": "apiVersion: ray.io/v1\nkind: RayCluster\nx: &a [1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        "%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n" % ((c, c) + (p,) * 8)
        for p, c in zip("abcdefg", "bcdefgh")) + "spec: {headGroupSpec: {}}\n",
}


def export_figures(home, figures):
    subprocess.run(USAGECTL + ["disable", "--consent-only"], env=home.environ, capture_output=True, timeout=120)
    tracebacks = odd_exits = slow = tried = 0
    for fmt, corpus in (("ray-cluster", HOSTILE_CLUSTERS), ("kuberay", HOSTILE_MANIFESTS)):
        for name, text in corpus.items():
            path = os.path.join(home.root, "%s-%s.yaml" % (fmt, name))
            with open(path, "w", encoding="latin-1" if name == "binary" else "utf-8") as handle:
                handle.write(text)
            tried += 1
            started = time.monotonic()
            try:
                proc = subprocess.run(USAGECTL + ["export", fmt, path], capture_output=True, env=home.environ,
                                      timeout=60)
            except subprocess.TimeoutExpired:
                slow += 1
                continue
            slow += time.monotonic() - started > 10
            tracebacks += b"Traceback" in proc.stderr
            odd_exits += proc.returncode not in (0, 2)
            if proc.returncode not in (0, 2):
                print("  %s %s: exit %d: %s" % (fmt, name, proc.returncode, proc.stderr[-300:]))
    figures.add("export: hostile files tried", tried)
    figures.add("export: tracebacks", tracebacks, ok=tracebacks == 0, want="0")
    figures.add("export: exit codes other than 0 and 2", odd_exits, ok=odd_exits == 0, want="0")
    figures.add("export: runs over 10 s", slow, ok=slow == 0, want="0")
    figures.add("export --in-place racing a writer: writer versions lost", _in_place_race(home),
                ok=_RACE["lost"] == 0, want="0")
    figures.add("export --in-place racing a writer: runs", _RACE["runs"], ok=_RACE["runs"] >= 5, want=">= 5")
    figures.add("export --in-place racing a writer: runs refused because the file changed", _RACE["refused"])


_RACE = {"lost": 0, "refused": 0, "runs": 0}


def _in_place_race(home, versions=500):
    """A writer rewrites the cluster file ``versions`` times while `export --in-place`
    keeps patching it: a patch computed from an older version must never replace a newer
    one. Lost = the last version the writer wrote is not what the file holds (patched or
    not) at the end."""
    path = os.path.join(home.root, "race.yaml")

    def text(version):
        return "# version %d\nhead_start_ray_commands:\n  - ray start --head\nworker_start_ray_commands: []\n" % version

    with open(path, "w") as handle:
        handle.write(text(0))
    stop = threading.Event()

    def writer():
        for version in range(1, versions + 1):
            temp = path + ".w"
            with open(temp, "w") as handle:
                handle.write(text(version))
            os.replace(temp, path)
            time.sleep(0.01)
        stop.set()

    thread = threading.Thread(target=writer)
    thread.start()
    runs = 0
    while not stop.is_set():
        runs += 1
        proc = subprocess.run(USAGECTL + ["export", "ray-cluster", "--in-place", path], capture_output=True,
                              env=home.environ, timeout=60)
        _RACE["refused"] += proc.returncode == 1 and b"changed while it was being patched" in proc.stderr
    thread.join()
    _RACE["runs"] = runs
    with open(path) as handle:
        final = handle.read()
    _RACE["lost"] = int(not final.startswith("# version %d\n" % versions))
    return _RACE["lost"]


def main():
    args, _scale = common.parse_args(__doc__.splitlines()[0])
    home = common.Home()
    figures = common.Figures("hostile inputs: fleet and export")
    try:
        with common.time_limit(1200):
            fleet_figures(home, figures)
            export_figures(home, figures)
    finally:
        home.cleanup(args.keep)
    return figures.report()


if __name__ == "__main__":
    sys.exit(main())
