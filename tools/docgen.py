"""Man pages and shell completions, generated from the click app so they never drift.

    python tools/docgen.py            # write man/man1/*.1 and completions/* (same as --write)
    python tools/docgen.py --check    # exit 1 and list the files that are stale

The click group ``usagectl.cli.app.main`` is walked generically: every command, and every
command of a nested group, gets a page (``usagectl-status.1``, ``usagectl-hook-install.1``)
built from its help text and its click parameters, so a command added later appears
without touching this file. The completion scripts are click's own (BashComplete,
ZshComplete, FishComplete), which ask the real parser at TAB time through the
``_USAGECTL_COMPLETE`` variable. Output is deterministic: no dates, the package version
in the page footer, commands in sorted order.

This module imports click; the CLI never imports it, so it costs nothing at startup.
"""

import argparse
import inspect
import os
import re
import sys

import click

from usagectl import __version__, _paths

PROG = "usagectl"
COMPLETE_VAR = "_USAGECTL_COMPLETE"
MAN_DIR = os.path.join("man", "man1")
#: Completion files, keyed by the path in the repository (pyproject.toml maps each one
#: to its shell's directory in the wheel).
COMPLETION_FILES = {
    "bash": os.path.join("completions", "usagectl.bash"),
    "zsh": os.path.join("completions", "_usagectl"),
    "fish": os.path.join("completions", "usagectl.fish"),
}

#: Environment variables usagectl reads, for the ENVIRONMENT section of usagectl(1).
ENVIRONMENT = (
    ("USAGECTL_CONFIG_DIR",
     "Directory that holds the consent file, instead of the user configuration directory "
     "(on Linux $XDG_CONFIG_HOME/usagectl, by default ~/.config/usagectl)."),
    ("USAGECTL_STATE_DIR",
     "Directory that holds the history of changes, instead of the user state directory "
     "(on Linux $XDG_STATE_HOME/usagectl, by default ~/.local/state/usagectl)."),
    ("USAGECTL_POLICY_FILE",
     "Path of the system policy file, instead of the site configuration directory "
     "(on Linux /etc/xdg/usagectl/policy.toml)."),
    ("USAGECTL_DEBUG",
     "Any value but empty, 0, false or no prints a traceback for unexpected errors instead "
     "of one line."),
    ("DO_NOT_TRACK",
     "Any value but empty, 0 or false switches telemetry off for every framework, whatever "
     "the consent file says (https://consoledonottrack.com)."),
    ("NO_COLOR",
     "Any non-empty value turns colour off in human output. Output that is not a terminal "
     "is never coloured."),
)

#: Files usagectl reads and writes, for the FILES section (Linux defaults).
JSON_OUTPUT = (
    ("--json",
     "Every command and every error, usage errors included, prints exactly one JSON object on "
     "standard output; warnings and errors are still written to standard error as lines."),
    ("schema",
     "Version of the envelope (1). It is raised only when a field is removed or changes "
     "meaning; new fields may appear at any time."),
    ("command, ok, exit_code",
     "The command that ran, whether it succeeded, and the exit status the process ends with "
     "(always equal)."),
    ("data", "The command's result; null when it failed before producing one."),
    ("warnings", "A list of {message, file, line}: damaged files, drift, skipped records."),
    ("error",
     "null, or {code, kind, message, hint, file, line}; kind is the lower-case name of the "
     "exit status (usage, policy_refused, consent_damaged, ...)."),
)

