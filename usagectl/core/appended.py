"""Noticing change in files cheaply: new lines of append-only files, and stat signatures.

Shared by --follow's sources (the sent ledger, each framework's own logs).
"""

from __future__ import annotations

import os

from usagectl.core import tail
from usagectl.core.safefiles import open_checked


class AppendedFile:
    """New complete lines of one append-only file."""

    def __init__(self, path: str, offset: int):
        self.path = path
        self.offset = offset

    def read(self, trust: bool):
        """-> (new lines, Skipped or None)."""
        try:
            size = os.stat(self.path).st_size
        except OSError:
            return [], None
        if size < self.offset:   # truncated or replaced: start over
            self.offset = 0
        if size == self.offset:
            return [], None
        handle, info = open_checked(self.path, trust)
        if handle is None:
            return [], info
        with handle:
            reader = tail.lines_forward(handle, self.offset, info.st_size)
            lines = []
            while True:
                try:
                    lines.append(next(reader))
                except StopIteration as stop:
                    self.offset = stop.value
                    break
        return lines, None


def size_of(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def signature(path: str):
    """(inode, size, mtime) or None: changes whenever the file is rewritten or renamed over."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
