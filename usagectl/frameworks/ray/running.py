"""Ray heads that are running now, and whether each one reports.

A Ray head decides at start (its dashboard's UsageStatsHead reads usage_stats_enabled()
once) and keeps reporting every RAY_USAGE_STATS_REPORT_INTERVAL_S whatever the consent
file says later: `usagectl disable` can't stop it, only a restart can. The dashboard
process is found in /proc (this user's processes, `ray/dashboard/dashboard.py` on the
command line, `--session-dir=` among its arguments); what it decided is the line its
usage module logs at start in ``<session>/logs/dashboard.log``: "Usage reporting is
enabled." or "Usage reporting is disabled.". Linux only: elsewhere the answer is
"unknown", never "none running".
"""

from __future__ import annotations

import datetime
import os

_DASHBOARD = b"dashboard/dashboard.py"
_ENABLED = b"Usage reporting is enabled."
_DISABLED = b"Usage reporting is disabled."
_LOG_HEAD = 1 << 20


def _boot_time():
    try:
        with open("/proc/stat", "rb") as handle:
            for line in handle:
                if line.startswith(b"btime "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _started(pid, boot):
    """When the process started (aware UTC datetime), from /proc/PID/stat."""
    try:
        with open("/proc/%s/stat" % pid, "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of stat(5): starttime, in clock ticks since boot
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    if boot is None:
        return None
    return datetime.datetime.fromtimestamp(boot + ticks / hz, datetime.timezone.utc).replace(microsecond=0)


def _decision(session_dir):
    """True/False from the dashboard's own log line, None when it isn't there (yet)."""
    if not session_dir:
        return None
    try:
        with open(os.path.join(session_dir, "logs", "dashboard.log"), "rb") as handle:
            head = handle.read(_LOG_HEAD)
    except OSError:
        return None
    if _ENABLED in head:
        return True
    if _DISABLED in head:
        return False
    return None


def heads(proc="/proc"):
    """[{"pid", "started", "session_dir", "reporting"}] for this user's running Ray heads,
    or None when processes can't be listed here (not Linux)."""
    try:
        entries = os.listdir(proc)
    except OSError:
        return None
    uid = os.getuid()
    boot = _boot_time()
    found = []
    for entry in entries:
        if not entry.isdigit():
            continue
        base = os.path.join(proc, entry)
        try:
            if os.stat(base).st_uid != uid:
                continue  # other users' processes are theirs to judge
            with open(os.path.join(base, "cmdline"), "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if not any(arg.endswith(_DASHBOARD) for arg in argv[:4]):
            continue
        session = next((a.split(b"=", 1)[1] for a in argv if a.startswith(b"--session-dir=")), b"")
        session_dir = os.fsdecode(session) or None
        found.append({"pid": int(entry), "started": _started(entry, boot), "session_dir": session_dir,
                      "reporting": _decision(session_dir)})
    return sorted(found, key=lambda h: h["pid"])
