"""`usagectl status`: each framework's effective mode and the layer that decided it."""

import click

from usagectl import decisions, render
from usagectl.cli._common import exit_code_for_problems, framework_argument, json_option, reporting


@click.command("status")
@framework_argument()
@json_option
@reporting("status", render.status)
def status(env, report, frameworks):
    """Show each framework's effective telemetry mode and what decided it."""
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
    report.exit_code = exit_code_for_problems(snapshot.problems())
