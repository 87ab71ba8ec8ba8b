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
@click.option("--python", "pythons", multiple=True, metavar="PYTHON",
              help="With --system: also install the runtime hook in this system interpreter (repeatable).")
@json_option
@reporting("sync", lambda env, report: (render.system_changes if env.system else render.sync)(env, report))
def sync_command(env, report, frameworks, repair, pythons):
    """Write the consent file's decision into each framework's own settings.

    Repairs drift, e.g. after someone ran `ray enable-usage-stats`. DO_NOT_TRACK is
    not written into files: it belongs to the shell that set it.
    """
    from usagectl.core import store

    if env.system:
        from usagectl.commands import system
        from usagectl.core.system import require_admin

        require_admin(env)
        report.data = {"policy": env.read_policy().path, "changes": [],
                       "applied": system.apply_system(env, report, pythons)}
        return
    if pythons:
        from usagectl.core.errors import BadInput

        raise BadInput("--python is for `usagectl --system sync`; `usagectl hook install --python` hooks one "
                       "interpreter for you")
    names = modes.parse_names(frameworks)
    snapshot = decisions.Snapshot(env)
    decisions.warn_problems(report, snapshot)
    moved = store.migrate_settings(env.consent_path, env.settings_path, env.history_path,
                                   env.command_line, env.now())
    modes.note_moved_settings(report, moved, env)
    report.data = {"applied": sync.apply_all(env, report, names or None, repair=repair)}
    # What sync could not repair, judged as status judges it: never "already match" then.
    _rows, left = sync.not_repaired(env, names or None)
    report.data["not_repaired"] = left
    for item in left:
        report.warn("%s: NOT REPAIRED: %s; %s" % (item["framework"], item["reason"], item["fix"]))
    if left and report.exit_code == 0:
        from usagectl.core.exitcodes import ExitCode

        report.exit_code = ExitCode.NOT_REPAIRED
