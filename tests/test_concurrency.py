"""Many writers and readers at once: every read parses, no change is lost.

Processes, not threads: the lock is a per-process flock and the atomic replace is
what other processes observe.
"""

import multiprocessing
import os

from usagectl import consent
from usagectl.core import store

PROCESSES = 8
TOGGLES = 200


def _worker(index, consent_path, history_path, result_queue):
    name = "fw%d" % index
    bad_reads = 0
    last = None
    for i in range(TOGGLES):
        last = "on" if i % 2 else "off"
        store.set_modes(consent_path, history_path, [name], last, None, "test %d" % index)
        snapshot = consent.read_consent(consent_path)
        if snapshot.problem is not None or snapshot.frameworks.get(name) is None \
                or snapshot.frameworks[name].mode != last:
            bad_reads += 1
    result_queue.put((name, last, bad_reads))


def test_eight_processes_two_hundred_toggles_each(env):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(i, env.consent_path, env.history_path, queue))
               for i in range(PROCESSES)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert all(bad == 0 for _, _, bad in results), results
    final = consent.read_consent(env.consent_path)
    assert final.problem is None
    assert {name: final.frameworks[name].mode for name, _, _ in results} == \
        {name: last for name, last, _ in results}
    records, problems = store.read_history(env.history_path)
    assert problems == [] and len(records) == PROCESSES * TOGGLES
    # no temp files left behind
    leftovers = [f for f in os.listdir(os.path.dirname(env.consent_path)) if f.endswith(".tmp")]
    assert leftovers == []
