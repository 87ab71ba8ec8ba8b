"""Ray's session (cluster) ids: from usage_stats.json, gcs_server.out and raylet.out."""

import os
import re

from usagectl.core.identifiers import MAX_FILES, add_problem, trusted_log_lines

#: Ray session / cluster ids are 28 bytes, printed as 56 hex characters.
_RAY_ID = r"[0-9a-f]{56}"
_GCS_LINE = re.compile(r"Generated new cluster ID\..*?cluster_id=(" + _RAY_ID + r")\b")
_RAYLET_LINE = re.compile(r"Setting cluster ID to: (" + _RAY_ID + r")\b")


def gather(env, found):
    from usagectl.frameworks.ray import records as ray_sessions

    sessions = ray_sessions.list_sessions(ray_sessions.candidate_roots(env.environ,
                                                                       env.search_globs("ray")))
    for session in sessions[:MAX_FILES]:
        payload, skipped = ray_sessions.read_session(session, env.environ)
        add_problem(found, skipped)
        if payload is not None:
            found.add("session_id", payload.identifiers.get("session_id"), payload.source_file)
        for name, pattern in (("gcs_server.out", _GCS_LINE), ("raylet.out", _RAYLET_LINE)):
            log_path = os.path.join(session.path, "logs", name)
            for line in trusted_log_lines(log_path, found):
                if "cluster ID" not in line:
                    continue
                match = pattern.search(line)
                if match:
                    found.add("session_id", match.group(1), log_path)
                    break
