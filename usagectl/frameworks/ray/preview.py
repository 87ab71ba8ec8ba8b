"""Ray's next report: the "disabled ping" when usage stats are off, else the next periodic report.

Off: each `ray start --head` still POSTs one report with every field null except
schema_version, source and collect_timestamp_ms (the dashboard's
_report_disabled_usage_sync); we build it with Ray's own generate_disabled_report_data().
On: the dashboard of a running head reports every RAY_USAGE_STATS_REPORT_INTERVAL_S
seconds; its last report is in <session>/usage_stats.json, and the next one carries
seq_number + 1 and the success/failure counts updated by the last outcome.
"""

import datetime
import json
import os

from usagectl.core import previews as result
from usagectl.core import probes
from usagectl.frameworks.ray import records as ray_sessions

TITLE = "Ray"
DEFAULT_INTERVAL_S = 3600
AT_SEND_TIME = "<will be set at send time>"


def preview(env, decision, native, level=None):
    from usagectl.frameworks.ray.framework import FRAMEWORK

    item, effective = result.start(FRAMEWORK.name, TITLE, decision, native,
                                   "`usagectl disable ray` writes ~/.ray/config.json")
    item["transport"] = "http-post"
    probe = probes.run(env, FRAMEWORK)
    if effective == "off":
        return _disabled_ping(env, item, probe)
    if effective == "on":
        item = _next_report(env, item, probe)
        add_catalogue(env, item, probe)
        return item
    add_catalogue(env, item, probe)
    item["notes"].append("Ray's own state can't be decided: %s" % native.get("detail"))
    for trap in native.get("traps") or ():
        item["notes"].append(trap.get("problem", ""))
    item["destination"] = _destination(env, probe)
    return item


def _destination(env, probe):
    if probe.ok:
        return probe.data["url"]
    return ray_sessions.destination(env.environ)


def _not_installed_note(probe):
    if probe.missing:
        return "Ray is not importable here (missing module %s), so the body is described, not " \
               "built by Ray" % probe.missing
    return "Ray's own code could not build the body (%s), so it is described, not built" % probe.error


# ----------------------------------------------------------------------------- off


def _disabled_ping(env, item, probe):
    if probe.ok and not probe.data.get("has_disabled_ping", True):
        # An older Ray (2.9): its dashboard logs "Usage reporting is disabled." and sends nothing.
        item["will_send"] = False
        item["when"] = "never, while usage stats are off"
        item["notes"].append("Ray %s has no \"disabled ping\" (it came in a later release): with "
                             "usage stats off its dashboard sends nothing." % probe.data.get("version"))
        return item
    item["will_send"] = True
    item["when"] = "at the next `ray start --head`"
    item["kind"] = "disabled-ping"
    item["destination"] = _destination(env, probe)
    item["notes"].append("Ray sends this \"disabled ping\" even though usage stats are off, once "
                         "per `ray start --head`, and it leaves no local trace (no file, no log "
                         "line with its body). No Ray setting stops it; blocking the host, or "
                         "pointing RAY_USAGE_STATS_REPORT_URL at a local sink, does.")
    item["notes"].append("`ray.init()` local clusters don't send it.")
    for path in _live_sessions_reporting(env):
        # The dashboard reads the switch once, at start: a cluster started while usage
        # stats were on keeps reporting whatever is decided now.
        item["notes"].append("The running cluster of session %s started with usage stats on: it "
                             "keeps sending full reports every %d s until it is stopped "
                             "(`ray stop`)." % (path, _interval(env.environ)))
    if probe.ok:
        result.set_body(item, probe.data["disabled_body"])
        item["exact"] = True
        item["notes"].append("Built by Ray %s's own generate_disabled_report_data(); only "
                             "collect_timestamp_ms differs: Ray sets it when it sends."
                             % probe.data.get("version"))
        return item
    item["notes"].append(_not_installed_note(probe))
    item["fields"] = {
        "schema_version": "Ray's report schema version",
        "source": "RAY_USAGE_STATS_SOURCE, else \"OSS\"",
        "collect_timestamp_ms": "the time of sending, in ms since the epoch",
        "every other field": None,
    }
    return item


