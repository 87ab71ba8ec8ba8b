"""Parsl's usage messages, rebuilt byte for byte from its parsl.log / parsl.jsonlog.

Parsl logs each message (as a Python repr) just BEFORE sending it as one UDP
datagram ``b"1" + json.dumps(message)``, so a logged message is only
"logged-not-known-sent"; a ``Usage tracking failed: ...`` line from the same thread
right after it means the send failed (every send fails in 2026.10.26, Parsl issue
#4038). ``ast.literal_eval`` then ``json.dumps`` gives back the exact datagram.

Where the send got as far as its sender process (a fork child, ``Usage-Tracking-<pid>``
in the log), that process logs ``Failed to send usage tracking data: ...`` itself, and
``close()`` later logs ``Joining usage tracking process <ForkProcess ... pid=N ...
stopped exitcode=0>`` for each process in the order they were started. So the k-th
message that started a process belongs to the k-th joined pid (paired from the end, in
``payloads_backward``): its
child's failure line fails it; a fork child that had already ended with exit 0
without one handed the datagram to the network ("sent", with no receipt: UDP).
``show-last --follow`` shows each message as it is logged, before those lines exist.

Logs: ``<run_dir>/NNN/parsl.log`` (run_dir defaults to ./runinfo). We look under
./runinfo, the consent file's ``[search] parsl = [globs]`` and --path.
"""

import ast
import json
import os
import re

from usagectl.core import payloads as model
from usagectl.core import tail
from usagectl.core.safefiles import open_checked

FRAMEWORK = "parsl"
DESTINATION = "udp://tracking.parsl-project.org:50077"
PROTOCOL_PREFIX = b"1"
LOGGER = "parsl.usage_tracking.usage"
LOG_NAMES = ("parsl.log", "parsl.jsonlog")

# parsl.log_utils.DEFAULT_FORMAT:
# "%(created)f %(asctime)s %(processName)s-%(process)d %(threadName)s-%(thread)d
#  %(name)s:%(lineno)d %(funcName)s %(levelname)s: %(message)s"
_LINE = re.compile(
    rb"^(?P<created>\d+\.\d+) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+?-(?P<pid>\d+) \S+?-(?P<tid>\d+) "
    rb"parsl\.usage_tracking\.usage:\d+ \S+ [A-Z]+: (?P<msg>.*)$")
_START = "Usage tracking start message: "
_END = "Usage tracking end message (unencoded): "
_FAILED = "Usage tracking failed: "
_CHILD_FAILED = "Failed to send usage tracking data: "
_JOIN = re.compile(r"^Joining usage tracking process <(?P<kind>\w+) name='[^']*' pid=(?P<pid>\d+) "
                   r"parent=\d+ (?P<state>[^>]*)>")
_KILLED = "Usage tracking process did not end itself"


class Sender:
    """The process Parsl started to send one message, as its own log lines show it."""

    __slots__ = ("pid", "kind", "state", "failure", "killed")

    def __init__(self, pid, kind, state, killed=False):
        self.pid, self.kind, self.state, self.killed = pid, kind, state, killed
        self.failure = None


class Event:
    """One usage-tracking log record, from either log format."""

    __slots__ = ("created", "thread", "message", "line")

    def __init__(self, created, thread, message, line):
        self.created = created
        self.thread = thread
        self.message = message
        self.line = line


def event_from_text_line(line):
    if b"parsl.usage_tracking.usage:" not in line.data:
        return None
    match = _LINE.match(line.data)
    if not match:
        return None
    message = match.group("msg").decode("utf-8", "replace")
    return Event(float(match.group("created")), (match.group("pid"), match.group("tid")),
                 message, line)


