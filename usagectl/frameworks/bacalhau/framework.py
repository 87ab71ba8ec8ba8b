"""Bacalhau: analytics from `bacalhau serve` orchestrators, switched by DisableAnalytics.

Bacalhau (Go) decides, highest first: ``-c DisableAnalytics=<bool>`` on a command line
(invisible to us); env ``BACALHAU_DISABLEANALYTICS`` (empty is ignored; Go's
strconv.ParseBool values, anything else makes ``bacalhau serve`` fail); config files
given with ``-c``; only when none is given ``$DataDir/config.yaml`` (keys
case-insensitive); default false, i.e. analytics on. DataDir is ``BACALHAU_DATADIR``,
else ``BACALHAU_DIR``, else ``~/.bacalhau``.

DisableAnalytics does not stop the daily update check, which carries the installation
and instance IDs: only ``UpdateConfig.Interval`` <= 0 does.
"""

import os

from usagectl.frameworks.base import Framework

ENV_DISABLE = "BACALHAU_DISABLEANALYTICS"
ENV_INTERVAL = "BACALHAU_UPDATECONFIG_INTERVAL"
#: Where systemd keeps unit files (a drop-in goes under /etc/systemd/system/UNIT.d/).
SYSTEMD_UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
DROPIN_NAME = "usagectl.conf"
DROPIN_MARKER = b"# Managed by usagectl --system: Bacalhau analytics follow the system policy."
KEY_DISABLE = "DisableAnalytics"
KEY_UPDATE = "UpdateConfig"
KEY_INTERVAL = "Interval"
#: The top-level keys of config.yaml usagectl reads (lower case): all its digest record keeps.
_REMEMBERED = (KEY_DISABLE.lower(), KEY_UPDATE.lower())
#: Go's strconv.ParseBool, exactly.
GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")
HEADER = ("Bacalhau configuration. DisableAnalytics and UpdateConfig.Interval are kept in step\n"
          "with your usagectl consent choice (`usagectl status bacalhau`).")


def data_dir(env):
    for name in ("BACALHAU_DATADIR", "BACALHAU_DIR"):
        value = env.environ.get(name, "")
        if value:  # viper ignores empty variables
            return env.expand(value)
    return os.path.join(env.home, ".bacalhau")


def config_path(env):
    return os.path.join(data_dir(env), "config.yaml")


def user_config_dir(env):
    """Go's os.UserConfigDir on Linux: $XDG_CONFIG_HOME if absolute, else ~/.config."""
    value = env.environ.get("XDG_CONFIG_HOME", "")
    return value if os.path.isabs(value) else os.path.join(env.home, ".config")


def installation_id_path(env):
    return os.path.join(user_config_dir(env), "bacalhau", "installation_id")


def system_metadata_path(env):
    return os.path.join(data_dir(env), "system_metadata.yaml")


def _go_bool(text):
    if text in GO_TRUE:
        return True
    if text in GO_FALSE:
        return False
    return None


