"""The one judgment of a framework's state: what it will do, against the consent.

Every command renders this, none judges on its own: `status` shows it, `sync` reports
what it could not repair with it, `verify`'s settings check is it. A framework is
judged from its own settings (Framework.native_state, through hook.state), the runtime
hook where it is the mechanism, and the processes that decided when they started.
"""

from usagectl.consent import SOURCE_DO_NOT_TRACK
from usagectl.core.categories import describe
from usagectl.hook.state import native_state


def is_drift(intent, native_mode):
    """The framework will do more than the consent file allows."""
    return intent in ("off", "local") and native_mode == "on"


def judge(env, adapter, intent, hook, decision=None, installed=None, running=True):
    """The one judgment of one framework: what it will do, against the consent intent.

    ``intent`` holds the decision's fields (``mode``, ``source``; a status row, or
    ``decision.as_dict()``) and ``framework``/``title``. ``installed`` ({package: bool})
    answers "is it installed" for another interpreter (status --python); None means this
    one. ``running``: also judge processes that decided when they started (verify checks
    those on their own). -> the fields status shows: native, drift, drift_reason, traps,
    hook, installed_here, enforced, not_enforced_reason, fix, effective, running.
    """
    row = {"framework": intent["framework"], "title": intent.get("title") or (adapter.title if adapter else
                                                                               intent["framework"]),
           "mode": intent["mode"], "source": intent.get("source")}
    row["native"] = None
    row["drift"] = False
    row["traps"] = []
    row["hook"] = None
    row["installed_here"] = None
    row["enforced"] = None
    if adapter is None:
        return _fields(row)
    if installed is not None and adapter.python_package:
        row["installed_here"] = bool(installed.get(adapter.python_package))
    else:
        row["installed_here"] = adapter.installed_here(env)
    native = native_state(env, adapter, decision, hook)
    row["native"] = {k: native.get(k) for k in ("mode", "source", "detail")}
    if "own_mode" in native:  # judged against a send list (usagectl.core.categories)
        row["native"].update(own_mode=native["own_mode"], sending=native.get("sending"))
    row["traps"] = list(native.get("traps") or [])
    if adapter.hook_imports and hook is not None and row["installed_here"]:
        # Only where this Python has the framework: elsewhere the hook here decides nothing.
        row["hook"] = bool(hook.get("installed"))
    effective = native.get("effective")
    if effective is not None and row["mode"] in ("off", "local"):
        # A framework whose only mechanism is the hook (Parsl: each script picks its level)
        # is off only where the hook caps it; never show "off" while scripts can still send.
        row["effective"] = effective
        row["enforced"] = effective.get("mode") == "off"
        if not row["enforced"]:
            python = (hook or {}).get("python")
            row["not_enforced_reason"] = (
                "consent says %s, but %s (%s)" % (row["mode"], effective.get("detail"),
                                                  "this Python" if not python else python))
            row["fix"] = "usagectl hook install" + (" --python %s" % python if installed is not None
                                                    and python else "")
    row["drift"] = is_drift(row["mode"], native.get("mode"))
    if row["drift"]:
        row["drift_reason"] = "consent says %s but %s will report: %s" % (
            describe(decision) if decision is not None else row["mode"], row["title"],
            native.get("detail") or native.get("source"))
        if row["hook"]:
            row["drift_reason"] += " (the runtime hook still enforces %s in this Python)" % row["mode"]
    if decision is not None and running:
        from usagectl.records import running as processes

        sending, unknown = processes.against(env, adapter, decision)
        row["running"] = [processes.as_dict(p) for p in sending + unknown]
        if sending:
            # Settings that say off don't reach a process that decided at start.
            row["drift"] = True
            reason = "consent says %s but %s still reporting: %s; restart with %s" % (
                row["mode"], "these keep" if len(sending) > 1 else "this keeps",
                "; ".join(processes.describe(p) for p in sending), sending[0].get("restart"))
            row["drift_reason"] = reason if not row.get("drift_reason") else row["drift_reason"] + "; " + reason
    return _fields(row)


#: The fields judge() decides (status rows carry them beside the intent).
FIELDS = ("native", "drift", "drift_reason", "traps", "hook", "installed_here", "enforced",
          "not_enforced_reason", "fix", "effective", "running")


def _fields(row):
    return {key: row[key] for key in FIELDS if key in row}


def drift_fix(row, after_sync=False):
    """The one thing that repairs a drifting row. ``after_sync``: `usagectl sync` just ran
    and the row still drifts, so sync is no answer: name the file or variable to change."""
    source = (row.get("native") or {}).get("source") or ""
    if any(p.get("reporting") for p in row.get("running") or []):
        return "a running process keeps its decision until it is restarted"
    if source.startswith("env:"):
        return "unset %s, or use the values from `usagectl env`" % source[4:]
    if row.get("source") == SOURCE_DO_NOT_TRACK:
        # sync writes only the persistent choice, so it would change nothing here.
        return ("DO_NOT_TRACK is set in this shell only and %s doesn't read it, and "
                "`usagectl sync` writes only the recorded choice: run `usagectl disable %s` "
                "to record off" % (row["title"], row["framework"]))
    if not after_sync:
        return "run `usagectl sync` to repair"
    if source.startswith("file:"):
        return "no usagectl command changes %s: edit it by hand (or remove it)" % source[5:]
    return "no usagectl command changes it: see `usagectl status %s`" % row["framework"]


def verdict(row):
    """(pass | fail | unknown, summary, fix) of a judged row whose intent restricts:
    the words `verify`'s settings check and every other renderer use."""
    if row.get("drift"):
        return "fail", row["drift_reason"], drift_fix(row)
    if row.get("enforced") is False:
        return "unknown", "not enforced: %s" % row["not_enforced_reason"], row.get("fix")
    native = row.get("native") or {}
    if row.get("enforced") is None and native.get("mode") not in ("off", "local"):
        return "unknown", "can't tell whether %s's own settings honour %s: %s" % (
            row["title"], row["mode"], native.get("detail")), "fix what the evidence names, then verify again"
    return "pass", None, None


def judged(env, adapter, decision, hook, running=True):
    """The row a renderer needs: the decision's fields with the judgment beside them."""
    row = dict(decision.as_dict(), framework=adapter.name, title=adapter.title)
    row.update(judge(env, adapter, row, hook, decision, running=running))
    return row
