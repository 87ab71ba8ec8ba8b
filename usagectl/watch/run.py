"""Run a command with every Python process in its tree watched: `usagectl verify --run`.

    report = run_watched(env, ["python", "job.py"], timeout=600)
    report.exit_status                     # the command's own exit status
    report.by_framework()                  # {"ray": [Attempt, ...]}
    bad = report.failed_consent(consent_decisions(env, report.frameworks()))

How: the command runs with ``sitecustomize/`` first on PYTHONPATH (an existing
PYTHONPATH is kept after it, and an existing sitecustomize still runs), the log
path in USAGECTL_WATCH_LOG and the endpoint list in USAGECTL_WATCH_ENDPOINTS. Every
Python process that inherits that environment installs audit.py's hook, which
blocks and records each lookup, connect or sendto toward a listed endpoint. The log
lives in a private temporary directory that is removed once read.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile

from usagectl.core.categories import narrowed
from usagectl.core.errors import BadInput
from usagectl.watch import audit
from usagectl.watch import endpoints as endpoints_mod

SITECUSTOMIZE_DIR = os.path.join(os.path.dirname(os.path.abspath(audit.__file__)), "sitecustomize")
#: Seconds between SIGTERM and SIGKILL when the command is stopped.
GRACE_S = 5
#: Modes under which an attempt breaks the user's choice ("local" means never send).
NOT_SENDING = ("off", "local")

NOT_WATCHED = (
    "Only Python processes are watched, and only those that start with the watch's "
    "environment: non-Python programs (Bacalhau is written in Go), network code inside "
    "C extensions (gRPC, for one), and Python run with -I, -E or -S are not."
)
BLOCKED_NOTE = ("Every attempt listed was blocked before any packet left: a listed attempt "
                "shows what the program tried to send, not that anything was sent.")
LATE_NOTE = ("Processes still running after the command ended (daemons, `ray start`'s "
             "cluster) stay watched and blocked, but their later attempts are not in this report.")


class Attempt:
    """One blocked call toward a telemetry endpoint, as one watched process logged it."""

    __slots__ = ("time", "pid", "ppid", "argv0", "event", "host", "port", "framework", "endpoint",
                 "payload", "payload_size", "payload_truncated", "payload_source", "payload_note")

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields.get(name))

    @classmethod
    def from_record(cls, record):
        payload = None
        if record.get("payload_visible") and record.get("payload_b64") is not None:
            import base64

            payload = base64.b64decode(record["payload_b64"])
        return cls(payload=payload, **{k: record.get(k) for k in cls.__slots__ if k != "payload"})

    @property
    def payload_text(self):
        """The payload as text when it is UTF-8, else None (see payload for the bytes)."""
        if self.payload is None:
            return None
        try:
            return self.payload.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def as_dict(self):
        import base64

        data = {name: getattr(self, name) for name in self.__slots__ if name != "payload"}
        data["blocked"] = True
        data["payload_visible"] = self.payload is not None
        data["payload_text"] = self.payload_text
        data["payload_base64"] = None if self.payload is None else base64.b64encode(self.payload).decode()
        return data

    def __repr__(self):
        return "Attempt(%s, %s -> %s:%s, %s bytes)" % (self.framework, self.event, self.host, self.port,
                                                       self.payload_size)


class WatchReport:
    """What happened while a command ran watched.

    argv:             the command.
    exit_status:      its exit status (negative: killed by that signal), as Popen reports it.
    timed_out:        True when it was stopped for running past ``timeout``.
    endpoints:        the Endpoint tuple that was watched.
    attempts:         tuple of Attempt, in time order.
    processes:        one dict per Python process that was watched (pid, ppid, argv0, executable).
    unwatched_spawns: dicts for children a watched process started in a way that drops the watch.
    warnings:         strings (unreadable configuration, unreadable log lines).
    notes:            what the watch can't see, in one sentence each.
    """

    def __init__(self, argv, exit_status, timed_out, endpoints, attempts, processes, unwatched_spawns,
                 warnings):
        self.argv = list(argv)
        self.exit_status = exit_status
        self.timed_out = timed_out
        self.endpoints = tuple(endpoints)
        self.attempts = tuple(attempts)
        self.processes = tuple(processes)
        self.unwatched_spawns = tuple(unwatched_spawns)
        self.warnings = list(warnings)
        self.notes = [BLOCKED_NOTE, NOT_WATCHED, LATE_NOTE]

    def frameworks(self):
        """Frameworks with at least one attempt, sorted."""
        return sorted({a.framework for a in self.attempts})

    def by_framework(self):
        grouped = {}
        for attempt in self.attempts:
            grouped.setdefault(attempt.framework, []).append(attempt)
        return grouped

    def failed_consent(self, decisions):
        """Attempts made by a framework whose consent is off (or local: never send).

        ``decisions`` maps framework name -> usagectl.consent.Decision (see
        consent_decisions). A framework missing from it counts as off: fail closed.
        The list is empty when the run honoured every choice.
        """
        return [a for a in self.attempts if _breaks(decisions.get(a.framework))]

    def unknown_consent(self, decisions):
        """Attempts of a framework whose consent lets some categories through (local with
        a send list): the attempt may carry one it allows or one it holds back, which a
        connection doesn't say. Never counted as honouring the choice."""
        return [a for a in self.attempts if narrowed(decisions.get(a.framework))]

    def as_dict(self, decisions=None):
        """JSON-ready. With ``decisions``, each framework says its mode and whether it failed."""
        frameworks = {}
        for name, attempts in self.by_framework().items():
            entry = {"attempts": [a.as_dict() for a in attempts],
                     "payload_bytes": sum(a.payload_size or 0 for a in attempts)}
            if decisions is not None:
                decision = decisions.get(name)
                entry["consent"] = decision.mode if decision is not None else None
                entry["send"] = list(decision.send) if decision is not None and decision.send is not None else None
                entry["unknown"] = narrowed(decision)
                entry["failed"] = _breaks(decision)
            frameworks[name] = entry
        data = {
            "command": self.argv,
            "exit_status": self.exit_status,
            "timed_out": self.timed_out,
            "endpoints": [e.as_dict() for e in self.endpoints],
            "attempt_count": len(self.attempts),
            "frameworks": frameworks,
            "processes_watched": list(self.processes),
            "unwatched_spawns": list(self.unwatched_spawns),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }
        if decisions is not None:
            data["failed_consent"] = len(self.failed_consent(decisions))
            data["unknown_consent"] = len(self.unknown_consent(decisions))
        return data


