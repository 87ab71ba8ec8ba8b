"""Coiled analytics for Dask: coiled.analytics.* keys in the dask config.

The switch is dask's configuration, resolved by ``dask/config.py``: package defaults
(Coiled registers ``coiled/coiled.yaml`` with ``update_defaults``) lose to every
``*.yaml|*.yml|*.json`` file in the config dirs ($DASK_ROOT_CONFIG or /etc/dask,
``{sys.prefix}/etc/dask``, ``~/.config/dask``, $DASK_CONFIG; later dir wins, and inside a
dir the later file by sorted path wins), and files lose to ``DASK_*`` env variables.

usagectl writes its own file, ``zz-usagectl.yaml``, into the highest-ranked dir
($DASK_CONFIG, else ~/.config/dask): it sorts after ``coiled.yaml`` (which holds the
user's API token and is never touched). Turning analytics back on removes our file so
the user's and Coiled's own settings apply again.

native_state re-implements dask's resolution (paths, merge order, ``-``/``_`` key
equivalence, env parsing) without importing dask; the tests compare it with
``dask.config.get`` in a subprocess.
"""

import os
import site
import sys

from usagectl.frameworks.base import Framework
from usagectl.frameworks.coiled.hook import PLUGIN_CATEGORY  # stdlib-only: the hook loads it by path

FILE_NAME = "zz-usagectl.yaml"
EXTENSIONS = (".json", ".yaml", ".yml")

#: The keys usagectl turns off, with the value that means "off".
OFF_VALUES: tuple = (
    ("coiled.analytics.disabled", True),
    ("coiled.analytics.computation.code.transmit", False),
    ("coiled.analytics.profile.transmit", False),
    ("coiled.analytics.events.allow", []),
    ("coiled.analytics.client-spans.transmit", False),
    ("coiled.send-client-events", False),
)
#: What Coiled uses when no config layer has the key: coiled.yaml's defaults (1.135.6),
#: and for the two keys it doesn't list, the default passed to dask.config.get in code.
FALLBACK_DEFAULTS = {
    "coiled.analytics.disabled": False,
    "coiled.analytics.computation.code.transmit": True,
    "coiled.analytics.profile.transmit": False,
    "coiled.analytics.events.allow": ["*"],
    "coiled.analytics.client-spans.transmit": True,
    "coiled.send-client-events": True,
}

#: The kinds of data Coiled sends that consent may allow one by one (`usagectl enable
#: coiled --only metrics,events`): name, the key in OFF_VALUES that lets it leave, what
#: leaves with it. The names are what a consent entry's ``send`` list holds.
CATEGORY_KEYS: tuple = (
    (PLUGIN_CATEGORY, "coiled.analytics.disabled",
     "the scheduler plugin's analytics: cluster start and stop, workers, memory and worker-time, "
     "library versions, architecture, OS and the Python path (which usually holds your user name), "
     "task groups, exception text and tracebacks; without it the plugin sends nothing at all"),
    ("code", "coiled.analytics.computation.code.transmit",
     "the code of your computations (call stacks and snippets), with span data"),
    ("profiles", "coiled.analytics.profile.transmit", "scheduler profiles: where your tasks spent their time"),
    ("events", "coiled.analytics.events.allow",
     "scheduler events, including every payload your code passes to log_event (the default allows all)"),
    ("spans", "coiled.analytics.client-spans.transmit", "span names and timings from your client"),
    ("client-events", "coiled.send-client-events", "client events of Coiled-managed clusters"),
)
_CATEGORY_OF_KEY = {key: name for name, key, _about in CATEGORY_KEYS}

_FILE_HEADER = """\
# Managed by usagectl: it writes this file when Coiled analytics are off (or local)
# and removes it when they are on. Change the choice with `usagectl enable|disable coiled`.
# The name sorts after coiled.yaml, so dask ranks these values above it.
"""
#: Starts the header's last line when consent lets some categories through.
_SENDING_PREFIX = "# Consent lets these categories through, so their keys are not here: "


