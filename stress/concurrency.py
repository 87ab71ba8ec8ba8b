"""Concurrent writers and readers (processes, not threads), and Ray's own in-place writer.

Phase 1: W writers each toggle their own consent entry T times through usagectl's
writer (usagectl.core.store, the code every writing command uses) while R readers read
the file with the reader frameworks import (usagectl.consent). Figures: corrupt reads,
lost keys (the user's own key, comment and every writer's entry), lost history lines,
lock timeouts.

Phase 2: Ray's own `set_usage_stats_enabled_via_config` (the code behind `ray
disable-usage-stats`, which rewrites ~/.ray/config.json in place) runs in a loop while
usagectl's Ray adapter applies off/on; every round checks that Ray's auth_token survived.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import time

import common

CANARY = "ustress-canary-auth-token-3f9e"
USER_TEXT = "# my own notes: keep me\nschema = 1\nowner = 'me'\n"


def writer(home_root, index, toggles, queue):
    home = common.Home(home_root)
    home.activate()
    from usagectl.core import fsutil, store

    name = "w%d" % index
    changes = timeouts = 0
    last = None
    for step in range(toggles):
        mode = "on" if step % 2 == 0 else "off"
        try:
            result = store.set_modes(home.consent_path, home.history_path, [name], mode, None,
                                     "stress writer %d" % index)
            changes += len(result.changes)
            last = mode
        except fsutil.LockTimeout:
            timeouts += 1
    queue.put(("writer", index, changes, timeouts, last))


def phase_writers(figures, writers, toggles, readers):
    home = common.Home()
    os.makedirs(os.path.dirname(home.consent_path), exist_ok=True)
    with open(home.consent_path, "w") as handle:
        handle.write(USER_TEXT)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=writer, args=(home.root, i, toggles, queue)) for i in range(writers)]
    # Readers run until the writers are done (each join is bounded: an hour at most).
    reader_stop = ctx.Value("d", 1.0)
    reader_procs = [ctx.Process(target=_reader_until, args=(home.root, reader_stop, queue))
                    for _ in range(readers)]
    started = time.monotonic()
    for proc in reader_procs + procs:
        proc.start()
    for proc in procs:
        proc.join(3600)
    reader_stop.value = 0
    for proc in reader_procs:
        proc.join(60)
    elapsed = time.monotonic() - started
    results = [queue.get(timeout=60) for _ in range(writers + readers)]
    wrote = {r[1]: r for r in results if r[0] == "writer"}
    read = [r for r in results if r[0] == "reader"]

    from usagectl import consent
    from usagectl.core import store

    snapshot = consent.read_consent(home.consent_path)
    text = open(home.consent_path).read()
    lost_keys = 0 if snapshot.problem is None else writers + 1
    if snapshot.problem is None:
        lost_keys += sum(1 for i in range(writers)
                         if snapshot.frameworks.get("w%d" % i) is None
                         or snapshot.frameworks["w%d" % i].mode != wrote[i][4])
        lost_keys += (snapshot.data or {}).get("owner") != "me"
        lost_keys += "# my own notes: keep me" not in text
    records, problems = store.read_history(home.history_path)
    changes = sum(r[2] for r in wrote.values())
    history_changes = sum(1 for r in records if r.get("event") == "change")
    timeouts = sum(r[3] for r in wrote.values())
    reads = sum(r[1] for r in read)
    figures.add("writers", "%d processes x %d toggles, %d readers, %.1f s" % (writers, toggles, readers, elapsed))
    figures.add("consent_writes", changes, changes == writers * toggles, "%d" % (writers * toggles))
    figures.add("reads", reads, reads > 0)
    figures.add("corrupt_reads", sum(r[2] for r in read), sum(r[2] for r in read) == 0, "0")
    figures.add("reads_missing_user_key", sum(r[3] for r in read), sum(r[3] for r in read) == 0, "0")
    figures.add("lost_keys", lost_keys, lost_keys == 0, "0")
    figures.add("lost_history_lines", changes - history_changes, changes == history_changes, "0")
    figures.add("unreadable_history_lines", len(problems), not problems, "0")
    figures.add("lock_timeouts", timeouts, timeouts == 0, "0")
    leftovers = common.temp_leftovers(home.home)
    figures.add("temp_files_left", len(leftovers), not leftovers, "0")
    home.cleanup()


def _reader_until(home_root, flag, queue):
    home = common.Home(home_root)
    home.activate()
    from usagectl import consent

    reads = corrupt = lost_owner = 0
    while flag.value > 0:
        snapshot = consent.read_consent(home.consent_path)
        if not snapshot.exists:
            continue
        reads += 1
        if snapshot.problem is not None:
            corrupt += 1
        elif (snapshot.data or {}).get("owner") != "me":
            lost_owner += 1
    queue.put(("reader", reads, corrupt, lost_owner))


def _ray_writer(home_root, flag, queue):
    """Ray's own writer, in a loop: exactly what `ray enable/disable-usage-stats` runs."""
    home = common.Home(home_root)
    home.activate()
    from ray._common.usage import usage_lib

    writes = 0
    while flag.value > 0:
        usage_lib.set_usage_stats_enabled_via_config(writes % 2 == 0)
        writes += 1
    queue.put(("ray", writes))