def _weak_bool(value):
    """What Bacalhau makes of a non-boolean DisableAnalytics (viper decodes its config with
    mapstructure's WeaklyTypedInput; go-viper/mapstructure decodeBool): a number is true
    unless 0, a string is true/false by Go's strconv.ParseBool (1, t, T, TRUE, true, True,
    0, f, F, FALSE, false, False) or false when empty. None: it can't be decoded (serve
    refuses to start)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return False if value == "" else _go_bool(value)
    return None


def _lookup(mapping, *names):
    """(found, value, spelled keys) for a case-insensitive path; conflicting duplicates -> value None."""
    from usagectl.core import yamlfile

    node = mapping
    for index, name in enumerate(names):
        if not isinstance(node, dict):
            return False, None, []
        keys = yamlfile.find_keys(node, name)
        if not keys:
            return False, None, []
        values = [node[k] for k in keys]
        if index == len(names) - 1:
            distinct = {repr(v) for v in values}
            return True, values[0] if len(distinct) == 1 else _Conflict(values), keys
        node = values[-1]
    return False, None, []


class _Conflict:
    def __init__(self, values):
        self.values = values



def _read_config(path, environ=None):
    """(doc or None, problem sentence or None). Never raises.

    A file whose bytes usagectl wrote (or already parsed) itself is recognised by its
    digest (usagectl.core.written) and needs no YAML library, so `status` starts fast;
    anything else is parsed by ruamel.yaml, which reads YAML as Go's yaml.v3 does here.
    """
    from usagectl.core import fsutil, written
    from usagectl.core.errors import FrameworkFileDamaged

    try:
        data = fsutil.read_settings_file(path, "YAML")
        if data is None:
            return None, None
        if environ is not None:
            known = written.lookup(environ, path, data)
            if isinstance(known, dict):
                return known, None
        from usagectl.core import yamlfile

        doc, _ = yamlfile.load_mapping(data, path)
        return doc, None
    except FrameworkFileDamaged as exc:
        return None, exc.message


def _remember(env, path, data):
    """Record what these bytes hold, parsed by the full parser, for later readers."""
    from ruamel.yaml import YAML

    from usagectl.core import written

    try:
        parsed = YAML(typ="safe", pure=True).load(data.decode("utf-8"))
    except Exception:
        return
    if isinstance(parsed, dict):
        # Only the keys usagectl reads back (every spelling, so conflicts stay conflicts):
        # the rest of config.yaml can hold API tokens and keys, never copied into usagectl's state.
        kept = {k: v for k, v in parsed.items() if isinstance(k, str) and k.lower() in _REMEMBERED}
        written.remember(env.environ, path, data, kept)


def _update_check_state(env, doc, path):
    """Is the daily update check stopped? {"stopped": bool|None, "source", "value"}."""
    from usagectl.core import yamlfile

    raw = env.environ.get(ENV_INTERVAL, "")
    if raw:
        seconds = yamlfile.go_duration_seconds(raw)
        return {"stopped": None if seconds is None else seconds <= 0, "source": "env:" + ENV_INTERVAL,
                "value": raw}
    if doc is not None:
        found, value, _ = _lookup(doc, KEY_UPDATE, KEY_INTERVAL)
        if found and not isinstance(value, _Conflict) and value is not None:
            if isinstance(value, bool):
                seconds = None
            elif isinstance(value, (int, float)):
                seconds = value
            else:
                seconds = yamlfile.go_duration_seconds(str(value))
            return {"stopped": None if seconds is None else seconds <= 0, "source": "file:" + path,
                    "value": str(value)}
    return {"stopped": False, "source": "default", "value": "24h"}


def _lowercase_style(doc):
    """True when the file's top-level keys are all lower case (as `bacalhau config set` writes)."""
    keys = [k for k in doc if isinstance(k, str)]
    return bool(keys) and all(k == k.lower() for k in keys)