# ------------------------------------------------------------------------------ on


def _next_report(env, item, probe):
    item["will_send"] = True
    item["kind"] = "report"
    interval = _interval(env.environ)
    item["destination"] = _destination(env, probe)
    sessions = ray_sessions.list_sessions(ray_sessions.candidate_roots(env.environ))
    live = live_session_processes()
    session = next((s for s in sessions if os.path.realpath(s.path) in (live or {})), None)
    if session is None:
        return _fields_only(env, item, probe, interval, sessions[0] if sessions else None, live)

    item["session"] = {"dir": session.path, "name": session.name}
    dashboard_env = _dashboard_environ(live[os.path.realpath(session.path)])
    if dashboard_env is not None:
        # The running dashboard reads its interval and URL from its own environment.
        interval = _interval(dashboard_env)
        item["destination"] = dashboard_env.get("RAY_USAGE_STATS_REPORT_URL") or \
            ray_sessions.DEFAULT_REPORT_URL
        item["notes"].append("Interval and destination are those of the running dashboard's own "
                             "environment.")
    if _dashboard_says_disabled(session.path):
        item["will_send"] = False
        item["notes"].append("This cluster's dashboard logged \"Usage reporting is disabled.\" when "
                             "it started: it sends no periodic reports until it is restarted.")
        return item
    payload, skipped = ray_sessions.read_session(session, env.environ)
    if payload is None:
        if skipped is not None:
            item["notes"].append("%s: %s" % (skipped.path, skipped.reason))
        item["when"] = "about %d s after the head started (Ray waits min(60, interval) s before " \
                       "the first report)" % min(60, interval)
        item["fields"] = _field_names(probe)
        item["notes"].append("No report yet in this session: the first one (seq_number 0) fills "
                             "these fields from the cluster.")
        return item
    last = json.loads(payload.body)
    upcoming = next_from_last(last, payload.outcome == "sent")
    result.set_body(item, json.dumps(upcoming))
    item["last_report"] = {"seq_number": last.get("seq_number"), "outcome": payload.outcome,
                           "when": payload.as_dict()["when"], "file": payload.source_file}
    item["when"] = _when_next(last, interval)
    item["interval_s"] = interval
    item["notes"].append("Predicted from the session's last report: seq_number + 1 and the "
                         "success/failure counts after its outcome; collect_timestamp_ms is set at "
                         "send time, and Ray re-reads the cluster's resources, nodes, jobs and "
                         "usage tags then, so those values may change.")
    item["notes"].append("Session id %s is what a deletion request to usage_stats@ray.io needs."
                         % last.get("session_id"))
    return item


def next_from_last(last, last_succeeded):
    """The next report as Ray's dashboard will build it, from the last one it wrote."""
    upcoming = dict(last)  # keeps Ray's key order
    upcoming["collect_timestamp_ms"] = AT_SEND_TIME
    for key, bump in (("total_success", last_succeeded), ("total_failed", not last_succeeded)):
        if isinstance(last.get(key), int):
            upcoming[key] = last[key] + (1 if bump else 0)
    if isinstance(last.get("seq_number"), int):
        upcoming["seq_number"] = last["seq_number"] + 1
    return upcoming


def _when_next(last, interval):
    stamp = last.get("collect_timestamp_ms")
    if not isinstance(stamp, (int, float)):
        return "within %d s" % interval
    at = datetime.datetime.fromtimestamp(stamp / 1000.0, datetime.timezone.utc)
    if last.get("seq_number") == 0:
        # usage_stats_head.run: after the first report, a random 0..interval s pause.
        latest = at + datetime.timedelta(seconds=interval)
        return "between %s and %s (Ray waits a random 0-%d s before its second report)" % (
            _iso(at), _iso(latest), interval)
    return "about %s (%d s after the last report)" % (_iso(at + datetime.timedelta(seconds=interval)),
                                                       interval)


