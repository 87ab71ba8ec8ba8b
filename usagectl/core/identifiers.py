"""Identifiers of collected usage data, and the careful readers that find them.

Each framework's ``gather_identifiers`` (in its own home) fills a ``Found`` from
local files only. Everything is read-only and never fails the command: a file that
can't be read, understood or trusted is skipped (and named in ``problems``). Secrets
that live next to identifiers (Coiled's API token in the dask config) are never read
into a result.
"""

import os
import re

#: Identifier lines sit near the start (or end) of a log; reading this much from each end
#: keeps a multi-gigabyte log cheap.
_HEAD_BYTES = 4 << 20
_TAIL_BYTES = 4 << 20
MAX_FILES = 20000
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]")


class Identifier:
    """One identifier value, the local files it was found in, and for each the evidence
    that the framework's vendor received it (how it was captured, and when)."""

    __slots__ = ("kind", "value", "sources", "evidence")

    def __init__(self, kind, value, source=None, evidence=None):
        self.kind = kind
        self.value = value
        self.sources = [source] if source else []
        self.evidence = [{"source": source, "how": evidence}] if evidence else []

    def as_dict(self):
        return {"kind": self.kind, "value": self.value, "sources": list(self.sources),
                "evidence": [dict(e) for e in self.evidence]}

    def __repr__(self):
        return "Identifier(%r, %r)" % (self.kind, self.value)


class Found:
    """Identifiers for one framework, in first-seen order, deduplicated."""

    def __init__(self, framework):
        self.framework = framework
        self._items = {}
        self.problems = []   # one-line strings: files that could not be read
        self.notes = []

    def add(self, kind, value, source, evidence=None):
        """Add one identifier seen in ``source``; ``evidence`` says, in a phrase, why the
        vendor has it (a report that reached the server, the hook's record of a send)."""
        if not isinstance(value, str) or not value.strip():
            return
        value = value.strip()
        if _CONTROL.search(value):
            # A value that could drive a terminal or forge message headers is no real id.
            self.problems.append("%s: a %s with control characters was skipped" % (source, kind))
            return
        key = (kind, value)
        item = self._items.get(key)
        if item is None:
            self._items[key] = Identifier(kind, value, source, evidence)
            return
        if source and source not in item.sources:
            item.sources.append(source)
        if evidence and not any(e["source"] == source and e["how"] == evidence for e in item.evidence):
            item.evidence.append({"source": source, "how": evidence})

    @property
    def identifiers(self):
        return list(self._items.values())

    def values(self, kind=None):
        return [i.value for i in self._items.values() if kind is None or i.kind == kind]

    def as_dict(self):
        return {"framework": self.framework, "identifiers": [i.as_dict() for i in self.identifiers],
                "problems": list(self.problems), "notes": list(self.notes)}


# ---------------------------------------------------------------------------
# Reading helpers


def read_text(path, found, limit=1 << 20):
    from usagectl import _files

    try:
        with _files.open_regular(path) as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        found.problems.append("%s: cannot read it (%s)" % (path, exc.strerror or exc))
        return None


def _head_and_tail_lines(path, found):
    """Lines from the first and last few MiB of a log (each line once)."""
    from usagectl import _files

    try:
        with _files.open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(_HEAD_BYTES)
            tail = b""
            if size > _HEAD_BYTES:
                start = max(_HEAD_BYTES, size - _TAIL_BYTES)
                handle.seek(start)
                tail = handle.read(_TAIL_BYTES)
                tail = tail.split(b"\n", 1)[1] if b"\n" in tail else b""  # drop a partial line
    except FileNotFoundError:
        return []
    except OSError as exc:
        found.problems.append("%s: cannot read it (%s)" % (path, exc.strerror or exc))
        return []
    return (head + b"\n" + tail).decode("utf-8", "replace").splitlines()


# ---------------------------------------------------------------------------
# Ray (session discovery and usage_stats.json: usagectl.frameworks.ray.records, as show-last)


def add_problem(found, skipped):
    if skipped is not None:
        found.problems.append("%s: %s; skipped" % (skipped.path, skipped.reason))


def trusted_log_lines(path, found):
    """Head and tail lines of a Ray log, read only if show-last would trust the file."""
    from usagectl.core.safefiles import open_checked

    handle, info = open_checked(path)
    if handle is None:
        add_problem(found, info)
        return []
    handle.close()
    return _head_and_tail_lines(path, found)
