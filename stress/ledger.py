"""The sent ledger under concurrent appenders, rotations and `usagectl forget` rewrites.

Six appender processes record payloads of one framework (parsl) while a seventh keeps
adding another framework's lines (ray), two `forget` processes keep removing those, and
the ledger rotates (bodies are large enough that it passes the rotation size). Figures: lines appended, lines
present at the end, lines lost, lines duplicated, record_sent False results, and ray
lines left after a last forget. Nothing may be lost; record_sent may say False only on
a real I/O error, and none is injected here.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time

import common

args, scale = common.parse_args(__doc__.splitlines()[0], per_appender=(1000, 4000), seeded=(600, 2000))
APPENDERS = 6
FORGETTERS = 2
BODY = "x" * 1500  # 6 x 1000 lines of ~1.7 KB: past the 8 MiB rotation size at least once


def appender(ledger, index, count, results):
    from usagectl import consent

    false = 0
    for number in range(count):
        body = json.dumps({"appender": index, "n": number, "pad": BODY})
        if not consent._ledger_record("parsl", "udp://127.0.0.1:9", body, path=ledger):
            false += 1
    results.put(("appender", false))


def ray_appender(ledger, stop, results):
    """Keeps adding lines of the framework being forgotten, so every rewrite has work."""
    from usagectl import consent

    count = 0
    while not stop.is_set():
        consent._ledger_record("ray", "https://127.0.0.1:9/", json.dumps({"ray": count}), path=ledger)
        count += 1
        time.sleep(0.002)
    results.put(("ray", count))


def forgetter(ledger, stop, results):
    from usagectl import _ledger

    rounds = errors = 0
    while not stop.is_set():
        try:
            _ledger.drop_lines(ledger, lambda entry: entry.get("framework") == "ray")
        except OSError:
            errors += 1
        rounds += 1
        time.sleep(0.01)
    results.put(("forget", rounds, errors))


def lines_of(ledger):
    from usagectl import consent

    seen, ray = {}, 0
    for path in consent.rotated_paths(ledger) + [ledger]:
        try:
            with open(path, "rb") as handle:
                for raw in handle:
                    entry = json.loads(raw)
                    if entry["framework"] == "ray":
                        ray += 1
                        continue
                    key = json.loads(entry["body"])
                    key = (key["appender"], key["n"])
                    seen[key] = seen.get(key, 0) + 1
        except FileNotFoundError:
            continue
    return seen, ray


def main():
    home = common.Home()
    home.activate()
    sys.path.insert(0, common.ROOT)
    from usagectl import _ledger, consent

    ledger = os.path.join(home.state_dir, "sent.jsonl")
    figures = common.Figures("ledger: %d appenders, %d forget runs, rotation" % (APPENDERS, FORGETTERS))
    try:
        for number in range(scale["seeded"]):
            consent._ledger_record("ray", "https://127.0.0.1:9/", json.dumps({"seed": number}), path=ledger)
        context = multiprocessing.get_context("fork")
        results, stop = context.Queue(), context.Event()
        forgets = [context.Process(target=forgetter, args=(ledger, stop, results)) for _ in range(FORGETTERS)]
        appenders = [context.Process(target=appender, args=(ledger, i, scale["per_appender"], results))
                     for i in range(APPENDERS)]
        forgets.append(context.Process(target=ray_appender, args=(ledger, stop, results)))
        with common.time_limit(1200):
            for process in forgets + appenders:
                process.start()
            for process in appenders:
                process.join()
            stop.set()
            for process in forgets:
                process.join()
        outcomes = [results.get(timeout=60) for _ in range(APPENDERS + FORGETTERS + 1)]
        false = sum(o[1] for o in outcomes if o[0] == "appender")
        forget_rounds = sum(o[1] for o in outcomes if o[0] == "forget")
        forget_errors = sum(o[2] for o in outcomes if o[0] == "forget")
        _ledger.drop_lines(ledger, lambda entry: entry.get("framework") == "ray")
        seen, ray_left = lines_of(ledger)
        appended = APPENDERS * scale["per_appender"]
        figures.add("lines appended", appended)
        figures.add("lines present", sum(1 for _ in seen))
        lost = appended - len(seen)
        figures.add("lines lost", lost, ok=lost == 0, want="0")
        duplicated = sum(count - 1 for count in seen.values())
        figures.add("lines duplicated", duplicated, ok=duplicated == 0, want="0")
        figures.add("record_sent False", false, ok=false == 0, want="0")
        figures.add("forget rewrites (2 processes)", forget_rounds, ok=forget_rounds > 2, want="> 2")
        figures.add("forget errors", forget_errors, ok=forget_errors == 0, want="0")
        rotated = len(consent.rotated_paths(ledger))
        figures.add("rotations", rotated, ok=rotated >= 1, want=">= 1")
        figures.add("ray lines left after forget", ray_left, ok=ray_left == 0, want="0")
    finally:
        home.cleanup(args.keep)
    return figures.report()


if __name__ == "__main__":
    raise SystemExit(main())
