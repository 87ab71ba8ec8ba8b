"""Opening payload files safely: regular files only, and only files we can trust.

A file owned by another user, or writable by group or others, could have been
planted or edited by someone else; its "payloads" are read only with --trust. The
check is made on the opened descriptor (fstat), so a swapped path can't slip by.
Directories are not checked: Ray creates its session dirs with mode 0777.
"""

import os
import stat

from usagectl.core.payloads import Skipped


def untrusted_reason(st):
    """Why a file with this stat can't be trusted, or None."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    if uid is not None and st.st_uid != uid:
        return "owned by uid %d, not by you (uid %d)" % (st.st_uid, uid)
    mode = stat.S_IMODE(st.st_mode)
    if mode & stat.S_IWOTH:
        return "world-writable (mode %04o)" % mode
    if mode & stat.S_IWGRP:
        return "group-writable (mode %04o)" % mode
    return None


def open_checked(path, trust=False):
    """Open ``path`` for binary reading. Returns (file, stat) or (None, Skipped|None).

    None without a Skipped means the file does not exist (the common case, not worth
    a warning). O_NONBLOCK keeps a FIFO planted under the name from hanging us.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None, None
    except NotADirectoryError:
        return None, None
    except OSError as exc:
        return None, Skipped(path, "can't open it: %s" % (exc.strerror or exc))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return None, Skipped(path, "not a regular file")
        reason = untrusted_reason(st)
        if reason and not trust:
            os.close(fd)
            return None, Skipped(path, "%s; pass --trust to read it anyway" % reason)
        return os.fdopen(fd, "rb"), st
    except BaseException:
        try:
            os.close(fd)
        except OSError:
            pass
        raise
