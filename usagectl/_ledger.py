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
import datetime
import json
import os
import time

from usagectl import _paths

LEDGER_FILE_NAME = "sent.jsonl"
LEDGER_VERSION = 1
#: Outcomes a ledger line may carry (the same words as usagectl.core.payloads).
OUTCOMES = ("sent", "failed", "logged-not-known-sent", "disabled-ping")
_LOCK_WAIT_S = 2.0


def ledger_path(environ=None):
    return os.path.join(_paths.user_state_dir(environ), LEDGER_FILE_NAME)


#: Whether the server received the bytes (usagectl.core.delivery's words).
DELIVERY_STATES = ("delivered", "not-delivered", "unknown")


def encode_entry(framework, destination, body, outcome, reason=None, when=None, identifiers=None,
                 delivery=None, http_status=None):
    """The ledger line (bytes, no newline) for one payload."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if body is not None and not isinstance(body, (bytes, bytearray)):
        raise TypeError("body must be bytes")
    if outcome not in OUTCOMES:
        raise ValueError("outcome must be one of %s" % ", ".join(OUTCOMES))
    when = when or datetime.datetime.now(datetime.timezone.utc)
    text = b64 = None
    if body is not None:
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            b64 = base64.b64encode(bytes(body)).decode("ascii")
    stamp = when.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    entry = {"v": LEDGER_VERSION, "time": stamp, "framework": str(framework),
             "destination": None if destination is None else str(destination),
             "outcome": outcome, "reason": None if reason is None else str(reason),
             "body": text, "body_base64": b64,
             "identifiers": {str(k): str(v) for k, v in (identifiers or {}).items()},
             "pid": os.getpid()}
    if delivery is not None:
        if delivery not in DELIVERY_STATES:
            raise ValueError("delivery must be one of %s" % ", ".join(DELIVERY_STATES))
        entry["delivery"] = delivery
    if http_status is not None:
        entry["http_status"] = int(http_status)
    return json.dumps(entry, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def record_sent(framework, destination, body, outcome="sent", reason=None, when=None,
                identifiers=None, environ=None, path=None, delivery=None, http_status=None):
    """Append one payload to the sent ledger. Returns True when it was recorded.

    ``body`` is the exact bytes sent (str is encoded as UTF-8). Never raises: a
    telemetry log must not break the program that sends.
    """
    try:
        line = encode_entry(framework, destination, body, outcome, reason, when, identifiers,
                            delivery, http_status)
        target = path or ledger_path(environ)
        _append_locked(target, line + b"\n")
        return True
    except Exception:
        return False


def _ensure_dir(directory):
    if os.path.isdir(directory):
        return
    parent = os.path.dirname(directory)
    if parent and parent != directory:
        _ensure_dir(parent)
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass


#: sent.jsonl is rotated above this size: renamed sent-000001.jsonl, sent-000002.jsonl, ...
#: (oldest first) by the appender that finds it full. Nothing is deleted; readers read
#: the current file first, then the rotated ones, newest first.
ROTATE_BYTES = 8 << 20


def rotated_paths(path):
    """The rotated files of the append-only file ``path``, oldest first."""
    directory, name = os.path.split(os.path.abspath(path))
    stem, dot, ext = name.rpartition(".")
    prefix, suffix = (stem if dot else name) + "-", ("." + ext) if dot else ""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    found = sorted(n for n in names if n.startswith(prefix) and n.endswith(suffix)
                   and n[len(prefix):len(n) - len(suffix)].isdigit())
    return [os.path.join(directory, n) for n in found]


def next_rotated_number(path):
    """The number the next rotation of ``path`` takes: one past the highest there."""
    existing = rotated_paths(path)
    if not existing:
        return 1
    name = os.path.basename(existing[-1])
    return int(name.rsplit("-", 1)[1].split(".")[0]) + 1


def rotated_name(path, number):
    """``sent.jsonl`` -> ``sent-000001.jsonl`` (oldest first by name)."""
    stem, dot, ext = os.path.abspath(path).rpartition(".")
    return "%s-%06d.%s" % (stem, number, ext) if dot else "%s-%06d" % (os.path.abspath(path), number)


def _rotate(path, fd):
    """Rename a full ``path`` (whose lock ``fd`` holds) to the next rotated name.

    Only the current inode is ever rotated (a process that waited on the lock of a file
    someone else already rotated appends to the new current file instead), and the new
    name is claimed with link(), which never overwrites.
    """
    try:
        if os.stat(path).st_ino != os.fstat(fd).st_ino:
            return False
    except OSError:
        return False
    number = next_rotated_number(path)
    for attempt in range(number, number + 100):
        target = rotated_name(path, attempt)
        try:
            os.link(path, target)
        except FileExistsError:
            continue
        except OSError:
            return False  # no hard links here (some network filesystems): keep appending
        os.unlink(path)
        return True
    return False


def _append_locked(path, data, rotate=True, attempts=5):
    _ensure_dir(os.path.dirname(os.path.abspath(path)))
    # Never through a symlink, never blocking on a FIFO in the ledger's place.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
                 | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0), 0o600)
    outcome = "written"
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(22, "not a regular file", path)
        locked = _lock(fd)
        try:
            if locked and attempts > 1 and _replaced(path, fd):
                # Rotated or rewritten (`usagectl forget`) while this append waited on the
                # old file's lock: append to the file that is there now.
                outcome = "retry"
            elif rotate and locked and os.fstat(fd).st_size > ROTATE_BYTES and _rotate(path, fd):
                outcome = "rotated"
            else:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
        finally:
            if locked:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    if outcome == "retry":
        _append_locked(path, data, rotate=rotate, attempts=attempts - 1)
    elif outcome == "rotated":
        # The line starts the new file, where a `show-last --follow` reading the current
        # file from its start will see it.
        _append_locked(path, data, rotate=False)


def _replaced(path, fd):
    try:
        return os.stat(path).st_ino != os.fstat(fd).st_ino
    except OSError:
        return True


def drop_lines(path, drop):
    """Remove the lines ``drop(entry)`` selects from the ledger-like file at ``path`` and
    its rotated files -> how many were removed. For `usagectl forget`.

    Each file is rewritten whole to a temp file, fsynced, and put in place with
    os.replace while the current file's lock is held; an append waiting on that lock
    sees the file was replaced and appends to the new one (``_append_locked``), so no
    line of anyone else's is lost. A line that doesn't parse is kept.
    """
    # Rotated files first, unlocked: nobody appends to them (an append that opened one
    # before it was rotated or replaced finds the path changed and moves on).
    removed = sum(_drop_in(name, drop) for name in rotated_paths(path))
    try:
        current = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return removed
    try:
        # Held only for the current file (8 MiB at most: a fraction of a second), well
        # inside the 2 s an append waits for it.
        if not _lock(current):
            raise OSError(37, "no file locking here: not rewriting", path)
        removed += _drop_in(path, drop)
    finally:
        os.close(current)  # closing releases the flock
    return removed


def _drop_in(path, drop):
    with open(path, "rb") as handle:
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


def _lock(fd):
    """Take the flock with a bounded wait; without fcntl (Windows) append unlocked."""
    try:
        import fcntl
    except ImportError:
        return False
    deadline = time.monotonic() + _LOCK_WAIT_S
    delay = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


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
    from usagectl import _files

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
