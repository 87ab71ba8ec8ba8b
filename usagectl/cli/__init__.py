"""The usagectl command line: the group, its global options, and the entry point.

Each command lives in its own module and is attached here. Commands import heavy
modules (rich, tomlkit) inside their bodies, so `usagectl --help` and
`usagectl status --json` stay fast.
"""

import click

from usagectl import __version__
from usagectl.cli import (credentials, deletion, env, history, hook, modes, preview, show_last,
                          status, sync, verify)
from usagectl.core.environment import Environment

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="usagectl",
                      message="%(prog)s %(version)s")
@click.pass_context
def main(ctx):
    """Control the usage telemetry of Ray, Parsl, Bacalhau and Coiled/Dask from one place.

    One consent file (see `usagectl status`) decides for every framework; the most
    restrictive of the system policy, DO_NOT_TRACK, a framework's own entry and the
    default entry wins. Exit codes are documented in docs/exit-codes.md; set
    USAGECTL_DEBUG=1 for tracebacks.
    """
    if ctx.obj is None:
        ctx.obj = Environment()


for command in (status.status, modes.enable, modes.disable, modes.local, sync.sync_command,
                env.env_command, show_last.show_last, preview.preview, verify.verify_command,
                hook.hook, deletion.request_deletion, credentials.credentials, history.history):
    main.add_command(command)


def run(argv=None):
    """Kept for callers of the old entry point; see usagectl.main.run."""
    from usagectl.main import run as _run

    _run(argv)
