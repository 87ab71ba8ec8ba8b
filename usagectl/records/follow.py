"""--follow: notice new payloads within a second, by polling sizes and mtimes.

No inotify (not portable, and it misses files on network filesystems): every poll
stats a handful of files. Watched: the sent ledger (appends), every Parsl log found
(appends; new run dirs are picked up on a slower rescan), the usage_stats.json of
the newest Ray sessions (Ray rewrites it by rename) and the Ray roots' mtimes
(a new session dir changes them).
"""

import hashlib
import os
import time

from usagectl.records import ledger, ledger_scan, model, parsl_log, ray_sessions, tail
from usagectl.records.files import open_checked

POLL_S = 0.2
RESCAN_S = 0.5
#: Parsl logs a failed send right after the message; wait this long for that line.
PENDING_S = 0.5
WATCHED_RAY_SESSIONS = 8


def body_key(payload):
    return (payload.framework, hashlib.sha256(payload.body or b"").hexdigest(),
            payload.outcome if payload.body is None else "")


class _Appended:
    """New complete lines of one append-only file."""

    def __init__(self, path, offset):
        self.path = path
        self.offset = offset

    def read(self, trust):
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


class Follower:
    def __init__(self, env, frameworks, trust=False, paths=(), seen=()):
        self.env = env
        self.frameworks = list(frameworks)
        self.trust = trust
        self.paths = list(paths)
        self.seen = set(seen)
        self.warned = set()
        self.skipped = []
        self.ledger = _Appended(ledger.ledger_path(env.environ), ledger_scan.size_of(env.environ))
        self.parsl_logs = {}
        self.parsl_pending = {}   # log path -> {thread: (event, first_seen)}
        self.ray_files = {}       # usage_stats.json path -> (session name, signature)
        self.ray_root_sigs = {}
        self.last_rescan = 0.0
        if "parsl" in self.frameworks:
            for path, _ in parsl_log.find_logs(parsl_log.search_paths(env, self.paths)):
                self.parsl_logs[path] = _Appended(path, _size(path))
        if "ray" in self.frameworks:
            self._ray_roots = ray_sessions.candidate_roots(env.environ, self.paths)
            self._ray_rescan(initial=True)

    # Ray -------------------------------------------------------------------
    def _ray_rescan(self, initial=False):
        sessions = ray_sessions.list_sessions(self._ray_roots)
        for session in sessions[:WATCHED_RAY_SESSIONS]:
            path = os.path.join(session.path, ray_sessions.USAGE_FILE)
            if path not in self.ray_files:
                self.ray_files[path] = (session, _signature(path) if initial else None)
        for root in self._ray_roots:
            for kind, directory in ray_sessions.session_dirs_of(root):
                self.ray_root_sigs[directory] = _signature(directory)

    def _ray_poll(self):
        changed_root = any(_signature(d) != sig for d, sig in self.ray_root_sigs.items())
        if changed_root:
            self._ray_rescan()
        found = []
        for path, (session, sig) in list(self.ray_files.items()):
            now_sig = _signature(path)
            if now_sig is None or now_sig == sig:
                continue
            self.ray_files[path] = (session, now_sig)
            payload, skip = ray_sessions.read_session(session, self.env.environ, self.trust)
            self._skip(skip)
            if payload is not None:
                found.append(payload)
        return found

    # Parsl -----------------------------------------------------------------
    def _parsl_poll(self, now):
        found = []
        for path, appended in list(self.parsl_logs.items()):
            lines, skip = appended.read(self.trust)
            self._skip(skip)
            origin = os.path.basename(path)
            parse = parsl_log.event_from_json_line if path.endswith(".jsonlog") else parsl_log.event_from_text_line
            events = [e for e in (parse(line) for line in lines) if e is not None]
            pending = self.parsl_pending.setdefault(path, {})
            # Messages still waiting from the last poll go first, in file order.
            carried = [event for event, _ in pending.values()]
            ready, still = parsl_log.payloads_forward(carried + events, path, origin)
            found.extend(ready)
            new_pending = {}
            for thread, event in still.items():
                old = pending.get(thread)
                first = old[1] if old is not None and old[0] is event else now
                if now - first >= PENDING_S:
                    payload = parsl_log.payload_from(event, None, path, origin)
                    if payload is not None:
                        found.append(payload)
                else:
                    new_pending[thread] = (event, first)
            self.parsl_pending[path] = new_pending
        return found

    def _parsl_rescan(self):
        for path, _ in parsl_log.find_logs(parsl_log.search_paths(self.env, self.paths)):
            if path not in self.parsl_logs:
                self.parsl_logs[path] = _Appended(path, 0)

    # Ledger ----------------------------------------------------------------
    def _ledger_poll(self):
        lines, skip = self.ledger.read(self.trust)
        self._skip(skip)
        found = []
        for line in lines:
            entry = ledger.decode_entry(line.data)
            if entry is not None and entry["framework"] in self.frameworks:
                found.append(ledger_scan.payload_from_entry(entry, self.ledger.path, line))
        return found

    # -----------------------------------------------------------------------
    def _skip(self, skip):
        if skip is not None and skip.path not in self.warned:
            self.warned.add(skip.path)
            self.skipped.append(skip)

    def poll(self):
        """New payloads since the last poll, oldest first (ledger entries first)."""
        now = time.monotonic()
        found = self._ledger_poll()
        if "ray" in self.frameworks:
            found.extend(self._ray_poll())
        if "parsl" in self.frameworks:
            if now - self.last_rescan >= RESCAN_S:
                self.last_rescan = now
                self._parsl_rescan()
            found.extend(self._parsl_poll(now))
        fresh = []
        for payload in found:
            key = body_key(payload)
            if key in self.seen:
                continue
            self.seen.add(key)
            fresh.append(payload)
        fresh.sort(key=model.Payload.sort_key)
        return fresh


def _size(path):
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _signature(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
