"""Identifiers captured when seen, so that a deletion request is still possible later.

Some of what names collected data vanishes: Ray keeps a session's last report, and so
its cluster id, under /tmp/ray, which cleanup and `ray stop` remove. A user who opts
out today and asks for deletion next month would have nothing to ask with. So the
commands that write anyway (`enable`, `disable`, `local`, `sync`) also keep every
identifier the vendor received (what `request-deletion --list-ids` would list, with its
evidence) in ``captured-ids.jsonl`` in usagectl's state dir, one JSON line per
(framework, kind, value), appended under the same lock as the sent ledger. Read-only
commands (`status`, `show-last`, `request-deletion --list-ids`) never write it.

`request-deletion` reads it beside the frameworks' own files; `usagectl forget` removes a
framework's lines once a request has named them.
"""

import json
import os

FILE_NAME = "captured-ids.jsonl"
MAX_BYTES = 8 << 20


def path(env):
    return os.path.join(env.state_dir, FILE_NAME)


def read(env):
    """[{framework, kind, value, evidence: [{source, how}], captured, command}], skipping
    lines that don't parse (one bad line never hides the others)."""
    from usagectl import _files

    try:
        data = _files.read_regular(path(env), MAX_BYTES)
    except OSError:
        return []
    records = []
    for raw in data.splitlines():
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict) and all(isinstance(record.get(k), str) for k in ("framework", "kind", "value")):
            records.append(record)
    return records


def capture(env, command):
    """Keep every received identifier not kept yet -> how many were added. Never raises
    into the command that writes: a failure is returned as (0, why)."""
    from usagectl import _ledger, consent
    from usagectl import frameworks as registry
    from usagectl.core.store import utc_now
    from usagectl.deletion import identifiers

    try:
        found = identifiers.gather(env, registry.names(), captured=False)
        kept = {(r["framework"], r["kind"], r["value"]) for r in read(env)}
        when = consent._iso(utc_now())
        lines = []
        for name, result in found.items():
            for item in result.identifiers:
                if not item.evidence or (name, item.kind, item.value) in kept:
                    continue  # only what the vendor received, once
                lines.append(json.dumps({"framework": name, "kind": item.kind, "value": item.value,
                                         "evidence": item.evidence, "captured": when, "command": command},
                                        sort_keys=True) + "\n")
        if lines:
            # Two writers at once may both add a line: readers merge repeats (Found.add).
            _ledger._append_locked(path(env), "".join(lines).encode("utf-8"), rotate=False)
        return len(lines), None
    except Exception as exc:  # capturing must never stop a consent change
        return 0, "could not capture identifiers (%s)" % type(exc).__name__


def add_to(env, name, found):
    """Add the identifiers captured for framework ``name`` to ``found``."""
    where = path(env)
    for record in read(env):
        if record["framework"] != name:
            continue
        for evidence in record.get("evidence") or ():
            if isinstance(evidence, dict):
                found.add(record["kind"], record["value"], where,
                          "captured by `%s` at %s from %s: %s" % (record.get("command"), record.get("captured"),
                                                                  evidence.get("source"), evidence.get("how")))