def event_from_json_line(line):
    if LOGGER.encode() not in line.data:
        return None
    try:
        record = json.loads(line.data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or record.get("name") != LOGGER:
        return None
    message = record.get("formatted", record.get("msg"))
    created = record.get("created")
    if not isinstance(message, str) or not isinstance(created, (int, float)):
        return None
    return Event(float(created), (str(record.get("process")), str(record.get("thread"))), message, line)


def decode_message(text):
    """Parsl's repr of a message dict -> the datagram bytes, or None if it isn't one."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    try:
        return PROTOCOL_PREFIX + json.dumps(value).encode()
    except (TypeError, ValueError, RecursionError):
        return None


def payload_from(event, failure, path, origin, sender=None):
    message = event.message
    kind = "start" if message.startswith(_START) else "end"
    text = message[len(_START):] if kind == "start" else message[len(_END):]
    body = decode_message(text)
    if body is None:
        return None
    identifiers = {}
    try:
        decoded = json.loads(body[1:])
        for key in ("correlator", "project_name"):
            if decoded.get(key) is not None:
                identifiers[key] = str(decoded[key])
    except ValueError:
        pass
    identifiers["run_dir"] = os.path.dirname(path)
    from usagectl.core import delivery as deliveries

    # UDP gives no receipt: a handed-over message is "unknown". "Usage tracking failed"
    # is logged when Parsl could not even start its sender process: nothing left.
    delivery = deliveries.UNKNOWN
    if failure is not None:
        outcome, reason = model.FAILED, failure.message[len(_FAILED):]
        delivery = deliveries.NOT_DELIVERED
        notes = ["Parsl logged the send failure on line %s" % (failure.line.number or "?")
                 if failure.line.number else "Parsl logged the send failure right after"]
    elif sender is not None:
        outcome, reason, notes = _sender_outcome(sender)
        if outcome == model.FAILED:
            delivery = deliveries.NOT_DELIVERED
    else:
        outcome, reason = model.LOGGED_NOT_KNOWN_SENT, None
        notes = ["Parsl logs a message before sending it; the log can't show it arrived"]
    return model.Payload(FRAMEWORK, model.from_epoch(event.created), DESTINATION, outcome, body,
                         reason=reason, kind=kind, transport="udp", origin=origin,
                         source_file=path, source_line=event.line.number,
                         source_offset=event.line.offset, identifiers=identifiers, notes=notes,
                         delivery=delivery)


def _sender_outcome(sender):
    """(outcome, reason, notes) of a message from what its sender process logged."""
    where = " (line %s)" % sender.failure.line.number if sender.failure and sender.failure.line.number else ""
    if sender.failure is not None:
        return (model.FAILED, sender.failure.message[len(_CHILD_FAILED):],
                ["its sender process (pid %s) logged the failure%s" % (sender.pid, where)])
    if sender.killed:
        return (model.LOGGED_NOT_KNOWN_SENT, None,
                ["its sender process (pid %s) did not end and Parsl killed it: whether it sent is unknown"
                 % sender.pid])
    if sender.kind == "ForkProcess" and sender.state == "stopped exitcode=0":
        # A fork child logs to the same file at the same level: every exception of its
        # send is caught and logged, so an exit 0 without a line means sendto returned.
        return (model.SENT, None,
                ["its sender process (pid %s) ended (exit 0) without logging a failure: the datagram "
                 "was handed to the network; UDP gives no receipt" % sender.pid])
    return (model.LOGGED_NOT_KNOWN_SENT, None,
            ["its sender process (pid %s) logged no failure, but had not ended when Parsl joined it"
             % sender.pid])


def _is_message(event):
    return event.message.startswith(_START) or event.message.startswith(_END)


def _pid(event):
    pid = event.thread[0]
    return pid.decode("ascii", "replace") if isinstance(pid, bytes) else str(pid)


def payloads_backward(events, path, origin, limit=None, since=None):
    """Payloads from events given newest first, read as they come (the newest message
    needs only the lines after it).

    A failure line pairs with the nearest earlier message of the same thread: that
    message never got a sender process. The others pair with ``close()``'s "Joining
    usage tracking process" lines of their process from the end (the last message that
    started a process with the last one joined), and through its pid with that child's
    own failure line; every one of those lines comes after its message in the file."""
    failures = {}        # thread -> the failure event seen after (in file order) its message
    joined = {}          # parent pid -> Senders joined after the messages still to come, newest first
    killed = set()       # parents whose next join line (going back) was followed by the kill warning
    child_failures = {}  # child pid -> its "Failed to send" event
    found = []
    for event in events:
        if since is not None and event.created < since.timestamp():
            break
        message = event.message
        if message.startswith(_FAILED):
            failures[event.thread] = event
        elif message.startswith(_CHILD_FAILED):
            child_failures.setdefault(_pid(event), event)
        elif message.startswith(_KILLED):
            killed.add(_pid(event))
        elif _is_message(event):
            failure, sender = failures.pop(event.thread, None), None
            if failure is None and joined.get(_pid(event)):
                sender = joined[_pid(event)].pop(0)
                sender.failure = child_failures.get(sender.pid)
            payload = payload_from(event, failure, path, origin, sender)
            if payload is not None:
                found.append(payload)
                if limit is not None and len(found) >= limit:
                    break
        else:
            match = _JOIN.match(message)
            if match:
                parent = _pid(event)
                joined.setdefault(parent, []).append(Sender(match.group("pid"), match.group("kind"),
                                                            match.group("state").strip(), parent in killed))
                killed.discard(parent)
    return found


def payloads_forward(events, path, origin):
    """Payloads from events in file order (used by --follow on appended lines).

    Yields (payload_or_None, pending_event) pairs via a small state machine: a message
    waits for the next usage line of its thread to learn whether it failed.
    """
    pending = {}
    out = []
    for event in events:
        if event.message.startswith(_FAILED):
            message = pending.pop(event.thread, None)
            if message is not None:
                payload = payload_from(message, event, path, origin)
                if payload is not None:
                    out.append(payload)
        elif _is_message(event):
            previous = pending.pop(event.thread, None)
            if previous is not None:
                payload = payload_from(previous, None, path, origin)
                if payload is not None:
                    out.append(payload)
            pending[event.thread] = event
    return out, pending


def read_log(path, limit=None, since=None, trust=False, budget=tail.DEFAULT_BUDGET):
    """Payloads in one log file, newest first -> (payloads, skipped or None).

    Reads backwards from the end within ``budget``; when more payloads are wanted and
    the file is bigger than the budget, reads its head (where the start message is)
    within the same budget. The middle of a huge log is never read.
    """
    handle, info = open_checked(path, trust)
    if handle is None:
        return [], info
    origin = os.path.basename(path)
    parse = event_from_json_line if path.endswith(".jsonlog") else event_from_text_line
    with handle:
        size = info.st_size
        events = _events(tail.lines_backward(handle, size, budget), parse)
        found = payloads_backward(events, path, origin, limit, since)
        if size > budget and (limit is None or len(found) < limit):
            head_stop = min(budget, size - budget)
            head = list(_events(_numbered(tail.lines_forward(handle, 0, head_stop)), parse))
            for payload in payloads_backward(list(reversed(head)), path, origin, None, since):
                # Lines of the head were read from the start: their numbers are known.
                found.append(payload)
            if limit is not None:
                found = found[:limit]
    return found, None


def _events(lines, parse):
    for line in lines:
        event = parse(line)
        if event is not None:
            yield event


def _numbered(lines):
    for number, line in enumerate(lines, 1):
        line.number = number
        yield line


def search_paths(env, extra=()):
    """Where to look for Parsl logs: ./runinfo, the run dirs the runtime hook noted when each
    workflow started, the settings' [search] globs, and --path."""
    from usagectl import _ledger

    paths = [os.path.join(os.getcwd(), "runinfo")]
    paths.extend(_ledger.read_places(FRAMEWORK, "run_dir", env.environ))
    paths.extend(env.search_globs(FRAMEWORK))
    paths.extend(extra)
    return paths