class Bacalhau(Framework):
    name = "bacalhau"
    title = "Bacalhau"
    own_default = "on"
    own_default_note = "Bacalhau orchestrators send analytics unless DisableAnalytics is true"
    endpoints = ("t.bacalhau.org", "get.bacalhau.org")
    program = "bacalhau"
    no_local_record = (
        "Bacalhau keeps no local record of what it sends: there is no log of payloads to show.",
        "What it sends: only `bacalhau serve` orchestrators send analytics (unless DisableAnalytics "
        "is true): OTLP logs over gRPC to t.bacalhau.org:4317 (v1.6-1.7; PostHog from v1.8) with "
        "resource attributes os.type, installation_id, instance_id, node_id_hash, node_type, "
        "node_version, and events bacalhau.job_v1.submit, bacalhau.job_v1.terminal, "
        "bacalhau.execution_v1.create, bacalhau.execution_v1.terminal, "
        "bacalhau.execution_v1.compute_message (and compute_nodes_v1.info in v1.8).",
        "Not stopped by DisableAnalytics: a daily update check to get.bacalhau.org/version carrying "
        "installation_id and instance_id, and X-Bacalhau-InstanceID / X-Bacalhau-InstallationID "
        "headers on every API call to an orchestrator.",
    )
    deletion_note = "Bacalhau documents no way to ask for analytics data to be deleted"
    deletion_holds = ("analytics events of my nodes' jobs and executions (ids, hashed names, "
                      "types, resources, states, error messages) and the update checks' ids")
    identifier_labels = {"installation_id": "Bacalhau installation_id",
                         "instance_id": "Bacalhau instance_id",
                         "node_id_hash": "Bacalhau node_id_hash (analytics resource attribute)",
                         "job_id": "Bacalhau job id", "execution_id": "Bacalhau execution id"}

    def forgettable(self, env):
        return [
            {"kind": "installation_id", "path": installation_id_path(env), "resettable": True,
             "how": "a random id Bacalhau writes once; removed, Bacalhau writes a new one when it next runs"},
            {"kind": "instance_id", "path": system_metadata_path(env), "resettable": False,
             "how": "a SHA-256 of this machine's machine-id: Bacalhau computes the same one again, so "
                    "only a new machine-id changes it"},
            {"kind": "node_id_hash", "path": system_metadata_path(env), "resettable": False,
             "how": "a SHA-256 of the node's name (NodeName): renaming the node changes it"},
        ]

    # ------------------------------------------------------------------ detect
    def detect(self, env):
        # Never run the binary: `bacalhau version` contacts an orchestrator.
        import shutil

        binary = shutil.which("bacalhau", path=env.environ.get("PATH", os.defpath))
        files = [p for p in (config_path(env), system_metadata_path(env), installation_id_path(env))
                 if os.path.isfile(p)]
        return {"installed": binary is not None, "version": None, "files": files, "binary": binary}

    # ------------------------------------------------------------ native state
    def native_state(self, env):
        path = config_path(env)
        doc, problem = _read_config(path, env.environ)
        traps = []
        state = None

        raw = env.environ.get(ENV_DISABLE, "")
        if raw:
            flag = _go_bool(raw)
            if flag is None:
                traps.append({"variable": ENV_DISABLE, "value": raw,
                              "problem": "Bacalhau accepts only 1/t/T/TRUE/true/True or "
                                         "0/f/F/FALSE/false/False; with %r `bacalhau serve` fails" % raw})
                state = _state("unknown", "env:" + ENV_DISABLE,
                               "%s=%r is not a boolean Bacalhau accepts: `bacalhau serve` refuses to "
                               "start" % (ENV_DISABLE, raw))
            else:
                state = _state("off" if flag else "on", "env:" + ENV_DISABLE,
                               "%s=%s in the environment %s analytics (it overrides %s)"
                               % (ENV_DISABLE, raw, "disables" if flag else "enables", path))

        if state is None:
            if problem is not None:
                state = _state("unknown", "file:" + path, "usagectl can't read %s (%s)" % (path, problem))
            elif doc is None:
                state = _state("on", "default", "no %s: Bacalhau's default applies (analytics on)" % path)
            else:
                found, value, keys = _lookup(doc, KEY_DISABLE)
                if not found or value is None:
                    state = _state("on", "default", "%s doesn't set DisableAnalytics, so Bacalhau's "
                                   "default applies (analytics on)" % path)
                elif isinstance(value, _Conflict):
                    traps.append({"variable": KEY_DISABLE, "file": path, "value": [str(v) for v in value.values],
                                  "problem": "%s spells DisableAnalytics %d ways (%s) with different values; "
                                             "which one Bacalhau uses is not defined"
                                             % (path, len(keys), ", ".join(keys))})
                    state = _state("unknown", "file:" + path, "%s has conflicting DisableAnalytics keys" % path)
                elif isinstance(value, bool):
                    state = _state("off" if value else "on", "file:" + path,
                                   "%s says %s: %s" % (path, keys[0], "true" if value else "false"))
                elif _weak_bool(value) is not None:
                    flag = _weak_bool(value)
                    state = _state("off" if flag else "on", "file:" + path,
                                   "%s says %s: %r, which Bacalhau's config decoding reads as %s (write %s)"
                                   % (path, keys[0], value, "true" if flag else "false",
                                      "true" if flag else "false"))
                else:
                    traps.append({"variable": KEY_DISABLE, "file": path, "value": str(value),
                                  "problem": "%s is %r, which Bacalhau can't read as a boolean: `bacalhau serve` "
                                             "refuses to start; write true or false" % (keys[0], value)})
                    state = _state("unknown", "file:" + path, "%s in %s is not a boolean" % (keys[0], path))

        state["traps"] = traps
        # -c Key=value overrides a key; -c FILE replaces this file: it is then not read at all.
        state["detail"] += ("; a command's -c DisableAnalytics=... overrides it, and -c FILE replaces %s "
                            "(it is then not read)" % path)
        state["update_check"] = _update_check_state(env, doc, path)
        return state

    # ------------------------------------------------------------------- apply
    def apply(self, env, decision, repair=False):
        from usagectl.core import fsutil, yamlfile
        from usagectl.core.errors import FrameworkFileDamaged

        result = {"changed": [], "notes": [], "side_channels_closed": []}
        if decision.mode == "unset":
            return result
        disable = decision.mode != "on"
        path = config_path(env)
        directory = os.path.dirname(path)
        created_dir = not os.path.isdir(directory)
        # Written even when Bacalhau isn't installed (yet): a careful user who installs it
        # later wants the opt-out already in place, and Bacalhau initialises its repo in an
        # existing directory (pkg/repo/fs.go: no repo.version means "uninitialised"). The
        # directory is created 0700, as it will hold keys.
        with fsutil.locked(path, lock_path=fsutil.foreign_lock_path(env, path)):
            data, _, seen = fsutil.read_settled(path, "YAML")
            indent = (4, 4, 0)  # what Go's yaml.v3 writes (bacalhau config set)
            if data is None:
                doc = yamlfile.new_mapping()
                doc.yaml_set_start_comment(HEADER)
            else:
                try:
                    doc, detected = yamlfile.load_mapping(data, path)
                    indent = detected or indent
                except FrameworkFileDamaged:
                    if not repair:
                        raise
                    fsutil.keep_damaged_copy(path, data, env.now(), result["notes"])
                    doc = yamlfile.new_mapping()
                    doc.yaml_set_start_comment(HEADER)
                    data = None
            lower = _lowercase_style(doc)
            changed = _set_bool(doc, KEY_DISABLE, disable, lower)
            interval_stopped_now = False
            if disable:
                interval_stopped_now = _stop_update_check(doc, lower)
                changed = changed or interval_stopped_now
            if changed or data is None:
                new = yamlfile.dump(doc, indent)
                yamlfile.write_checked(path, new, expect=lambda parsed: _says(parsed, disable),
                                       unchanged=seen)
                result["changed"].append(path)
                _remember(env, path, new if isinstance(new, bytes) else new.encode("utf-8"))
            elif data is not None:
                _remember(env, path, data)

        if disable:
            result["side_channels_closed"].append("update-check")
            if interval_stopped_now:
                result["notes"].append("Stopped Bacalhau's daily update check (UpdateConfig.Interval: 0s "
                                       "in %s): it sends the installation and instance IDs to "
                                       "get.bacalhau.org" % path)
        elif result["changed"]:
            result["notes"].append("Bacalhau's update check is left as it is: if it was stopped, set "
                                   "UpdateConfig.Interval in %s to turn it back on" % path)
        import shutil

        on_path = shutil.which("bacalhau", path=env.environ.get("PATH", os.defpath))
        if created_dir and result["changed"] and on_path is None:
            result["notes"].append("Bacalhau isn't installed; %s was created so the setting is in place "
                                   "if it ever is" % directory)
        raw = env.environ.get(ENV_DISABLE, "")
        if raw and _go_bool(raw) is not disable:
            result["notes"].append("%s=%s in this environment overrides %s" % (ENV_DISABLE, raw, path))
        raw = env.environ.get(ENV_INTERVAL, "")
        if disable and raw:
            seconds = yamlfile.go_duration_seconds(raw)
            if seconds is None or seconds > 0:
                result["notes"].append("%s=%s in this environment keeps the update check running"
                                       % (ENV_INTERVAL, raw))
        return result

    # ------------------------------------------------------------ side channels
    # ------------------------------------------------------------ system-wide (--system)
    def _serve_units(self, env):
        """systemd units that run `bacalhau serve` (their names): where a drop-in reaches it.

        Unit files are only read (a unit linked with `systemctl link` is followed, as
        systemd does), never blocking: a FIFO in a unit's place is passed over."""
        from usagectl import _files
        from usagectl.core import system

        found = []
        for directory in SYSTEMD_UNIT_DIRS:
            base = system.system_path(env, directory)
            try:
                names = sorted(os.listdir(base))
            except OSError:
                continue
            for name in names:
                if not name.endswith(".service") or name in found:
                    continue
                try:
                    text = _files.read_regular(os.path.join(base, name), 1 << 20)[:1 << 16].decode("utf-8", "replace")
                except OSError:
                    continue
                if any(line.strip().startswith("ExecStart") and "bacalhau" in line and " serve" in line
                       for line in text.splitlines()):
                    found.append(name)
        return found

    @staticmethod
    def _dropin(unit):
        return "/etc/systemd/system/%s.d/%s" % (unit, DROPIN_NAME)

    def system_apply(self, env, decision):
        from usagectl.core import system
        from usagectl.core.exports import systemd_quote

        changed, removed, notes = [], [], []
        units = self._serve_units(env)
        for unit in units:
            path = system.system_path(env, self._dropin(unit))
            if decision.mode in ("off", "local"):
                lines = [DROPIN_MARKER.decode(), "[Service]"]
                lines += ["Environment=%s" % systemd_quote("%s=%s" % pair) for pair in self.env_vars(decision)]
                if system.write_shared(env, self._dropin(unit), ("\n".join(lines) + "\n").encode("utf-8")):
                    changed.append(path)
                    notes.append("%s: run `systemctl daemon-reload` and restart it; a running node keeps "
                                 "the environment it started with" % unit)
            elif system.remove_ours(env, self._dropin(unit), DROPIN_MARKER):
                removed.append(path)
        if not units:
            notes.append("no systemd unit here runs `bacalhau serve`; each user's config.yaml is written by "
                         "`usagectl sync`")
        return {"changed": changed, "removed": removed, "notes": notes}

    def system_state(self, env):
        from usagectl.core import system

        states = []
        tree = system.tree(env)
        for unit in self._serve_units(env):
            path = system.system_path(env, self._dropin(unit))
            present = tree.exists(self._dropin(unit))
            states.append({"path": path, "present": present,
                           "detail": "%s: analytics off in its environment" % unit if present
                           else "%s: no usagectl drop-in" % unit})
        return states

    def env_vars(self, decision):
        if decision.mode == "unset":
            return []
        if decision.mode == "on":
            return [(ENV_DISABLE, "false")]
        return [(ENV_DISABLE, "true"), (ENV_INTERVAL, "0s")]

    def side_channels(self, env):
        stopped = (self.native_state(env).get("update_check") or {}).get("stopped")
        return [{
            "name": "update-check",
            "closed": bool(stopped),
            "detail": "a daily request to get.bacalhau.org/version carrying the installation ID and "
                      "instance ID; DisableAnalytics does not stop it",
            "how_to_close": "UpdateConfig.Interval: 0s in %s (usagectl sets it when off), or "
                            "%s=0s" % (config_path(env), ENV_INTERVAL),
        }, {
            "name": "id-headers",
            "detail": "every API call a client makes to an orchestrator carries X-Bacalhau-InstanceID and "
                      "X-Bacalhau-InstallationID headers",
            "how_to_close": "no setting stops them; they go only to the orchestrator you talk to",
        }]

    def identifier_files(self, env):
        """Where Bacalhau keeps the IDs it sends (read only): a deletion request names them."""
        found = []
        path = installation_id_path(env)
        value = None
        from usagectl import _files

        try:
            with _files.open_regular(path) as handle:
                value = handle.read(4096).decode("utf-8", "replace").strip() or None
        except OSError:
            pass
        found.append({"name": "installation_id", "path": path, "exists": os.path.isfile(path),
                      "value": value})
        path = system_metadata_path(env)
        value = None
        doc, _ = _read_config(path) if os.path.isfile(path) else (None, None)
        if doc is not None:
            ok, raw, _ = _lookup(doc, "InstanceID")
            if ok and raw is not None and not isinstance(raw, _Conflict):
                value = str(raw)
        found.append({"name": "instance_id", "path": path, "exists": os.path.isfile(path),
                      "value": value, "key": "InstanceID"})
        return found

    def running(self, env):
        return running_serves(env)

    def ask_program(self, env):
        return ask_bacalhau(env)

    def configured_endpoints(self, env):
        # The update checker's URL (pkg/version); analytics endpoints are compiled in.
        url = env.environ.get("BACALHAU_UPDATE_CHECKER_ENDPOINT")
        return [(url, "env:BACALHAU_UPDATE_CHECKER_ENDPOINT")] if url else []

    # ------------------------------------------------------------- preview
    def field_catalogue(self):
        from usagectl.frameworks.bacalhau import catalogue

        def flatten(fields, prefix=""):
            for entry in fields:
                yield {"name": prefix + entry["name"], "when": "may be absent" if entry["omitempty"] else "",
                       "type": entry["type"], "flags": entry["flags"], "about": entry["go"]}
                nested = entry.get("nested")
                inner = nested if isinstance(nested, list) else (nested or {}).get("fields")
                if inner:
                    yield from flatten(inner, prefix + entry["name"] + ".")

        sections = [{"title": "v1.6-1.7: resource attributes (on every OTLP record)", "source": catalogue.SOURCE,
                     "fields": [dict(f, when="") for f in catalogue.RESOURCE_ATTRIBUTES]}]
        for name, event in catalogue.EVENTS.items():
            sections.append({"title": "v1.6-1.7: `%s` (the record's `properties`, JSON)" % name,
                             "source": "%s `%s`, `%s`" % (catalogue.SOURCE, event["file"], event["struct"]),
                             "fields": list(flatten(catalogue.fields(name)))})
        sections.append({
            "title": "v1.8 and later: what every PostHog event carries (no build of v1.9.0-1.9.3 sends: "
                     "its source gives the client no API key)",
            "source": "%s `pkg/analytics/attributes.go`, `client.go`; posthog-go v1.23.0" % catalogue.POSTHOG_SOURCE,
            "fields": [dict(f, when="") for f in catalogue.POSTHOG_ENVELOPE]
            + [dict(f, name="resource_attributes." + f["name"], about=f["go"],
                    when="may be absent" if f["omitempty"] else "") for f in catalogue.POSTHOG_RESOURCE_ATTRIBUTES]
            + [dict(f, when="") for f in catalogue.POSTHOG_LIBRARY_PROPERTIES]})
        for name, event in catalogue.POSTHOG_EVENTS.items():
            sections.append({"title": "v1.8 and later: `%s` (the event's properties)" % name,
                             "source": "%s `%s` (%s)" % (catalogue.POSTHOG_SOURCE, event["file"],
                                                         ", ".join(event["functions"])),
                             "fields": list(flatten(catalogue.posthog_fields(name)))})
        return sections

    def preview(self, env, decision, native, level=None):
        from usagectl.frameworks.bacalhau import preview

        return preview.preview(env, decision, native, level=level)

    # ----------------------------------------------------------- deletion
    def gather_identifiers(self, env, found):
        from usagectl.frameworks.bacalhau import identifiers

        identifiers.gather(env, found)


