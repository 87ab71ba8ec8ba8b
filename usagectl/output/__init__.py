"""One place that turns results into output: the JSON envelope, messages, consoles.

Data goes to stdout; warnings, notes and errors go to stderr. Every ``--json``
command prints exactly one envelope (docs/json-output.md). Human output uses rich
with markup, emoji and highlighting off, so no text we print can inject styling;
rich itself honours NO_COLOR and plain output when stdout is not a terminal.
"""

import json

from usagectl import __version__
from usagectl.commands.result import Report
from usagectl.core.sanitize import safe_text

__all__ = ["ENVELOPE_SCHEMA", "Report", "console", "emit_json", "emit_messages", "envelope",
           "format_error", "format_warning"]

#: Bumped when a field is removed or changes meaning; adding fields does not bump it.
ENVELOPE_SCHEMA = 1


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


def envelope(report):
    """The versioned JSON envelope (docs/json-output.md) of one command's Report."""
    return {
        "schema": ENVELOPE_SCHEMA,
        "tool": "usagectl",
        "version": __version__,
        "command": report.command,
        "ok": report.exit_code == 0,
        "exit_code": int(report.exit_code),
        "data": report.data,
        "warnings": report.warnings,
        "error": report.error,
    }


def emit_json(env, report):
    from usagectl.commands.result import Stream

    data = report.data
    streams = [k for k, v in data.items() if isinstance(v, Stream)] if isinstance(data, dict) else []
    if not streams:
        env.stdout.write(json.dumps(envelope(report), indent=2, sort_keys=False, default=str) + "\n")
        return
    _emit_streaming(env, report, streams)


def _emit_streaming(env, report, streams):
    """The same envelope, with each Stream in ``data`` written item by item (one compact
    item per line): memory stays flat however many there are. Warnings come after
    ``data`` in the envelope, so those found while streaming are in it."""
    def dump(value, indent):
        return json.dumps(value, indent=2, default=str).replace("\n", "\n" + " " * indent)

    head = envelope(report)
    write = env.stdout.write
    write("{\n")
    for key in ("schema", "tool", "version", "command", "ok", "exit_code"):
        write('  %s: %s,\n' % (json.dumps(key), dump(head[key], 2)))
    write('  "data": {\n')
    keys = [k for k in report.data if k not in streams] + streams
    for index, key in enumerate(keys):
        value = report.data[key]
        if key in streams:
            write('    %s: [' % json.dumps(key))
            first = True
            for item in value:
                write(("\n" if first else ",\n") + "      " + json.dumps(item, default=str))
                first = False
            write("\n    ]" if not first else "]")
        else:
            write('    %s: %s' % (json.dumps(key), dump(value, 4)))
        write(",\n" if index < len(keys) - 1 else "\n")
    write("  },\n")
    write('  "warnings": %s,\n' % dump(report.warnings, 2))
    write('  "error": %s\n}\n' % dump(report.error, 2))


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
