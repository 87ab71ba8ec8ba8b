"""This user's running processes, read from /proc: framework-neutral helpers.

Linux only; elsewhere ``processes`` answers None ("can't tell"), never "none running".
"""

from __future__ import annotations

import datetime
import os


def boot_time():
    """The wall-clock time the machine booted, as precisely as /proc gives it.

    /proc/stat's ``btime`` is whole seconds (and is itself derived, so it can be off by
    one more): derived from /proc/uptime instead, it is good to its 10 ms tick, which
    matters when a process start is compared with when a config file was written.
    """
    import time

    try:
        with open("/proc/uptime", "rb") as handle:
            return time.time() - float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/proc/stat", "rb") as handle:
            for line in handle:
                if line.startswith(b"btime "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


#: How far apart two instants must be for "the process started after the file was written"
#: to be known, given the tick of /proc's start times.
START_UNCERTAINTY_S = 0.05


def started(pid, boot=None):
    """When the process started (aware UTC datetime), from /proc/PID/stat."""
    boot = boot if boot is not None else boot_time()
    try:
        with open("/proc/%s/stat" % pid, "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of stat(5): starttime, in clock ticks since boot
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    if boot is None:
        return None
    return datetime.datetime.fromtimestamp(boot + ticks / hz, datetime.timezone.utc)


def processes(match, proc="/proc"):
    """[(pid, argv)] of this user's processes whose argv ``match(argv)`` accepts, or None
    when processes can't be listed here (not Linux). Other users' processes are theirs."""
    try:
        entries = os.listdir(proc)
    except OSError:
        return None
    uid = os.getuid()
    found = []
    for entry in entries:
        if not entry.isdigit():
            continue
        proc_dir = os.path.join(proc, entry)
        try:
            if os.stat(proc_dir).st_uid != uid:
                continue
            with open(os.path.join(proc_dir, "cmdline"), "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if match(argv):
            found.append((int(entry), argv))
    return found
