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
    """Show what changed in the consent file, when, and by which command.

    With --system: every change `usagectl --system` made to the system policy, and who ran it.
    """
    if env.system:
        from usagectl.core import policy_store

        path, consent_path = policy_store.history_path(env), None
    else:
        path, consent_path = env.history_path, env.consent_path
    if last is not None:
        records, problems = store.read_history(path, last=last, consent_path=consent_path)
        for problem in problems:
            report.warn(problem.message, problem.path, problem.line)
        report.data = {"history_file": path, "entries": records}
        return
    from usagectl.commands.result import Stream

    def entries():
        # Read while written: a million entries cost the memory of one. Damaged lines
        # become warnings as they are met (the envelope puts them after the data).
        problems = []
        for record in store.iter_history(path, problems, consent_path=consent_path):
            yield record
            while problems:
                problem = problems.pop(0)
                report.warn(problem.message, problem.path, problem.line)
        for problem in problems:
            report.warn(problem.message, problem.path, problem.line)

    report.data = {"history_file": path, "entries": Stream(entries())}
