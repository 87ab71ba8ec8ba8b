"""`usagectl env`: the consent file's intent as each framework's own environment variables."""

import click

from usagectl.cli._common import json_option, reporting
from usagectl.core.sanitize import safe_text
from usagectl.output import shell as shellfmt


def _render(env, report):
    shell = report.data["shell"]
    lines = [shellfmt.comment("usagectl env: the consent file's decisions as environment variables")]
    for item in report.data["frameworks"]:
        if not item["variables"]:
            lines.append(shellfmt.comment("%s: %s" % (item["framework"], item["note"])))
        for name, value in item["variables"]:
            lines.append(shellfmt.assignment(shell, name, value))
    for name, value in report.data["global"]:
        lines.append(shellfmt.assignment(shell, name, value))
    env.stdout.write("".join(safe_text(line) + "\n" for line in lines))


@click.command("env")
@click.option("--shell", type=click.Choice(shellfmt.SHELLS), default="sh", show_default=True,
              help="Syntax of the output.")
@json_option
@reporting("env", _render)
def env_command(env, report, shell):
    """Print the current decisions as environment variables.

    For CI jobs, containers and remote shells where the consent file isn't shared:
    `eval "$(usagectl env)"`, or `usagectl env --shell dotenv > telemetry.env` for
    `docker run --env-file`.
    """
    from usagectl.export import Decisions

    decisions = Decisions(env)
    for problem in decisions.problems:
        report.warn_problem(problem, "treating every framework as off")
    for problem in decisions.setting_problems:
        report.warn(problem.message, problem.path)
    frameworks = []
    for adapter in decisions.adapters:
        decision = decisions.by_name[adapter.name]
        variables = [list(pair) for pair in decisions.framework_variables(adapter)]
        if decision.mode == "unset":
            note = "no choice recorded; nothing to set"
        elif not variables and decision.mode == "on":
            # The hook never turns anything on: it only caps and refuses.
            note = "no environment variable; the framework's own settings decide what it sends"
        elif not variables:
            note = "no environment variable; `usagectl hook install` enforces %s at run time" % decision.mode
        else:
            note = None
        frameworks.append({"framework": adapter.name, "mode": decision.mode, "variables": variables,
                           "note": note})
    global_vars = [list(pair) for pair in decisions.global_variables()]
    report.data = {"shell": shell, "frameworks": frameworks, "global": global_vars,
                   "modes": {f["framework"]: f["mode"] for f in frameworks}}
