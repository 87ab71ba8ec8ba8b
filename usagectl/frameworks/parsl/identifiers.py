"""Parsl's correlators and project names: from its logs and the sent ledger."""

import json

from usagectl.core.identifiers import MAX_FILES, add_problem


def _parsl_body(found, body, source):
    """Add the correlator and project name of one Parsl datagram (b"1" + JSON, or
    plain JSON before levels)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not body:
        return
    if body[:1] == b"1":
        body = body[1:]
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return
    if isinstance(message, dict):
        # "uuid" is the correlator's name before levels (Parsl 2024.3 and older).
        found.add("correlator", message.get("correlator") or message.get("uuid"), source)
        found.add("project_name", message.get("project_name"), source)


def gather(env, found):
    from usagectl.core import ledger_scan
    from usagectl.frameworks.parsl import records as parsl_log

    for path, _mtime in parsl_log.find_logs(parsl_log.search_paths(env))[:MAX_FILES]:
        payloads, skipped = parsl_log.read_log(path, limit=None)
        add_problem(found, skipped)
        for payload in reversed(payloads):  # oldest first: ids in the order they appeared
            _parsl_body(found, payload.body, path)
    by_framework, skipped = ledger_scan.scan(env.environ, ["parsl"], limit=None)
    for item in skipped:
        add_problem(found, item)
    for payload in reversed(by_framework["parsl"]):
        for kind in ("correlator", "project_name"):
            found.add(kind, payload.identifiers.get(kind), payload.source_file)
        _parsl_body(found, payload.body, payload.source_file)
