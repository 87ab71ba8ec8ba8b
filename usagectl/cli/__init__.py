"""The usagectl command line: the group, its global options, and the entry point.

Each command lives in its own module and is attached here. Commands import heavy
modules (rich, tomlkit) inside their bodies, so `usagectl --help` and
`usagectl status --json` stay fast.
"""

import os
import sys

import click

from usagectl import __version__
from usagectl.cli import (credentials, deletion, env, history, hook, modes, preview, show_last,
                          status, sync, verify)
from usagectl.context import Environment
from usagectl.exitcodes import ExitCode

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
    """Console-script entry point: exit codes, Ctrl-C and unexpected errors handled here."""
    debug = os.environ.get("USAGECTL_DEBUG", "").strip().lower() not in ("", "0", "false", "no")
    try:
        code = main.main(args=argv, prog_name="usagectl", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        sys.stderr.write("\nusagectl: interrupted\n")
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error worth a traceback.
        sys.stderr.close()
        code = ExitCode.ERROR
    except Exception as exc:
        if debug:
            raise
        from usagectl.sanitize import safe_text

        sys.stderr.write("usagectl: error: %s: %s (set USAGECTL_DEBUG=1 for a traceback)\n"
                         % (type(exc).__name__, safe_text(str(exc))))
        code = ExitCode.ERROR
    sys.exit(int(code or 0))
