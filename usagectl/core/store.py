"""Changing the consent file: locked read-modify-write with tomlkit, plus the history log.

The reader (usagectl.consent) and this writer share one validator, so usagectl never
writes a file that its own reader would call damaged.
"""

import datetime
import json

from usagectl import _ledger, consent
from usagectl.core import fsutil
from usagectl.core.errors import ConsentDamaged, UsagectlError

HEADER = (
    consent.SEALED_PREFIX[2:] + ": one telemetry decision shared by every framework.",
    "Format: docs/consent-file.md. Change it with `usagectl enable|disable|local`;",
    "hand edits are fine and their comments are kept. Keep the last line last: a file",
    "without it was cut short, and every reader treats it as off for all.",
)
#: The first header line of files written before sealing: rewritten as sealed.
_UNSEALED_FIRST_LINE = "# usagectl consent file: one telemetry decision shared by every framework."
DEFAULT_ENTRY = None  # target name for the default entry


class Change:
    """One entry that changed: what it was, what it is now."""

    __slots__ = ("framework", "old_mode", "old_level", "new_mode", "new_level", "old_send", "new_send")

    def __init__(self, framework, old_mode, old_level, new_mode, new_level, old_send=None, new_send=None):
        self.framework = framework
        self.old_mode = old_mode
        self.old_level = old_level
        self.new_mode = new_mode
        self.new_level = new_level
        #: The entry's send list (categories a local entry lets through), or None.
        self.old_send = old_send
        self.new_send = new_send

    @property
    def entry(self):
        return "default" if self.framework is None else self.framework

    def as_dict(self):
        out = {"framework": self.framework, "entry": self.entry, "from": self.old_mode,
               "from_level": self.old_level, "to": self.new_mode, "level": self.new_level}
        # Only when a send list is involved: other lines keep their documented shape.
        if self.old_send is not None:
            out["from_send"] = list(self.old_send)
        if self.new_send is not None:
            out["send"] = list(self.new_send)
        return out


class WriteResult:
    __slots__ = ("changes", "backup", "path", "moved_settings", "split_backup", "history_pending")

    def __init__(self, changes, backup, path, moved_settings=(), split_backup=None):
        self.changes = changes
        self.backup = backup
        self.path = path
        #: Settings tables moved from consent.toml to settings.toml by this write.
        self.moved_settings = list(moved_settings)
        self.split_backup = split_backup
        #: None, or why the change's history lines wait in the journal (see _commit).
        self.history_pending = None


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _new_document():
    import tomlkit

    doc = tomlkit.document()
    for line in HEADER:
        doc.add(tomlkit.comment(line))
    doc["schema"] = consent.SCHEMA_VERSION
    return doc


def _entry_table(doc, framework):
    """The tomlkit table for an entry, created in a tidy place when missing."""
    import tomlkit

    if framework is DEFAULT_ENTRY:
        if "default" not in doc:
            doc["default"] = tomlkit.table()
        return doc["default"]
    if "frameworks" not in doc:
        doc["frameworks"] = tomlkit.table(is_super_table=True)
    frameworks = doc["frameworks"]
    # Names compare case-insensitively: update the spelling already in the file.
    for key in list(frameworks.keys()):
        if consent.normalize_name(key) == framework:
            return frameworks[key]
    frameworks[framework] = tomlkit.table()
    return frameworks[framework]


def set_modes(consent_path, history_path, targets, mode, level, command, repair=False, now=None,
              settings_path=None, send=None):
    """Set ``mode`` (and ``level``) on each target entry (None = the default entry);
    ``mode`` None removes the entry (`usagectl reset`: back to "no choice recorded").
    ``send`` ({target: categories}) gives a "local" entry the categories it may still
    send; an entry set without one loses any list it had.

    Returns a WriteResult. Entries already in that state are left alone (their
    ``changed`` time keeps meaning "since when"). Raises ConsentDamaged when the
    existing file can't be trusted, unless ``repair``: then a byte-identical backup is
    kept and the new file starts from "off for all", the state the damage implied.
    """
    import tomlkit

    now = now or utc_now()
    with fsutil.locked(consent_path):
        _recover_journal(consent_path, history_path)
        data = read_existing(consent_path)
        backup = None
        changes = []
        if data is None:
            doc = _new_document()
        else:
            snapshot = consent.parse_consent(data, consent_path)
            if snapshot.problem:
                if not repair:
                    raise ConsentDamaged(
                        "the consent file can't be trusted: %s" % snapshot.problem,
                        hint="everything is treated as off; fix the file by hand, or add --repair "
                             "to keep a backup and start a fresh file",
                        path=consent_path, line=snapshot.problem.line)
                backup = fsutil.backup_copy(consent_path, data, now)
                doc = _new_document()
                if DEFAULT_ENTRY not in targets:
                    # While damaged, the file meant "off for all": the repaired file keeps that.
                    _apply(doc, DEFAULT_ENTRY, "off", None, now)
                    changes.append(Change(None, None, None, "off", None))
            else:
                doc = tomlkit.parse(data.decode("utf-8"))
        moved, split_backup = [], None
        if data is not None and backup is None and settings_path:
            from usagectl.core import settings

            moved, split_backup = settings.migrate(consent_path, settings_path, now, doc, data)
        for target in targets:
            change = _apply(doc, target, mode, level, now, (send or {}).get(target))
            if change is not None:
                changes.append(change)
        if changes or backup or moved:
            out = seal(tomlkit.dumps(doc)).encode("utf-8")
            check = consent.parse_consent(out, consent_path)
            if check.problem:  # a bug in usagectl, never the user's fault: refuse to write it
                raise UsagectlError("refusing to write a consent file that would not parse: %s"
                                    % check.problem)
            pending = _commit(consent_path, history_path, out,
                              history_records(changes, command, now, backup, moved, split_backup))
        else:
            pending = None
        result = WriteResult(changes, backup, fsutil.real_target(consent_path), moved, split_backup)
        result.history_pending = pending
        return result


