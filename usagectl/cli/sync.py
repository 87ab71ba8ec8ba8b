"""`usagectl sync`: re-apply the consent file to every framework's own settings."""

import click

from usagectl.cli._common import framework_argument, json_option, reporting
from usagectl.commands import modes, sync
from usagectl.core import decisions
from usagectl.output import views as render


@click.command("sync")
@framework_argument()
@click.option("--repair", is_flag=True,
              help="If a framework's settings file is invalid, keep a backup and rewrite it.")
@json_option
@reporting("sync", render.sync)
def sync_command(env, report, frameworks, repair):
    """Write the consent file's decision into each framework's own settings.

    Repairs drift, e.g. after someone ran `ray enable-usage-stats`. DO_NOT_TRACK is
    not written into files: it belongs to the shell that set it.
    """
    from usagectl.core import store

    names = modes.parse_names(frameworks)
    snapshot = decisions.Snapshot(env)
    decisions.warn_problems(report, snapshot)
    moved = store.migrate_settings(env.consent_path, env.settings_path, env.history_path,
                                   env.command_line, env.now())
    modes.note_moved_settings(report, moved, env)
    report.data = {"applied": sync.apply_all(env, report, names or None, repair=repair)}
