"""Files root touches: walked from a trusted root, no link followed, no mode from the umask.

`usagectl --system` (and root in general) writes files every user reads and installs
code every user's Python runs, so nothing on the way may be something another user can
write (docs/security.md):

- ``Tree`` opens each directory below its root with ``O_NOFOLLOW | O_DIRECTORY``, one
  component at a time through the parent's descriptor (``dir_fd``), so a link planted
  anywhere below the root is refused and nothing is ever created at a link's target.
  Every directory on the way must be owned by root (or the caller) and the directory a
  file lands in must be writable by nobody else; directories it creates get 0755 and
  files 0644, set with ``fchmod`` so the umask never decides.
- ``check_owned`` is the same rule for something root is about to execute or copy (an
  interpreter, its site-packages, usagectl's own files): every component of the path as
  given and of its real path, owned by root and writable by nobody else (a sticky
  directory such as /tmp excepted: others cannot replace what root owns in it).

Reads go through the same walk without creating anything, and never block (a FIFO in
a file's place is refused, not waited on).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator

from usagectl.core.errors import UsagectlError
from usagectl.core.exitcodes import ExitCode
from usagectl.core.fsutil import wait_for_flock, write_all

SYSTEM_DIR_MODE = 0o755
SYSTEM_FILE_MODE = 0o644
LOCK_MODE = 0o600

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class UnsafePath(UsagectlError):
    """A path root would trust is a link, or owned or writable by someone else."""

    exit_code = ExitCode.UNSAFE_PATH


def owner_name(uid: int) -> str:
    try:
        import pwd

        return "%s (uid %d)" % (pwd.getpwuid(uid).pw_name, uid)
    except (ImportError, KeyError):
        return "uid %d" % uid


def _euid() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def untrusted(info: os.stat_result, owners: tuple[int, ...], sticky_ok: bool, group_ok: bool = False) -> str | None:
    """Why an entry with this stat can't be trusted by root, or None."""
    if info.st_uid not in owners:
        return "owned by %s" % owner_name(info.st_uid)
    mode = stat.S_IMODE(info.st_mode)
    if sticky_ok and stat.S_ISDIR(info.st_mode) and mode & stat.S_ISVTX:
        return None
    if mode & stat.S_IWOTH:
        return "writable by every user (mode %04o)" % mode
    if mode & stat.S_IWGRP and not group_ok:
        return "writable by its group (mode %04o)" % mode
    return None


def unreadable_by_others(path: str) -> str | None:
    """Why another user could not read ``path`` (its mode, or a directory above it they
    can't enter), or None. A file every user must read (the system dask file, the
    policy, a drop-in) is worth nothing when a restrictive umask made it private."""
    components = _ancestors(path)
    for component in components:
        try:
            info = os.stat(component)
        except OSError as exc:
            return "%s can't be checked (%s)" % (component, exc.strerror or exc)
        mode = stat.S_IMODE(info.st_mode)
        if component == components[-1] and not stat.S_ISDIR(info.st_mode):
            if not mode & stat.S_IROTH:
                return "%s is mode %04o (others can't read it)" % (component, mode)
        elif not mode & stat.S_IXOTH:
            return "%s is mode %04o (others can't enter it)" % (component, mode)
    return None


def _ancestors(path: str) -> list[str]:
    """``path`` and every directory above it, from / down."""
    out = []
    probe = os.path.abspath(path)
    while True:
        out.append(probe)
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    return list(reversed(out))


def check_owned(path: str, what: str) -> None:
    """Refuse (UnsafePath) to execute or copy ``path`` as root unless root owns all of it.

    Every component of ``path`` and of its real path must be owned by root and writable
    by nobody else; a sticky directory (/tmp) is allowed, since others cannot rename or
    replace what root owns inside it.
    """
    owners = (0,)
    for candidate in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
        for component in _ancestors(candidate):
            try:
                info = os.lstat(component)
            except OSError as exc:
                raise UnsafePath("cannot check %s %s (%s)" % (what, component, exc.strerror or exc),
                                 path=component) from None
            if stat.S_ISLNK(info.st_mode):
                continue  # its directory is checked above it, its target as the real path
            reason = untrusted(info, owners, sticky_ok=True)
            if reason:
                raise UnsafePath("refusing %s %s as root: %s is %s" % (what, path, component, reason),
                                 hint="root runs only code that only root can change; install it "
                                      "root-owned, or run this as the user who owns it",
                                 path=component)