def migrate_settings(consent_path, settings_path, history_path, command, now=None):
    """Move settings tables out of a good consent file (for commands that write no entry,
    like `sync`). -> WriteResult; a damaged or missing consent file is left alone."""
    import tomlkit

    now = now or utc_now()
    with fsutil.locked(consent_path):
        _recover_journal(consent_path, history_path)
        data = read_existing(consent_path)
        if data is None or consent.parse_consent(data, consent_path).problem:
            return WriteResult([], None, consent_path)
        doc = tomlkit.parse(data.decode("utf-8"))
        from usagectl.core import settings

        moved, split_backup = settings.migrate(consent_path, settings_path, now, doc, data)
        pending = None
        if moved:
            pending = _commit(consent_path, history_path, seal(tomlkit.dumps(doc)).encode("utf-8"),
                              history_records([], command, now, moved=moved, split_backup=split_backup))
        result = WriteResult([], None, fsutil.real_target(consent_path), moved, split_backup)
        result.history_pending = pending
        return result


def seal(text):
    """The consent file's text with usagectl's sealed header first and END_LINE last.

    tomlkit keeps a parsed END_LINE as a comment of the last table, where a new entry
    can land after it: it is removed wherever it is and appended once, at the end.
    """
    lines = [line for line in text.rstrip("\n").split("\n") if line.strip() != consent.END_LINE]
    if lines and lines[0] == _UNSEALED_FIRST_LINE:
        lines[0:1] = ["# " + line for line in HEADER[:1]]
        if len(lines) > 2 and lines[2] == "# hand edits are fine and their comments are kept.":
            lines[2:3] = ["# " + line for line in HEADER[2:]]
    elif not lines or not lines[0].startswith(consent.SEALED_PREFIX):
        # A hand-written file gets the seal only with the header that announces it.
        lines[0:0] = ["# " + line for line in HEADER]
    while lines and not lines[-1].strip():
        lines.pop()
    lines.append(consent.END_LINE)
    return "\n".join(lines) + "\n"


def read_existing(path, what="the consent file"):
    """The bytes of the consent (or policy) file a writer is about to rewrite; None when it
    does not exist. Raises ConsentDamaged when it exists and can't be read."""
    from usagectl import _files

    try:
        # Non-blocking and capped, as the reader: a FIFO or a huge file is damage, not a wait.
        return _files.read_regular(path, consent.MAX_FILE_BYTES)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ConsentDamaged("cannot read %s %s: %s" % (what, path, exc.strerror or exc),
                             hint="everything is treated as off until it can be read",
                             path=path)



def _remove(doc, target):
    """Remove an entry (None: the default entry) -> Change, or None when there was none."""
    if target is DEFAULT_ENTRY:
        container, keys = doc, ["default"] if "default" in doc else []
    else:
        container = doc.get("frameworks")
        keys = [k for k in (container.keys() if container is not None else ())
                if consent.normalize_name(k) == target]
    if not keys:
        return None
    table = container[keys[0]]
    old_mode = str(table["mode"]) if table.get("mode") is not None else None
    old_level = int(table["level"]) if table.get("level") is not None else None
    old_send = _send_of(table)
    for key in keys:
        del container[key]
    return Change(target, old_mode, old_level, "unset", None, old_send)


def _send_of(table):
    send = table.get("send")
    return tuple(sorted({str(c).lower() for c in send})) if send is not None else None