FILES = (
    ("~/.config/usagectl/" + _paths.CONSENT_FILE_NAME,
     "The consent file: one entry per framework and a default entry "
     "(moved by USAGECTL_CONFIG_DIR). Written atomically under a lock on a sidecar "
     ".lock file. It holds the decision and nothing else."),
    ("~/.config/usagectl/" + _paths.SETTINGS_FILE_NAME,
     "usagectl's own settings, edited by hand: [search] (extra places to look for framework "
     "records), [deletion.FRAMEWORK], [deletion.smtp], [deletion.http] (deletion channels) and "
     "[verify] (extra endpoints for verify --run). Never read by frameworks."),
    ("/etc/xdg/usagectl/" + _paths.POLICY_FILE_NAME,
     "The system policy, owned by the administrator: a ceiling no user choice can exceed "
     "(moved by USAGECTL_POLICY_FILE or the first entry of XDG_CONFIG_DIRS)."),
    ("~/.local/state/usagectl/" + _paths.HISTORY_FILE_NAME,
     "Every change to the consent file: what, when and by which command "
     "(moved by USAGECTL_STATE_DIR)."),
)


# Troff escaping ---------------------------------------------------------------------

def escape(text):
    """``text`` made safe for one troff text line.

    Backslashes become ``\\e``; every hyphen becomes ``\\-`` so options survive
    copy and paste; quotes that groff would curl become their ASCII glyphs; other
    non-ASCII characters become ``\\[uXXXX]`` so the page does not depend on the
    reader's locale. A line that would start with a control character (``.`` or
    ``'``) is protected with ``\\&``.
    """
    out = []
    for char in text:
        if char == "\\":
            out.append("\\e")
        elif char == "-":
            out.append("\\-")
        elif char == "'":
            out.append("\\(aq")
        elif char == "`":
            out.append("\\(ga")
        elif char == "\t":
            out.append(" ")
        elif ord(char) < 32 or ord(char) == 127:
            continue  # control characters have no place on a man page
        elif ord(char) > 127:
            out.append("\\[u%04X]" % ord(char))
        else:
            out.append(char)
    line = "".join(out)
    if line.startswith((".", "'")):
        line = "\\&" + line
    return line


_CODE = re.compile(r"`([^`\n]+)`")


def inline(text):
    """Escaped text in which `code spans` (as written in the help texts) are set bold."""
    parts = []
    last = 0
    for match in _CODE.finditer(text):
        parts.append(escape(text[last:match.start()]))
        parts.append("\\fB" + escape(match.group(1)) + "\\fR")
        last = match.end()
    parts.append(escape(text[last:]))
    line = "".join(parts)
    # The first fragment may have been escaped without being at the start of the line.
    if line.startswith((".", "'")):
        line = "\\&" + line
    return line


def bold(text):
    return "\\fB" + escape(text) + "\\fR"


def italic(text):
    return "\\fI" + escape(text) + "\\fR"


def help_paragraphs(text):
    """Troff lines for a click help text: paragraphs, and ``\\b`` blocks kept as written."""
    text = inspect.cleandoc(text or "").split("\f", 1)[0]
    lines = []
    for block in re.split(r"\n\s*\n", text.strip()):
        if not block.strip():
            continue
        lines.append(".PP")
        if block.startswith("\b"):
            lines.append(".nf")
            lines.extend(inline(row) if row.strip() else ".sp"
                         for row in block[1:].strip("\n").splitlines())
            lines.append(".fi")
        else:
            lines.append(inline(" ".join(row.strip() for row in block.splitlines())))
    return lines


def page_header(name, title):
    """NAME line and .TH: no date (the page must not change when nothing changed)."""
    return [
        '.\\" Generated by `python tools/docgen.py` from the click app. Do not edit.',
        '.TH "%s" "1" "" "%s %s" "User Commands"' % (escape(name.upper()), PROG, __version__),
        # Left-aligned, unhyphenated: command names, options and paths stay whole.
        ".ad l",
        ".nh",
        ".SH NAME",
        "%s \\- %s" % (escape(name), escape(title)),
    ]


# Walking the click app ---------------------------------------------------------------

def root_command():
    from usagectl.cli.app import main

    return main


def root_context(command):
    # A context built without invoking anything: the group's callback (which builds an
    # Environment from os.environ) never runs, so nothing here depends on the caller.
    return click.Context(command, info_name=PROG, **command.context_settings)


