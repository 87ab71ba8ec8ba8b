"""Parsl: opt-in usage tracking set in code with Config(usage_tracking=0..3).

Parsl has no settings file and no environment variable: each script chooses its
level in its Config, default 0 (off). So there is nothing for `apply` to write; the
runtime hook (hook.py here, run by usagectl.hook) is Parsl's mechanism, capping the
level every UsageTracker computes at the consent level.
"""

from usagectl.frameworks.base import Framework, hook_works  # noqa: F401  (siblings import hook_works here)

NATIVE_SOURCE = "code:Config.usage_tracking"  # set in each script; Parsl's default is 0


def before_levels():
    """True when the installed Parsl predates tracking levels (2024.3 and older: a
    boolean Config(usage_tracking=True) and PARSL_TRACKING). Read from its source file,
    without importing Parsl (slow), nor importlib.metadata (30 ms, most of what
    `usagectl status` would cost): the import system's own finder locates the package."""
    import importlib.util
    import os

    try:
        spec = importlib.util.find_spec("parsl")
        if spec is None or not spec.origin:
            return False
        path = os.path.join(os.path.dirname(spec.origin), "usage_tracking", "usage.py")
        from usagectl import _files

        with _files.open_regular(path) as handle:
            text = handle.read(1 << 20).decode("utf-8")
    except (ImportError, OSError, UnicodeDecodeError, ValueError):
        return False
    return "def check_tracking_level" not in text and "def check_tracking_enabled" in text