def file_text(held=None, sending=()):
    """The managed file that sets ``held`` (dotted keys of OFF_VALUES; None: all) off."""
    held = [key for key, _ in OFF_VALUES] if held is None else list(held)
    tree: dict = {}
    for dotted, value in OFF_VALUES:
        if dotted in held:
            _assign(dotted.split("."), value, tree)
    lines = [_FILE_HEADER]
    if sending:
        lines.append("%s%s\n" % (_SENDING_PREFIX, ", ".join(sending)))
    _emit(tree, 0, lines)
    return "".join(lines)


def _yaml_word(value):
    """An OFF_VALUES value as YAML writes it."""
    return "[]" if value == [] else ("true" if value is True else "false")


def _emit(tree, depth, lines):
    for key, value in tree.items():
        if isinstance(value, dict):
            lines.append("%s%s:\n" % ("  " * depth, key))
            _emit(value, depth + 1, lines)
        else:
            lines.append("%s%s: %s\n" % ("  " * depth, key, _yaml_word(value)))


def held_keys(decision):
    """The keys of OFF_VALUES usagectl must set off for this decision, in order."""
    if decision.mode not in ("off", "local"):
        return []
    return [key for key, _ in OFF_VALUES if not decision.sends(_CATEGORY_OF_KEY[key])]



# --------------------------------------------------------------------------
# dask's own rules, re-implemented (dask/config.py)


def _home_path(env, *parts):
    from usagectl.core.environment import expanduser_like_python

    return os.path.join(expanduser_like_python(env.environ, "~"), *parts)


def dask_config_dir(env):
    """dask.config.PATH: where Coiled writes coiled.yaml and usagectl writes its file."""
    if "DASK_CONFIG" in env.environ:
        return env.environ["DASK_CONFIG"]
    return _home_path(env, ".config", "dask")


def managed_file(env):
    return os.path.join(dask_config_dir(env), FILE_NAME)


def dask_search_paths(env):
    """dask.config.paths, lowest priority first, as this Python environment would see them."""
    environ = env.environ
    paths = [
        environ.get("DASK_ROOT_CONFIG", "/etc/dask"),
        os.path.join(sys.prefix, "etc", "dask"),
        *[os.path.join(prefix, "etc", "dask") for prefix in site.PREFIXES],
        _home_path(env, ".config", "dask"),
    ]
    if "DASK_CONFIG" in environ:
        paths.append(environ["DASK_CONFIG"])
    # dask removes duplicates keeping the LAST occurrence.
    return list(reversed(list(dict.fromkeys(reversed(paths)))))


def _config_files(paths):
    files = []
    for path in paths:
        if os.path.exists(path):
            if os.path.isdir(path):
                try:
                    files.extend(sorted(os.path.join(path, p) for p in os.listdir(path)
                                        if os.path.splitext(p)[1].lower() in EXTENSIONS))
                except OSError:
                    pass
            else:
                files.append(path)
    return files


class MalformedConfig(Exception):
    """A dask config file that makes every ``import dask`` raise."""

    def __init__(self, path, message):
        Exception.__init__(self, "%s: %s" % (path, message))
        self.path = path
        self.message = message



def _safe_load(text):
    try:
        import yaml  # PyYAML: what dask itself uses (YAML 1.1: yes/no/on/off are booleans)
    except ImportError:
        from ruamel.yaml import YAML

        loader = YAML(typ="safe", pure=True)
        loader.version = (1, 1)
        return loader.load(text)
    return yaml.safe_load(text)


#: coiled.yaml files shipped by coiled releases that were read and checked (sha256 of the
#: file -> the keys usagectl resolves), so `status` needs no YAML parser for them. Any other
#: file is parsed; tests/test_adapter_coiled.py re-parses the installed one against this.
KNOWN_PACKAGE_DEFAULTS = {
    # coiled 1.135.6
    "cfbd31ccd532d04f1bf18b75dad6189a32430e6a7e53ade8503eb571cbaee4dd": lambda: {"coiled": {
        "analytics": {"disabled": False, "computation": {"code": {"transmit": True}},
                      "profile": {"transmit": False}, "events": {"allow": ["*"]}},
        "send-client-events": True}},
}