def consent_decisions(env, frameworks):
    """{framework: Decision} for ``frameworks``, read from ``env``'s consent and policy files."""
    from usagectl import consent

    snapshot, policy = env.read_consent(), env.read_policy()
    return {name: consent.decide(name, environ=env.environ, consent=snapshot, policy=policy)
            for name in frameworks}


def watch_environ(base, log_path, watched_endpoints):
    """The environment a watched command runs with (``base`` is not modified)."""
    environ = dict(base)
    existing = environ.get("PYTHONPATH")
    environ["PYTHONPATH"] = SITECUSTOMIZE_DIR + (os.pathsep + existing if existing else "")
    environ[audit.LOG_ENV] = log_path
    environ[audit.ENDPOINTS_ENV] = endpoints_mod.encode(watched_endpoints)
    environ[audit.FRAMES_ENV] = payload_frames()
    return environ


def payload_frames():
    """Every framework's own senders, as audit.FRAMES_ENV lines."""
    from usagectl import frameworks

    lines = []
    for framework in frameworks.all():
        for (module, function), local in sorted(framework.payload_frames.items()):
            if all("\t" not in s and "\n" not in s for s in (module, function, local)):
                lines.append("%s\t%s\t%s\n" % (module, function, local))
    return "".join(lines)


def read_log(path):
    """(attempts, processes, unwatched_spawns, warnings) from a watch log."""
    attempts, processes, spawns, bad = [], [], [], 0
    try:
        from usagectl import _files

        with _files.open_regular(path) as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        try:
            record = json.loads(line)
            kind = record["kind"]
        except (ValueError, KeyError, TypeError, RecursionError):
            bad += 1
            continue
        if kind == "attempt":
            attempts.append(Attempt.from_record(record))
        elif kind == "start":
            processes.append({k: record.get(k) for k in ("pid", "ppid", "argv0", "executable", "time")})
        elif kind == "unwatched-spawn":
            spawns.append({k: record.get(k) for k in ("pid", "argv0", "child", "reason", "event", "time")})
    attempts.sort(key=lambda a: a.time or 0)
    warnings = ["%d line(s) of the watch log could not be read" % bad] if bad else []
    return attempts, processes, spawns, warnings


