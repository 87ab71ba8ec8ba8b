"""`usagectl status` without the command line: consent intent, the framework's own
state, the runtime hook and drift, for every framework. Click-free so the fast path
can run it."""

from usagectl.commands import rows
from usagectl.core import decisions
from usagectl.core.exitcodes import ExitCode


def status(env, report, frameworks=(), python=None):
    snapshot = decisions.Snapshot(env)
    if python is not None:
        from usagectl.hook.installer import resolve_python

        python = resolve_python(python)
    decisions.warn_problems(report, snapshot)
    report.data = {
        "consent_file": snapshot.consent.path,
        "consent_file_exists": snapshot.consent.exists,
        "policy_file": snapshot.policy.path,
        "policy_file_exists": snapshot.policy.exists,
        "python": python,
        "frameworks": rows.status_rows(snapshot, frameworks, python=python),
    }
    rows.warn_native(report, report.data["frameworks"])
    from usagectl.preview import fieldsets

    fieldsets.check_sent(env, report, report.data["frameworks"])
    report.exit_code = ExitCode.CONSENT_DAMAGED if snapshot.problems() else ExitCode.OK
