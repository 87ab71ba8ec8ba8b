"""`usagectl status`: each framework's effective mode and the layer that decided it."""

import click

from usagectl.cli._common import framework_argument, json_option, reporting
from usagectl.commands import status as core
from usagectl.output import views


@click.command("status")
@framework_argument()
@json_option
@reporting("status", views.status)
def status(env, report, frameworks):
    """Show each framework's effective telemetry mode and what decided it.

    Next to the consent file's intent it shows what each framework itself will do
    (and which of its own settings decides that), whether the runtime hook is
    installed, and DRIFT where a framework would do more than the consent allows.
    Exit status 4 when the consent or policy file is damaged.
    """
    core.status(env, report, frameworks)
