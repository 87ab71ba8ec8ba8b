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
    _check_options(names, frameworks, level, config)
    known, problem = fieldsets.read(env)
    if problem:
        report.warn(problem)
    items = previews.preview_many(env, names, level=level, snapshot=snapshot, config=config, known=known)
    report.data = {"frameworks": items}
    if accept:
        report.data["accepted"] = fieldsets.accept(env, items)
        report.data["accepted_file"] = fieldsets.path(env)
    report.exit_code = exit_code_for_problems(snapshot.problems())
    for item in items:
        if item.get("config_error"):
            from usagectl.core.errors import BadInput

            report.fail(BadInput(item["config_error"], path=config))


def _check_options(names, named, level, config):
    """--level and --config are refused for a framework they mean nothing to, never dropped."""
    import os

    from usagectl import frameworks as registry
    from usagectl.core.errors import BadInput

    for option, value, applies, what in (("--level", level, lambda f: f.has_levels, "it has no levels"),
                                         ("--config", config, lambda f: bool(f.preview_config),
                                          "it takes no configuration object")):
        if value is None:
            continue
        takers = [n for n in registry.names() if applies(registry.get(n))]
        if not named:
            raise BadInput("%s applies to %s only: name it (`usagectl preview %s %s ...`)"
                           % (option, ", ".join(takers), takers[0] if takers else "FRAMEWORK", option))
        refused = [n for n in names if registry.get(n) is None or not applies(registry.get(n))]
        if refused:
            raise BadInput("%s doesn't apply to %s (%s); it applies to %s"
                           % (option, ", ".join(refused), what, ", ".join(takers) or "no framework"))
    if config is not None:
        path = config.rsplit(":", 1)[0] if config.rsplit(":", 1)[0].endswith(".py") else config
        if (path.endswith(".py") or os.sep in path) and not os.path.isfile(path):
            raise BadInput("--config %s: no such file" % path, path=path)
