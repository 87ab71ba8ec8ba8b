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


def _allow_any_name(ctx, param, value):
    if value:
        ctx.meta["usagectl.any_name"] = True


def _known_names(ctx, param, value):
    """FRAMEWORK arguments: well-formed, and frameworks usagectl knows (or --any-name).

    A typo like `usagectl disable rya` would otherwise record an entry that no framework
    reads, exit 0 and leave Ray on."""
    from usagectl.commands.modes import check_known, parse_names

    if ctx.params.get("run_command"):
        return value  # `verify --run -- COMMAND...`: these words are a command, not names
    if "run_command" in (p.name for p in ctx.command.params) and "--" in (getattr(ctx.obj, "argv", None) or []):
        # `usagectl verify -- pytest` would check a framework called "pytest" and pass.
        raise click.BadParameter("a command after -- is run only with --run: "
                                 "usagectl verify --run -- COMMAND [ARGS...]")
    try:
        names = parse_names(value)
        if not ctx.meta.get("usagectl.any_name"):
            check_known(ctx.obj, names)
    except BadInput as exc:
        raise click.BadParameter(exc.message + (" (%s)" % exc.hint if exc.hint else ""))
    return value


def _remember_paths(ctx, param, value):
    if value and ctx.obj is not None:
        ctx.obj.extra_paths.extend(value)
    return value


#: --path for every command that reads the frameworks' records (verify, request-deletion).
path_option = click.option(
    "--path", "extra_paths", multiple=True, type=click.Path(), metavar="P", expose_value=False,
    callback=_remember_paths,
    help="Also look here for the frameworks' records (a Ray temp or session dir, a Parsl "
         "runinfo or run dir); may be given more than once.")


def framework_argument(**kwargs):
    """The [FRAMEWORK]... argument, with --any-name beside it."""
    from usagectl.cli.completion import complete_framework

    argument = click.argument("frameworks", metavar="[FRAMEWORK]...", nargs=-1,
                              shell_complete=complete_framework, callback=_known_names, **kwargs)
    any_name = click.option(
        "--any-name", is_flag=True, is_eager=True, expose_value=False, callback=_allow_any_name,
        help="Accept framework names usagectl has no plug-in for (frameworks that read the consent "
             "file themselves).")

    def decorate(f):
        return any_name(argument(f))

    return decorate


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
        try:
            return now - datetime.timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
        except OverflowError:
            raise BadInput("--since %r reaches back before the year 1: use a smaller span or a date"
                           % text) from None
    try:
        when = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInput("--since %r is not a time: use e.g. 30m, 2h, 7d or 2026-11-24T10:00Z" % text)
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)
