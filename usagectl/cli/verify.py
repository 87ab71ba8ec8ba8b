"""`usagectl verify`: prove that opt-out holds; exit 5 when any check fails."""

import click

from usagectl import render
from usagectl.cli._common import framework_argument, json_option, reporting
from usagectl.errors import BadInput
from usagectl.exitcodes import ExitCode


def parse_time(text):
    """ISO 8601 date or date-time; naive values are taken as UTC."""
    import datetime

    try:
        when = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInput("--since %r is not an ISO 8601 time (e.g. 2026-11-24T08:00:00Z)" % text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when


@click.command("verify")
@framework_argument()
@click.option("--python", "python", metavar="PATH",
              help="The Python whose frameworks and runtime hook are checked (default: this one).")
@click.option("--since", metavar="TIME",
              help="Ignore payloads recorded before TIME (ISO 8601, e.g. 2026-11-24T08:00:00Z).")
@json_option
@reporting("verify", render.verify)
def verify_command(env, report, frameworks, python, since):
    """Check that every framework really honours the consent file.

    Compares the consent with each framework's own settings (as usagectl models them
    and as the framework's own code answers in the target Python), looks for payloads
    recorded after an opt-out, for environment values a framework would misread, for
    side channels a switch does not stop, and for a missing runtime hook. Exits 5
    when any check fails, so CI jobs can gate on it.
    """
    from usagectl.modes import parse_names
    from usagectl.verify import verify

    result = verify(parse_names(frameworks) or None, python=python, env=env,
                    since=parse_time(since) if since else None)
    report.data = result.as_dict()
    if not result.ok:
        report.exit_code = ExitCode.VERIFY_FAILED
