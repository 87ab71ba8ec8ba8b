"""Changing the consent file: locked read-modify-write with tomlkit, plus the history log.

The reader (usagectl.consent) and this writer share one validator, so usagectl never
writes a file that its own reader would call damaged.
"""

import datetime
import json

from usagectl import consent
from usagectl.core import fsutil
from usagectl.core.errors import ConsentDamaged, UsagectlError

HEADER = (
    "usagectl consent file: one telemetry decision shared by every framework.",
    "Format: docs/consent-file.md. Change it with `usagectl enable|disable|local`;",
    "hand edits are fine and their comments are kept.",
)
DEFAULT_ENTRY = None  # target name for the default entry


class Change:
    """One entry that changed: what it was, what it is now."""

    __slots__ = ("framework", "old_mode", "old_level", "new_mode", "new_level")

    def __init__(self, framework, old_mode, old_level, new_mode, new_level):
        self.framework = framework
        self.old_mode = old_mode
        self.old_level = old_level
        self.new_mode = new_mode
        self.new_level = new_level

    @property
    def entry(self):
        return "default" if self.framework is None else self.framework

    def as_dict(self):
        return {"framework": self.framework, "entry": self.entry, "from": self.old_mode,
                "from_level": self.old_level, "to": self.new_mode, "level": self.new_level}


class WriteResult:
    __slots__ = ("changes", "backup", "path", "moved_settings", "split_backup")

    def __init__(self, changes, backup, path, moved_settings=(), split_backup=None):
        self.changes = changes
        self.backup = backup
        self.path = path
        #: Settings tables moved from consent.toml to settings.toml by this write.
        self.moved_settings = list(moved_settings)
        self.split_backup = split_backup


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
              settings_path=None):
    """Set ``mode`` (and ``level``) on each target entry (None = the default entry);
    ``mode`` None removes the entry (`usagectl reset`: back to "no choice recorded").

    Returns a WriteResult. Entries already in that state are left alone (their
    ``changed`` time keeps meaning "since when"). Raises ConsentDamaged when the
    existing file can't be trusted, unless ``repair``: then a byte-identical backup is
    kept and the new file starts from "off for all", the state the damage implied.
    """
    import tomlkit

    now = now or utc_now()
    with fsutil.locked(consent_path):
        data = _read_existing(consent_path)
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
            change = _apply(doc, target, mode, level, now)
            if change is not None:
                changes.append(change)
        if changes or backup or moved:
            out = tomlkit.dumps(doc).encode("utf-8")
            check = consent.parse_consent(out, consent_path)
            if check.problem:  # a bug in usagectl, never the user's fault: refuse to write it
                raise UsagectlError("refusing to write a consent file that would not parse: %s"
                                    % check.problem)
            fsutil.atomic_write(consent_path, out)
            record_history(history_path, changes, command, now, backup=backup,
                           moved=moved, split_backup=split_backup)
        return WriteResult(changes, backup, fsutil.real_target(consent_path), moved, split_backup)


def migrate_settings(consent_path, settings_path, history_path, command, now=None):
    """Move settings tables out of a good consent file (for commands that write no entry,
    like `sync`). -> WriteResult; a damaged or missing consent file is left alone."""
    import tomlkit

    now = now or utc_now()
    with fsutil.locked(consent_path):
        data = _read_existing(consent_path)
        if data is None or consent.parse_consent(data, consent_path).problem:
            return WriteResult([], None, consent_path)
        doc = tomlkit.parse(data.decode("utf-8"))
        from usagectl.core import settings

        moved, split_backup = settings.migrate(consent_path, settings_path, now, doc, data)
        if moved:
            fsutil.atomic_write(consent_path, tomlkit.dumps(doc).encode("utf-8"))
            record_history(history_path, [], command, now, moved=moved, split_backup=split_backup)
        return WriteResult([], None, fsutil.real_target(consent_path), moved, split_backup)


def _read_existing(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConsentDamaged("cannot read the consent file %s: %s" % (path, exc.strerror or exc),
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
    for key in keys:
        del container[key]
    return Change(target, old_mode, old_level, "unset", None)


def _apply(doc, target, mode, level, now):
    if mode is None:
        return _remove(doc, target)
    table = _entry_table(doc, target)
    old_mode = table.get("mode")
    old_level = table.get("level")
    old_mode = str(old_mode) if old_mode is not None else None
    old_level = int(old_level) if old_level is not None else None
    new_level = level if mode != "off" else None
    if old_mode == mode and old_level == new_level:
        return None
    table["mode"] = mode
    if new_level is None:
        if "level" in table:
            del table["level"]
    else:
        table["level"] = new_level
    table["changed"] = now
    return Change(target, old_mode, old_level, mode, new_level)


def record_history(history_path, changes, command, now, backup=None, moved=(), split_backup=None):
    """Append one JSON line per change: what, when, by which command."""
    when = consent._iso(now)
    lines = []
    if backup:
        lines.append({"time": when, "command": command, "event": "repair", "backup": backup})
    if moved:
        lines.append({"time": when, "command": command, "event": "settings-moved",
                      "tables": list(moved), "backup": split_backup})
    for change in changes:
        record = {"time": when, "command": command, "event": "change"}
        record.update(change.as_dict())
        lines.append(record)
    for record in lines:
        fsutil.append_line(history_path, json.dumps(record, sort_keys=True).encode("utf-8"))


def read_history(history_path):
    """(records, problems): unreadable lines are reported, not fatal."""
    records, problems = [], []
    try:
        with open(history_path, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                    if not isinstance(record, dict):
                        raise ValueError("not an object")
                    records.append(record)
                except ValueError as exc:
                    problems.append(consent.Problem(history_path, "unreadable line skipped (%s)" % exc,
                                                    number))
    except FileNotFoundError:
        pass
    except OSError as exc:
        problems.append(consent.Problem(history_path, "cannot read it (%s)" % (exc.strerror or exc)))
    return records, problems
