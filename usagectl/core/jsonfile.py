"""A framework's JSON settings file: read it strictly, write it the way the framework does.

Used by the Ray adapter for ``~/.ray/config.json``. The framework's own reader may
shrug off a damaged file, but we must not: replacing it would lose whatever else is
in it (Ray keeps other keys there), so a damaged file is an error the user repairs
on purpose (``--repair`` keeps a byte-identical copy first).
"""

import json

from usagectl.core.errors import FrameworkFileDamaged


def parse_object(data, path, what="JSON"):
    """Parse bytes that must hold one JSON object. Empty (or blank) means ``{}``.

    An empty file holds nothing that could be lost, so it is not "damaged".
    Raises FrameworkFileDamaged naming the file and line.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FrameworkFileDamaged("%s line %d: not UTF-8 text" % (path, line), path=path, line=line,
                                   hint="fix or remove it, or rerun with --repair (a copy is kept)")
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except RecursionError:
        raise FrameworkFileDamaged("%s: not valid %s (nested too deeply to be a settings file)" % (path, what),
                                   path=path, hint="fix it, or rerun with --repair (a copy is kept)") from None
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        message = getattr(exc, "msg", str(exc))
        raise FrameworkFileDamaged("%s line %s: not valid %s (%s)" % (path, line, what, message),
                                   path=path, line=line,
                                   hint="fix it, or rerun with --repair (a copy is kept)")
    if not isinstance(value, dict):
        raise FrameworkFileDamaged("%s line 1: the top level must be a JSON object, not %s"
                                   % (path, type(value).__name__), path=path, line=1,
                                   hint="fix it, or rerun with --repair (a copy is kept)")
    return value


def dumps_compact(obj):
    """Bytes as Python's ``json.dump(obj, f)`` writes them (Ray's own writer): no newline."""
    return json.dumps(obj).encode("ascii")