def _state(mode, source, detail):
    return {"mode": mode, "source": source, "detail": detail, "traps": []}


def _spell(name, lower):
    return name.lower() if lower else name


def _set_bool(doc, name, value, lower):
    """Set ``name`` (any spelling, every spelling present) to ``value``; True when it changed."""
    from usagectl.core import yamlfile

    keys = yamlfile.find_keys(doc, name)
    if not keys:
        doc[_spell(name, lower)] = value
        return True
    changed = False
    for key in keys:
        if doc[key] is not value:
            doc[key] = value
            changed = True
    return changed


def _stop_update_check(doc, lower):
    """Make UpdateConfig.Interval <= 0 (writing 0s); True when it changed."""
    from usagectl.core import yamlfile

    keys = yamlfile.find_keys(doc, KEY_UPDATE)
    if not keys:
        section = yamlfile.new_mapping()
        section[_spell(KEY_INTERVAL, lower)] = "0s"
        doc[_spell(KEY_UPDATE, lower)] = section
        return True
    changed = False
    for key in keys:
        section = doc[key]
        if not isinstance(section, dict):
            section = yamlfile.new_mapping()
            doc[key] = section
            changed = True
        section_lower = lower or key == key.lower()
        inner = yamlfile.find_keys(section, KEY_INTERVAL)
        if not inner:
            section[_spell(KEY_INTERVAL, section_lower)] = "0s"
            changed = True
            continue
        for k in inner:
            if not _is_stopped(section[k]):
                section[k] = "0s"
                changed = True
    return changed