def walk(ctx):
    """Yield the context of every visible command under ``ctx``, depth first, sorted."""
    command = ctx.command
    if not isinstance(command, click.Group):
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        sub_ctx = click.Context(sub, info_name=name, parent=ctx, **sub.context_settings)
        yield sub_ctx
        yield from walk(sub_ctx)


def page_name(ctx):
    """``usagectl`` for the group, ``usagectl-hook-install`` for `usagectl hook install`."""
    return "-".join(ctx.command_path.split())


def short_help(command):
    """One line for NAME and COMMANDS: the command's short_help or its first sentence."""
    if command.short_help:
        return command.short_help.rstrip(".")
    text = inspect.cleandoc(command.help or "").split("\f", 1)[0].strip()
    paragraph = " ".join(re.split(r"\n\s*\n", text, maxsplit=1)[0].split())
    return re.split(r"(?<=\.)\s+(?=[A-Z])", paragraph, maxsplit=1)[0].rstrip(".")


def synopsis(ctx):
    pieces = ctx.command.collect_usage_pieces(ctx)
    words = ctx.command_path.split()
    return ["%s %s" % (bold(" ".join(words)), " ".join(escape(p) for p in pieces))]


def options_section(ctx):
    """OPTIONS from the click options' own help records (flags, metavars, defaults)."""
    lines = []
    for param in ctx.command.get_params(ctx):
        if not isinstance(param, click.Option) or param.hidden:
            continue
        record = param.get_help_record(ctx)
        if record is None:
            continue
        flags, text = record
        lines += [".TP", bold(flags)]
        if text:
            lines.append(inline(text))
        if param.envvar:
            names = param.envvar if isinstance(param.envvar, (list, tuple)) else [param.envvar]
            lines += [".br", "Environment: %s." % ", ".join(bold(n) for n in names)]
    return [".SH OPTIONS"] + lines if lines else []


def arguments_section(ctx):
    """ARGUMENTS: click arguments carry no help text, so say what the parser knows."""
    lines = []
    for param in ctx.command.get_params(ctx):
        if not isinstance(param, click.Argument):
            continue
        facts = ["Required" if param.required else "Optional"]
        if param.nargs == -1:
            facts.append("may be given any number of times")
        elif param.nargs > 1:
            facts.append("takes %d values" % param.nargs)
        if isinstance(param.type, click.Choice):
            facts.append("one of: %s" % ", ".join(str(c) for c in param.type.choices))
        text = getattr(param, "help", None)
        lines += [".TP", italic(param.make_metavar(ctx))]
        if text:
            lines.append(inline(text))
        lines.append(escape("; ".join(facts) + "."))
    return [".SH ARGUMENTS"] + lines if lines else []


def commands_section(ctx, heading="COMMANDS"):
    lines = []
    for sub_ctx in walk(ctx):
        path = sub_ctx.command_path.split()[1:]
        lines += [".TP", bold(" ".join(path)),
                  inline(short_help(sub_ctx.command) + "."),
                  "See %s(1)." % bold(page_name(sub_ctx))]
    return [".SH " + heading] + lines if lines else []


def exit_statuses():
    """(value, name, description) for each ExitCode, descriptions from its ``#:`` comments."""
    from usagectl.core import exitcodes

    comments = {}
    pending = []
    for line in inspect.getsource(exitcodes.ExitCode).splitlines():
        stripped = line.strip()
        member = re.match(r"([A-Z][A-Z0-9_]*)\s*=", stripped)
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
        elif member:
            comments[member.group(1)] = " ".join(pending)
            pending = []
        else:
            pending = []
    fallback = {"OK": "Success."}
    return [(int(code), code.name,
             comments.get(code.name) or fallback.get(code.name)
             or code.name.replace("_", " ").capitalize() + ".")
            for code in exitcodes.ExitCode]


