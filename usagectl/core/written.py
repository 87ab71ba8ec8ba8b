"""Files usagectl wrote itself, recognised by their digest, so reading them back needs no parser.

When usagectl writes a framework's settings file (Bacalhau's config.yaml), it records
the SHA-256 of the exact bytes and the data they hold in ``<state dir>/written.json``.
A later reader that finds the same bytes takes the recorded data: no YAML library is
imported, which keeps `usagectl status` fast. Any other bytes (a hand edit, the
framework's own rewrite) are parsed with the real parser the framework's own reader
matches. A damaged or missing record only means "parse it".
"""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FILE_NAME = "written.json"
#: The record is rewritten whole; keep it small.
MAX_ENTRIES = 64
MAX_BYTES = 1 << 20


def record_path(environ) -> str:
    from usagectl import _paths

    return os.path.join(_paths.user_state_dir(environ), FILE_NAME)


def digest(data: bytes) -> str:
    try:
        # The builtin SHA-256 (CPython 3.11: _sha256; 3.12+: _sha2) costs a fraction of
        # hashlib, which loads OpenSSL: this runs on every `usagectl status`.
        from _sha256 import sha256
    except ImportError:
        try:
            from _sha2 import sha256
        except ImportError:
            from hashlib import sha256
    return sha256(data).hexdigest()


def _load(path: str) -> dict[str, Any]:
    from usagectl import _files

    try:
        found = json.loads(_files.read_regular(path, MAX_BYTES))
    except (OSError, ValueError, RecursionError):  # absent, not a regular file, too large, damaged: parse instead
        return {}
    return found if isinstance(found, dict) and found.get("v") == 1 else {}


def lookup(environ, path: str, data: bytes) -> Any:
    """The data usagectl recorded for exactly these bytes at ``path``, else None."""
    entry = _load(record_path(environ)).get("files", {}).get(os.path.realpath(path))
    if isinstance(entry, dict) and entry.get("sha256") == digest(data):
        return entry.get("data")
    return None


def remember(environ, path: str, data: bytes, parsed: Any) -> None:
    """Record that usagectl wrote ``data`` (holding ``parsed``) to ``path``. Best effort:
    a record that can't be written only costs the next reader a parse."""
    from usagectl.core import fsutil

    target = record_path(environ)
    try:
        fsutil.ensure_private_dir(os.path.dirname(target))
        with fsutil.locked(target):
            current = _load(target)
            files = current.get("files", {}) if isinstance(current.get("files"), dict) else {}
            files.pop(os.path.realpath(path), None)
            files[os.path.realpath(path)] = {"sha256": digest(data), "data": plain(parsed)}
            while len(files) > MAX_ENTRIES:
                files.pop(next(iter(files)))
            out = json.dumps({"v": 1, "files": files}, sort_keys=False).encode("utf-8")
            fsutil.atomic_write(target, out, follow=False)  # ours: a link there is replaced, never followed
    except (OSError, ValueError, TypeError):
        pass


def plain(value: Any) -> Any:
    """A parsed YAML document (ruamel's CommentedMap, ...) as plain JSON data."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
