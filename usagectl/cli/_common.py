"""What every command shares: the --json option, error handling and output."""

import datetime
import functools
import re

import click

from usagectl.cli import runner
from usagectl.core.errors import BadInput
from usagectl.core.exitcodes import ExitCode

json_option = click.option("--json", "json_output", is_flag=True,
                           help="Print one JSON envelope on stdout (see JSON OUTPUT in `man usagectl`).")


def framework_argument(**kwargs):
    from usagectl.cli.completion import complete_framework

    return click.argument("frameworks", metavar="[FRAMEWORK]...", nargs=-1,
                          shell_complete=complete_framework, **kwargs)


def reporting(command_name, render=None):
    """Run a command body as ``body(env, report, **params)`` and render its Report.

    ``render(env, report)`` draws the human view; with --json one envelope is printed
    instead. A UsagectlError becomes one line on stderr (and the envelope's error) with
    its documented exit code.
    """

    def decorate(body):
        @functools.wraps(body)
        def wrapper(json_output=False, **params):
            ctx = click.get_current_context()
            code = runner.run_command(ctx.obj, command_name, body, render, json_output, **params)
            ctx.exit(code)

        return wrapper

    return decorate


def exit_code_for_problems(problems):
    return ExitCode.CONSENT_DAMAGED if problems else ExitCode.OK


_RELATIVE = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text, now):
    """'30m', '2h', '7d', '1w', or an ISO 8601 time (UTC when no offset is given)."""
    match = _RELATIVE.match(text)
    if match:
        return now - datetime.timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    try:
        when = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInput("--since %r is not a time: use e.g. 30m, 2h, 7d or 2026-11-24T10:00Z" % text)
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)
