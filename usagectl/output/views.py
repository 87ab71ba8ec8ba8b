"""Human views of command results. Every value shown passes through safe_text."""

from usagectl import output
from usagectl.core.exitcodes import ExitCode
from usagectl.core.sanitize import safe_text


def when(iso, seconds=False, unknown="-"):
    """'2026-11-23T23:53:08Z' -> '2026-11-23 23:53 UTC' (with ``seconds``, '... 23:53:08 UTC')."""
    if not iso:
        return unknown
    if iso.endswith("Z") and "T" in iso:
        return iso[:19 if seconds else 16].replace("T", " ") + " UTC"
    return iso


def mode_text(mode, level=None, send=None):
    """"on", "on (level <= 2)", "local, sending only metrics, events"."""
    text = mode
    if mode in ("on", "local") and level is not None:
        text = "%s (level <= %s)" % (mode, level)
    if mode == "local" and send:
        text += ", sending only %s" % ", ".join(send)
    return text


def _transition(change):
    """"unset -> local, sending only metrics" from a change or history record."""
    old = "unset"
    if change.get("from"):
        old = mode_text(change["from"], change.get("from_level"), change.get("from_send"))
    return "%s -> %s" % (old, mode_text(change.get("to"), change.get("level"), change.get("send")))


def _mode(row):
    mode = row["mode"]
    if mode == "unset":
        return "unset (%s)" % row["own_default"] if row.get("own_default") else "unset"
    return mode_text(mode, row.get("level"), row.get("send"))


def _native(row):
    native = row.get("native")
    if not native:
        return "-"
    if row.get("enforced") is False:
        return "not enforced (no hook)"
    source = native.get("source") or ""
    # Keep the column narrow: "file:/home/u/.ray/config.json" -> "config.json"; the
    # full path is in --json and in the drift warning.
    kind, _, where = source.partition(":")
    if kind == "file":
        source = where.rstrip("/").rsplit("/", 1)[-1]
    elif kind == "env":
        source = "$" + where
    elif kind == "code":
        source = where
    mode = native["mode"]
    if mode == "off" and native.get("sending"):
        mode = "only %s" % ", ".join(native["sending"])  # what consent lets through, and no more
    return "%s (%s)" % (mode, source) if source else mode


def _hook(row):
    hook = row.get("hook")
    return "-" if hook is None else ("installed" if hook else "missing")


def _notes(row):
    notes = []
    if row.get("installed_here") is False:
        notes.append("not installed here")
    if row.get("drift"):
        notes.append("DRIFT")
    if row.get("enforced") is False:
        notes.append("NOT ENFORCED: %s" % row.get("fix"))
    if row.get("traps"):
        notes.append("env trap")
    if row.get("locked"):
        notes.append("locked by policy (ceiling: %s)" % row["ceiling"])
    if not row.get("adapter", True):
        notes.append("no adapter")
    return "; ".join(notes)


