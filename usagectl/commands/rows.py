"""The effective consent of every framework, as the rows status, enable and friends show."""

from usagectl import consent, judgment
from usagectl import frameworks as registry
from usagectl.core.decisions import source_label
from usagectl.hook.state import hook_state
from usagectl.judgment import drift_fix, is_drift  # noqa: F401  (callers name them here)


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


def add_native_truth(env, row, hook, decision=None, installed=None):
    """The framework's one judgment (usagectl.judgment), beside the consent intent."""
    row.update(judgment.judge(env, registry.get(row["framework"]), row, hook, decision, installed))


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
