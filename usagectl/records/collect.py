"""Gather each framework's last payloads from every source, ledger first."""

from usagectl import frameworks as registry
from usagectl.core import ledger_scan
from usagectl.core import payloads as model

LEDGER_NOTE = "These come from the sent ledger (the usagectl runtime hook)."


def native(env, framework, limit, since, trust, paths):
    """Payloads from the framework's own files -> (payloads, skipped, notes)."""
    found = registry.get(framework)
    if found is None:
        return [], [], ["usagectl knows no local record for %s; only the sent ledger is read." % framework]
    scanned = found.scan_records(env, limit, since, trust, paths)
    if scanned is None:
        notes = list(found.no_local_record) or [
            "usagectl knows no local record for %s; only the sent ledger is read." % framework]
        return [], [], notes + list(found.records_notes)
    payloads, skipped = scanned
    return payloads, skipped, list(found.records_notes)


def keeps_no_record(framework):
    """True when the framework keeps no local record of what it sends (only the ledger can tell)."""
    found = registry.get(framework)
    return found is not None and bool(found.no_local_record)


def collect(env, frameworks, limit=1, since=None, trust=False, paths=()):
    """-> ({framework: {"payloads": [Payload], "notes": [str]}}, [Skipped])."""
    from_ledger, skipped = ledger_scan.scan(env.environ, frameworks, limit, since, trust)
    result = {}
    for framework in frameworks:
        payloads = list(from_ledger.get(framework, []))
        found, skips, notes = native(env, framework, limit, since, trust, paths)
        skipped.extend(skips)
        # The ledger saw the send itself: prefer its entry over the same body read back.
        ledger_bodies = {p.body for p in payloads if p.body is not None}
        payloads.extend(p for p in found if p.body is None or p.body not in ledger_bodies)
        payloads.sort(key=model.Payload.sort_key, reverse=True)
        if limit is not None:
            payloads = payloads[:limit]
        if payloads and keeps_no_record(framework):
            notes = notes[:1] and [LEDGER_NOTE] + notes[1:]
        result[framework] = {"payloads": payloads, "notes": notes}
    return result, skipped