def _apply(doc, target, mode, level, now, send=None):
    if mode is None:
        return _remove(doc, target)
    table = _entry_table(doc, target)
    old_mode = table.get("mode")
    old_level = table.get("level")
    old_mode = str(old_mode) if old_mode is not None else None
    old_level = int(old_level) if old_level is not None else None
    old_send = _send_of(table)
    new_level = level if mode != "off" else None
    # A send list only means something next to local (next to on it is damage).
    new_send = tuple(sorted(set(send))) if send is not None and mode == "local" else None
    if old_mode == mode and old_level == new_level and old_send == new_send:
        return None
    table["mode"] = mode
    if new_level is None:
        if "level" in table:
            del table["level"]
    else:
        table["level"] = new_level
    if new_send is None:
        if "send" in table:
            del table["send"]
    else:
        table["send"] = list(new_send)
    table["changed"] = now
    return Change(target, old_mode, old_level, mode, new_level, old_send, new_send)


#: history.jsonl is rotated above this size (renamed history-000001.jsonl, ... in order;
#: nothing is deleted), so appending and `history -n` stay cheap however long it runs.
HISTORY_ROTATE_BYTES = 8 << 20


def history_records(changes, command, now, backup=None, moved=(), split_backup=None):
    """The history records (dicts) of one write: what, when, by which command."""
    when = consent._iso(now)
    records = []
    if backup:
        records.append({"time": when, "command": command, "event": "repair", "backup": backup})
    if moved:
        records.append({"time": when, "command": command, "event": "settings-moved",
                        "tables": list(moved), "backup": split_backup})
    for change in changes:
        record = {"time": when, "command": command, "event": "change"}
        record.update(change.as_dict())
        records.append(record)
    return records


def _encode(records):
    return [json.dumps(record, sort_keys=True).encode("utf-8") for record in records]


def _append_history(history_path, lines):
    import os

    try:
        size = os.lstat(history_path).st_size
    except FileNotFoundError:
        size = 0
    if size > HISTORY_ROTATE_BYTES:
        # Named as the sent ledger's rotations are; under the consent lock, so no race.
        os.rename(history_path, _ledger.rotated_name(history_path, _ledger.next_rotated_number(history_path)))
    fsutil.append_lines(history_path, lines)


# --- The change journal: a consent change and its history lines land together -------
#
# Under the consent lock: (1) the history lines and the digest of the new consent file
# are written to history.jsonl.pending (atomically), (2) the consent file is replaced,
# (3) the lines are appended and the journal removed. A writer killed after (2) leaves
# a journal whose digest matches the consent file: the next writer (or `history`, read
# only) finishes it. One killed before (2) leaves a journal that matches nothing: it is
# dropped. A state dir that can't take the journal stops the change before (2).

def _journal_path(history_path):
    return history_path + ".pending"


def _digest(data):
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _read_journal(history_path):
    from usagectl import _files

    try:
        journal = json.loads(_files.read_regular(_journal_path(history_path), 1 << 20))
        if not isinstance(journal, dict) or not isinstance(journal.get("lines"), list):
            return None, True
        return journal, True
    except (FileNotFoundError, NotADirectoryError):
        return None, False
    except (OSError, ValueError):
        return None, True


def _journal_landed(journal, consent_path):
    data = _read_consent_bytes(consent_path)
    return data is not None and _digest(data) == journal.get("consent_sha256")


def _recorded(history_path, txn):
    """Whether history already holds the lines of change ``txn`` (looked up from the end)."""
    needle = ('"txn": %s' % json.dumps(txn)).encode("utf-8")
    for record_line in _lines_from_end(history_path, limit=64):
        if needle in record_line:
            return True
    return False


def _recover_journal(consent_path, history_path):
    """Finish or drop the journal of a writer that was killed mid-change (under the lock),
    and remove the temp files killed writers left next to these files."""
    import os

    target = fsutil.real_target(consent_path)
    fsutil.remove_stale_temps(os.path.dirname(target), os.path.basename(target))
    fsutil.remove_stale_temps(os.path.dirname(os.path.abspath(history_path)),
                              os.path.basename(_journal_path(history_path)))
    journal, present = _read_journal(history_path)
    if not present:
        return
    if journal is not None and _journal_landed(journal, consent_path) \
            and not _recorded(history_path, journal.get("txn")):
        _append_history(history_path, [line.encode("utf-8") for line in journal["lines"]])
    os.unlink(_journal_path(history_path))


