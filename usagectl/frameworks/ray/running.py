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

import os

from usagectl.core import procs

_DASHBOARD = b"dashboard/dashboard.py"
_ENABLED = b"Usage reporting is enabled."
_DISABLED = b"Usage reporting is disabled."
_LOG_HEAD = 1 << 20


def usage_decision(session_dir):
    """What the head of ``session_dir`` decided about usage stats, from its own log line:
    True (reporting), False (disabled), None (no line, or no log)."""
    return _decision(session_dir)


def _decision(session_dir):
    """True/False from the dashboard's own log line, None when it isn't there (yet)."""
    if not session_dir:
        return None
    from usagectl import _files

    try:
        # Never blocks: a FIFO in the log's place (a hostile session dir) is refused.
        with _files.open_regular(os.path.join(session_dir, "logs", "dashboard.log")) as handle:
            head = handle.read(_LOG_HEAD)
    except OSError:
        return None
    if _ENABLED in head:
        return True
    if _DISABLED in head:
        return False
    return None


def _is_dashboard(argv):
    return any(arg.endswith(_DASHBOARD) for arg in argv[:4])


def heads(proc="/proc"):
    """[{"pid", "started", "session_dir", "reporting"}] for this user's running Ray heads,
    or None when processes can't be listed here (not Linux)."""
    found = procs.processes(_is_dashboard, proc)
    if found is None:
        return None
    boot = procs.boot_time()
    out = []
    for pid, argv in found:
        session = next((a.split(b"=", 1)[1] for a in argv if a.startswith(b"--session-dir=")), b"")
        session_dir = os.fsdecode(session) or None
        out.append({"pid": pid, "started": procs.started(pid, boot), "session_dir": session_dir,
                    "reporting": _decision(session_dir)})
    return sorted(out, key=lambda h: h["pid"])
