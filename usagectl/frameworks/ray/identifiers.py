"""Ray's session (cluster) ids: from usage_stats.json, gcs_server.out and raylet.out."""

import os
import re

from usagectl.core.identifiers import MAX_FILES, add_problem, trusted_log_lines

#: Ray session / cluster ids are 28 bytes, printed as 56 hex characters.
_RAY_ID = r"[0-9a-f]{56}"
_GCS_LINE = re.compile(r"Generated new cluster ID\..*?cluster_id=(" + _RAY_ID + r")\b")
_RAYLET_LINE = re.compile(r"Setting cluster ID to: (" + _RAY_ID + r")\b")


def gather(env, found):
    """Only the ids Ray's server received: a session whose usage_stats.json records a report
    that reached it, or one usagectl's hook recorded as delivered. A session without a
    report (usage stats off, or a ray.init() cluster) never sent its id: it is left out,
    and its logs, which hold the id too, are not read for it."""
    from usagectl.core import delivery as deliveries
    from usagectl.frameworks.ray import records as ray_sessions

    sessions = ray_sessions.list_sessions(ray_sessions.candidate_roots(env.environ,
                                                                       env.search_globs("ray")))
    never_sent = 0
    for session in sessions[:MAX_FILES]:
        payload, skipped = ray_sessions.read_session(session, env.environ)
        add_problem(found, skipped)
        session_id = payload.identifiers.get("session_id") if payload is not None else None
        how = _received(payload, deliveries) if session_id else None
        if how is None:
            never_sent += skipped is None
            continue
        found.add("session_id", session_id, payload.source_file, how)
        for name, pattern in (("gcs_server.out", _GCS_LINE), ("raylet.out", _RAYLET_LINE)):
            log_path = os.path.join(session.path, "logs", name)
            for line in trusted_log_lines(log_path, found):
                if "cluster ID" not in line:
                    continue
                match = pattern.search(line)
                if match and match.group(1) == session_id:
                    found.add("session_id", session_id, log_path)
                    break
    _from_ledger(env, found, deliveries)
    if never_sent:
        found.notes.append("%d Ray session(s) left out: they never reported (usage stats off, or a "
                           "ray.init() cluster), so Ray never received their id" % never_sent)


def _received(payload, deliveries):
    """Why Ray's server has this session's id, or None when nothing shows it does."""
    seq = payload.identifiers.get("seq_number")
    when = _when(payload)
    if payload.delivery == deliveries.DELIVERED:
        status = " (HTTP %s)" % payload.http_status if payload.http_status else ""
        return "Ray's report #%s reached the server%s at %s (usage_stats.json)" % (seq, status, when)
    if seq not in (None, "0"):
        # Ray keeps only the last report; #0 .. #seq-1 were attempted before it.
        return ("Ray's last report (#%s, %s) did not arrive, but it had made %s earlier attempts"
                % (seq, when, seq))
    return None


def _from_ledger(env, found, deliveries):
    from usagectl.core import ledger_scan

    by_framework, skipped = ledger_scan.scan(env.environ, ["ray"], limit=None)
    for item in skipped:
        add_problem(found, item)
    for payload in reversed(by_framework["ray"]):  # oldest first
        session_id = payload.identifiers.get("session_id")
        if session_id and payload.delivery == deliveries.DELIVERED:
            when = _when(payload)
            found.add("session_id", session_id, payload.source_file,
                      "usagectl's hook recorded Ray's report reaching the server at %s (sent ledger)" % when)


def _when(payload):
    return payload.when.strftime("%Y-%m-%dT%H:%M:%SZ") if payload.when else "an unknown time"