def find_logs(paths):
    """parsl.log / parsl.jsonlog files under the paths (a log file, a run dir, or a
    runinfo dir of NNN run dirs) -> list of (path, mtime), newest first."""
    found = {}

    def consider(candidate):
        try:
            st = os.stat(candidate)
        except OSError:
            return
        found.setdefault(os.path.realpath(candidate), (candidate, st.st_mtime))

    for path in paths:
        if os.path.basename(path) in LOG_NAMES:
            consider(path)
            continue
        for name in LOG_NAMES:
            consider(os.path.join(path, name))
        try:
            with os.scandir(path) as entries:
                runs = [e.path for e in entries if e.name.isdigit() and e.is_dir()]
        except OSError:
            continue
        for run in sorted(runs)[-1000:]:
            for name in LOG_NAMES:
                consider(os.path.join(run, name))
    return sorted(found.values(), key=lambda item: item[1], reverse=True)


def scan(env, extra_paths=(), limit=1, since=None, trust=False):
    """The newest ``limit`` payloads across every log found -> (payloads, skipped)."""
    payloads, skipped = [], []
    for path, mtime in find_logs(search_paths(env, extra_paths)):
        if limit is not None and len(payloads) >= limit:
            # A payload is never newer than its log's last write: stop when the next
            # log is older than every payload we already hold.
            oldest = min(p.when.timestamp() for p in payloads if p.when) if payloads else None
            if oldest is not None and mtime < oldest:
                break
        if since is not None and mtime < since.timestamp():
            continue
        found, skip = read_log(path, limit, since, trust)
        if skip is not None:
            skipped.append(skip)
        payloads.extend(found)
        payloads.sort(key=model.Payload.sort_key, reverse=True)
        if limit is not None:
            payloads = payloads[:limit]
    return payloads, skipped


