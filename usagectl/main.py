"""The console-script entry point: exit codes, Ctrl-C, unexpected errors, and a fast path.

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


def fast_path(argv):
    """Exit code if ``argv`` was handled without click, else None."""
    if os.environ.get("USAGECTL_NO_FAST_PATH"):
        return None
    if argv in (["--version"], ["-V"]):
        from usagectl import __version__

        sys.stdout.write("usagectl %s\n" % __version__)
        return ExitCode.OK
    if argv[:1] == ["status"]:
        rest = argv[1:]
        # Only the plain forms: any other option (-h, --, a typo) is click's to parse.
        if any(arg.startswith("-") and arg != "--json" for arg in rest):
            return None
        from usagectl import output
        from usagectl.commands import status
        from usagectl.core.environment import Environment
        from usagectl.output import views

        names = tuple(arg for arg in rest if arg != "--json")
        return output.run_command(Environment(argv=argv), "status", status.status, views.status,
                                  json_output="--json" in rest, frameworks=names)
    return None


def run(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        code = fast_path(argv)
        if code is None:
            code = _run_click(argv)
    except KeyboardInterrupt:
        sys.stderr.write("\nusagectl: interrupted\n")
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error worth a traceback.
        sys.stderr.close()
        code = ExitCode.ERROR
    except Exception as exc:
        if _debug():
            raise
        from usagectl.core.sanitize import safe_text

        sys.stderr.write("usagectl: error: %s: %s (set USAGECTL_DEBUG=1 for a traceback)\n"
                         % (type(exc).__name__, safe_text(str(exc))))
        code = ExitCode.ERROR
    sys.exit(int(code or 0))


def _run_click(argv):
    import click

    from usagectl.cli import main

    try:
        return main.main(args=argv, prog_name="usagectl", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        sys.stderr.write("\nusagectl: interrupted\n")
        return ExitCode.INTERRUPTED
