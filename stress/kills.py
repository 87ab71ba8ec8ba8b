"""SIGKILL at random points of every writing command, then the next clean run.

Each iteration starts one real `usagectl` writing command (enable, disable, local, reset,
sync, request-deletion --via file) in a subprocess and kills it with SIGKILL after a
random delay within its usual run time. After each kill: the consent file and Ray's
config.json are the old file or a complete new one (never torn, never missing Ray's
auth_token). After all kills, one clean run of the writing commands; then: every consent
change that landed has its history line, no temp file is left, and there is exactly one
deletion request and one request file.
"""

from __future__ import annotations

import glob
import json
import os
import random
import shutil
import signal
import subprocess
import time

import common

CANARY = "ustress-kill-auth-token-91c2"
COMMANDS = [
    ["enable"], ["disable"], ["local", "parsl", "--level", "2"], ["enable", "parsl", "--level", "3"],
    ["disable", "ray"], ["enable", "ray"], ["reset", "ray"], ["sync"],
    ["request-deletion", "ray", "--via", "file", "--output", "{out}", "--yes"],
]
FIXTURE = os.path.join(common.ROOT, "tests", "fixtures", "ray", "enabled",
                       "session_2026-11-24_00-02-40_976526_5951")


def _entries(path):
    """{entry: (mode, level)} of a good consent file, or None when it is damaged or absent."""
    from usagectl import consent

    snapshot = consent.read_consent(path)
    if not snapshot.exists or snapshot.problem:
        return None if snapshot.problem else {}
    found = {"default": (snapshot.default.mode, snapshot.default.level)} if snapshot.default else {}
    found.update({k: (e.mode, e.level) for k, e in snapshot.frameworks.items()})
    return found


def _read(path):
    try:
        return open(path, "rb").read()
    except FileNotFoundError:
        return None


def _diff(old, new):
    keys = set(old) | set(new)
    return sum(1 for k in keys if old.get(k) != new.get(k))


def _run(home, argv, out, kill_after=None):
    argv = [a.replace("{out}", out) for a in argv]
    proc = subprocess.Popen(common.USAGECTL + argv, env=home.environ, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    if kill_after is None:
        return proc.wait(120)
    try:
        return proc.wait(kill_after)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)  # our own child, in its own session
        proc.wait(60)
        return None


def main():
    args, scale = common.parse_args(__doc__, kills=(45, 1000))
    figures = common.Figures("kill -9 (%s)" % args.scale)
    home = common.Home()
    home.activate()
    out = os.path.join(home.root, "requests")
    os.makedirs(os.path.dirname(home.ray_config))
    with open(home.ray_config, "w") as handle:
        json.dump({"usage_stats": True, "auth_token": CANARY}, handle)
    shutil.copytree(FIXTURE, os.path.join(home.environ["TMPDIR"], "ray", os.path.basename(FIXTURE)))

    # How long each command takes here: kills land anywhere within that.
    durations = {}
    for argv in COMMANDS:
        started = time.monotonic()
        _run(home, argv, out)
        durations[tuple(argv)] = time.monotonic() - started
    before = _entries(home.consent_path)
    from usagectl.core import store

    baseline_history = sum(1 for r in store.read_history(home.history_path, consent_path=home.consent_path)[0]
                           if r.get("event") == "change")

    torn_consent = torn_ray = lost_token = killed = finished = landed = 0
    started = time.monotonic()
    for index in range(scale["kills"]):
        argv = COMMANDS[index % len(COMMANDS)]
        old_consent, old_ray = _read(home.consent_path), _read(home.ray_config)
        # Half the kills anywhere in the run, half in its last 40%, where the writes are.
        took = durations[tuple(argv)]
        delay = random.uniform(0.02, took * 1.1) if index % 2 else random.uniform(took * 0.6, took * 1.05)
        code = _run(home, argv, out, kill_after=delay)
        killed += code is None
        finished += code is not None
        new_consent, new_ray = _read(home.consent_path), _read(home.ray_config)
        now = _entries(home.consent_path)
        if new_consent != old_consent and now is None:
            torn_consent += 1
        if now is not None:
            landed += _diff(before, now)
            before = now
        if new_ray != old_ray:
            try:
                config = json.loads(new_ray)
            except (TypeError, ValueError):
                torn_ray += 1
                config = {}
            if config.get("auth_token") != CANARY:
                lost_token += 1
    kill_seconds = time.monotonic() - started

    # The next clean run: each writing command once, to completion.
    for argv in (["disable"], ["sync"], COMMANDS[-1]):
        _run(home, argv, out)
    final = _entries(home.consent_path)
    landed += _diff(before, final)
    records, _problems = store.read_history(home.history_path)
    history_changes = sum(1 for r in records if r.get("event") == "change") - baseline_history
    leftovers = common.temp_leftovers(home.home, out, home.environ["TMPDIR"])
    requests = [json.load(open(p)) for p in glob.glob(os.path.join(home.state_dir, "deletion", "requests", "*.json"))]
    files = glob.glob(os.path.join(out, "*.eml"))

    figures.add("iterations", "%d (%d killed mid-run, %d finished first), %.1f s"
                % (scale["kills"], killed, finished, kill_seconds))
    figures.add("killed_mid_run", killed, killed >= scale["kills"] // 3, ">= a third")
    figures.add("consent_file_torn", torn_consent, torn_consent == 0, "0")
    figures.add("ray_config_torn", torn_ray, torn_ray == 0, "0")
    figures.add("ray_auth_token_lost", lost_token, lost_token == 0, "0")
    figures.add("consent_changes_landed", landed)
    figures.add("history_lines_missing", landed - history_changes, landed == history_changes, "0")
    figures.add("temp_files_left_after_clean_run", len(leftovers), not leftovers, "0")
    figures.add("deletion_requests", len(requests), len(requests) == 1, "1")
    figures.add("deletion_request_files", len(files), len(files) == 1, "1")
    code = figures.report()
    if leftovers:
        print("left:", *leftovers[:10], sep="\n  ")
    home.cleanup(args.keep)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