class Tree:
    """Files below one trusted root (``/``, or a scratch root for an image tree)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        euid = _euid()
        #: Who may own what root writes into: root, or the caller preparing a scratch tree.
        self.owners = (0,) if euid in (None, 0) else (0, euid)

    def path(self, system_path: str) -> str:
        """Where the absolute ``system_path`` lies below this root."""
        return os.path.join(self.root, system_path.lstrip("/"))

    def _parts(self, system_path: str) -> list[str]:
        parts = [p for p in system_path.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise UnsafePath("refusing the system path %r: it must be absolute, without . or .." % system_path)
        return parts

    # The walk -------------------------------------------------------------
    def _open_dir(self, parts: list[str], create: bool) -> int | None:
        """A descriptor of the directory ``parts`` below the root (None when missing and
        not ``create``). Each component opened through its parent, never through a link."""
        try:
            fd = os.open(self.root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            raise UsagectlError("the system root %s does not exist" % self.root,
                                hint="create it (an image tree), or unset USAGECTL_SYSTEM_ROOT",
                                path=self.root) from None
        shown = self.root
        try:
            for index, name in enumerate(parts):
                shown = os.path.join(shown, name)
                try:
                    child = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        os.close(fd)
                        return None
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, SYSTEM_DIR_MODE, dir_fd=fd)
                    child = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
                    info = os.fstat(child)
                    if info.st_uid == _euid() and stat.S_IMODE(info.st_mode) != SYSTEM_DIR_MODE:
                        os.fchmod(child, SYSTEM_DIR_MODE)  # mkdir's mode went through the umask
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                        raise UnsafePath("refusing %s: it is a symlink or not a directory; root never "
                                         "writes through a link" % shown, path=shown) from None
                    raise
                os.close(fd)
                fd = child
                last = index == len(parts) - 1
                # Above the directory a file lands in, a group may write (Ubuntu's /var/log is
                # root:syslog 0775): every entry below is still opened without links and checked
                # by owner. The directory itself must be writable by nobody else.
                reason = untrusted(os.fstat(fd), self.owners, sticky_ok=False, group_ok=not last)
                if reason:
                    raise UnsafePath("refusing %s: it is %s" % (shown, reason),
                                     hint="a system directory must be owned by root and writable only by it",
                                     path=shown)
            return fd
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise

    @contextlib.contextmanager
    def _directory(self, system_path: str, create: bool) -> Iterator[tuple[int | None, str]]:
        parts = self._parts(system_path)
        fd = self._open_dir(parts[:-1], create)
        try:
            yield fd, parts[-1]
        finally:
            if fd is not None:
                os.close(fd)

    def _refuse_link(self, fd: int, name: str, system_path: str) -> os.stat_result | None:
        """lstat of the entry; a link or a non-regular file there is refused."""
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        shown = self.path(system_path)
        if stat.S_ISLNK(info.st_mode):
            raise UnsafePath("refusing %s: it is a symlink; root never writes through a link" % shown, path=shown)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath("refusing %s: it is not a regular file" % shown, path=shown)
        return info

    # Reading --------------------------------------------------------------
    def read(self, system_path: str, limit: int = 1 << 20) -> bytes | None:
        """The bytes of a regular file below the root; None when it (or a directory on the
        way) does not exist. A link, FIFO or oversized file raises UnsafePath."""
        with self._directory(system_path, create=False) as (fd, name):
            if fd is None:
                return None
            try:
                file_fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                return None
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    self._refuse_link(fd, name, system_path)
                raise
            try:
                info = os.fstat(file_fd)
                shown = self.path(system_path)
                if not stat.S_ISREG(info.st_mode):
                    raise UnsafePath("refusing to read %s: it is not a regular file" % shown, path=shown)
                if info.st_size > limit:
                    raise UnsafePath("refusing to read %s: %d bytes, more than %d" % (shown, info.st_size, limit),
                                     path=shown)
                chunks, total = [], 0
                while total <= limit:
                    chunk = os.read(file_fd, 1 << 16)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    total += len(chunk)
                return b"".join(chunks)[:limit]
            finally:
                os.close(file_fd)

    def try_read(self, system_path: str, limit: int = 1 << 20) -> bytes | None:
        """``read`` for a status line: anything unreadable is None, never raised."""
        try:
            return self.read(system_path, limit)
        except OSError:
            return None

    def listdir(self, system_dir: str) -> list[str]:
        """Names in a directory below the root ([] when missing or unsafe)."""
        try:
            fd = self._open_dir(self._parts(system_dir), create=False)
        except OSError:
            return []
        if fd is None:
            return []
        try:
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)

    def exists(self, system_path: str) -> bool:
        try:
            with self._directory(system_path, create=False) as (fd, name):
                return fd is not None and self._refuse_link(fd, name, system_path) is not None
        except OSError:
            return False

    # Writing --------------------------------------------------------------
    def write(self, system_path: str, data: bytes, mode: int = SYSTEM_FILE_MODE) -> bool:
        """Replace a file below the root atomically, with exactly ``mode``. -> changed."""
        with self._directory(system_path, create=True) as (fd, name):
            assert fd is not None
            info = self._refuse_link(fd, name, system_path)
            if info is not None and info.st_size == len(data) and stat.S_IMODE(info.st_mode) == mode \
                    and info.st_uid == _euid() and self.read(system_path, len(data)) == data:
                return False
            tmp = ".%s.%d.%s.tmp" % (name, os.getpid(), os.urandom(4).hex())
            tmp_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, LOCK_MODE, dir_fd=fd)
            try:
                with os.fdopen(tmp_fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fchmod(handle.fileno(), mode)
                    os.fsync(handle.fileno())
                os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=fd)
                raise
            with contextlib.suppress(OSError):
                os.fsync(fd)
            return True

    def remove(self, system_path: str, marker: bytes | None = None) -> bool:
        """Remove a regular file below the root (only if it holds ``marker``). -> removed."""
        try:
            with self._directory(system_path, create=False) as (fd, name):
                if fd is None or self._refuse_link(fd, name, system_path) is None:
                    return False
                if marker is not None and marker not in (self.read(system_path, 1 << 20) or b""):
                    return False
                os.unlink(name, dir_fd=fd)
                return True
        except FileNotFoundError:
            return False

    def check_appendable(self, system_path: str) -> None:
        """Raise unless ``append`` could add to ``system_path`` now (directories created)."""
        with self._directory(system_path, create=True) as (fd, name):
            assert fd is not None
            info = self._refuse_link(fd, name, system_path)
            if info is not None:
                self._check_own_file(info, system_path)

    def _check_own_file(self, info: os.stat_result, system_path: str) -> None:
        shown = self.path(system_path)
        reason = untrusted(info, self.owners, sticky_ok=False)
        if reason is None and info.st_nlink > 1:
            reason = "hard-linked elsewhere (%d links)" % info.st_nlink
        if reason:
            raise UnsafePath("refusing %s: it is %s" % (shown, reason), path=shown)

    def append(self, system_path: str, lines: list[bytes], mode: int = SYSTEM_FILE_MODE) -> None:
        """Append lines (no newline) in one write, fsynced; never through a link or hard link."""
        with self._directory(system_path, create=True) as (fd, name):
            assert fd is not None
            try:
                file_fd = os.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _NONBLOCK | _CLOEXEC,
                                  LOCK_MODE, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENXIO):
                    self._refuse_link(fd, name, system_path)
                raise
            try:
                info = os.fstat(file_fd)
                if not stat.S_ISREG(info.st_mode):
                    raise UnsafePath("refusing %s: it is not a regular file" % self.path(system_path))
                self._check_own_file(info, system_path)
                if stat.S_IMODE(info.st_mode) != mode:
                    os.fchmod(file_fd, mode)
                write_all(file_fd, b"".join(line + b"\n" for line in lines))
            finally:
                os.close(file_fd)

    @contextlib.contextmanager
    def locked(self, system_path: str, timeout: float = 120.0) -> Iterator[None]:
        """An exclusive lock on ``<file>.lock`` beside the file, opened without following links."""
        with self._directory(system_path + ".lock", create=True) as (fd, name):
            assert fd is not None
            try:
                lock_fd = os.open(name, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, LOCK_MODE, dir_fd=fd)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise UnsafePath("refusing %s: the lock file is a symlink" % self.path(system_path + ".lock"))
                raise
        try:
            if not stat.S_ISREG(os.fstat(lock_fd).st_mode):
                raise UnsafePath("refusing %s: not a regular file" % self.path(system_path + ".lock"))
            wait_for_flock(lock_fd, timeout, self.path(system_path + ".lock"))
            yield
        finally:
            os.close(lock_fd)