def _is_stopped(value):
    from usagectl.core import yamlfile

    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return value <= 0
    seconds = yamlfile.go_duration_seconds(str(value))
    return seconds is not None and seconds <= 0


def _says(parsed, disable):
    """Does a parsed (plain) config say what we meant to write?"""
    if not isinstance(parsed, dict):
        return False
    values = [v for k, v in parsed.items() if isinstance(k, str) and k.lower() == KEY_DISABLE.lower()]
    if not values or any(v is not disable for v in values):
        return False
    if disable:
        sections = [v for k, v in parsed.items() if isinstance(k, str) and k.lower() == KEY_UPDATE.lower()]
        if not sections:
            return False
        for section in sections:
            intervals = [v for k, v in (section or {}).items()
                         if isinstance(k, str) and k.lower() == KEY_INTERVAL.lower()]
            if not intervals or not all(_is_stopped(v) for v in intervals):
                return False
    return True


FRAMEWORK = Bacalhau()


def _is_serve(argv):
    return bool(argv) and os.path.basename(os.fsdecode(argv[0])) == "bacalhau" and b"serve" in argv[1:]


def running_serves(env):
    """`bacalhau serve` processes of this user: each read DisableAnalytics when it started.

    Whether one honours an opt-out made later is known only when it started after the
    config file it read was last written (then it read the current file); otherwise it
    is unknown, and said so.
    """
    from usagectl.core import procs

    found = procs.processes(_is_serve)
    if found is None:
        return None
    path = config_path(env)
    try:
        written = os.stat(path).st_mtime
    except OSError:
        written = None
    disabled = None
    if found:
        # What the file says now: a serve that started after it was written read this.
        doc, _problem = _read_config(path, env.environ)
        if doc is not None:
            ok, value, _keys = _lookup(doc, KEY_DISABLE)
            disabled = value if ok and isinstance(value, bool) else None
    out = []
    for pid, _argv in found:
        when = procs.started(pid)
        if when is not None and written is not None and disabled is not None \
                and when.timestamp() > written + procs.START_UNCERTAINTY_S:
            reporting = not disabled
        else:
            reporting = None
        out.append({"pid": pid, "started": when, "reporting": reporting,
                    "what": "bacalhau serve (pid %d)" % pid,
                    "restart": "restarting `bacalhau serve` (it read its config when it started)"})
    return out


