"""`usagectl preview`: the next report each framework would send. Nothing is sent."""

import click

from usagectl.cli._common import framework_argument, json_option, reporting


def _render(env, report):
    from usagectl.output import preview as view

    view.render(env, report)


@click.command("preview")
@framework_argument()
@click.option("--level", type=click.IntRange(1, 3), metavar="N",
              help="Parsl: preview only this usage-tracking level (default: every level allowed).")
@json_option
@reporting("preview", _render)
def preview(env, report, frameworks, level):
    """Show the next report each framework would send, and where. Nothing is sent.

    Builds each payload with the framework's own code when it is installed (Ray's
    disabled ping, Parsl's start message), reads Bacalhau's IDs from disk and resolves
    Coiled's analytics keys through dask's config.
    """
    from usagectl import preview as previews
    from usagectl.cli._common import exit_code_for_problems
    from usagectl.core import decisions

    snapshot = decisions.Snapshot(env)
    decisions.warn_problems(report, snapshot)
    from usagectl.commands.rows import shown_names

    names = shown_names(snapshot, frameworks)
    report.data = {"frameworks": previews.preview_many(env, names, level=level, snapshot=snapshot)}
    report.exit_code = exit_code_for_problems(snapshot.problems())
