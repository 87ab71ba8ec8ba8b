"""Safe file writes: a sidecar lock, atomic replace, modes kept, links followed.

Every file usagectl writes (its own and the frameworks') goes through here, so a
crash or a concurrent writer can never leave a half-written file behind.
"""

import contextlib
import errno
import os
import stat
import time

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


class LockTimeout(OSError):
    pass


def ensure_private_dir(path):
    """Create ``path`` and missing parents; directories we create get mode 0700."""
    path = os.path.abspath(path)
    missing = []
    probe = path
    while not os.path.isdir(probe):
        missing.append(probe)
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, PRIVATE_DIR_MODE)
        except FileExistsError:
            continue
        # mkdir's mode is filtered by the umask; set it exactly.
        os.chmod(directory, PRIVATE_DIR_MODE)


def real_target(path):
    """The file a write to ``path`` must replace: symlinks are followed, so the link survives."""
    return os.path.realpath(path)


def fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # some filesystems refuse fsync on directories
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def atomic_write(path, data, new_mode=PRIVATE_FILE_MODE):
    """Replace the file at ``path`` (through any symlink) with ``data``, atomically.

    Temp file in the same directory, fsync, os.replace, fsync of the directory. An
    existing file keeps its permission bits; a new one gets ``new_mode``.
    """
    target = real_target(path)
    directory = os.path.dirname(target)
    ensure_private_dir(directory)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = new_mode
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(directory)
    return target


def write_new_file(path, data, mode=PRIVATE_FILE_MODE):
    """Create ``path`` exclusively (never overwrite), fsynced. Used for backups."""
    ensure_private_dir(os.path.dirname(os.path.abspath(path)))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    fsync_dir(os.path.dirname(os.path.abspath(path)))


#: Frameworks' settings files are small; a larger one is not read (nor rewritten).
SETTINGS_FILE_LIMIT = 16 << 20


def read_settings_file(path, kind):
    """A settings file's bytes, or None when it does not exist.

    Raises FrameworkFileDamaged (one line, naming the file) when it exists but can't be
    read: such a file must never be treated as absent and overwritten.
    """
    from usagectl import _files
    from usagectl.core.errors import FrameworkFileDamaged

    try:
        # Never blocks: a FIFO in a settings file's place is refused, not waited on.
        return _files.read_regular(path, SETTINGS_FILE_LIMIT)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (_files.NotRegular, IsADirectoryError):
        raise FrameworkFileDamaged("%s is not a regular %s file" % (path, kind), path=path)
    except OSError as exc:
        raise FrameworkFileDamaged("can't read %s (%s)" % (path, exc.strerror or exc), path=path)


def keep_damaged_copy(path, data, when, notes):
    """Before --repair rewrites a damaged settings file: keep it byte for byte, and say so."""
    backup = backup_copy(path, data, when)
    notes.append("%s was damaged; a byte-identical copy was kept at %s" % (path, backup))
    return backup


def backup_copy(path, data, when, why="damaged"):
    """Keep a byte-identical copy of a file next to it; returns the backup's path.

    The copy is named ``<file>.<why>-<UTC time>`` (``when``, a datetime): ``damaged``
    before a repair, ``before-split`` before the settings move out of consent.toml.
    """
    target = real_target(path)
    base = "%s.%s-%s" % (target, why, when.strftime("%Y%m%dT%H%M%SZ"))
    candidate, n = base, 1
    while True:
        try:
            write_new_file(candidate, data)
            return candidate
        except FileExistsError:
            n += 1
            candidate = "%s.%d" % (base, n)


def append_line(path, line, new_mode=PRIVATE_FILE_MODE):
    """Append one line (bytes, no newline) to a log file and fsync it."""
    ensure_private_dir(os.path.dirname(os.path.abspath(path)))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, new_mode)
    try:
        os.write(fd, line + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def foreign_lock_path(env, path):
    """Where usagectl locks a file it doesn't own (a framework's settings file).

    A sidecar next to ~/.ray/config.json would litter the framework's directory (and
    dask reads every file in its config dir), so these locks live in usagectl's state
    directory, named after the real target. Only usagectl takes them: the frameworks
    themselves don't lock their files.
    """
    import hashlib

    target = real_target(path)
    digest = hashlib.sha256(target.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    name = "%s-%s.lock" % (os.path.basename(target)[:40], digest)
    return os.path.join(env.state_dir, "locks", name)


@contextlib.contextmanager
def locked(path, timeout=10.0, lock_path=None):
    """Hold an exclusive lock for a read-modify-write of ``path``.

    By default the lock lives on the sidecar ``<real target>.lock``, never on the file
    that gets replaced: a lock on a replaced inode protects nothing. ``lock_path``
    puts it elsewhere (see foreign_lock_path).
    """
    import fcntl

    lock_path = lock_path or real_target(path) + ".lock"
    ensure_private_dir(os.path.dirname(lock_path))
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(errno.EAGAIN, "another process holds the lock", lock_path)
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        try:
            yield lock_path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