def run_watched(env, argv, timeout=None, *, stdin=None, stdout=None, stderr=None, cwd=None,
                endpoints=None):
    """Run ``argv`` watched and return a WatchReport.

    ``env`` is a usagectl Environment: its ``environ`` is the command's environment
    and its consent file supplies configured endpoints. ``endpoints`` overrides the
    collected list (an iterable of endpoints.Endpoint). stdin/stdout/stderr are as
    for subprocess (default: inherited). ``timeout`` in seconds stops the command's
    process group (SIGTERM, then SIGKILL after GRACE_S). Raises BadInput when the
    command can't be started or the consent file's [verify] table is malformed.
    """
    if not argv:
        raise BadInput("no command given to run")
    if endpoints is None:
        watched, warnings = endpoints_mod.collect(env)
    else:
        watched, warnings = tuple(endpoints), []
    base = env.environ.get("TMPDIR")
    workdir = tempfile.mkdtemp(prefix="usagectl-watch-", dir=base if base and os.path.isdir(base) else None)
    try:
        log_path = os.path.join(workdir, "watch.jsonl")
        os.close(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        # Its own process group lets a timeout stop the whole tree, but a process outside
        # the terminal's foreground group is stopped (SIGTTIN) when it reads the terminal,
        # and `ray start --head` asks a question there. So: own group unless stdin is a tty.
        own_group = not _is_terminal(stdin)
        try:
            proc = subprocess.Popen(list(argv), env=watch_environ(env.environ, log_path, watched), cwd=cwd,
                                    stdin=stdin, stdout=stdout, stderr=stderr,
                                    process_group=0 if own_group else None)
        except OSError as exc:
            raise BadInput("cannot run %s: %s" % (argv[0], exc.strerror or exc))
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _stop(proc, signal.SIGTERM, own_group)
        except KeyboardInterrupt:
            # In its own group the terminal's Ctrl-C did not reach it; in ours it did.
            _stop(proc, signal.SIGINT if own_group else None, own_group)
            raise
        attempts, processes, spawns, more = read_log(log_path)
        warnings.extend(more)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return WatchReport(argv, proc.returncode, timed_out, watched, attempts, processes, spawns, warnings)


def _is_terminal(stdin):
    if stdin is None:
        stdin = 0
    elif not isinstance(stdin, int):
        try:
            stdin = stdin.fileno()
        except (AttributeError, OSError, ValueError):
            return False
    if stdin < 0:  # subprocess.PIPE, DEVNULL
        return False
    try:
        return os.isatty(stdin)
    except OSError:
        return False


def _stop(proc, first_signal, own_group):
    """Signal the command (and its tree); SIGKILL what is left of it after GRACE_S."""
    # Without a group of its own, find the tree now: once the command is gone, its
    # children are re-parented and can no longer be told apart.
    tree = [] if own_group else [proc.pid] + _descendants(proc.pid)
    if first_signal is not None:
        _signal_tree(proc.pid, first_signal, own_group, tree)
    try:
        proc.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    if not own_group:
        tree = sorted(set(tree[1:] + _descendants(proc.pid)))
    # Also the command's children: a stopped command must not leave them running.
    _signal_tree(proc.pid, signal.SIGKILL, own_group, tree)
    proc.wait()


def _signal_tree(pid, sig, own_group, pids):
    try:
        if own_group:
            os.killpg(pid, sig)
            return
    except (ProcessLookupError, PermissionError):
        return
    for target in pids:
        try:
            os.kill(target, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _descendants(pid):
    """Pids below ``pid``, from /proc (Linux); empty where /proc is not there."""
    children = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as handle:
                stat = handle.read()
            # The command name may hold spaces or parentheses: fields start after the last ')'.
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _breaks(decision):
    """Does any attempt break this choice? Unknown consent counts as off (fail closed);
    under a send list an attempt may be allowed, so it is unknown, not a break."""
    return decision is None or (decision.mode in NOT_SENDING and not narrowed(decision))
