"""Ray's reports, from the usage_stats.json its head node writes in each session dir.

Sessions live in ``<temp>/ray/session_<YYYY-MM-DD_HH-MM-SS_micro>_<pid>`` (or
``<temp-dir>/session_*`` with `ray start --temp-dir`). Each keeps only its last
report. The body Ray POSTed is exactly ``json.dumps(file["usage_stats"])``.

Speed: a machine can hold thousands of old sessions. We list them with one
os.scandir per root (no stat per entry), sort by the start time in the name, and
open usage_stats.json only for the newest sessions until enough reports are found.
A long-running old session can hold a report newer than a younger session's; we
accept that (its report is found once the younger sessions are exhausted).
"""

import datetime
import json
import os

from usagectl.core import payloads as model
from usagectl.core.safefiles import open_checked

FRAMEWORK = "ray"
DEFAULT_REPORT_URL = "https://usage-stats.ray.io/"
USAGE_FILE = "usage_stats.json"
#: Ray writes a one-line file of about 1-2 KiB; anything far bigger is not Ray's.
MAX_FILE = 4 * 1024 * 1024
_PREFIX = "session_"


def destination(environ):
    url = environ.get("RAY_USAGE_STATS_REPORT_URL")
    return url or DEFAULT_REPORT_URL


def candidate_roots(environ, extra=()):
    """Temp roots Ray may use, most specific first: RAY_TMPDIR, TMPDIR, /tmp, extras."""
    roots = []
    for name in ("RAY_TMPDIR", "TMPDIR"):
        value = environ.get(name)
        if value:
            roots.append(value)
    roots.append("/tmp")
    roots.extend(extra)
    return roots


def session_dirs_of(path):
    """Directories under ``path`` that may hold session_* dirs (or ``path`` itself if it is one)."""
    name = os.path.basename(os.path.normpath(path))
    if name.startswith(_PREFIX) and name != "session_latest":
        return [("session", path)]
    return [("root", os.path.join(path, "ray")), ("root", path)]


def session_start(name):
    """The start time encoded in a session dir name, as an aware UTC-less local datetime key.

    Names use the head node's local time; we keep the text for sorting (it sorts in
    time order) and parse it only for --since.
    """
    try:
        stamp = name[len(_PREFIX):len(_PREFIX) + 26]
        return datetime.datetime.strptime(stamp, "%Y-%m-%d_%H-%M-%S_%f").astimezone()
    except ValueError:
        return None


class Session:
    __slots__ = ("name", "path")

    def __init__(self, name, path):
        self.name = name
        self.path = path

    def __repr__(self):
        return "Session(%r)" % self.path


def list_sessions(roots):
    """Every session dir under the roots, newest first (by name), without duplicates."""
    seen_dirs = set()
    sessions = {}
    for root in roots:
        for kind, directory in session_dirs_of(root):
            if kind == "session":
                real = os.path.realpath(directory)
                if real not in seen_dirs and os.path.isdir(directory):
                    seen_dirs.add(real)
                    sessions.setdefault(real, Session(os.path.basename(real), directory))
                continue
            real = os.path.realpath(directory)
            if real in seen_dirs:
                continue
            seen_dirs.add(real)
            try:
                with os.scandir(directory) as entries:
                    for entry in entries:
                        name = entry.name
                        # session_latest is a symlink to one of the others; d_type answers
                        # is_dir(follow_symlinks=False) without a stat call.
                        if (name.startswith(_PREFIX) and name != "session_latest"
                                and entry.is_dir(follow_symlinks=False)):
                            key = os.path.join(real, name)
                            if key not in sessions:
                                sessions[key] = Session(name, entry.path)
            except OSError:
                continue
    return sorted(sessions.values(), key=lambda s: s.name, reverse=True)


def read_session(session, environ, trust=False):
    """The report kept in one session dir -> (Payload or None, Skipped or None)."""
    path = os.path.join(session.path, USAGE_FILE)
    handle, info = open_checked(path, trust)
    if handle is None:
        return None, info
    with handle:
        data = handle.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        return None, model.Skipped(path, "larger than %d bytes: not a Ray usage_stats.json" % MAX_FILE)
    return payload_from_file(data, path, session.name, environ)


