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


#: How long a writer waits for another writer: a user's `disable` must not fail because
#: another usagectl is busy; each holder keeps the lock for milliseconds.
LOCK_TIMEOUT = 120.0


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


class FileChanged(OSError):
    """The file changed between the read a rewrite was computed from and its replace."""


class LinkedDirectoryMissing(OSError):
    """A symlink points into a directory that does not exist: usagectl never creates it."""


def fingerprint(path):
    """What identifies one version of a file, for compare-before-replace: (inode, size,
    mtime in ns), or None when it does not exist."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def write_directory(path, follow=True):
    """The directory a write to ``path`` lands in, created (0700) when missing.

    Symlinks are followed (``follow``), but a link is never a reason to create a
    directory: a dangling link to /nonexistent/x.toml must not make usagectl create
    /nonexistent. Only directories on the path as given are created.
    """
    target = real_target(path) if follow else os.path.abspath(path)
    directory = os.path.dirname(target)
    if follow and os.path.islink(path) and not os.path.exists(path):
        # A dangling link (a dotfiles checkout not mounted): nothing is created at a
        # link's target, neither the file nor its lock (docs/reliability.md, Symlinks).
        raise LinkedDirectoryMissing(errno.ENOENT, "%s is a link to %s, which does not exist (usagectl "
                                     "never creates the file a link points to)" % (path, os.readlink(path)),
                                     path)
    if not os.path.isdir(directory):
        if follow and os.path.islink(path):
            raise LinkedDirectoryMissing(errno.ENOENT, "%s is a link to %s, whose directory does not "
                                         "exist (usagectl does not create directories a link points "
                                         "into)" % (path, target), path)
        ensure_private_dir(directory)
    return target, directory


#: Temp files are named .<file>.<pid>.<random>.tmp, so the next writer can tell the ones
#: a dead process left behind (a kill -9 between create and rename) and remove them.
def _temp_prefix(base):
    return ".%s." % base


def remove_stale_temps(directory, base=None):
    """Remove temp files for ``base`` in ``directory`` whose writing process is gone.

    Called by every writer before it writes (under its lock). A temp file of a live
    process is in flight and left alone; without /proc, an hour-old one is stale.
    ``base`` None (only in usagectl's own directories) means the temp file of any file.
    Returns how many were removed.
    """
    prefix = _temp_prefix(base) if base is not None else "."
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    removed = 0
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        parts = name[:-len(".tmp")].rsplit(".", 2)
        if len(parts) != 3 or (base is not None and parts[0] != prefix[:-1]):
            continue
        pid_text = parts[1]
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        full = os.path.join(directory, name)
        if pid == os.getpid() or _process_alive(pid, full):
            continue
        with contextlib.suppress(OSError):
            os.unlink(full)
            removed += 1
    return removed


def _process_alive(pid, temp_path):
    if os.path.isdir("/proc/self"):
        return os.path.exists("/proc/%d" % pid)  # never a signal: usagectl didn't start it
    try:
        return time.time() - os.lstat(temp_path).st_mtime < 3600
    except OSError:
        return False


def atomic_write(path, data, new_mode=PRIVATE_FILE_MODE, follow=True, expect=False):
    """Replace the file at ``path`` with ``data``, atomically.

    Temp file in the same directory, fsync, os.replace, fsync of the directory. An
    existing file keeps its permission bits; a new one gets ``new_mode``. With
    ``follow`` (frameworks' files and the consent file) a symlink is followed and its
    target replaced, so the link survives; without it (usagectl's own records) the
    link itself is replaced and whatever it pointed to is never touched.

    ``expect``, when given (a ``fingerprint``), is compared just before the replace:
    if the file changed since it was read, FileChanged is raised and nothing is
    written, so a rewrite is never computed from a view another writer has replaced.
    """
    target, directory = write_directory(path, follow)
    base = os.path.basename(target)
    remove_stale_temps(directory, base)
    try:
        info = os.stat(target) if follow else os.lstat(target)
        mode = new_mode if stat.S_ISLNK(info.st_mode) else stat.S_IMODE(info.st_mode)
    except FileNotFoundError:
        mode = new_mode
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix="%s%d." % (_temp_prefix(base), os.getpid()), suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        if expect is not False and fingerprint(target) != expect:
            raise FileChanged(errno.EAGAIN, "%s changed while usagectl was updating it" % path, path)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(directory)
    return target


#: How long a settings file may stay empty before it is believed to be empty: another
#: program rewriting it in place (Ray's `ray disable-usage-stats` opens it with "w")
#: leaves it empty for an instant, and a rewrite from that view would lose every key.
SETTLE_SECONDS = 0.25


def read_settled(path, kind, parse=None):
    """(bytes or None, parsed, fingerprint) of a settings file about to be rewritten.

    A torn view (empty, or failing ``parse`` while its bytes still change) is read
    again until it settles; ``parse`` (bytes -> value, raising FrameworkFileDamaged)
    is retried the same way, so only a file that stays damaged is called damaged. The
    fingerprint goes to ``atomic_write(expect=...)``.
    """
    from usagectl.core.errors import FrameworkFileDamaged

    deadline = time.monotonic() + SETTLE_SECONDS
    delay = 0.002
    while True:
        seen = fingerprint(path)
        data = read_settings_file(path, kind)
        settled = time.monotonic() >= deadline
        if data is not None and not data.strip() and not settled:
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
            continue
        if parse is None or data is None:
            return data, None, seen
        try:
            return data, parse(data), seen
        except FrameworkFileDamaged:
            if settled:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
            again = read_settings_file(path, kind)
            if again == data:  # stable bytes: really damaged, not a writer mid-write
                raise


def write_new_file(path, data, mode=PRIVATE_FILE_MODE):
    """Create ``path`` exclusively (never overwrite, never through a link), fsynced."""
    ensure_private_dir(os.path.dirname(os.path.abspath(path)))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
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


class LinkRefused(OSError):
    """usagectl never appends through a symlink (or to anything but a regular file)."""


def append_lines(path, lines, new_mode=PRIVATE_FILE_MODE):
    """Append lines (bytes, no newline) to one of usagectl's logs in one write, fsynced.

    Never through a symlink, never to a FIFO or device: a link at history.jsonl must
    not make usagectl append to the file it points to.
    """
    ensure_private_dir(os.path.dirname(os.path.abspath(path)))
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags, new_mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LinkRefused(errno.ELOOP, "%s is a symlink; usagectl never appends through one" % path,
                              path) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LinkRefused(errno.EINVAL, "%s is not a regular file" % path, path)
        write_all(fd, b"".join(line + b"\n" for line in lines))
    finally:
        os.close(fd)


def check_appendable(path):
    """Raise LinkRefused when ``path`` exists as anything append_lines would refuse."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISLNK(info.st_mode):
        raise LinkRefused(errno.ELOOP, "%s is a symlink; usagectl never appends through one" % path, path)
    if not stat.S_ISREG(info.st_mode):
        raise LinkRefused(errno.EINVAL, "%s is not a regular file" % path, path)


def append_line(path, line, new_mode=PRIVATE_FILE_MODE):
    """Append one line (bytes, no newline) to a log file and fsync it."""
    append_lines(path, [line], new_mode)


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


def wait_for_flock(fd, timeout, lock_path):
    """Take an exclusive flock on ``fd`` within ``timeout`` seconds, else LockTimeout
    naming ``lock_path``."""
    import fcntl
    import random

    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockTimeout(errno.EAGAIN, "another process held the lock on %s for %.0f s"
                                  % (lock_path, timeout), lock_path) from None
            # Short, jittered polls: a long back-off lets newcomers overtake a waiter
            # again and again (16 writers made 3.5% of writes time out at 10 s).
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 1.5, 0.005)


def write_all(fd, payload):
    """Write every byte of ``payload`` to ``fd`` (a short write is continued) and fsync."""
    written = 0
    while written < len(payload):
        written += os.write(fd, payload[written:])
    os.fsync(fd)


@contextlib.contextmanager
def locked(path, timeout=LOCK_TIMEOUT, lock_path=None):
    """Hold an exclusive lock for a read-modify-write of ``path``.

    By default the lock lives on the sidecar ``<real target>.lock``, never on the file
    that gets replaced: a lock on a replaced inode protects nothing. ``lock_path``
    puts it elsewhere (see foreign_lock_path).
    """
    import fcntl

    if lock_path is None:
        lock_path = write_directory(path)[0] + ".lock"
    else:
        ensure_private_dir(os.path.dirname(lock_path))
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), PRIVATE_FILE_MODE)
    try:
        wait_for_flock(fd, timeout, lock_path)
        try:
            yield lock_path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