def _own_file_tree(held=None):
    """What file_text(held) parses to (a fresh copy: callers merge into it)."""
    tree = {}
    for dotted, value in OFF_VALUES:
        if held is None or dotted in held:
            _assign(dotted.split("."), list(value) if isinstance(value, list) else value, tree)
    return tree


def _own_partial_file(data):
    """The keys a managed file that lets some categories through holds, when its bytes
    are exactly what usagectl writes for the categories its header names; else None."""
    if not data.startswith(_FILE_HEADER.encode("utf-8") + _SENDING_PREFIX.encode("utf-8")):
        return None
    line = data[len(_FILE_HEADER) + len(_SENDING_PREFIX):].split(b"\n", 1)[0].decode("ascii", "replace")
    sending = tuple(name.strip() for name in line.split(","))
    held = [key for key, _ in OFF_VALUES if _CATEGORY_OF_KEY[key] not in sending]
    return held if data == file_text(held, sending).encode("utf-8") else None


def _known_tree(data):
    """The parsed form of a file whose exact bytes usagectl knows, else None."""
    if data == FILE_TEXT.encode("utf-8"):
        return _own_file_tree()
    held = _own_partial_file(data)
    if held is not None:
        return _own_file_tree(held)
    if len(data) < 65536:
        from usagectl.core.written import digest

        known = KNOWN_PACKAGE_DEFAULTS.get(digest(data))
        if known is not None:
            return known()
    return None


def _load_file(path):
    from usagectl import _files
    from usagectl.core import fsutil

    try:
        data = _files.read_regular(path, fsutil.SETTINGS_FILE_LIMIT)  # never blocks on a FIFO
    except OSError:
        return None  # dask ignores unreadable files
    known = _known_tree(data)
    if known is not None:
        return known
    try:
        # dask opens files in text mode with the default encoding; do the same.
        import locale

        text = data.decode(locale.getpreferredencoding(False), "replace")
    except LookupError:
        text = data.decode("utf-8", "replace")
    try:
        config = _safe_load(text)
    except Exception as exc:
        from usagectl.core import yamlfile

        line, words = yamlfile.error_summary(exc)  # never the file's text: it may hold the token
        where = " line %d" % line if line is not None else ""
        raise MalformedConfig(path, "malformed YAML%s (%s)" % (where, words)) from None
    if config is not None and not isinstance(config, dict):
        raise MalformedConfig(path, "the top level is a %s, not a mapping" % type(config).__name__)
    return config


def canonical_name(key, config):
    try:
        if key in config:
            return key
    except TypeError:
        return key
    alt = key.replace("_", "-") if "_" in key else key.replace("-", "_")
    return alt if alt in config else key


def update(old, new, priority="new"):
    """dask.config.update for priority "new" and "old"."""
    for key, value in new.items():
        key = canonical_name(key, old)
        if isinstance(value, dict):
            if key not in old or old[key] is None or not isinstance(old[key], dict):
                old[key] = {}
            update(old[key], value, priority=priority)
        elif priority == "new" or key not in old:
            old[key] = value
    return old


def interpret_value(value):
    import ast  # only when a DASK_* variable is set

    try:
        return ast.literal_eval(value)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        pass
    return {"none": None, "null": None, "false": False, "true": True}.get(value.lower(), value)


def _assign(keys, value, target):
    key = canonical_name(keys[0], target)
    if len(keys) == 1:
        target[key] = value
    else:
        if key not in target:
            target[key] = {}
        _assign(keys[1:], value, target[key])


def collect_env(environ):
    """(config, {dotted key: env var name}) from DASK_* variables."""
    import base64
    import json

    flat = {}
    origin = {}
    if "DASK_INTERNAL_INHERIT_CONFIG" in environ:
        flat = json.loads(base64.urlsafe_b64decode(environ["DASK_INTERNAL_INHERIT_CONFIG"].encode()).decode())
    for name, raw in environ.items():
        if name.startswith("DASK_"):
            dotted = name[5:].lower().replace("__", ".")
            flat[dotted] = interpret_value(raw)
            origin[dotted] = name
    result = {}
    for key, value in flat.items():
        _assign(key.split("."), value, result)
    return result, origin