def exit_status_section():
    lines = [".SH EXIT STATUS"]
    for value, name, text in exit_statuses():
        lines += [".TP", "\\fB%d\\fR (%s)" % (value, escape(name)), inline(text)]
    return lines


def definitions_section(heading, items, term=bold):
    lines = [".SH " + heading]
    for name, text in items:
        lines += [".TP", term(name), inline(text)]
    return lines


def see_also(names):
    names = list(names)
    if not names:
        return []
    return [".SH SEE ALSO", ",\n".join("%s(1)" % bold(n) for n in names)]


# Pages ----------------------------------------------------------------------------

def main_page(ctx):
    command = ctx.command
    lines = page_header(PROG, short_help(command))
    lines += [".SH SYNOPSIS"] + synopsis(ctx)
    lines += [".SH DESCRIPTION"] + help_paragraphs(command.help)
    lines += options_section(ctx)
    lines += commands_section(ctx)
    lines += definitions_section("ENVIRONMENT", ENVIRONMENT)
    lines += definitions_section("FILES", FILES, term=italic)
    lines += exit_status_section()
    lines += definitions_section("JSON OUTPUT", JSON_OUTPUT)
    lines += see_also(page_name(c) for c in walk(ctx))
    return "\n".join(lines) + "\n"


def command_page(ctx):
    command = ctx.command
    lines = page_header(page_name(ctx), short_help(command))
    lines += [".SH SYNOPSIS"] + synopsis(ctx)
    if command.deprecated:
        lines += [".SH DEPRECATED", escape("This command is deprecated.")]
    lines += [".SH DESCRIPTION"] + help_paragraphs(command.help or command.short_help)
    lines += arguments_section(ctx)
    lines += options_section(ctx)
    lines += commands_section(ctx)
    lines += [".SH EXIT STATUS",
              escape("See the EXIT STATUS section of ") + bold(PROG) + "(1)."]
    related = [page_name(ctx.parent)] + [page_name(c) for c in walk(ctx)]
    lines += see_also(related)
    return "\n".join(lines) + "\n"


def render_man_pages(command=None):
    """{repository path: text} for usagectl.1 and one page per command."""
    ctx = root_context(command or root_command())
    pages = {os.path.join(MAN_DIR, PROG + ".1"): main_page(ctx)}
    for sub_ctx in walk(ctx):
        pages[os.path.join(MAN_DIR, page_name(sub_ctx) + ".1")] = command_page(sub_ctx)
    return pages


def render_completions(command=None):
    """{repository path: script} from click's own completion classes."""
    from click.shell_completion import BashComplete, FishComplete, ShellComplete, ZshComplete

    command = command or root_command()
    classes = {"bash": BashComplete, "zsh": ZshComplete, "fish": FishComplete}
    scripts = {}
    for shell, cls in classes.items():
        completer = cls(command, {}, PROG, COMPLETE_VAR)
        # ShellComplete.source, not BashComplete.source: the latter also runs `bash` to
        # check its version and prints to stderr, which says nothing about the script.
        scripts[COMPLETION_FILES[shell]] = ShellComplete.source(completer)
    return scripts


COLLECTED_PAGE = "docs/what-is-collected.md"
_FLAG_WORDS = {"identifying": "identifying", "free-text": "free text"}


