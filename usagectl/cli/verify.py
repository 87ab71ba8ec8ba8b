"""`usagectl verify`: prove that opt-out holds; exit 5 when any check fails."""

import click

from usagectl import render
from usagectl.cli._common import framework_argument, json_option, parse_since, reporting
from usagectl.exitcodes import ExitCode


@click.command("verify")
@framework_argument()
@click.option("--python", "python", metavar="PATH",
              help="The Python whose frameworks and runtime hook are checked (default: this one).")
@click.option("--since", metavar="TIME",
              help="Ignore payloads recorded before TIME (30m, 2h, 7d, or ISO 8601).")
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
                    since=parse_since(since, env.now()) if since else None)
    report.data = result.as_dict()
    if not result.ok:
        report.exit_code = ExitCode.VERIFY_FAILED