def get(config, dotted):
    """(found, value) like dask.config.get(dotted)."""
    node = config
    for key in dotted.split("."):
        key = canonical_name(key, node)
        try:
            node = node[key]
        except (TypeError, IndexError, KeyError):
            return False, None
    return True, node


def _package_defaults():
    """coiled.yaml from the installed coiled package (registered as dask defaults on import)."""
    from importlib import util

    try:
        spec = util.find_spec("coiled")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "coiled.yaml")
    try:
        return _load_file(path)
    except MalformedConfig:
        return None


#: A scheduler preload of this module installs Coiled's analytics plugin on every
#: scheduler (fetched from coiled.server), with no register() call and no token.
PRELOAD_KEY = "distributed.scheduler.preload"
PRELOAD_MODULE = "coiled.analytics"


def _layers(env):
    """dask's config layers, lowest priority first: [(source, config)], env origin, merged."""
    files = _config_files(dask_search_paths(env))
    layers = []  # lowest priority first: (source, config)
    for path in files:
        config = _load_file(path)
        if config is not None:
            layers.append(("file:" + path, config))
    env_config, env_origin = collect_env(env.environ)
    layers.append(("env", env_config))

    collected = {}
    for _, config in reversed(layers):
        update(collected, config, priority="old")
    effective = {}
    defaults = _package_defaults()
    if defaults:
        update(effective, defaults, priority="old")
    update(effective, collected)
    return layers, env_origin, effective


def _source_of(layers, env_origin, dotted, value):
    for name, config in reversed(layers):
        here, layer_value = get(config, dotted)
        if here and layer_value == value:
            return "env:" + _env_name(env_origin, dotted) if name == "env" else name
    return "default"