#: Where `bacalhau config list` run by verify may send its update check: the discard port
#: on loopback, so asking Bacalhau never makes it phone home (the update check carries
#: the installation and instance IDs).
_NO_UPDATE_CHECK = "http://127.0.0.1:9/version"
ASK_TIMEOUT_S = 30


def ask_bacalhau(env):
    """Bacalhau's own resolution of its settings: `bacalhau config list --output json`.

    Asked only when its data dir exists: on a fresh one Bacalhau initialises a repo
    (files, IDs), and verify writes nothing. Returns None when `bacalhau` is not on PATH.
    """
    import json
    import shutil
    import subprocess

    program = shutil.which("bacalhau", path=env.environ.get("PATH", os.defpath))
    if program is None:
        return None
    argv = [program, "config", "list", "--output", "json"]
    answer = {"asked": ["bacalhau", "config", "list", "--output", "json"], "evidence": [], "says": None,
              "error": None}
    if not os.path.isdir(data_dir(env)):
        answer["error"] = ("its data dir %s does not exist yet, and asking would make Bacalhau create "
                           "one" % data_dir(env))
        return answer
    environ = dict(env.environ, BACALHAU_UPDATE_CHECKER_ENDPOINT=_NO_UPDATE_CHECK)
    try:
        proc = subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=ASK_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, cwd=env.home if os.path.isdir(env.home) else "/")
    except subprocess.TimeoutExpired:
        answer["error"] = "it took more than %d s" % ASK_TIMEOUT_S
        return answer
    except OSError as exc:
        answer["error"] = "could not run %s: %s" % (program, exc.strerror or exc)
        return answer
    values = _config_list_values(proc.stdout)
    if proc.returncode != 0 or values is None:
        # Never its output: a config error quotes the file, which may hold a token.
        answer["error"] = "it exited %d without a JSON answer" % proc.returncode
        return answer
    disabled = values.get(KEY_DISABLE)
    interval = values.get("%s.%s" % (KEY_UPDATE, KEY_INTERVAL))
    answer["evidence"] = ["%s = %s" % (KEY_DISABLE, json.dumps(disabled)),
                          "%s.%s = %s" % (KEY_UPDATE, KEY_INTERVAL, json.dumps(interval))]
    if isinstance(disabled, str):
        # A value from the environment is listed as Bacalhau got it, a string: Go's ParseBool.
        disabled = _go_bool(disabled)
    if isinstance(disabled, bool):
        answer["says"] = "off" if disabled else "on"
    answer["update_interval"] = interval
    return answer


