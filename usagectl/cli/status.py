"""`usagectl status`: each framework's effective mode and the layer that decided it."""

import click

from usagectl.cli._common import framework_argument, json_option, reporting
from usagectl.commands import status as core
from usagectl.output import views


@click.command("status")
@framework_argument()
@click.option("--python", "python", metavar="PATH",
              help="Judge the runtime hook and the installed frameworks in this Python (or venv "
                   "directory), e.g. the environment that runs your workflows under pipx.")
@json_option
@reporting("status", lambda env, report: (views.system_status if env.system else views.status)(env, report))
def status(env, report, frameworks, python):
    """Show each framework's effective telemetry mode and what decided it.

    Next to the consent file's intent it shows what each framework itself will do
    (and which of its own settings decides that), whether the runtime hook is
    installed, and DRIFT where a framework would do more than the consent allows.
    A framework the runtime hook alone can hold to the consent (Parsl) is shown NOT
    ENFORCED where the hook is missing, with the command that fixes it. Exit status 4
    when the consent or policy file is damaged.
    """
    if env.system:
        # What a user who never ran usagectl gets, and the system-wide files behind it.
        from usagectl.commands import system

        system.status(env, report)
        if env.read_policy().problem:
            from usagectl.core.exitcodes import ExitCode

            report.exit_code = ExitCode.CONSENT_DAMAGED
        return
    core.status(env, report, frameworks, python=python)
