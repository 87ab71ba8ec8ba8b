"""Running a command body and printing its result: the one place outcomes become output.

Click-free, so the fast path (usagectl.main) and the click commands share it. A
UsagectlError or OSError becomes one line on stderr (and the envelope's error) with
its documented exit code; USAGECTL_DEBUG lets it raise instead. Usage errors found by
click (an unknown option, ``--level 0``) go through here too, so that ``--json``
always prints exactly one envelope and a human always gets one line.
"""

from usagectl import output
from usagectl.commands.result import Report
from usagectl.core.errors import BadInput, UsagectlError
from usagectl.core.exitcodes import ExitCode

#: Commands whose outcome does not depend on the consent decision: a damaged consent or
#: policy file doesn't change their exit code (docs/exit-codes.md, "Damaged files").
_DECISION_FREE = ("credentials", "completion", "request-deletion", "forget")
#: Commands that write into the user's home (consent, settings, state, frameworks' files):
#: root refuses them against a home it doesn't own (docs/security.md).
#: Commands that may ask the OS keyring (USAGECTL_KEYRING_TIMEOUT bounds each call).
_USES_KEYRING = ("credentials", "request-deletion")
_WRITES_HOME = ("enable", "disable", "local", "reset", "sync", "forget", "request-deletion", "credentials")


def run_command(env, command_name, body, render=None, json_output=False, **params):
    """Run ``body(env, report, **params)``, print its result, return the exit code."""
    report = Report(command_name)
    try:
        if command_name.startswith(_WRITES_HOME) and not env.system:
            env.refuse_foreign_home()
        if command_name.startswith(_USES_KEYRING):
            from usagectl.deletion.secrets import keyring_timeout

            problem = keyring_timeout(env.environ)[1]
            if problem:
                env.warn_setting(problem)
        body(env, report, **params)
    except UsagectlError as exc:
        if env.debug:
            raise
        report.fail(exc)
    except OSError as exc:
        # I/O trouble (a lock held too long, a read-only directory): one line, no traceback.
        if env.debug:
            raise
        report.fail(UsagectlError("%s: %s" % (exc.filename or "I/O", exc.strerror or exc),
                                  path=exc.filename))
    for item in getattr(env, "warnings", ()):
        report.warn(item["message"], item["file"], item["line"])
    if report.exit_code == ExitCode.OK and not command_name.startswith(_DECISION_FREE):
        _flag_damaged_decision_files(env, report)
    return emit(env, report, render, json_output)


def _flag_damaged_decision_files(env, report):
    """One rule for every command that reads the decision: when the consent or policy file
    is damaged, it does what it safely can (everything counts as off), warns, exits 4."""
    from usagectl.core import decisions

    snapshot = decisions.Snapshot(env)
    if snapshot.problems():
        decisions.warn_problems(report, snapshot)
        report.exit_code = ExitCode.CONSENT_DAMAGED


def emit(env, report, render=None, json_output=False):
    if json_output:
        output.emit_json(env, report)
    elif report.error is None and render is not None:
        render(env, report)
    output.emit_messages(env, report)
    return int(report.exit_code)


def wants_json(argv):
    """Did the command line ask for the JSON envelope (before any ``--``)?"""
    for arg in argv:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def usage_error(env, exc, argv):
    """Report click's UsageError as one line (or one envelope with --json); exit 2."""
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "usagectl"
    command = path.partition(" ")[2] or "usagectl"
    message = exc.format_message().replace("\n", " ")
    report = Report(command)
    report.fail(BadInput(message, hint="see `%s --help`" % path))
    report.exit_code = ExitCode.USAGE
    return emit(env, report, json_output=wants_json(argv))