def binary_version(env):
    """The version of the `bacalhau` on PATH ("1.9.3"), or None, with why not.

    `bacalhau version --client` initialises a repo in whatever data dir it is given, so
    it is asked with a scratch one (and a scratch HOME), removed afterwards: the user's
    files are never touched, and its update check is pointed at a closed loopback port.
    Returns (version or None, program or None, problem or None).
    """
    import json
    import shutil
    import subprocess
    import tempfile

    program = shutil.which("bacalhau", path=env.environ.get("PATH", os.defpath))
    if program is None:
        return None, None, None
    scratch = tempfile.mkdtemp(prefix="usagectl-bacalhau-")
    try:
        environ = {key: value for key, value in env.environ.items() if not key.startswith("BACALHAU_")}
        environ.update(HOME=scratch, XDG_CONFIG_HOME=os.path.join(scratch, ".config"),
                       BACALHAU_DIR=os.path.join(scratch, "data"),
                       BACALHAU_UPDATE_CHECKER_ENDPOINT=_NO_UPDATE_CHECK,
                       BACALHAU_UPDATECONFIG_INTERVAL="0s")
        proc = subprocess.run([program, "version", "--client", "--output", "json"], env=environ,
                              capture_output=True, text=True, timeout=ASK_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, cwd=scratch)
    except subprocess.TimeoutExpired:
        return None, program, "`bacalhau version` took more than %d s" % ASK_TIMEOUT_S
    except OSError as exc:
        return None, program, "could not run %s: %s" % (program, exc.strerror or exc)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for line in reversed(proc.stdout.splitlines()):
        try:
            answer = json.loads(line)
        except ValueError:
            continue
        version = (answer.get("clientVersion") or {}).get("GitVersion") if isinstance(answer, dict) else None
        if isinstance(version, str) and version:
            return version.lstrip("v"), program, None
    return None, program, "`bacalhau version --client` exited %d without a version" % proc.returncode


def node_type(env):
    """hybrid / orchestrator / compute from config.yaml's Orchestrator.Enabled and
    Compute.Enabled (as Bacalhau's WithNodeType names them), or None when the file
    doesn't say; `bacalhau serve --orchestrator/--compute` flags override it."""
    doc, _problem = _read_config(config_path(env), env.environ)
    if not isinstance(doc, dict):
        return None
    found_o, orchestrator, _ = _lookup(doc, "Orchestrator", "Enabled")
    found_c, compute, _ = _lookup(doc, "Compute", "Enabled")
    if not (found_o or found_c):
        return None
    return {(True, True): "hybrid", (True, False): "orchestrator", (False, True): "compute"}.get(
        (orchestrator is True, compute is True))


def _config_list_values(stdout):
    """{Key: Value} from `config list --output json` (an update notice may come first)."""
    import json

    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line.strip() == "[":
            try:
                items = json.loads("\n".join(lines[index:]))
            except ValueError:
                return None
            if isinstance(items, list):
                return {i.get("Key"): i.get("Value") for i in items if isinstance(i, dict)}
            return None
    return None
