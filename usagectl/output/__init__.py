"""One place that turns results into output: the JSON envelope, messages, consoles.

Data goes to stdout; warnings, notes and errors go to stderr. Every ``--json``
command prints exactly one envelope (docs/json-output.md). Human output uses rich
with markup, emoji and highlighting off, so no text we print can inject styling;
rich itself honours NO_COLOR and plain output when stdout is not a terminal.
"""

import json

from usagectl import __version__
from usagectl.core.sanitize import safe_text

#: Bumped when a field is removed or changes meaning; adding fields does not bump it.
ENVELOPE_SCHEMA = 1


class Report:
    """What a command produced: data, warnings, notes, and the exit code it ends with."""

    def __init__(self, command, data=None):
        self.command = command
        self.data = data
        self.warnings = []  # dicts: message, file, line
        self.notes = []     # plain strings, human output only
        self.error = None   # dict from UsagectlError.as_dict()
        self.exit_code = 0

    def warn(self, message, path=None, line=None):
        item = {"message": message, "file": path, "line": line}
        if item not in self.warnings:
            self.warnings.append(item)

    def warn_problem(self, problem, consequence):
        self.warn("%s: %s" % (problem.message, consequence), problem.path, problem.line)

    def note(self, message):
        self.notes.append(message)

    def envelope(self):
        return {
            "schema": ENVELOPE_SCHEMA,
            "tool": "usagectl",
            "version": __version__,
            "command": self.command,
            "ok": self.exit_code == 0,
            "exit_code": int(self.exit_code),
            "data": self.data,
            "warnings": self.warnings,
            "error": self.error,
        }


def format_warning(item):
    where = ""
    if item.get("file"):
        where = item["file"] if item.get("line") is None else "%s line %d" % (item["file"], item["line"])
        where += ": "
    return "usagectl: warning: %s%s" % (safe_text(where), safe_text(item["message"]))


def format_error(error):
    where = ""
    if error.get("file") and error["file"] not in error["message"]:
        where = error["file"] if error.get("line") is None else "%s line %d" % (error["file"], error["line"])
        where += ": "
    text = "usagectl: error: %s%s" % (safe_text(where), safe_text(error["message"]))
    if error.get("hint"):
        text += " (%s)" % safe_text(error["hint"])
    return text


def emit_messages(env, report):
    for item in report.warnings:
        env.stderr.write(format_warning(item) + "\n")
    for note in report.notes:
        env.stderr.write(safe_text(note) + "\n")
    if report.error:
        env.stderr.write(format_error(report.error) + "\n")


def emit_json(env, report):
    env.stdout.write(json.dumps(report.envelope(), indent=2, sort_keys=False, default=str) + "\n")


def console(env, stderr=False):
    """A rich Console for human output; imported only when a human table is drawn."""
    from rich.console import Console

    stream = env.stderr if stderr else env.stdout
    width = None
    if not (hasattr(stream, "isatty") and stream.isatty()) and not env.environ.get("COLUMNS"):
        # Piped or captured: rich would wrap at 80 columns, which only breaks lines for grep.
        width = 160
    return Console(file=stream, markup=False, emoji=False, highlight=False, soft_wrap=False,
                   width=width)


def run_command(env, command_name, body, render=None, json_output=False, **params):
    """Run ``body(env, report, **params)``, print its result, return the exit code.

    Click-free, so the fast path (usagectl.cli.fast) and the click commands share it.
    A UsagectlError or OSError becomes one line on stderr (and the envelope's error)
    with its documented exit code; USAGECTL_DEBUG lets it raise instead.
    """
    from usagectl.core.errors import UsagectlError

    report = Report(command_name)
    try:
        body(env, report, **params)
    except UsagectlError as exc:
        if env.debug:
            raise
        report.error = exc.as_dict()
        report.exit_code = exc.exit_code
    except OSError as exc:
        # I/O trouble (a lock held too long, a read-only directory): one line, no traceback.
        if env.debug:
            raise
        error = UsagectlError("%s: %s" % (exc.filename or "I/O", exc.strerror or exc),
                              path=exc.filename)
        report.error = error.as_dict()
        report.exit_code = error.exit_code
    if json_output:
        emit_json(env, report)
    elif report.error is None and render is not None:
        render(env, report)
    emit_messages(env, report)
    return int(report.exit_code)