def payload_from_file(data, path, session_name, environ):
    try:
        document = json.loads(data)
        stats = document["usage_stats"]
        if not isinstance(stats, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError, RecursionError):
        return None, model.Skipped(path, "not in Ray's usage_stats.json format")
    from usagectl.core import delivery as deliveries

    body = json.dumps(stats).encode()
    success = document.get("success")
    error = document.get("error")
    url = None
    if success is True:
        outcome, reason = model.SENT, None
        delivery, status = deliveries.DELIVERED, None
    else:
        outcome, reason = model.FAILED, error if isinstance(error, str) else "Ray recorded no success"
        # Ray writes "success": false both when nothing left (connection refused) and when
        # the server answered an HTTP error (the body arrived); its error text tells which.
        delivery, status, url = deliveries.classify_http_error(error if isinstance(error, str) else None)
    when = None
    if isinstance(stats.get("collect_timestamp_ms"), (int, float)):
        when = model.from_epoch(stats["collect_timestamp_ms"] / 1000.0)
    identifiers = {"session_dir": session_name}
    if stats.get("session_id") is not None:
        identifiers["session_id"] = str(stats["session_id"])
    if stats.get("seq_number") is not None:
        identifiers["seq_number"] = str(stats["seq_number"])
    if url:
        destination_text = url
        notes = ["the destination is the URL in Ray's own error message"]
    else:
        destination_text = None
        configured = environ.get("RAY_USAGE_STATS_REPORT_URL")
        notes = ["usage_stats.json does not record the URL: Ray's default is %s, unless the head "
                 "was started with RAY_USAGE_STATS_REPORT_URL%s"
                 % (DEFAULT_REPORT_URL, " (set to %s in this environment)" % configured if configured else "")]
    if outcome == model.SENT:
        notes.append("sent means the server answered with a 2xx status")
    return model.Payload(FRAMEWORK, when, destination_text, outcome, body, reason=reason,
                         kind="report", transport="http-post", origin=USAGE_FILE,
                         source_file=path, source_line=1, identifiers=identifiers,
                         notes=notes, delivery=delivery, http_status=status), None


def _written_since(session, since):
    try:
        return os.stat(os.path.join(session.path, USAGE_FILE)).st_mtime >= since.timestamp()
    except OSError:
        return False


def scan(environ, extra_roots=(), limit=1, since=None, trust=False):
    """The newest ``limit`` reports -> (payloads newest first, skipped files)."""
    payloads, skipped = [], []
    for session in list_sessions(candidate_roots(environ, extra_roots)):
        if limit is not None and len(payloads) >= limit:
            break
        if since is not None:
            started = session_start(session.name)
            if started is not None and started < since and not _written_since(session, since):
                # Don't stop here: a cluster started earlier keeps reporting (Ray decides
                # at start), and its reports after `since` are exactly what verify looks for.
                continue
        payload, skip = read_session(session, environ, trust)
        if skip is not None:
            skipped.append(skip)
        if payload is not None and (since is None or (payload.when and payload.when >= since)):
            payloads.append(payload)
    payloads.sort(key=model.Payload.sort_key, reverse=True)
    return payloads, skipped


def inferred_disabled_pings(environ, extra_roots=(), since=None):
    """Disabled pings no record shows, inferred: each head session that started at or
    after ``since`` and whose dashboard logged "Usage reporting is disabled." made one
    POST that leaves no local trace (usage_lib's disabled ping). Whether it arrived is
    unknown. -> [Payload], newest first."""
    from usagectl.frameworks.ray.running import usage_decision

    found = []
    for session in list_sessions(candidate_roots(environ, extra_roots)):
        started = session_start(session.name)
        if started is None or (since is not None and started < since):
            continue
        if usage_decision(session.path) is not False:
            continue  # not a head that decided "disabled" (or no log to say so)
        found.append(model.Payload(
            FRAMEWORK, started, environ.get("RAY_USAGE_STATS_REPORT_URL") or DEFAULT_REPORT_URL,
            model.DISABLED_PING, None, kind="disabled-ping", transport="http-post", origin="session dir (inferred)",
            source_file=os.path.join(session.path, "logs", "dashboard.log"), identifiers={"session_dir": session.name},
            notes=["inferred: this head logged that usage reporting is disabled, and a head that starts so "
                   "sends one disabled ping; no record says whether it arrived"]))
    found.sort(key=model.Payload.sort_key, reverse=True)
    return found


# ---------------------------------------------------------------------------
# --follow

#: How many of the newest sessions --follow watches.
FOLLOWED_SESSIONS = 8


class Follower:
    """New reports in the newest sessions: Ray rewrites usage_stats.json by rename, and a
    new session dir changes its root's signature."""

    def __init__(self, env, trust=False, paths=()):
        from usagectl.core.appended import signature

        self._signature = signature
        self.env = env
        self.trust = trust
        self.skipped = []
        self.files = {}       # usage_stats.json path -> (session, signature)
        self.root_sigs = {}
        self.roots = candidate_roots(env.environ, list(env.search_globs(FRAMEWORK)) + list(paths))
        self._rescan(initial=True)

    def _rescan(self, initial=False):
        for session in list_sessions(self.roots)[:FOLLOWED_SESSIONS]:
            path = os.path.join(session.path, USAGE_FILE)
            if path not in self.files:
                self.files[path] = (session, self._signature(path) if initial else None)
        for root in self.roots:
            for _kind, directory in session_dirs_of(root):
                self.root_sigs[directory] = self._signature(directory)

    def poll(self, now):
        if any(self._signature(d) != sig for d, sig in self.root_sigs.items()):
            self._rescan()
        found = []
        for path, (session, sig) in list(self.files.items()):
            now_sig = self._signature(path)
            if now_sig is None or now_sig == sig:
                continue
            self.files[path] = (session, now_sig)
            payload, skip = read_session(session, self.env.environ, self.trust)
            if skip is not None:
                self.skipped.append(skip)
            if payload is not None:
                found.append(payload)
        return found
