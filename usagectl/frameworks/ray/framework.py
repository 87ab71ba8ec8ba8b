"""Ray: usage stats reported by the head node's dashboard (see shared FRAMEWORKS notes).

Ray decides in ``ray/_common/usage/usage_lib.py: _usage_stats_enabledness()``, on every
call, from (highest first):

1. env ``RAY_USAGE_STATS_ENABLED``: exactly "0" or "1"; any other value (even "" or
   "true") raises ValueError, so ``ray start`` fails;
2. ``usage_stats`` in the JSON file ``$RAY_USAGE_STATS_CONFIG_PATH`` (else
   ``~/.ray/config.json``): JSON true/false; a string or number raises ValueError;
   a missing key, null, unreadable or invalid JSON, or a non-object top level are ignored;
3. enabled by default.

This module models that without importing Ray (importing it costs ~0.35 s); the tests
compare the model with Ray's own function across a table of cases.
"""

import json
import os

from usagectl.core.environment import expanduser_like_python
from usagectl.frameworks.base import Framework

ENV_VAR = "RAY_USAGE_STATS_ENABLED"
CONFIG_PATH_VAR = "RAY_USAGE_STATS_CONFIG_PATH"
KEY = "usage_stats"


def config_path(env):
    """The file Ray reads ``usage_stats`` from (an empty override is used as given)."""
    if CONFIG_PATH_VAR in env.environ:
        return env.environ[CONFIG_PATH_VAR]
    return expanduser_like_python(env.environ, "~/.ray/config.json")


def _read_config_value(path):
    """What Ray's reader gets from the file: (status, value, reason).

    status is "missing", "ignored" (Ray swallows the error and falls through) or "value"
    (value is whatever ``config.get("usage_stats")`` returns, None included). Opened in
    text mode with the default encoding, exactly as Ray does.
    """
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode) and not stat.S_ISDIR(os.stat(path).st_mode):
            # A FIFO (or device) here: Ray's open() would wait for a writer; we never do.
            return "blocked", None, "not a regular file: Ray blocks reading it when it starts"
    except OSError:
        pass
    import io

    from usagectl import _files

    try:
        # Text mode with the default encoding, as Ray opens it; never blocking on a FIFO.
        with io.TextIOWrapper(_files.open_regular(path)) as handle:
            config = json.load(handle)
    except FileNotFoundError:
        return "missing", None, None
    except Exception as exc:  # Ray: logger.debug(...) and carry on
        return "ignored", None, _short_reason(exc)
    if not isinstance(config, dict):
        # Ray calls config.get(...), which raises AttributeError, caught the same way.
        return "ignored", None, "the top level is %s, not an object" % _json_type(config)
    return "value", config.get(KEY), None


def _short_reason(exc):
    if isinstance(exc, json.JSONDecodeError):
        return "not valid JSON (line %d: %s)" % (exc.lineno, exc.msg)
    if isinstance(exc, UnicodeDecodeError):
        return "not text in the locale's encoding"
    if isinstance(exc, OSError):
        return "can't be read (%s)" % (exc.strerror or exc.__class__.__name__)
    return exc.__class__.__name__


