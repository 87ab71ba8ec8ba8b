"""The sent ledger: one JSON line per payload a hooked framework actually sent.

Stdlib only and never raises into the host: the runtime hook and any framework
that adopts the consent file call ``record_sent`` right after a send attempt. The
ledger lives at ``<user state dir>/sent.jsonl`` (USAGECTL_STATE_DIR moves it).
Appends are serialised with flock on the ledger itself (it is only ever appended
to, never replaced, so the lock is on the right inode) and fsynced.

Line format (version 1):
  {"v": 1, "time": "2026-11-24T00:02:46.123456Z", "framework": "ray",
   "destination": "https://usage-stats.ray.io/", "outcome": "sent", "reason": null,
   "body": "<the exact bytes, as text>", "body_base64": null (set when not UTF-8),
   "identifiers": {"session_id": "..."}, "pid": 1234}
"""

import base64
import contextlib
import datetime
import json
import os

from . import _paths

# The writer lives in the consent reader (frameworks that vendor it record what they send
# without usagectl installed); reading, rewriting and places are usagectl's own.
from .consent import (  # noqa: F401  (re-exported)
    DELIVERY_STATES,
    LEDGER_FILE_NAME,
    LEDGER_VERSION,
    OUTCOMES,
    ROTATE_BYTES,
    _append_locked,
    _ensure_dir,
    _lock,
    _replaced,
    _rotate,
    encode_entry,
    ledger_path,
    next_rotated_number,
    rotated_name,
    rotated_paths,
)
from .consent import _ledger_record as record_sent  # noqa: F401


def drop_lines(path, drop):
    """Remove the lines ``drop(entry)`` selects from the append-only file at ``path`` and
    its rotated files -> how many were removed. For `usagectl forget`.

    The one rewrite protocol of every append-only file (the sent ledger, places,
    captured identifiers):

    - One rewrite at a time: the whole operation holds ``<file>.rewrite.lock`` (a
      sidecar appenders never take), so two `forget` runs never rewrite the same file
      from views that each lack the other's removals.
    - The current file is rewritten under its own flock, the lock every appender takes,
      and only the inode that lock is on: after locking, a file that was rotated or
      replaced meanwhile is let go and the new one taken instead, and the bytes
      rewritten are read from the locked descriptor itself. An append waiting on that
      lock sees the file was replaced and appends to the new one (``_append_locked``),
      so no line of anyone else's is lost.
    - Rotated files are rewritten until a pass finds no new one: a rotation during the
      rewrite can't hide lines from it.

    A line that doesn't parse is kept.
    """
    from . import _files

    with _rewrite_lock(path):
        removed, done = 0, set()
        for _round in range(100):
            rotated = [name for name in rotated_paths(path) if name not in done]
            for name in rotated:
                # Nobody appends to a rotated file: an append that opened one before it was
                # rotated finds the path changed and moves on.
                try:
                    with _files.open_regular(name) as handle:
                        removed += _rewrite(name, handle, drop)
                except FileNotFoundError:
                    pass
                done.add(name)
            removed += _drop_in_current(path, drop)
            if all(name in done for name in rotated_paths(path)):
                return removed
        raise OSError(11, "%s kept being rotated while usagectl forget rewrote it" % path, path)


def _drop_in_current(path, drop):
    for _attempt in range(100):
        try:
            current = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
                              | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            return 0
        try:
            # Held only for the current file (8 MiB at most: a fraction of a second), well
            # inside the time an append waits for it.
            if not _lock(current, path):
                raise OSError(37, "no file locking here: not rewriting", path)
            if _replaced(path, current):
                continue  # rotated or rewritten while this waited: take the file there now
            with os.fdopen(os.dup(current), "rb") as handle:
                return _rewrite(path, handle, drop)
        finally:
            os.close(current)  # closing releases the flock
    raise OSError(11, "%s kept being replaced while usagectl forget rewrote it" % path, path)


@contextlib.contextmanager
def _rewrite_lock(path):
    """The sidecar lock that serialises rewrites (appenders never take it); waited on as
    an append waits for the file's own lock, and an error names it."""
    lock_path = path + ".rewrite.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0),
                 0o600)
    try:
        if not _lock(fd, lock_path):
            raise OSError(37, "no file locking here: not rewriting", path)
        yield
    finally:
        os.close(fd)


def _rewrite(path, handle, drop):
    """Write ``path`` anew without the lines ``drop`` selects, from ``handle`` (the
    file's descriptor, read whole). -> how many were removed."""
    data = handle.read()
    kept, removed = [], 0
    for raw in data.splitlines(keepends=True):
        try:
            entry = json.loads(raw)
        except (ValueError, RecursionError):
            entry = None
        if isinstance(entry, dict) and drop(entry):
            removed += 1
        else:
            kept.append(raw)
    if not removed:
        return 0
    directory = os.path.dirname(os.path.abspath(path))
    temp = os.path.join(directory, ".%s.%d.forget.tmp" % (os.path.basename(path), os.getpid()))
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(b"".join(kept))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return removed


def decode_entry(raw):
    """Parse one ledger line (bytes). Returns a dict with ``body`` as bytes, or None."""
    try:
        entry = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested, i.e. hostile
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("framework"), str):
        return None
    body = None
    try:
        if isinstance(entry.get("body_base64"), str):
            body = base64.b64decode(entry["body_base64"], validate=True)
        elif isinstance(entry.get("body"), str):
            body = entry["body"].encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return None
    entry["body"] = body
    if entry.get("outcome") not in OUTCOMES:
        return None
    return entry


# ---------------------------------------------------------------------------
# Places: where a framework keeps its own records (Parsl's run dirs), noted by the
# runtime hook when the framework starts, so show-last, verify and request-deletion
# find them wherever the workflow ran. One JSON line each, appended like the ledger.

PLACES_FILE_NAME = "places.jsonl"


def places_path(environ=None):
    return os.path.join(_paths.user_state_dir(environ), PLACES_FILE_NAME)


def record_place(framework, kind, path, environ=None):
    """Note that ``framework`` keeps ``kind`` records at ``path``. Never raises."""
    try:
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
        line = json.dumps({"v": 1, "time": stamp, "framework": str(framework), "kind": str(kind),
                           "path": os.path.abspath(str(path)), "pid": os.getpid()},
                          ensure_ascii=True, separators=(",", ":")).encode("ascii")
        # Not rotated: read_places reads only its newest MiB anyway.
        _append_locked(places_path(environ), line + b"\n", rotate=False)
        return True
    except Exception:
        return False


def read_places(framework, kind, environ=None, limit=1000, budget=1 << 20):
    """The newest ``limit`` distinct paths noted for ``framework``/``kind``, newest first.

    Reads at most ``budget`` bytes from the end of the file: the places file only grows."""
    from . import _files

    try:
        with _files.open_regular(places_path(environ)) as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - budget))
            data = handle.read(budget)
    except OSError:
        return []
    found = []
    for raw in reversed(data.split(b"\n")):
        try:
            entry = json.loads(raw)
        except (ValueError, RecursionError):
            continue  # a partial first line, or damage: one bad line never hides the others
        if (isinstance(entry, dict) and entry.get("framework") == framework and entry.get("kind") == kind
                and isinstance(entry.get("path"), str) and entry["path"] not in found):
            found.append(entry["path"])
            if len(found) >= limit:
                break
    return found
