"""Reading a file without ever blocking on it: stdlib only, for the reader and for usagectl.

``open()`` on a FIFO waits for a writer; the consent reader runs inside other people's
programs (the runtime hook calls it when a framework is imported), so a FIFO in place of
consent.toml would hang them. Files are opened non-blocking, and anything that is not a
regular file (FIFO, socket, device, directory) is refused before a byte is read, as is a
file larger than the caller's limit.
"""

import os
import stat


class NotRegular(OSError):
    """The path is a FIFO, socket, device or directory: never read."""


class TooLarge(OSError):
    """The file is larger than the caller allows: never read whole."""


def open_regular(path):
    """A binary file object for the regular file at ``path``, opened without blocking.

    Raises FileNotFoundError / NotADirectoryError when it is absent, NotRegular, or
    another OSError when it can't be opened. For readers that seek (files read from
    their end); ``read_regular`` reads a whole small file.
    """
    fd = _open_fd(path)
    try:
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_fd(path):
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (a FIFO, socket or device)"
            raise NotRegular(0, "%s is %s" % (path, kind), path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path, limit):
    """The bytes of the regular file at ``path`` (at most ``limit``).

    Raises FileNotFoundError / NotADirectoryError when it is absent, NotRegular,
    TooLarge, or another OSError when it can't be read.
    """
    fd = _open_fd(path)
    try:
        info = os.fstat(fd)
        if info.st_size > limit:
            raise TooLarge(0, "%s is %d bytes, more than the %d this file may hold" % (path, info.st_size, limit),
                           path)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 16, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while we read it
                raise TooLarge(0, "%s grew past %d bytes while being read" % (path, limit), path)
        return b"".join(chunks)
    finally:
        os.close(fd)
