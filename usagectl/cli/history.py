"""`usagectl history`: every change to the consent file, oldest first."""

import click

from usagectl.cli._common import json_option, reporting
from usagectl.core import store
from usagectl.output import views as render


@click.command("history")
@click.option("-n", "--last", "last", type=click.IntRange(min=1), metavar="N",
              help="Show only the N most recent changes.")
@json_option
@reporting("history", render.history)
def history(env, report, last):
    """Show what changed in the consent file, when, and by which command."""
    records, problems = store.read_history(env.history_path, last=last, consent_path=env.consent_path)
    for problem in problems:
        report.warn(problem.message, problem.path, problem.line)
    report.data = {"history_file": env.history_path, "entries": records}
