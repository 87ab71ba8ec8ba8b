"""The `usagectl` group: global options, and commands loaded when they are invoked."""

import importlib

import click

from usagectl import __version__

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: command name -> "module:attribute". The one list of commands; each module is
#: imported only when its command runs (or when --help lists them).
COMMANDS = {
    "status": "usagectl.cli.status:status",
    "enable": "usagectl.cli.modes:enable",
    "disable": "usagectl.cli.modes:disable",
    "local": "usagectl.cli.modes:local",
    "reset": "usagectl.cli.modes:reset",
    "sync": "usagectl.cli.sync:sync_command",
    "env": "usagectl.cli.env:env_command",
    "export": "usagectl.cli.export:export_command",
    "fleet": "usagectl.cli.fleet:fleet_command",
    "show-last": "usagectl.cli.show_last:show_last",
    "preview": "usagectl.cli.preview:preview",
    "verify": "usagectl.cli.verify:verify_command",
    "hook": "usagectl.cli.hook:hook",
    "request-deletion": "usagectl.cli.deletion:request_deletion",
    "forget": "usagectl.cli.deletion:forget",
    "credentials": "usagectl.cli.credentials:credentials",
    "history": "usagectl.cli.history:history",
    "completion": "usagectl.cli.completion:completion",
}


#: The commands that have an administrator form (`usagectl --system CMD`).
SYSTEM_COMMANDS = frozenset(("enable", "disable", "local", "reset", "sync", "status", "history"))


class LazyGroup(click.Group):
    """click's documented lazy-loading group: subcommands are "module:attribute" strings."""

    def __init__(self, *args, lazy_commands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx, cmd_name):
        if cmd_name in self.lazy_commands:
            module, _, attribute = self.lazy_commands[cmd_name].partition(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="usagectl",
                      message="%(prog)s %(version)s")
@click.option("--system", "system_mode", is_flag=True,
              help="Administrator mode (root): enable/disable/local/reset write the system policy that "
                   "holds every user, sync carries it into system-wide settings, status shows them.")
@click.pass_context
def main(ctx, system_mode):
    """Control the usage telemetry of every framework usagectl knows from one place.

    One consent file (see `usagectl status`) decides for every framework; the most
    restrictive of the system policy, DO_NOT_TRACK, a framework's own entry and the
    default entry wins. Exit codes, the JSON output and the files are described in
    `man usagectl`; set USAGECTL_DEBUG=1 for tracebacks.
    """
    if ctx.obj is None:
        from usagectl.core.environment import Environment

        ctx.obj = Environment()
    if system_mode:
        if ctx.invoked_subcommand not in SYSTEM_COMMANDS:
            raise click.UsageError("--system works with %s, not %s"
                                   % (", ".join(sorted(SYSTEM_COMMANDS)), ctx.invoked_subcommand))
        ctx.obj.system = True