def preloads(value):
    """distributed.scheduler.preload as a list of strings (dask accepts one string too)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def resolve_preload(env, layers=None):
    """{"value": [...], "source"} for distributed.scheduler.preload, as dask resolves it."""
    layers, env_origin, effective = layers or _layers(env)
    found, value = get(effective, PRELOAD_KEY)
    if not found:
        return {"value": [], "source": "default"}
    return {"value": preloads(value), "source": _source_of(layers, env_origin, PRELOAD_KEY, value)}


def resolve(env, layers=None):
    """What ``dask.config.get`` returns for each analytics key, and which layer supplied it.

    Returns {dotted key: {"value", "source"}}; raises MalformedConfig when dask itself
    could not import.
    """
    layers, env_origin, effective = layers or _layers(env)
    resolved = {}
    for dotted, _ in OFF_VALUES:
        found, value = get(effective, dotted)
        source = "default"
        if not found:
            value = FALLBACK_DEFAULTS[dotted]
        else:
            source = _source_of(layers, env_origin, dotted, value)
        resolved[dotted] = {"value": value, "source": source}
    return resolved


def _env_name(origin, dotted):
    wanted = _normal(dotted)
    for key, name in origin.items():
        if _normal(key) == wanted or wanted.startswith(_normal(key) + "."):
            return name
    return "DASK_INTERNAL_INHERIT_CONFIG"


def _normal(dotted):
    return dotted.replace("_", "-")


def _is_off(dotted, value):
    """Does this value keep the data in? Coiled tests these keys for truth (spans.py, cluster.py)."""
    if dotted == "coiled.analytics.disabled":
        return bool(value)
    if dotted == "coiled.analytics.events.allow":
        return isinstance(value, (list, tuple)) and len(value) == 0
    return not value


def _categories(values, preload_registers):
    """{category: "on" | "off"}: what each category's key lets leave, from ``values``
    ({dotted key: value}; a key missing there counts as letting it leave)."""
    states = {name: "off" if key in values and _is_off(key, values[key]) else "on"
              for name, key, _about in CATEGORY_KEYS}
    if preload_registers:
        states[PLUGIN_CATEGORY] = "on"  # the preload installs the plugin with no register() call
    return states


def _sending(decision):
    """The categories of this Coiled a local decision lets through, in CATEGORY_KEYS order."""
    return tuple(name for name, _key, _about in CATEGORY_KEYS if decision.mode == "local" and decision.sends(name))


def _traps(env, resolved):
    traps = []
    for dotted, info in resolved.items():
        value = info["value"]
        if dotted == "coiled.analytics.events.allow" or isinstance(value, bool):
            continue
        if isinstance(value, str):
            where = info["source"]
            variable = where[4:] if where.startswith("env:") else dotted
            trap = {"variable": variable, "value": value,
                    "problem": "dask keeps %r as a string, not a boolean, and Coiled tests it for truth, so "
                               "it counts as %s" % (value, "true (disabled)" if dotted.endswith("disabled")
                                                    else "true (sent)")}
            if where.startswith("file:"):
                trap["file"] = where[5:]
            traps.append(trap)
    return traps


class Coiled(Framework):
    name = "coiled"
    title = "Coiled/Dask"
    own_default = "on"
    own_default_note = "Coiled-managed clusters collect analytics; self-managed ones only when registered"
    endpoints = ("cloud.coiled.io",)
    python_package = "coiled"
    no_local_record = (
        "Coiled keeps no local record of what it sends: there is no log of payloads to show.",
        "What it sends, once analytics is registered on a cluster (coiled.analytics.register(client), "
        "a scheduler preload of coiled.analytics, or any Coiled-managed cluster): the code of each "
        "computation (coiled.analytics.computation.code.transmit, default true), client spans "
        "(coiled.analytics.client-spans.transmit, default true) and client events "
        "(coiled.send-client-events, default true); other analytics keys are read by a scheduler "
        "plugin downloaded from Coiled at run time.",
        "Coiled-managed clusters also receive your whole local dask config, analytics keys and API "
        "token included.",
    )
    deletion_note = "Coiled documents no deletion channel for its analytics beyond contacting its support"
    # Named by Coiled's own client code (its error and help messages) as where to write.
    deletion_channel = {"email": "support@coiled.io", "kind": "support",
                        "source": "Coiled's support address, as its own client names it; Coiled "
                                  "documents no separate channel for deleting analytics"}
    deletion_holds = ("analytics of my clusters: metrics, the code of computations, profiles, "
                      "exception tracebacks, task groups, events and client spans")
    identifier_labels = {"user": "Coiled user", "workspace": "Coiled workspace"}
    hook_imports = {"coiled.analytics": ("after", "patch_analytics")}
    categories = tuple((name, "%s (held back with %s: %s)" % (about, key, _yaml_word(dict(OFF_VALUES)[key])))
                       for name, key, about in CATEGORY_KEYS)

    # ------------------------------------------------------------------ detect
    def detect(self, env):
        from importlib import metadata, util

        installed = util.find_spec("coiled") is not None
        versions = {}
        for package in ("coiled", "dask", "distributed"):
            try:
                versions[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                versions[package] = None
        files = [p for p in (os.path.join(dask_config_dir(env), "coiled.yaml"), managed_file(env))
                 if os.path.isfile(p)]
        return {"installed": installed, "version": versions["coiled"], "files": files,
                "components": versions}

    # ------------------------------------------------------------ native state
    def native_state(self, env):
        try:
            layers = _layers(env)
            resolved = resolve(env, layers)
            preload = resolve_preload(env, layers)
        except MalformedConfig as exc:
            return {"mode": "unknown", "source": "file:" + exc.path,
                    "detail": "%s: every `import dask` fails until it is fixed" % exc, "traps": [],
                    "keys": {}}
        except Exception as exc:  # e.g. a DASK_INTERNAL_INHERIT_CONFIG that isn't base64 JSON
            return {"mode": "unknown", "source": "env",
                    "detail": "usagectl can't model dask's config here (%s)" % exc.__class__.__name__,
                    "traps": [], "keys": {}}
        permissive = [k for k, info in resolved.items() if not _is_off(k, info["value"])]
        if not permissive:
            mode = "off"
            source = resolved["coiled.analytics.disabled"]["source"]
            detail = "dask's config turns every Coiled analytics key off"
        else:
            mode = "on"
            source = resolved[permissive[0]]["source"]
            names = ", ".join("%s=%r" % (k, resolved[k]["value"]) for k in permissive)
            detail = "dask's config lets Coiled analytics through: %s" % names
        registers = PRELOAD_MODULE in preload["value"]
        if registers:
            # A config-driven opt-in: every scheduler installs the analytics plugin.
            mode, source = "on", preload["source"]
            detail = ("%s lists %s (%s): every scheduler downloads and installs Coiled's analytics "
                      "plugin, with no register() call" % (PRELOAD_KEY, PRELOAD_MODULE, source))
        categories = _categories({key: info["value"] for key, info in resolved.items()}, registers)
        sources = {name: preload["source"] if name == PLUGIN_CATEGORY and registers else resolved[key]["source"]
                   for name, key, _about in CATEGORY_KEYS}
        return {"mode": mode, "source": source, "detail": detail, "traps": _traps(env, resolved),
                "keys": resolved, "preload": preload, "categories": categories,
                "category_sources": sources}

    # ------------------------------------------------------------------- apply
    def apply(self, env, decision, repair=False):
        from usagectl.core import fsutil, yamlfile

        result = {"changed": [], "notes": [], "side_channels_closed": []}
        if decision.mode == "unset":
            return result
        held, sending = held_keys(decision), _sending(decision)
        path = managed_file(env)
        with fsutil.locked(path, lock_path=fsutil.foreign_lock_path(env, path)):
            current, _, seen = fsutil.read_settled(path, "YAML")
            if not held:
                if current is not None:
                    os.unlink(path)
                    fsutil.fsync_dir(os.path.dirname(fsutil.real_target(path)))
                    result["changed"].append(path)
                    result["notes"].append("removed %s: your own and Coiled's dask settings apply again" % path)
            else:
                text = FILE_TEXT if len(held) == len(OFF_VALUES) else file_text(held, sending)
                data = text.encode("utf-8")
                if current != data:
                    # repair doesn't matter here: the file is ours and holds nothing else.
                    yamlfile.write_checked(path, data, expect=lambda parsed: _says_off(parsed, held),
                                           unchanged=seen)
                    result["changed"].append(path)
        if held:
            if PLUGIN_CATEGORY not in sending:
                self._remove_preload(env, result)  # the preload installs the metrics plugin
            from usagectl.core.categories import judge

            after = judge(self.native_state(env), decision)
            if after["mode"] != "off":
                result["notes"].append("%s is written, but dask still resolves analytics on (%s): a "
                                       "DASK_COILED__* variable or a later config file overrides it"
                                       % (path, after["detail"]))
            if result["changed"]:
                result["notes"].append("Coiled-managed clusters receive your whole local dask config, "
                                       "these keys included")
        return result

    def _remove_preload(self, env, result):
        """Take coiled.analytics out of the scheduler preloads, in the file that lists it
        (keeping every other key, preload and comment), or say exactly what to change."""
        try:
            preload = resolve_preload(env)
        except Exception:
            return
        if PRELOAD_MODULE not in preload["value"]:
            return
        source = preload["source"]
        if not source.startswith("file:"):
            result["notes"].append("%s lists %s in %s: remove it there (usagectl doesn't change "
                                   "your environment)" % (PRELOAD_KEY, PRELOAD_MODULE, source[4:] or source))
            return
        path = source[5:]
        try:
            _drop_preload_from_file(env, path)
        except (OSError, MalformedConfig, ValueError) as exc:
            result["notes"].append("%s lists %s in %s, which usagectl could not change (%s): remove "
                                   "it by hand" % (PRELOAD_KEY, PRELOAD_MODULE, path,
                                                   getattr(exc, "strerror", None) or type(exc).__name__))
            return
        result["changed"].append(path)
        result["notes"].append("removed %s from %s in %s (the rest of the file is as it was)"
                               % (PRELOAD_MODULE, PRELOAD_KEY, path))

    # --------------------------------------------------------------- env vars
    def export_formats(self):
        from usagectl.frameworks.coiled.export import FORMATS

        return FORMATS

    def system_apply(self, env, decision):
        from usagectl.core import system
        from usagectl.frameworks.coiled.export import MARKER, SYSTEM_FILE, system_file_text

        path = system.system_path(env, SYSTEM_FILE)
        if held_keys(decision):
            changed = system.write_shared(env, SYSTEM_FILE, system_file_text(decision).encode("utf-8"))
            return {"changed": [path] if changed else [], "notes": [
                "dask reads %s for every user; a user's own dask config can still set analytics on, "
                "which the runtime hook in the system interpreter overrides" % SYSTEM_FILE]}
        removed = system.remove_ours(env, SYSTEM_FILE, MARKER)
        return {"removed": [path] if removed else [], "notes": []}

    def system_state(self, env):
        from usagectl.core import system
        from usagectl.core.rootfs import unreadable_by_others
        from usagectl.frameworks.coiled.export import MARKER, SYSTEM_FILE

        path = system.system_path(env, SYSTEM_FILE)
        try:
            data = system.tree(env).read(SYSTEM_FILE, 1 << 20)
        except OSError as exc:
            return [{"path": path, "present": True, "detail": "unknown: %s" % (exc.strerror or exc)}]
        if data is None:
            return [{"path": path, "present": False, "detail": "no system dask file"}]
        if MARKER not in data[:4096]:
            return [{"path": path, "present": True, "detail": "not written by usagectl"}]
        # dask skips a file (or directory) it can't read without a word: say "off for
        # every user" only when every user can read it.
        unreadable = unreadable_by_others(path)
        if unreadable:
            return [{"path": path, "present": True, "detail": "unknown: %s, so dask skips it for other users"
                     % unreadable}]
        return [{"path": path, "present": True, "detail": "Coiled analytics off for every user"}]

    def env_vars(self, decision):
        # "on" needs no variable: the user's and Coiled's own settings apply; a category
        # consent lets through keeps its own value too.
        held = held_keys(decision)
        return [("DASK_" + dotted.upper().replace(".", "__").replace("-", "_"), _python_literal(value))
                for dotted, value in OFF_VALUES if dotted in held]

    # ------------------------------------------------------------ side channels
    def side_channels(self, env):
        return [{
            "name": "interactions",
            "detail": "the coiled client POSTs interaction records (action, success, coiled version, "
                      "error message, extra data) to /api/v2/interactions/interaction on the Coiled "
                      "server it uses; no config key gates them",
            "how_to_close": "only by not using the Coiled service; cluster event reports to the same "
                            "server stop with coiled.send-client-events: false (usagectl sets it when off)",
        }, {
            "name": "config-forwarding",
            "detail": "Coiled-managed clusters receive the whole local dask config, the API token "
                      "and analytics keys included, and run the analytics scheduler plugin",
            "how_to_close": "analytics keys set off locally travel with the config; don't keep "
                            "secrets in dask config files you don't mean to send",
        }]

    def configured_endpoints(self, env):
        # coiled.server: where the client, the analytics preload and the plugin talk to.
        try:
            layers, env_origin, effective = _layers(env)
        except Exception:
            return []
        found, value = get(effective, "coiled.server")
        if not found or not isinstance(value, str) or not value:
            return []
        return [(value, _source_of(layers, env_origin, "coiled.server", value))]

    # ------------------------------------------------------------- preview
    def preview(self, env, decision, native, level=None):
        from usagectl.frameworks.coiled import preview

        return preview.preview(env, decision, native, level=level)

    # -------------------------------------------------------- own code
    def probe_file(self):
        return self._sibling(__file__, "probe.py")

    def says(self, probe):
        values = probe.get("values")
        if values is None:
            return None
        if PRELOAD_MODULE in preloads(probe.get("preload")):
            return "on"
        if self.unenforceable(probe):
            return "on"
        return "off" if all(_is_off(k, v) for k, v in values.items()) else "on"

    def says_categories(self, probe):
        values = probe.get("values")
        if values is None:
            return None
        states = _categories(values, PRELOAD_MODULE in preloads(probe.get("preload")))
        for key in _unread_keys(probe) or ():
            states[_CATEGORY_OF_KEY[key]] = "on"  # never read by this release: it leaves whatever it says
        return states

    def forgettable(self, env):
        return [{"kind": "user, workspace", "path": None, "resettable": False,
                 "how": "your Coiled account links everything Coiled holds: only Coiled can delete it "
                        "(request-deletion), and a new account starts fresh"}]

    def field_catalogue(self):
        from usagectl.frameworks.coiled import preview

        return [{"title": "What each analytics setting lets leave (to the Coiled server)",
                 "source": "Coiled 1.135.6 (`coiled/spans.py`, `coiled/v2/cluster.py`, `coiled.yaml`); "
                           "the scheduler plugin's keys from Coiled's documentation",
                 "fields": [{"name": key, "when": "read by " + reader, "type": "setting",
                             "flags": ["free-text"] if "code" in what else [], "about": what}
                            for key, reader, what, _test, _default in preview.KEYS]}]

    def unenforceable(self, probe):
        # A key this release never reads can't stop what it names (client spans on 1.85).
        unread = _unread_keys(probe)
        if not unread:
            return None
        return ("this Coiled never reads %s, so what it names leaves with any Coiled-managed "
                "cluster whatever it says; a newer Coiled reads it" % ", ".join(unread))

    def hook_file(self):
        return self._sibling(__file__, "hook.py")

    # ----------------------------------------------------------- deletion
    def gather_identifiers(self, env, found):
        from usagectl.frameworks.coiled import identifiers

        identifiers.gather(env, found)


def _drop_preload_from_file(env, path):
    """Remove coiled.analytics from distributed.scheduler.preload in a dask config file."""
    from usagectl.core import fsutil, yamlfile

    with fsutil.locked(path, lock_path=fsutil.foreign_lock_path(env, path)):
        data, _, seen = fsutil.read_settled(path, "YAML")
        if data is None:
            return
        if path.lower().endswith(".json"):
            import json

            doc = json.loads(data)
        else:
            doc, indent = yamlfile.load_mapping(data, path)
        node = doc
        for key in PRELOAD_KEY.split(".")[:-1]:
            node = node[canonical_name(key, node)]
        key = canonical_name(PRELOAD_KEY.split(".")[-1], node)
        value = node[key]
        if isinstance(value, str):
            node[key] = []
        else:
            for item in [v for v in value if v == PRELOAD_MODULE]:
                value.remove(item)
        if path.lower().endswith(".json"):
            fsutil.atomic_write(path, json.dumps(doc, indent=2).encode("utf-8") + b"\n", new_mode=0o644,
                                expect=seen)
        else:
            yamlfile.write_checked(path, yamlfile.dump(doc, indent),
                                   expect=lambda parsed: PRELOAD_MODULE not in preloads(get(parsed, PRELOAD_KEY)[1]),
                                   unchanged=seen)


def _python_literal(value):
    # dask parses DASK_* values with ast.literal_eval first: True, False, [] come back typed.
    return repr(value)


def _unread_keys(probe):
    """The keys Coiled's own client should read that this release never does (from the
    probe's record of what it asked dask for), or None when the probe can't say."""
    read = probe.get("read_locally")
    if not isinstance(read, list):
        return None
    from usagectl.frameworks.coiled.preview import local_keys

    return [key for key in local_keys() if key.replace("_", "-") not in read]


def _says_off(parsed, held=None):
    """Does a parsed managed file set every key in ``held`` (None: all) off?"""
    if not isinstance(parsed, dict):
        return False
    for dotted, off in OFF_VALUES:
        if held is not None and dotted not in held:
            continue
        found, value = get(parsed, dotted)
        if not found or value != off or type(value) is not type(off):
            return False
    return True


#: The managed file with every key off (built once the helpers above exist).
FILE_TEXT = file_text()

FRAMEWORK = Coiled()