def render_collected():
    """docs/what-is-collected.md, from each framework's field catalogue (its own home)."""
    from usagectl import frameworks

    lines = ["# What each framework collects", "",
             "<!-- GENERATED by tools/docgen.py from each framework's `field_catalogue()`: do not edit. -->",
             "",
             "Every field each framework can send, as its own code (or, for Bacalhau, its Go source)",
             "says; `usagectl preview` shows the next report with these flags. *identifying*: links",
             "reports to one cluster, run, node or person (ids, and hashes of names anyone can",
             "recompute); *free text*: text a user or a program wrote. Tests compare each catalogue",
             "with the framework's own code: see [truth.md](truth.md).", ""]
    for name in frameworks.names():
        framework = frameworks.get(name)
        sections = framework.field_catalogue()
        if not sections:
            continue
        lines += ["## %s" % framework.title, ""]
        if framework.categories:
            # The names a consent entry's send list holds (docs/consent-file.md#categories-send).
            lines += ["Categories consent can allow one by one (`usagectl enable %s --only NAME,...`; "
                      "a consent entry's `send` list):" % name, "",
                      "| category | what leaves with it |", "|---|---|"]
            lines += ["| `%s` | %s |" % (category, about.replace("|", "\\|"))
                      for category, about in framework.categories]
            lines.append("")
        for section in sections:
            lines += ["### %s" % section["title"], "", "From %s." % section["source"], "",
                      "| field | when | type | can carry | what it is |", "|---|---|---|---|---|"]
            for field in section["fields"]:
                flags = ", ".join(_FLAG_WORDS.get(f, f) for f in field.get("flags") or ())
                cells = ["`%s`" % field["name"], field.get("when") or "", field.get("type") or "",
                         flags, field.get("about") or ""]
                lines.append("| %s |" % " | ".join(str(c).replace("|", "\\|") for c in cells))
            lines.append("")
    return {COLLECTED_PAGE: "\n".join(lines)}


def render_all(command=None):
    """Every generated file: {repository path: bytes}."""
    files = {}
    files.update(render_man_pages(command))
    files.update(render_completions(command))
    files.update(render_collected())
    return {path: text.encode("utf-8") for path, text in sorted(files.items())}


# Writing and checking -------------------------------------------------------------

def repository_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _committed_man_pages(root):
    directory = os.path.join(root, MAN_DIR)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(os.path.join(MAN_DIR, n) for n in names
                  if n.startswith(PROG) and n.endswith(".1"))


def stale_files(root, rendered):
    """[(path, why)] for generated files that are missing, different or obsolete."""
    stale = []
    for path, data in rendered.items():
        try:
            with open(os.path.join(root, path), "rb") as handle:
                current = handle.read()
        except FileNotFoundError:
            stale.append((path, "missing"))
            continue
        if current != data:
            stale.append((path, "differs"))
    for path in _committed_man_pages(root):
        if path not in rendered:
            stale.append((path, "no longer generated (command removed?)"))
    return stale


def write_files(root, rendered):
    """Write what changed (tmp file + os.replace) and delete obsolete man pages."""
    changed = []
    for path, why in stale_files(root, rendered):
        target = os.path.join(root, path)
        if path not in rendered:
            os.unlink(target)
            changed.append((path, "removed"))
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = target + ".tmp"
        with open(tmp, "wb") as handle:
            handle.write(rendered[path])
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        changed.append((path, "written" if why == "missing" else "updated"))
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tools/docgen.py",
        description="Generate usagectl's man pages and shell completions from the click app.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true",
                      help="write man/ and completions/ (the default)")
    mode.add_argument("--check", action="store_true",
                      help="write nothing; exit 1 and list the files that are stale")
    parser.add_argument("--root", default=None,
                        help="directory to write into or check (default: this source checkout)")
    args = parser.parse_args(argv)
    if args.root is None:
        args.root = repository_root()
        if not os.path.isfile(os.path.join(args.root, "pyproject.toml")):
            parser.error("%s is not a usagectl source checkout (installed from a wheel?); "
                         "pass --root" % args.root)

    rendered = render_all()
    if args.check:
        stale = stale_files(args.root, rendered)
        for path, why in stale:
            sys.stderr.write("stale: %s (%s)\n" % (path, why))
        if stale:
            sys.stderr.write("run `python tools/docgen.py --write` and commit the result\n")
            return 1
        sys.stdout.write("up to date: %d files\n" % len(rendered))
        return 0
    changed = write_files(args.root, rendered)
    for path, what in changed:
        sys.stdout.write("%s: %s\n" % (what, path))
    sys.stdout.write("%d files generated, %d changed\n" % (len(rendered), len(changed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