def _json_type(value):
    return {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


class Ray(Framework):
    name = "ray"
    title = "Ray"
    own_default = "on"
    own_default_note = "Ray reports usage stats unless told not to"
    endpoints = ("usage-stats.ray.io",)
    python_package = "ray"
    # Each session's usage_stats.json is rewritten by every report: only the last stays.
    records_keep_last_only = True
    records_notes = (
        "With usage stats disabled, each `ray start --head` still POSTs one disabled ping and "
        "leaves no local trace of it; it is listed here only when the usagectl runtime hook "
        "recorded it in the sent ledger.",)
    deletion_channel = {
        "email": "usage_stats@ray.io",
        "source": "Ray's usage-stats documentation: email usage_stats@ray.io with the session id(s) "
                  "of the clusters whose data should be deleted",
    }
    identifier_labels = {"session_id": "Ray session id (cluster id)"}
    deletion_holds = ("the usage stats reports of each session (Ray and Python versions, OS, "
                      "cluster size and hardware, libraries used, extra usage tags)")
    # The usage module moved: ray._common.usage in 2.60, ray._private.usage before (2.9,
    # 2.35); UsageReportClient.report_usage_data has the same shape in both.
    hook_imports = {"ray": ("before", "before_import"),
                    "ray._common.usage.usage_lib": ("after", "patch_usage_lib"),
                    "ray._private.usage.usage_lib": ("after", "patch_usage_lib")}
    # Without runtime.py the .pth can still turn Ray off: its switch is an env var.
    hook_fallback_env = {"ray": {ENV_VAR: "0"}}

    # ------------------------------------------------------------------ detect
    def detect(self, env):
        from importlib import metadata, util

        installed = util.find_spec("ray") is not None
        version = None
        if installed:
            try:
                version = metadata.version("ray")
            except metadata.PackageNotFoundError:
                version = None
        path = config_path(env)
        files = [path] if path and os.path.isfile(path) else []
        return {"installed": installed, "version": version, "files": files}

    # ------------------------------------------------------------ native state
    def native_state(self, env):
        path = config_path(env)
        traps = []
        status, value, reason = _read_config_value(path)
        file_source = "file:" + path
        file_trap = None
        if status == "value" and value is not None and not isinstance(value, bool):
            file_trap = {"variable": KEY, "file": path, "value": value,
                         "problem": "Ray accepts only JSON true or false here; with %s it raises "
                                    "ValueError, so `ray start` fails" % json.dumps(value)}

        raw = env.environ.get(ENV_VAR)
        if raw is not None:
            if raw == "0":
                state = _state("off", "env:" + ENV_VAR, "%s=0 in the environment turns usage stats "
                               "off (it overrides %s)" % (ENV_VAR, path))
            elif raw == "1":
                state = _state("on", "env:" + ENV_VAR, "%s=1 in the environment turns usage stats "
                               "on (it overrides %s)" % (ENV_VAR, path))
            else:
                traps.append({"variable": ENV_VAR, "value": raw,
                              "problem": "Ray accepts only 0 or 1; with %r it raises ValueError, so "
                                         "`ray start` and `ray up` fail" % raw})
                state = _state("unknown", "env:" + ENV_VAR, "%s=%r is not 0 or 1: Ray refuses to start "
                               "instead of deciding" % (ENV_VAR, raw))
            if file_trap is not None:
                # Latent: Ray reaches the file only when the env var is unset.
                file_trap["problem"] += " once %s is unset" % ENV_VAR
                traps.append(file_trap)
            state["traps"] = traps
            return state

        if status == "blocked":
            state = _state("unknown", file_source, "%s is %s" % (path, reason))
        elif status == "missing":
            state = _state("on", "default", "no %s: Ray's default applies (usage stats on)" % path)
        elif status == "ignored":
            state = _state("on", "default", "Ray ignores %s because it is %s, so its default applies "
                           "(usage stats on)" % (path, reason))
        elif value is True:
            state = _state("on", file_source, "%s says \"usage_stats\": true" % path)
        elif value is False:
            state = _state("off", file_source, "%s says \"usage_stats\": false" % path)
        elif value is None:
            state = _state("on", "default", "%s doesn't set \"usage_stats\", so Ray's default applies "
                           "(usage stats on)" % path)
        else:
            traps.append(file_trap)
            state = _state("unknown", file_source, "\"usage_stats\" in %s is not true or false: Ray "
                           "refuses to start instead of deciding" % path)
        state["traps"] = traps
        return state

    # ------------------------------------------------------------------- apply
    def apply(self, env, decision, repair=False):
        from usagectl.core import fsutil, jsonfile
        from usagectl.core.errors import FrameworkFileDamaged

        result = {"changed": [], "notes": [], "side_channels_closed": []}
        if decision.mode == "unset":
            return result
        want = decision.mode == "on"
        path = config_path(env)
        if not path:
            result["notes"].append("%s is set but empty, so Ray has no config file to write" % CONFIG_PATH_VAR)
            return result
        with fsutil.locked(path, lock_path=fsutil.foreign_lock_path(env, path)):
            # Ray rewrites this file in place (open "w"): a view read while it does is
            # empty or cut, and a rewrite from it would lose auth_token and every other key.
            try:
                data, config, seen = fsutil.read_settled(path, "JSON",
                                                         lambda raw: jsonfile.parse_object(raw, path))
            except FrameworkFileDamaged:
                if not repair:
                    raise
                data = fsutil.read_settings_file(path, "JSON")
                seen = fsutil.fingerprint(path)
                fsutil.keep_damaged_copy(path, data, env.now(), result["notes"])
                config = {}
            config = config if data is not None else {}
            if data is None or config.get(KEY) is not want:
                config[KEY] = want  # updates in place: other keys keep their order and values
                fsutil.atomic_write(path, jsonfile.dumps_compact(config), expect=seen)
                result["changed"].append(path)
        raw = env.environ.get(ENV_VAR)
        if raw is not None and raw != ("1" if want else "0"):
            result["notes"].append("%s=%s in this environment overrides %s for processes started "
                                   "from it" % (ENV_VAR, raw, path))
        if not want and result["changed"]:
            result["notes"].append("Ray still sends one \"disabled\" ping (no cluster data) each time "
                                   "`ray start --head` runs; the file can't stop that")
        return result

    # ------------------------------------------------------------ side channels
    def export_formats(self):
        from usagectl.frameworks.ray.export import FORMATS

        return FORMATS

    def env_vars(self, decision):
        if decision.mode == "unset":
            return []
        return [(ENV_VAR, "1" if decision.mode == "on" else "0")]

    def side_channels(self, env):
        return [{
            "name": "disabled-ping",
            "detail": "each `ray start --head` with usage stats off still POSTs one report to "
                      "RAY_USAGE_STATS_REPORT_URL (%s) with every field null except schema_version, "
                      "source and collect_timestamp_ms; Ray keeps no record of it (the usagectl "
                      "runtime hook records it in the sent ledger)"
                      % (env.environ.get("RAY_USAGE_STATS_REPORT_URL") or "by default https://usage-stats.ray.io/"),
            "how_to_close": "point RAY_USAGE_STATS_REPORT_URL at an address that drops it (e.g. a "
                            "closed local port) for the shells and services that start heads, or "
                            "block usage-stats.ray.io; no Ray setting stops it",
        }, {
            "name": "cloud-metadata-probe",
            "detail": "with usage stats on, the head probes cloud metadata endpoints "
                      "(169.254.169.254) to fill cloud_provider and instance types",
            "how_to_close": "turn usage stats off",
            "only_when_on": True,
        }]

    def blackhole_env(self, url):
        # The disabled ping goes to the report URL like every report: point it elsewhere.
        return [("RAY_USAGE_STATS_REPORT_URL", url)]

    def configured_endpoints(self, env):
        # usage_lib._usage_stats_report_url(): the variable, else the default.
        url = env.environ.get("RAY_USAGE_STATS_REPORT_URL")
        return [(url, "env:RAY_USAGE_STATS_REPORT_URL")] if url else []

    # ------------------------------------------------------------- running
    def running(self, env):
        from usagectl.frameworks.ray import running

        found = running.heads()
        if found is None:
            return None
        return [{"pid": h["pid"], "started": h["started"], "reporting": h["reporting"],
                 "what": "Ray head (dashboard pid %d%s)" % (h["pid"], ", session %s" % h["session_dir"]
                                                            if h["session_dir"] else ""),
                 "restart": "`ray stop` and `ray start --head` again (it decided when it started)"}
                for h in found]

    # ------------------------------------------------------------- records
    def scan_records(self, env, limit, since, trust, paths):
        from usagectl.frameworks.ray import records

        return records.scan(env.environ, env.search_globs(self.name) + list(paths), limit, since, trust)

    def inferred_sends(self, env, since):
        from usagectl.frameworks.ray import records

        return records.inferred_disabled_pings(env.environ, env.search_globs(self.name), since)

    def follow_source(self, env, trust, paths):
        from usagectl.frameworks.ray import records

        return records.Follower(env, trust, paths)

    # ------------------------------------------------------------- preview
    def forgettable(self, env):
        return [{"kind": "session_id", "path": None, "resettable": False,
                 "how": "each new cluster gets a new session id: nothing links its reports to earlier ones"}]

    def body_fields(self, payload):
        import json

        if payload.kind != "report" or payload.body is None:
            return None
        try:
            report = json.loads(payload.body)
        except (ValueError, RecursionError):
            return None
        return ("report", sorted(report)) if isinstance(report, dict) else None

    def field_catalogue(self):
        from usagectl.frameworks.ray import catalogue

        ping = {"schema_version", "source", "collect_timestamp_ms"}
        return [{"title": "Usage report (every report interval, while the head runs with usage stats on)",
                 "source": "Ray 2.60.0 `ray/_common/usage/usage_lib.py`, `UsageStatsToReport`",
                 "fields": [dict(f, when="") for f in catalogue.FIELDS]},
                {"title": "Disabled ping (once per `ray start --head` with usage stats off, Ray 2.10+)",
                 "source": "Ray 2.60.0 `usage_lib.generate_disabled_report_data`: every other field null",
                 "fields": [dict(f, when="") for f in catalogue.FIELDS if f["name"] in ping]}]

    def preview(self, env, decision, native, level=None):
        from usagectl.frameworks.ray import preview

        return preview.preview(env, decision, native, level=level)

    # -------------------------------------------------------- own code
    def probe_file(self):
        return self._sibling(__file__, "probe.py")

    def says(self, probe):
        return None if "enabled" not in probe else ("on" if probe["enabled"] else "off")

    def hook_file(self):
        return self._sibling(__file__, "hook.py")

    # ----------------------------------------------------------- deletion
    def gather_identifiers(self, env, found):
        from usagectl.frameworks.ray import identifiers

        identifiers.gather(env, found)


def _state(mode, source, detail):
    return {"mode": mode, "source": source, "detail": detail, "traps": []}


FRAMEWORK = Ray()
