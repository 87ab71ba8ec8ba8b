"""The console-script entry point: exit codes, Ctrl-C, unexpected errors, and a fast path.

``execute(argv, env)`` is the whole command line without ``sys.exit``: tests run it
in-process with an Environment whose streams they read.

`usagectl status` and `usagectl --version` are what scripts and prompts run most, so
they are answered without importing click (click alone costs about 4x a bare Python
start). Anything else, including `status --help` or an unknown option, goes to the
click app, which parses and reports errors as usual. The two paths share the same
command body and output code; a test checks that they print the same.
"""

import os
import sys

from usagectl.core.exitcodes import ExitCode


def _debug():
    return os.environ.get("USAGECTL_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def fast_path(argv, env):
    """Exit code if ``argv`` was handled without click, else None."""
    if env.environ.get("USAGECTL_NO_FAST_PATH"):
        return None
    if argv in (["--version"], ["-V"]):
        from usagectl import __version__

        env.stdout.write("usagectl %s\n" % __version__)
        return ExitCode.OK
    if argv[:1] == ["status"]:
        rest = argv[1:]
        # Only the plain forms: any other option (-h, --, a typo) is click's to parse.
        if any(arg.startswith("-") and arg != "--json" for arg in rest):
            return None
        from usagectl.cli import runner
        from usagectl.commands import status

        names = tuple(arg for arg in rest if arg != "--json")
        if names and not _all_known(env, names):
            return None  # click's path reports the unknown name as the usage error it is
        return runner.run_command(env, "status", status.status, _render_status,
                                  json_output="--json" in rest, frameworks=names)
    return None


def _all_known(env, names):
    from usagectl.commands.modes import check_known, parse_names
    from usagectl.core.errors import BadInput

    try:
        check_known(env, parse_names(names))
    except BadInput:
        return False
    return True


def _render_status(env, report):
    from usagectl.output import views  # only for the human table, not for --json

    views.status(env, report)


def execute(argv, env=None):
    """Run one command line; returns its exit code. Never raises (but with USAGECTL_DEBUG)."""
    from usagectl.core.environment import Environment

    env = env or Environment(argv=argv)
    if not _debug():
        # Libraries' own warnings print the text they complain about (ruamel's duplicate
        # anchor warning quotes the YAML lines, which may hold a token): usagectl says what
        # matters in its own words; USAGECTL_DEBUG shows them.
        import warnings

        warnings.simplefilter("ignore")
    try:
        code = fast_path(argv, env)
        if code is None:
            code = _run_click(argv, env)
    except KeyboardInterrupt:
        env.stderr.write("\nusagectl: interrupted\n")
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error worth a traceback.
        try:
            env.stderr.close()
        except Exception:
            pass
        code = ExitCode.ERROR
    except Exception as exc:
        if _debug():
            raise
        code = _unexpected(env, argv, exc)
    flush = getattr(env.stdout, "flush", None)
    if flush is not None and getattr(env.stdout, "why", None) is None:
        flush()
    if getattr(env.stdout, "lost", False):
        # `usagectl enable >&-` or `> /dev/full`: the command ran (the change is made), its
        # output could not be shown. Exit 1 says so; the one line goes to stderr when open.
        why = getattr(env.stdout, "why", None)
        env.stderr.write("usagectl: error: %s; the command ran but its output was lost\n"
                         % ("cannot write to standard output (%s)" % why if why else "standard output is closed"))
        code = code or ExitCode.ERROR
    return int(code or 0)


def run(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    code = execute(argv)
    if getattr(sys.stdout, "closed", True) is False:
        try:
            sys.stdout.flush()
        except OSError:
            # What is left in the buffer can't be written either: point stdout at
            # /dev/null so the interpreter's own flush at exit says nothing.
            import os

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
    sys.exit(code)


def _unexpected(env, argv, exc):
    """A bug: one line (or one envelope), never a traceback unless USAGECTL_DEBUG is set."""
    from usagectl.cli import runner
    from usagectl.commands.result import Report
    from usagectl.core.errors import UsagectlError
    from usagectl.core.sanitize import safe_text

    report = Report(_command_of(argv))
    report.fail(UsagectlError("%s: %s" % (type(exc).__name__, safe_text(str(exc))),
                              hint="set USAGECTL_DEBUG=1 for a traceback"))
    return runner.emit(env, report, json_output=runner.wants_json(argv))


#: Commands that are groups: their first argument names the subcommand.
_GROUPS = ("hook", "credentials")


def _command_of(argv):
    words = [a for a in argv if not a.startswith("-")][:2]
    if not words:
        return "usagectl"
    return " ".join(words) if words[0] in _GROUPS and len(words) == 2 else words[0]


def _run_click(argv, env):
    import click

    from usagectl.cli import runner
    from usagectl.cli.app import main

    if not argv and "_USAGECTL_COMPLETE" not in env.environ:  # (completion runs with no argv)
        # Bare `usagectl`: the help, as `usagectl --help` prints it (not a usage error
        # with the whole help folded onto one line).
        with click.Context(main, info_name="usagectl", obj=env) as ctx:
            env.stdout.write(main.get_help(ctx) + "\n")
        return ExitCode.OK
    try:
        return main.main(args=argv, prog_name="usagectl", standalone_mode=False, obj=env)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        return runner.usage_error(env, exc, argv)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        env.stderr.write("\nusagectl: interrupted\n")
        return ExitCode.INTERRUPTED
