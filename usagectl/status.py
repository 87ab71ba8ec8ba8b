"""`usagectl status` without the command line: consent intent, the framework's own
state, the runtime hook and drift, for every framework. Click-free so the fast path
can run it."""

from usagectl import decisions
from usagectl.exitcodes import ExitCode


def status(env, report, frameworks=()):
    snapshot = decisions.Snapshot(env)
    decisions.warn_problems(report, snapshot)
    report.data = {
        "consent_file": snapshot.consent.path,
        "consent_file_exists": snapshot.consent.exists,
        "policy_file": snapshot.policy.path,
        "policy_file_exists": snapshot.policy.exists,
        "frameworks": decisions.status_rows(snapshot, frameworks),
    }
    decisions.warn_native(report, report.data["frameworks"])
    report.exit_code = ExitCode.CONSENT_DAMAGED if snapshot.problems() else ExitCode.OK


def render(env, report):
    from usagectl import render as views

    views.status(env, report)