def terminal_width(env):
    """Columns of the terminal stdout is on, else None (a pipe or file: no limit, since
    breaking lines only hurts grep). COLUMNS wins, as with other tools."""
    try:
        if not env.stdout.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    columns = env.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        import os

        return os.get_terminal_size(env.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80


def plain_table(headers, rows, width=None, show_header=True):
    """Columns padded with spaces, no styling: for the views that must stay fast.

    Cells must already be safe (safe_text): they are written as they are. No line ends
    in padding. When the table is wider than ``width`` (a terminal's), each row becomes
    a block of "HEADER  value" lines instead, wrapped to the width, so nothing is cut.
    """
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
    if width is not None and sum(widths) + 2 * (len(widths) - 1) > width:
        return _blocks(headers, rows, width)
    lines = []
    for row in ([headers] if show_header else []) + rows:
        cells = [cell.ljust(w) for cell, w in zip(row, widths)]
        lines.append("  ".join(cells).rstrip() + "\n")
    return "".join(lines)


def _blocks(headers, rows, width):
    import textwrap

    label = max(len(h) for h in headers[1:]) + 2
    # Too narrow for labels beside values: each value goes under its label instead.
    beside = width - 2 - label >= 20
    indent = 2 + label if beside else 4
    lines = []
    for row in rows:
        lines.append(row[0] + "\n")
        for header, cell in zip(headers[1:], row[1:]):
            if not cell or cell == "-":
                continue
            wrapped = textwrap.wrap(cell, max(8, width - indent), break_long_words=True,
                                    break_on_hyphens=False) or [""]
            if beside:
                lines.append("  " + header.ljust(label) + wrapped.pop(0) + "\n")
            else:
                lines.append("  " + header + "\n")
            lines.extend(" " * indent + more + "\n" for more in wrapped)
    return "".join(lines)


def status(env, report):
    # A plain table, not rich: `usagectl status` runs in prompts and scripts and must
    # start fast (see docs/benchmarks.md); it has nothing to colour.
    data = report.data
    rows = [[safe_text(cell) for cell in (
        row["framework"], _mode(row), row["decided_by"], when(row["since"]), _native(row),
        _hook(row), _notes(row))] for row in data["frameworks"]]
    text = plain_table(["FRAMEWORK", "CONSENT", "DECIDED BY", "SINCE", "FRAMEWORK'S OWN STATE",
                        "HOOK", "NOTES"], rows, width=terminal_width(env))
    if not data["consent_file_exists"]:
        text += ("No consent file yet (%s): run `usagectl disable` or `usagectl enable` to make a "
                 "choice.\n" % safe_text(data["consent_file"]))
    env.stdout.write(text)


def changes(env, report):
    data = report.data
    lines = []
    for change in data["changes"]:
        entry = "default (all frameworks)" if change["framework"] is None else change["framework"]
        lines.append("%s: %s" % (entry, _transition(change)))
    if not lines:
        lines.append("Nothing to change: the consent file already says so.")
    lines.append("Consent file: %s" % data["consent_file"])
    lines.extend(applied_lines(data.get("applied", [])))
    env.stdout.write("".join(safe_text(line) + "\n" for line in lines))


def applied_lines(applied):
    lines = []
    for result in applied:
        for path in result["changed"]:
            lines.append("%s: wrote %s" % (result["framework"], path))
    return lines


def sync(env, report):
    applied = report.data["applied"]
    lines = applied_lines(applied)
    failed = [r["framework"] for r in applied if r.get("error")]
    left = [r["framework"] for r in report.data.get("not_repaired") or ()]
    if left:
        lines.append("Not repaired: %s would still do more than the decision allows (see the warnings "
                     "below)." % ", ".join(left))
    if failed:
        # Never "everything matches" while a framework could not be checked or written.
        lines.append("Not applied to %s: see the warnings below." % ", ".join(failed))
    elif not lines and report.exit_code == ExitCode.CONSENT_DAMAGED:
        # The consent (or policy) file can't be read: nothing "matches" it. What held is
        # the fail-closed decision: every framework off.
        lines.append("The consent or policy file can't be trusted (see the warning), so every framework is "
                     "treated as off; their settings already say so.")
    elif not lines:
        lines.append("Every framework's settings already match the consent file.")
    env.stdout.write("".join(safe_text(line) + "\n" for line in lines))


def history(env, report):
    """The history table, written in chunks of rows (a Stream of a million entries is
    never held whole); each chunk is aligned on its own, the header comes once."""
    import itertools

    entries = iter(report.data["entries"])
    header = True
    while True:
        chunk = list(itertools.islice(entries, HISTORY_CHUNK))
        if not chunk:
            break
        env.stdout.write(plain_table(["WHEN", "ENTRY", "CHANGE", "COMMAND"], _history_rows(chunk),
                                     width=terminal_width(env), show_header=header))
        header = False
    if header:
        env.stdout.write("No changes recorded yet (%s).\n" % safe_text(report.data["history_file"]))


#: Rows per aligned block of `usagectl history`.
HISTORY_CHUNK = 1000


def _history_rows(entries):
    rows = []
    for record in entries:
        if record.get("event") == "repair":
            entry, change = "-", "repaired; backup %s" % record.get("backup")
        elif record.get("event") == "settings-moved":
            tables = ", ".join("[%s]" % t for t in record.get("tables") or [])
            entry, change = "-", "%s moved to settings.toml; backup %s" % (tables, record.get("backup"))
        else:
            entry = record.get("entry") or ("default" if record.get("framework") is None else record["framework"])
            change = _transition(record)
        command = record.get("command") or ""
        if record.get("user"):  # the system policy's history names who ran it
            command = "%s (by %s)" % (command, record["user"])
        rows.append([safe_text(cell) for cell in (when(record.get("time")), entry, change, command)])
    return rows


_STATUS_WORD = {"pass": "ok", "fail": "FAIL", "unknown": "UNKNOWN", "warn": "warn", "skip": "skip"}


def verify(env, report):
    if "run" in report.data:
        return verify_run(env, report)
    from rich.table import Table

    data = report.data
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("FRAMEWORK", "CHECK", "RESULT", "EVIDENCE"):
        table.add_column(column, overflow="fold")
    for check in data["checks"]:
        lines = [check["summary"]] + ["  " + e for e in check["evidence"]]
        if check["fix"] and check["status"] in ("fail", "unknown", "warn"):
            lines.append("  fix: " + check["fix"])
        table.add_row(safe_text(check["framework"]), safe_text(check["check"]),
                      _STATUS_WORD.get(check["status"], check["status"]),
                      "\n".join(safe_text(line) for line in lines))
    console = output.console(env)
    console.print(table)
    counts = data["counts"]
    console.print("%d failed, %d unknown, %d warnings, %d passed, %d skipped (checked with %s)" % (
        counts["fail"], counts.get("unknown", 0), counts["warn"], counts["pass"], counts["skip"],
        safe_text(data["python"])))


def verify_run(env, report):
    run = report.data["run"]
    out = []
    status = "timed out" if run["timed_out"] else "exit status %s" % run["exit_status"]
    out.append("Ran %s (%s)." % (" ".join(run["command"]), status))
    if not run["frameworks"]:
        out.append("No telemetry attempt toward a watched endpoint.")
    for name, entry in sorted(run["frameworks"].items()):
        verdict = "FAIL: consent is %s" % entry.get("consent") if entry.get("failed") else \
            "consent is %s" % entry.get("consent")
        out.append("%s: %d attempt(s) blocked, %s" % (name, len(entry["attempts"]), verdict))
        for attempt in entry["attempts"]:
            out.append("  %s %s:%s from %s (pid %s)" % (attempt["event"], attempt["host"], attempt["port"],
                                                       attempt["argv0"], attempt["pid"]))
            if attempt.get("payload_text") is not None:
                out.append("    payload (%s bytes): %s" % (attempt["payload_size"], attempt["payload_text"]))
            elif attempt.get("payload_note"):
                out.append("    payload: %s" % attempt["payload_note"])
    for note in run.get("notes", []):
        out.append("note: " + note)
    env.stdout.write("".join(safe_text(line) + "\n" for line in out))


def system_changes(env, report):
    """`usagectl --system enable|disable|local|reset`: the policy's new ceilings and what
    was written system-wide."""
    from usagectl.core.sanitize import safe_text

    data = report.data
    lines = []
    for change in data["changes"]:
        who = change["framework"] or "every framework (default)"
        if change["to"] is None:
            lines.append("System policy: no ceiling for %s (was %s)" % (who, change["from"] or "none"))
        else:
            lines.append("System policy: %s at most %s" % (who, change["to"]))
    lines.append("Policy file: %s" % data["policy"])
    for item in data["applied"]:
        for path in item.get("changed", []):
            lines.append("Wrote %s (%s)" % (path, item["framework"]))
        for path in item.get("removed", []):
            lines.append("Removed %s (%s)" % (path, item["framework"]))
    env.stdout.write("".join(safe_text(line) + "\n" for line in lines))


def system_status(env, report):
    from usagectl.core.sanitize import safe_text

    data = report.data
    env.stdout.write(safe_text("System policy: %s%s" % (data["policy"], "" if data["policy_exists"] else " (none)"))
                     + "\n")
    rows = []
    for row in data["frameworks"]:
        ceiling = mode_text(row["ceiling"], row["level"], row.get("send")) if row["ceiling"] else "-"
        settings = "; ".join("%s: %s" % (s["path"], s["detail"]) for s in row["system_settings"]) or "-"
        rows.append([safe_text(row["framework"]), safe_text(ceiling), safe_text(row["everyone"]), safe_text(settings)])
    env.stdout.write(plain_table(["FRAMEWORK", "CEILING", "A NEW USER GETS", "SYSTEM SETTINGS"], rows,
                                 terminal_width(env)))