def _commit(consent_path, history_path, out, records):
    """Replace the consent file with ``out`` and record ``records``, both or neither.

    Returns None, or why the history lines are still pending (the change landed; the
    journal keeps them until the next writer can append them).
    """
    import os
    import uuid

    txn = uuid.uuid4().hex
    for record in records:
        record["txn"] = txn
    lines = _encode(records)
    journal = {"txn": txn, "consent_sha256": _digest(out), "lines": [line.decode("utf-8") for line in lines]}
    if lines:
        try:
            fsutil.check_appendable(history_path)
            fsutil.atomic_write(_journal_path(history_path), json.dumps(journal).encode("utf-8"),
                                follow=False)
        except OSError as exc:
            raise UsagectlError("nothing was changed: the history of the change can't be recorded "
                                "in %s (%s)" % (history_path, exc.strerror or exc), path=history_path)
    try:
        fsutil.atomic_write(consent_path, out)
    except BaseException:
        if lines:
            import contextlib

            with contextlib.suppress(OSError):
                os.unlink(_journal_path(history_path))
        raise
    if not lines:
        return None
    try:
        _append_history(history_path, lines)
        os.unlink(_journal_path(history_path))
    except OSError as exc:
        return "the change is made; its history lines wait in %s until they can be appended (%s)" % (
            _journal_path(history_path), exc.strerror or exc)
    return None


def _read_consent_bytes(path):
    from usagectl import _files

    try:
        return _files.read_regular(path, consent.MAX_FILE_BYTES)
    except OSError:
        return None


def _history_files(history_path):
    return _ledger.rotated_paths(history_path) + [history_path]


def _lines_from_end(history_path, limit=None):
    """History lines (bytes), newest first, across the rotated files; reads from the end."""
    import os

    from usagectl import _files
    from usagectl.core import tail

    count = 0
    for path in reversed(_history_files(history_path)):
        try:
            handle = _files.open_regular(path)
        except OSError:
            continue
        with handle:
            size = os.fstat(handle.fileno()).st_size
            for line in tail.lines_backward(handle, size, budget=size, numbered=False):
                if not line.data.strip():
                    continue
                yield line.data
                count += 1
                if limit is not None and count >= limit:
                    return


#: The fields a history record may carry, and what each must be (None always allowed).
_RECORD_FIELDS = {"time": str, "command": str, "event": str, "entry": str, "framework": str, "from": str,
                  "to": str, "level": int, "from_level": int, "send": list, "from_send": list, "backup": str,
                  "tables": list, "user": str, "txn": str}


def _record_problem(record):
    """Why a parsed history line is damaged (a field of the wrong type), or None."""
    if not isinstance(record, dict):
        return "not an object"
    if not isinstance(record.get("time"), str):
        return "time is not a string"
    for key, kind in _RECORD_FIELDS.items():
        value = record.get(key)
        if value is None:
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            return "%s is not a %s" % (key, kind.__name__)
        if kind is list and not all(isinstance(item, str) for item in value):
            return "%s is not a list of strings" % key
    return None


def _parse_history_line(raw, path, number, records, problems):
    if not raw.strip():
        return
    try:
        record = json.loads(raw)
        why = _record_problem(record)
        if why:
            raise ValueError(why)
        records.append(record)
    except (ValueError, RecursionError) as exc:
        problems.append(consent.Problem(path, "damaged line skipped (%s)" % str(exc)[:80], number))


def iter_history(history_path, problems, consent_path=None):
    """Every history record, oldest first, read as it is yielded (constant memory); each
    damaged line is appended to ``problems`` and skipped. The journal of a killed
    writer whose change landed comes last, as in read_history."""
    from usagectl import _files

    for path in _history_files(history_path):
        try:
            handle = _files.open_regular(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            problems.append(consent.Problem(path, "cannot read it (%s)" % (exc.strerror or exc)))
            continue
        with handle:
            for number, raw in enumerate(handle, 1):
                records = []
                _parse_history_line(raw, path, number, records, problems)
                yield from records
    yield from _journal_records(history_path, consent_path, problems)


def _journal_records(history_path, consent_path, problems):
    """The records of a journal a killed writer left, when its change landed and they are
    not in the history yet (``consent_path`` None: none)."""
    records = []
    if consent_path:
        journal, _ = _read_journal(history_path)
        if journal is not None and _journal_landed(journal, consent_path) \
                and not _recorded(history_path, journal.get("txn")):
            for line in journal["lines"]:
                _parse_history_line(line, _journal_path(history_path), None, records, problems)
    return records


def read_history(history_path, last=None, consent_path=None):
    """(records, problems), oldest first: unreadable lines are reported, not fatal.

    ``last`` reads only the newest ``last`` records, from the end of the files, so it
    costs the same for ten records or a million (without it, iter_history reads them
    all). A journal left by a killed writer whose change landed (``consent_path`` given)
    shows its lines too; nothing is written.
    """
    problems = []
    if last is None:
        return list(iter_history(history_path, problems, consent_path)), problems
    records = []
    for raw in _lines_from_end(history_path):
        before = len(records)
        _parse_history_line(raw, history_path, None, records, problems)
        if len(records) > before and len(records) >= last:
            break
    records.reverse()
    records += _journal_records(history_path, consent_path, problems)
    return records[-last:], problems