# ---------------------------------------------------------------------------
# --follow

#: New run dirs are picked up this often.
RESCAN_S = 0.5
#: Parsl logs a failed send right after the message; wait this long for that line.
PENDING_S = 0.5


class Follower:
    """Appends to every Parsl log found; new run dirs are picked up on a slower rescan."""

    def __init__(self, env, trust=False, paths=()):
        from usagectl.core.appended import AppendedFile, size_of

        self._appended = AppendedFile
        self.env = env
        self.trust = trust
        self.paths = list(paths)
        self.skipped = []
        self.logs = {}
        self.pending = {}   # log path -> {thread: (event, first_seen)}
        self.last_rescan = 0.0
        for path, _ in find_logs(search_paths(env, self.paths)):
            self.logs[path] = AppendedFile(path, size_of(path))

    def _rescan(self):
        for path, _ in find_logs(search_paths(self.env, self.paths)):
            if path not in self.logs:
                self.logs[path] = self._appended(path, 0)

    def poll(self, now):
        if now - self.last_rescan >= RESCAN_S:
            self.last_rescan = now
            self._rescan()
        found = []
        for path, appended in list(self.logs.items()):
            lines, skip = appended.read(self.trust)
            if skip is not None:
                self.skipped.append(skip)
            origin = os.path.basename(path)
            parse = event_from_json_line if path.endswith(".jsonlog") else event_from_text_line
            events = [e for e in (parse(line) for line in lines) if e is not None]
            pending = self.pending.setdefault(path, {})
            # Messages still waiting from the last poll go first, in file order.
            carried = [event for event, _ in pending.values()]
            ready, still = payloads_forward(carried + events, path, origin)
            found.extend(ready)
            new_pending = {}
            for thread, event in still.items():
                old = pending.get(thread)
                first = old[1] if old is not None and old[0] is event else now
                if now - first >= PENDING_S:
                    payload = payload_from(event, None, path, origin)
                    if payload is not None:
                        found.append(payload)
                else:
                    new_pending[thread] = (event, first)
            self.pending[path] = new_pending
        return found