class Parsl(Framework):
    name = "parsl"
    title = "Parsl"
    own_default = "off"
    own_default_note = "Parsl tracks usage only when Config(usage_tracking=...) asks for it"
    has_levels = True
    max_level = 3
    endpoints = ("tracking.parsl-project.org",)
    python_package = "parsl"
    deletion_note = ("Parsl documents no way to ask for usage data to be deleted; its only contact is "
                     "the public mailing list parsl@googlegroups.com, where whatever is sent is "
                     "published with the identifiers")
    public_contacts = ("parsl@googlegroups.com",)
    deletion_holds = ("the usage-tracking messages of my workflows (versions, platform, the "
                      "components of each Config, start and end times, app counts)")
    identifier_labels = {"correlator": "Parsl usage-tracking correlator",
                         "project_name": "Parsl project name"}
    hook_imports = {"parsl.usage_tracking.usage": ("after", "patch_usage")}
    payload_frames = {("parsl.usage_tracking.usage", "udp_messenger"): "message"}

    def detect(self, env):
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("parsl")
        except PackageNotFoundError:
            return {"installed": False, "version": None, "files": []}
        return {"installed": True, "version": found, "files": []}

    def native_state(self, env):
        """Parsl's own answer without usagectl: off, unless a script sets a level (which
        usagectl cannot see). What the runtime hook makes of it: ``hooked_state``."""
        if before_levels():
            detail = ("off unless a script sets Config(usage_tracking=True) (this Parsl has no "
                      "levels; PARSL_TRACKING=false also turns it off); Parsl has no file")
        else:
            detail = ("off unless a script sets Config(usage_tracking=1..3); Parsl has no file or "
                      "environment variable")
        return {"mode": "off", "source": NATIVE_SOURCE, "detail": detail, "traps": []}

    def hooked_state(self, env, decision, hook):
        """The effective state once the runtime hook (state ``hook``) caps every script."""
        cap = 0 if decision.mode in ("off", "local") else decision.level
        if hook_works(hook) and cap == 0:
            return {"mode": "off", "level": 0, "via": "hook",
                    "detail": "the runtime hook caps every Config(usage_tracking=...) at 0"}
        if hook_works(hook) and cap is not None and cap < self.max_level and before_levels():
            return {"mode": "off", "level": 0, "via": "hook",
                    "detail": "this Parsl has no levels and its one message holds what level 3 "
                              "holds: the runtime hook turns it off under a cap of %d" % cap}
        if hook_works(hook) and cap is not None:
            return {"mode": "on", "level": cap, "via": "hook",
                    "detail": "scripts choose their level; the runtime hook caps it at %d" % cap}
        if hook_works(hook):
            return {"mode": "unknown", "level": None, "via": "code",
                    "detail": "scripts choose their level; the consent sets no cap"}
        return {"mode": "unknown", "level": None, "via": "code",
                "detail": "scripts choose their level; without the runtime hook in this "
                          "environment usagectl cannot cap it"}

    def hook_notes(self, hook):
        """What `sync` says about Parsl: its only mechanism is the hook."""
        if hook_works(hook):
            note = ("Parsl has no settings file; the runtime hook in %s caps its tracking level "
                    "at run time" % hook["path"])
            if not hook.get("current"):
                note += " (the file is not current: run `usagectl hook install`)"
        else:
            note = ("Parsl has no settings file; its mechanism is the runtime hook, which is not "
                    "installed in this environment: run `usagectl hook install` (with --python "
                    "for the environment that runs Parsl)")
        return [note]

    # ------------------------------------------------------------- records
    def scan_records(self, env, limit, since, trust, paths):
        from usagectl.frameworks.parsl import records

        return records.scan(env, paths, limit, since, trust)

    def follow_source(self, env, trust, paths):
        from usagectl.frameworks.parsl import records

        return records.Follower(env, trust, paths)

    def display_body(self, payload):
        # The datagram is b"1" + JSON: show the JSON.
        body = payload.body
        if payload.transport == "udp" and body is not None and body[:1] == b"1":
            return body[1:]
        return None

    # ------------------------------------------------------------- preview
    preview_config = "the Config your workflow loads: MODULE:ATTR or FILE.py[:ATTR]"

    def forgettable(self, env):
        return [{"kind": "correlator", "path": None, "resettable": False,
                 "how": "a new UUID for each run: nothing links runs"},
                {"kind": "project_name", "path": None, "resettable": False,
                 "how": "set in your own Config(project_name=...): remove it there"}]

    def body_fields(self, payload):
        import json

        from usagectl.frameworks.parsl.preview import section_name

        body = payload.body
        if body is None:
            return None
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        try:
            message = json.loads(raw[1:] if raw[:1] == b"1" else raw)
        except (ValueError, RecursionError, UnicodeDecodeError):
            return None
        if not isinstance(message, dict):
            return None
        kind = "end" if "end" in message else "start"
        level = message.get("tracking_level", 3 if kind == "end" and "correlator" in message else None)
        return section_name(kind, level), sorted(message)

    def field_catalogue(self):
        from usagectl.frameworks.parsl import catalogue

        def rows(table, when):
            return [dict(f, when=when(f)) for f in table]

        def level(field):
            return "level %d+" % field["level"]

        return [{"title": "Start message (UDP, when a workflow starts, at its Config's level)",
                 "source": "Parsl 2026.10.26 `parsl/usage_tracking/usage.py`, `construct_start_message`",
                 "fields": rows(catalogue.START, level)},
                {"title": "End message (UDP, at the workflow's cleanup, level 3 only)",
                 "source": "Parsl 2026.10.26 `construct_end_message`",
                 "fields": rows(catalogue.END, level)},
                {"title": "Parsl 2024.3 and older (no levels): start and end messages",
                 "source": "Parsl 2024.3.4 `parsl/usage_tracking/usage.py`",
                 "fields": rows(catalogue.LEGACY["start"], lambda f: "start")
                 + rows(catalogue.LEGACY["end"], lambda f: "end")}]

    def preview(self, env, decision, native, level=None, config=None):
        from usagectl.frameworks.parsl import preview

        return preview.preview(env, decision, native, level=level, config=config)

    # -------------------------------------------------------- own code
    def probe_file(self):
        return self._sibling(__file__, "probe.py")

    def hook_file(self):
        return self._sibling(__file__, "hook.py")

    # ----------------------------------------------------------- deletion
    def gather_identifiers(self, env, found):
        from usagectl.frameworks.parsl import identifiers

        identifiers.gather(env, found)


FRAMEWORK = Parsl()
