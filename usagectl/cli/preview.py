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
@click.option("--config", "config", metavar="SPEC",
              help="Preview with your own configuration object (Parsl: the Config your workflow "
                   "loads, as MODULE:ATTR or FILE.py[:ATTR], default ATTR \"config\"; its code runs "
                   "in a child process, which must not start a workflow on import).")
@click.option("--accept", is_flag=True,
              help="Remember the field sets shown as the ones you accept: later previews and "
                   "`status` name what a framework upgrade adds or drops (the only writing mode).")
@json_option
@reporting("preview", _render)
def preview(env, report, frameworks, level, config, accept):
    """Show the next report each framework would send, and where. Nothing is sent.

    Builds each payload with the framework's own code when it is installed (Ray's
    report fields and disabled ping, Parsl's start and end messages), lists every field
    of Bacalhau's events with its IDs read from disk, and resolves Coiled's analytics
    keys through dask's config. Identifying and free-text fields are flagged, and fields
    a framework upgrade added are named (against what --accept remembered, else
    usagectl's catalogue).
    """
    from usagectl import preview as previews
    from usagectl.cli._common import exit_code_for_problems
    from usagectl.core import decisions

    snapshot = decisions.Snapshot(env)
    decisions.warn_problems(report, snapshot)
    from usagectl.commands.rows import shown_names
    from usagectl.preview import fieldsets

    names = shown_names(snapshot, frameworks)
    known, problem = fieldsets.read(env)
    if problem:
        report.warn(problem)
    items = previews.preview_many(env, names, level=level, snapshot=snapshot, config=config, known=known)
    report.data = {"frameworks": items}
    if accept:
        report.data["accepted"] = fieldsets.accept(env, items)
        report.data["accepted_file"] = fieldsets.path(env)
    report.exit_code = exit_code_for_problems(snapshot.problems())
