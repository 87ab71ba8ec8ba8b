"""The effective consent of every framework, as the rows status, enable and friends show."""

from usagectl import consent
from usagectl import frameworks as registry
from usagectl.core.categories import describe
from usagectl.core.decisions import source_label
from usagectl.hook.state import hook_state, native_state


def shown_names(snapshot, requested=None):
    """Names to show: the requested ones, else every framework plus any named in the files."""
    if requested:
        names = []
        for raw in requested:
            name = consent.normalize_name(raw)
            if name not in names:
                names.append(name)
        return names
    names = registry.names()
    names.extend(n for n in snapshot.recorded_names() if n not in names)
    return names


def status_row(snapshot, name, decision=None):
    decision = decision or snapshot.decide(name)
    adapter = registry.get(name)
    row = decision.as_dict()
    row["decided_by"] = source_label(decision)
    row["title"] = adapter.title if adapter else name
    row["adapter"] = adapter is not None
    row["own_default"] = adapter.own_default if adapter else None
    if decision.mode == "unset":
        if adapter is not None:
            row["reason"] = "no choice recorded; %s's own default applies (%s: %s)" % (
                row["title"], adapter.own_default, adapter.own_default_note)
        else:
            row["reason"] = "no choice recorded; the framework's own default applies"
    return row


def status_rows(snapshot, requested=None, native=True, python=None):
    """Rows for every framework shown. ``python`` (an interpreter path) asks about the hook
    and the installed frameworks in that environment instead of the one running usagectl."""
    decided = [(name, snapshot.decide(name)) for name in shown_names(snapshot, requested)]
    rows = [status_row(snapshot, name, decision) for name, decision in decided]
    if native:
        if python is None:
            hook, installed = hook_state(snapshot.env), None
        else:
            from usagectl.hook.installer import status as hook_status

            hook = hook_status(python)
            installed = hook.get("frameworks") or {}
        for row, (_name, decision) in zip(rows, decided):
            add_native_truth(snapshot.env, row, hook, decision, installed)
    return rows


def is_drift(intent, native_mode):
    """The framework will do more than the consent file allows."""
    return intent in ("off", "local") and native_mode == "on"


def add_native_truth(env, row, hook, decision=None, installed=None):
    """What the framework itself will decide, next to the consent intent, and any drift.

    ``installed`` ({package: bool}) answers "is it installed" for another interpreter
    (status --python); None means this one.
    """
    adapter = registry.get(row["framework"])
    row["native"] = None
    row["drift"] = False
    row["traps"] = []
    row["hook"] = None
    row["installed_here"] = None
    row["enforced"] = None
    if adapter is None:
        return
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
    if decision is not None:
        from usagectl.records import running

        sending, unknown = running.against(env, adapter, decision)
        row["running"] = [running.as_dict(p) for p in sending + unknown]
        if sending:
            # Settings that say off don't reach a process that decided at start.
            row["drift"] = True
            reason = "consent says %s but %s still reporting: %s; restart with %s" % (
                row["mode"], "these keep" if len(sending) > 1 else "this keeps",
                "; ".join(running.describe(p) for p in sending), sending[0].get("restart"))
            row["drift_reason"] = reason if not row.get("drift_reason") else row["drift_reason"] + "; " + reason


def warn_native(report, rows):
    for row in rows:
        native = row.get("native") or {}
        if row["mode"] in ("off", "local") and native.get("mode") == "unknown" and row.get("enforced") is None:
            # Unknown is never shown as ok: say it, with what couldn't be read.
            report.warn("%s: UNKNOWN: usagectl can't tell whether %s honours %s: %s"
                        % (row["framework"], row["title"], row["mode"], native.get("detail")))
        if row.get("enforced") is False:
            report.warn("%s: NOT ENFORCED: %s; run `%s`" % (row["framework"], row["not_enforced_reason"],
                                                             row["fix"]))
        for trap in row.get("traps", []):
            report.warn("%s: %s=%r: %s" % (row["framework"], trap.get("variable"), trap.get("value"),
                                            trap.get("problem")))
        if row.get("drift"):
            report.warn("%s: DRIFT: %s; %s" % (row["framework"], row["drift_reason"], drift_fix(row)))


def drift_fix(row, after_sync=False):
    """The one thing that repairs a drifting row. ``after_sync``: `usagectl sync` just ran
    and the row still drifts, so sync is no answer: name the file or variable to change."""
    source = (row.get("native") or {}).get("source") or ""
    if any(p.get("reporting") for p in row.get("running") or []):
        return "a running process keeps its decision until it is restarted"
    if source.startswith("env:"):
        return "unset %s, or use the values from `usagectl env`" % source[4:]
    if row.get("source") == consent.SOURCE_DO_NOT_TRACK:
        # sync writes only the persistent choice, so it would change nothing here.
        return ("DO_NOT_TRACK is set in this shell only and %s doesn't read it, and "
                "`usagectl sync` writes only the recorded choice: run `usagectl disable %s` "
                "to record off" % (row["title"], row["framework"]))
    if not after_sync:
        return "run `usagectl sync` to repair"
    if source.startswith("file:"):
        return "no usagectl command changes %s: edit it by hand (or remove it)" % source[5:]
    return "no usagectl command changes it: see `usagectl status %s`" % row["framework"]
