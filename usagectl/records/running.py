"""Processes that decided at start and keep sending whatever the consent file now says.

Each framework lists its own (``Framework.running``: Ray's heads); this module is what
status, sync and verify share: which of them send against a restrictive decision.
"""

from usagectl.core.payloads import iso as _iso


def iso(when):
    """Process start times to the second: /proc's tick makes anything finer noise."""
    return _iso(when.replace(microsecond=0)) if when is not None else None


def against(env, framework, decision):
    """(sending, unknown): processes still reporting although ``decision`` is off or local,
    and those whose decision can't be read. ([], []) when the decision allows sending."""
    if decision.mode not in ("off", "local"):
        return [], []
    try:
        found = framework.running(env)
    except Exception:
        found = None
    if found is None:
        return [], [{"what": "%s processes" % framework.title, "pid": None, "started": None,
                     "reporting": None, "restart": None,
                     "why": "usagectl can't list running processes here"}]
    sending = [p for p in found if p.get("reporting") is True]
    unknown = [p for p in found if p.get("reporting") is None]
    return sending, unknown


def describe(process):
    started = iso(process.get("started"))
    return "%s%s" % (process["what"], ", started %s" % started if started else "")


def as_dict(process):
    item = dict(process)
    item["started"] = iso(process.get("started"))
    return item
