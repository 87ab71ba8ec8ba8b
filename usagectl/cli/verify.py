"""`usagectl verify`: prove that opt-out holds; exit 5 when any check fails."""

import click

from usagectl.cli._common import framework_argument, json_option, parse_since, path_option, reporting
from usagectl.core.errors import BadInput
from usagectl.core.exitcodes import ExitCode
from usagectl.output import views as render

#: `verify --run` whose command --timeout stopped (as timeout(1) exits).
TIMED_OUT = 124


@click.command("verify")
@framework_argument()
@click.option("--python", "python", metavar="PATH",
              help="The Python whose frameworks and runtime hook are checked (default: this one).")
@click.option("--since", metavar="TIME",
              help="Ignore payloads recorded before TIME (30m, 2h, 7d, or ISO 8601).")
@click.option("--run", "run_command", is_flag=True, is_eager=True,
              help="Run the command given after -- with every Python process in its tree watched; "
                   "telemetry attempts are blocked before any packet leaves, and reported.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="With --run: stop the command (and its children) after SECONDS.")
@click.option("--allow-unknown", is_flag=True,
              help="Exit 0 even when a check could not tell (still shown as unknown, never as ok).")
@path_option
@json_option
@reporting("verify", render.verify)
def verify_command(env, report, frameworks, python, since, run_command, timeout, allow_unknown):
    """Check that every framework really honours the consent file.

    Compares the consent with each framework's own settings (as usagectl models them
    and as the framework's own code answers in the target Python), looks for payloads
    recorded after an opt-out, for environment values a framework would misread, for
    side channels a switch does not stop, and for a missing runtime hook. Exits 5
    when any check fails, and 7 when none failed but one could not tell (a file it
    can't read): unknown is never ok, unless --allow-unknown. CI jobs can gate on it.

    With --run (usagectl verify --run -- COMMAND [ARGS...]) it runs COMMAND instead,
    blocking and recording every DNS lookup, connect or send toward a known telemetry
    endpoint from any Python process in its tree; it exits 5 when an attempt happened
    while consent was off for that framework, else with COMMAND's own exit status when
    it failed, or 124 when --timeout stopped it, so a CI gate can't hide a failing run.
    """
    if run_command:
        _run(env, report, frameworks, timeout)
        return
    if timeout is not None:
        raise BadInput("--timeout goes with --run")
    if "--" in env.argv:
        # `usagectl verify -- pytest` would check a framework called "pytest" and pass.
        raise BadInput("a command after -- is run only with --run",
                       hint="usagectl verify --run -- COMMAND [ARGS...]")
    from usagectl.commands.modes import parse_names
    from usagectl.verify import verify

    if python is not None:
        # The same check as `hook --python`: a path that is no working Python fails here,
        # instead of every probe quietly asking nothing.
        from usagectl.hook.installer import probe, resolve_python

        python = resolve_python(python)
        probe(python)
    result = verify(parse_names(frameworks) or None, python=python, env=env,
                    since=parse_since(since, env.now()) if since else None, allow_unknown=allow_unknown)
    report.data = result.as_dict()
    if result.failures():
        report.exit_code = ExitCode.VERIFY_FAILED
    elif not result.ok:
        report.exit_code = ExitCode.VERIFY_UNKNOWN


def _run(env, report, argv, timeout):
    import sys

    from usagectl.watch.run import consent_decisions, run_watched

    if not argv:
        raise BadInput("--run needs a command: usagectl verify --run -- COMMAND [ARGS...]")
    json_output = click.get_current_context().params.get("json_output")
    # With --json, stdout carries the envelope alone: the command's output goes to stderr.
    watch = run_watched(env, list(argv), timeout=timeout,
                        stdout=sys.stderr if json_output else None)
    decisions = consent_decisions(env, watch.frameworks())
    offending = watch.failed_consent(decisions)
    unknown = watch.unknown_consent(decisions)
    report.data = {"run": watch.as_dict(decisions)}
    for warning in watch.warnings:
        report.warn(warning)
    for name in sorted({a.framework for a in unknown}):
        report.warn("%s: %d attempt(s) while consent lets only %s through: a connection doesn't say which "
                    "category it carries, so whether the choice held is unknown"
                    % (name, sum(a.framework == name for a in unknown), ", ".join(decisions[name].send)))
    allow_unknown = bool(click.get_current_context().params.get("allow_unknown"))
    if offending:
        report.exit_code = ExitCode.VERIFY_FAILED
    elif unknown and not allow_unknown:
        report.exit_code = ExitCode.VERIFY_UNKNOWN
    elif watch.timed_out:
        # A CI gate must not turn a run it had to stop into a pass.
        report.warn("the command was stopped after --timeout %g s" % timeout)
        report.exit_code = TIMED_OUT
    elif watch.exit_status:
        report.warn("the command itself failed (exit status %d)" % watch.exit_status)
        status = watch.exit_status
        report.exit_code = status if 0 < status < 256 else 128 + abs(status)
