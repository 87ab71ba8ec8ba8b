"""Carrying the consent decision into each framework's own settings.

What gets written follows the persistent layers only (the policy and the consent
file). DO_NOT_TRACK belongs to one shell or job: writing it into ~/.ray/config.json
would outlive it, so it is left out here and enforced at run time instead (the
runtime hook and each framework's own reading of the environment).
"""

from usagectl import frameworks as registry
from usagectl.core.decisions import persistent_decision  # noqa: F401  (used below, and by callers)
from usagectl.core.errors import FrameworkFileDamaged, UsagectlError
from usagectl.core.exitcodes import ExitCode


def _apply_retrying(adapter, env, decision, repair, attempts=5):
    """adapter.apply, again when another program rewrote the file under it (FileChanged:
    nothing was written). After ``attempts`` the FileChanged (an OSError) is reported."""
    import time

    from usagectl.core import fsutil

    for attempt in range(attempts):
        try:
            return adapter.apply(env, decision, repair=repair) or {}
        except fsutil.FileChanged:
            if attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    return {}


def apply_all(env, report, names=None, repair=False):
    """Apply the consent file to each named framework (default: every adapter).

    A damaged framework file is reported and skipped; the others are still applied.
    Returns the per-framework results and sets the report's exit code on damage.
    """
    consent_snapshot = env.read_consent()
    policy_snapshot = env.read_policy()
    chosen = [registry.get(n) for n in names] if names else registry.all()
    results = []
    hook = None
    for adapter in chosen:
        if adapter is None:
            continue
        decision = persistent_decision(env, adapter.name, consent_snapshot, policy_snapshot)
        result = {"framework": adapter.name, "mode": decision.mode, "changed": [], "notes": [],
                  "error": None}
        try:
            outcome = _apply_retrying(adapter, env, decision, repair)
            result["changed"] = list(outcome.get("changed", []))
            result["notes"] = list(outcome.get("notes", []))
        except FrameworkFileDamaged as exc:
            result["error"] = exc.as_dict()
            report.warn("%s: %s (%s)" % (adapter.name, exc.message, exc.hint or "pass --repair"),
                        exc.path, exc.line)
            if report.exit_code == ExitCode.OK:
                report.exit_code = ExitCode.FRAMEWORK_FILE_DAMAGED
        except OSError as exc:
            # An unwritable settings file stops this framework only: the others still get
            # the decision, and the result says which one failed.
            error = UsagectlError("%s: %s" % (exc.filename or adapter.name, exc.strerror or exc),
                                  path=exc.filename)
            result["error"] = error.as_dict()
            report.warn("%s: could not apply the decision: %s" % (adapter.name, error.message),
                        exc.filename)
            if report.exit_code == ExitCode.OK:
                report.exit_code = error.exit_code
        from usagectl.records import running

        sending, _unknown = running.against(env, adapter, decision)
        for process in sending:
            report.warn("%s: %s keeps reporting until it is restarted: it decided when it started; "
                        "restart it with %s" % (adapter.name, running.describe(process),
                                                process.get("restart")))
        result["still_running"] = [running.as_dict(p) for p in sending]
        if adapter.hook_imports:
            from usagectl.hook.state import hook_state

            hook = hook if hook is not None else (hook_state(env) or {})
            result["notes"].extend(adapter.hook_notes(hook))
        for note in result["notes"]:
            report.note("%s: %s" % (adapter.name, note))
        results.append(result)
    _capture_identifiers(env, report)
    return results


def _capture_identifiers(env, report):
    """Keep the identifiers the vendors received before the frameworks' own copies go
    (Ray's under /tmp): this command writes anyway; read-only ones never do."""
    from usagectl.deletion import captured

    added, problem = captured.capture(env, env.command_line)
    if added:
        report.note("kept %d identifier(s) the vendors received in %s, so `usagectl request-deletion` "
                    "can still name them after the frameworks' own copies are gone" % (added, captured.path(env)))
    if problem:
        report.warn(problem)


def not_repaired(env, names=None):
    """After apply_all: the frameworks that still drift, judged as `usagectl status` judges
    them (the same rows), with the one fix for each. -> (rows, [dict])."""
    from usagectl.commands import rows
    from usagectl.core import decisions

    shown = rows.status_rows(decisions.Snapshot(env), names or [a.name for a in registry.all()])
    left = [row for row in shown if row.get("drift")]
    return left, [{"framework": row["framework"], "reason": row.get("drift_reason"),
                   "source": (row.get("native") or {}).get("source"), "fix": rows.drift_fix(row, after_sync=True)}
                  for row in left]