def _usagectl_applier(home_root, applies, queue):
    home = common.Home(home_root)
    home.activate()
    from usagectl import frameworks
    from usagectl.consent import Decision
    from usagectl.core.environment import Environment
    from usagectl.core.errors import UsagectlError

    ray = frameworks.get("ray")
    env = Environment(environ=dict(os.environ), argv=[])
    done = refused = 0
    for step in range(applies):
        mode = "off" if step % 2 == 0 else "on"
        try:
            ray.apply(env, Decision("ray", mode, None, "consent:framework", "stress"))
            done += 1
        except (OSError, UsagectlError):
            refused += 1  # another writer kept changing it: nothing written, the user retries
        time.sleep(random.random() * 0.002)
    queue.put(("usagectl", done, refused))


def phase_ray(figures, rounds, applies):
    try:
        from ray._common.usage import usage_lib  # noqa: F401  (imported once, before the forks)
    except ImportError:
        figures.add("ray_rounds", "skipped: Ray is not installed", True)
        return
    ctx = multiprocessing.get_context("fork")
    lost = ray_writes = applied = refused = 0
    started = time.monotonic()
    for _round in range(rounds):
        home = common.Home()
        os.makedirs(os.path.dirname(home.ray_config))
        with open(home.ray_config, "w") as handle:
            json.dump({"usage_stats": True, "auth_token": CANARY, "other": [1, 2]}, handle)
        queue = ctx.Queue()
        flag = ctx.Value("d", 1.0)
        ray_proc = ctx.Process(target=_ray_writer, args=(home.root, flag, queue))
        ours = ctx.Process(target=_usagectl_applier, args=(home.root, applies, queue))
        ray_proc.start()
        ours.start()
        ours.join(600)
        flag.value = 0
        ray_proc.join(60)
        for _ in range(2):
            item = queue.get(timeout=60)
            if item[0] == "ray":
                ray_writes += item[1]
            else:
                applied += item[1]
                refused += item[2]
        try:
            config = json.load(open(home.ray_config))
        except ValueError:
            config = {}
        if config.get("auth_token") != CANARY or config.get("other") != [1, 2]:
            lost += 1
        home.cleanup()
    figures.add("ray_rounds", "%d rounds, %d usagectl applies (%d refused: file kept changing), "
                "%d writes by Ray's own code, %.1f s" % (rounds, applied + refused, refused, ray_writes,
                                                       time.monotonic() - started))
    figures.add("ray_runs_losing_auth_token", lost, lost == 0, "0")


def main():
    args, scale = common.parse_args(__doc__, writers=(4, 16), toggles=(40, 500), readers=(2, 8),
                                    rounds=(5, 100), applies=(20, 50))
    figures = common.Figures("concurrency (%s)" % args.scale)
    phase_writers(figures, scale["writers"], scale["toggles"], scale["readers"])
    phase_ray(figures, scale["rounds"], scale["applies"])
    return figures.report()


if __name__ == "__main__":
    raise SystemExit(main())