def _fields_only(env, item, probe, interval, newest, live):
    item["fields"] = _field_names(probe)
    item["when"] = "about %d s after the next `ray start --head`, then every %d s" % (
        min(60, interval), interval)
    item["interval_s"] = interval
    if not probe.ok:
        item["notes"].append(_not_installed_note(probe))
    if newest is not None:
        why = "no running Ray process uses it" if live is not None else \
            "usagectl can't tell whether it is running on this system"
        item["notes"].append("No live Ray session: the newest, %s, is not used for the preview (%s). "
                             "A new cluster starts over at seq_number 0." % (newest.path, why))
    else:
        item["notes"].append("No Ray session found: the first report of the next cluster "
                             "(seq_number 0) fills these fields.")
    return item


def _field_names(probe):
    if probe.ok:
        return probe.data["fields"]
    return None


def add_catalogue(env, item, probe):
    """Each field of the report (the installed Ray's own dataclass, else usagectl's
    catalogue) with what it can carry, and the free text the user's environment adds."""
    from usagectl.frameworks.ray import catalogue

    names = probe.data["fields"] if probe.ok else [entry["name"] for entry in catalogue.FIELDS]
    item["field_catalogue"] = catalogue.entries_for(names)
    if probe.ok:
        # The installed Ray's own report fields: what "no surprises" compares (preview.fieldsets).
        item["field_sets"] = {"report": list(names)}
        item["framework_version"] = probe.data.get("version")
    tags = catalogue.extra_tags(env.environ)
    if tags:
        item["extra_usage_tags_from_env"] = tags
        item["warnings"] = item.get("warnings", []) + [
            "RAY_USAGE_STATS_EXTRA_TAGS adds %d free-text tag(s) to every report: %s"
            % (len(tags), ", ".join("%s=%s" % kv for kv in tags.items()))]


def _interval(environ):
    raw = environ.get("RAY_USAGE_STATS_REPORT_INTERVAL_S")
    try:
        return int(raw) if raw is not None else DEFAULT_INTERVAL_S
    except ValueError:
        return DEFAULT_INTERVAL_S


def _iso(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------- live sessions


def live_session_processes(proc="/proc"):
    """{realpath of a session dir: [pids]} for processes started with --session-dir (Linux).

    Ray passes the session dir to raylet, GCS, dashboard and agents on their command
    lines; a session with such a process is live. None when /proc can't be read.
    """
    try:
        entries = os.listdir(proc)
    except OSError:
        return None
    live = {}
    for pid in entries:
        if not pid.isdigit():
            continue
        try:
            with open(os.path.join(proc, pid, "cmdline"), "rb") as handle:
                args = handle.read(64 * 1024).split(b"\0")
        except OSError:
            continue
        for arg in args:
            for flag in (b"--session-dir=", b"--session_dir="):
                if arg.startswith(flag):
                    path = os.fsdecode(arg[len(flag):])
                    live.setdefault(os.path.realpath(path), []).append((int(pid), args))
    return live


def _dashboard_environ(processes, proc="/proc"):
    """The environment of the session's dashboard process, when we may read it."""
    for pid, args in processes:
        if not any(a.endswith(b"dashboard.py") for a in args):
            continue
        try:
            with open(os.path.join(proc, str(pid), "environ"), "rb") as handle:
                raw = handle.read(1024 * 1024)
        except OSError:
            return None
        environ = {}
        for item in raw.split(b"\0"):
            key, sep, value = item.partition(b"=")
            if sep:
                environ[os.fsdecode(key)] = os.fsdecode(value)
        return environ
    return None


def _live_sessions_reporting(env):
    """Live session dirs whose dashboard logged that usage reporting is enabled."""
    live = live_session_processes() or {}
    found = []
    for session in ray_sessions.list_sessions(ray_sessions.candidate_roots(env.environ)):
        if os.path.realpath(session.path) in live and _dashboard_logged(session.path, b"enabled"):
            found.append(session.path)
    return found


def _dashboard_logged(session_path, word):
    """Did this cluster's dashboard log that usage reporting is ``word`` (b"enabled" or
    b"disabled")? The same reading of dashboard.log as running.usage_decision."""
    from usagectl.frameworks.ray.running import usage_decision

    return usage_decision(session_path) is (word == b"enabled")


def _dashboard_says_disabled(session_path):
    """Did this cluster's dashboard log that reporting is disabled? (It decides once, at start.)"""
    return _dashboard_logged(session_path, b"disabled")
