"""What identifies the usage data each framework holds, read from local files only.

Everything here is read-only and never fails the command: a file that can't be read,
understood or trusted is skipped (and named in ``problems``). Ray sessions, Parsl logs
and the sent ledger are found and decoded by usagectl.records, the same code show-last
uses; this module adds Ray's cluster-id log lines, Bacalhau's ID files and the Coiled
user and workspace. Secrets that live next to the
identifiers (Coiled's API token in the dask config) are never read into a result.
"""

import json
import os
import re
import sys

#: Ray session / cluster ids are 28 bytes, printed as 56 hex characters.
_RAY_ID = r"[0-9a-f]{56}"
_GCS_LINE = re.compile(r"Generated new cluster ID\..*?cluster_id=(" + _RAY_ID + r")\b")
_RAYLET_LINE = re.compile(r"Setting cluster ID to: (" + _RAY_ID + r")\b")
#: The cluster-id lines sit near the start of a Ray log; reading this much from each end
#: keeps a multi-gigabyte log cheap.
_HEAD_BYTES = 4 << 20
_TAIL_BYTES = 4 << 20
_MAX_FILES = 20000
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]")


class Identifier:
    """One identifier value, and the local files it was found in."""

    __slots__ = ("kind", "value", "sources")

    def __init__(self, kind, value, source=None):
        self.kind = kind
        self.value = value
        self.sources = [source] if source else []

    def as_dict(self):
        return {"kind": self.kind, "value": self.value, "sources": list(self.sources)}

    def __repr__(self):
        return "Identifier(%r, %r)" % (self.kind, self.value)


class Found:
    """Identifiers for one framework, in first-seen order, deduplicated."""

    def __init__(self, framework):
        self.framework = framework
        self._items = {}
        self.problems = []   # one-line strings: files that could not be read
        self.notes = []

    def add(self, kind, value, source):
        if not isinstance(value, str) or not value.strip():
            return
        value = value.strip()
        if _CONTROL.search(value):
            # A value that could drive a terminal or forge message headers is no real id.
            self.problems.append("%s: a %s with control characters was skipped" % (source, kind))
            return
        key = (kind, value)
        item = self._items.get(key)
        if item is None:
            self._items[key] = Identifier(kind, value, source)
        elif source and source not in item.sources:
            item.sources.append(source)

    @property
    def identifiers(self):
        return list(self._items.values())

    def values(self, kind=None):
        return [i.value for i in self._items.values() if kind is None or i.kind == kind]

    def as_dict(self):
        return {"framework": self.framework, "identifiers": [i.as_dict() for i in self.identifiers],
                "problems": list(self.problems), "notes": list(self.notes)}


# ---------------------------------------------------------------------------
# Reading helpers


def _read_text(path, found, limit=1 << 20):
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        found.problems.append("%s: cannot read it (%s)" % (path, exc.strerror or exc))
        return None


def _head_and_tail_lines(path, found):
    """Lines from the first and last few MiB of a log (each line once)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(_HEAD_BYTES)
            tail = b""
            if size > _HEAD_BYTES:
                start = max(_HEAD_BYTES, size - _TAIL_BYTES)
                handle.seek(start)
                tail = handle.read(_TAIL_BYTES)
                tail = tail.split(b"\n", 1)[1] if b"\n" in tail else b""  # drop a partial line
    except FileNotFoundError:
        return []
    except OSError as exc:
        found.problems.append("%s: cannot read it (%s)" % (path, exc.strerror or exc))
        return []
    return (head + b"\n" + tail).decode("utf-8", "replace").splitlines()


# ---------------------------------------------------------------------------
# Ray (session discovery and usage_stats.json: usagectl.records.ray_sessions, as show-last)


def _problem(found, skipped):
    if skipped is not None:
        found.problems.append("%s: %s; skipped" % (skipped.path, skipped.reason))


def _trusted_log_lines(path, found):
    """Head and tail lines of a Ray log, read only if show-last would trust the file."""
    from usagectl.records.files import open_checked

    handle, info = open_checked(path)
    if handle is None:
        _problem(found, info)
        return []
    handle.close()
    return _head_and_tail_lines(path, found)


def ray(env, found):
    from usagectl.records import ray_sessions

    sessions = ray_sessions.list_sessions(ray_sessions.candidate_roots(env.environ))
    for session in sessions[:_MAX_FILES]:
        payload, skipped = ray_sessions.read_session(session, env.environ)
        _problem(found, skipped)
        if payload is not None:
            found.add("session_id", payload.identifiers.get("session_id"), payload.source_file)
        for name, pattern in (("gcs_server.out", _GCS_LINE), ("raylet.out", _RAYLET_LINE)):
            log_path = os.path.join(session.path, "logs", name)
            for line in _trusted_log_lines(log_path, found):
                if "cluster ID" not in line:
                    continue
                match = pattern.search(line)
                if match:
                    found.add("session_id", match.group(1), log_path)
                    break


# ---------------------------------------------------------------------------
# Parsl (logs and the sent ledger: usagectl.records, as show-last)


def _parsl_body(found, body, source):
    """Add the correlator and project name of one Parsl datagram (b"1" + JSON)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not body:
        return
    if body[:1] == b"1":
        body = body[1:]
    try:
        message = json.loads(body)
    except ValueError:
        return
    if isinstance(message, dict):
        found.add("correlator", message.get("correlator"), source)
        found.add("project_name", message.get("project_name"), source)


def parsl(env, found):
    from usagectl.records import ledger_scan, parsl_log

    for path, _mtime in parsl_log.find_logs(parsl_log.search_paths(env))[:_MAX_FILES]:
        payloads, skipped = parsl_log.read_log(path, limit=None)
        _problem(found, skipped)
        for payload in reversed(payloads):  # oldest first: ids in the order they appeared
            _parsl_body(found, payload.body, path)
    by_framework, skipped = ledger_scan.scan(env.environ, ["parsl"], limit=None)
    for item in skipped:
        _problem(found, item)
    for payload in reversed(by_framework["parsl"]):
        for kind in ("correlator", "project_name"):
            found.add(kind, payload.identifiers.get(kind), payload.source_file)
        _parsl_body(found, payload.body, payload.source_file)


# ---------------------------------------------------------------------------
# Bacalhau


def bacalhau_data_dir(env):
    for name in ("BACALHAU_DATADIR", "BACALHAU_DIR"):
        if env.environ.get(name):
            return env.expand(env.environ[name])
    return os.path.join(env.home, ".bacalhau")


def bacalhau_installation_id_path(env):
    xdg = env.environ.get("XDG_CONFIG_HOME", "")
    base = xdg if xdg.startswith("/") else os.path.join(env.home, ".config")
    return os.path.join(base, "bacalhau", "installation_id")


_INSTANCE_LINE = re.compile(r"^\s*[\"']?instanceid[\"']?\s*:\s*[\"']?([^\"'#\s]+)", re.I | re.M)


def bacalhau(env, found):
    path = bacalhau_installation_id_path(env)
    text = _read_text(path, found, limit=4096)
    if text is not None:
        found.add("installation_id", text.strip().splitlines()[0] if text.strip() else "", path)
    path = os.path.join(bacalhau_data_dir(env), "system_metadata.yaml")
    text = _read_text(path, found, limit=1 << 16)
    if text is not None:
        match = _INSTANCE_LINE.search(text)
        if match:
            found.add("instance_id", match.group(1), path)
    if not found.identifiers:
        found.notes.append("Bacalhau keeps no local record of what it sent; its IDs live in %s and "
                           "%s" % (bacalhau_installation_id_path(env),
                                   os.path.join(bacalhau_data_dir(env), "system_metadata.yaml")))


# ---------------------------------------------------------------------------
# Coiled (dask config)

#: The only dask-config keys read here. ``coiled.token`` sits in the same file and must
#: never be copied into a result, printed or stored.
_COILED_KEYS = ("user", "workspace", "account")


def dask_config_dirs(environ, home):
    """dask.config.paths, computed from ``environ`` (later dirs win)."""
    dirs = [environ.get("DASK_ROOT_CONFIG") or "/etc/dask",
            os.path.join(sys.prefix, "etc", "dask"),
            os.path.join(home, ".config", "dask")]
    if environ.get("DASK_CONFIG"):
        dirs.append(environ["DASK_CONFIG"])
    unique = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _load_config_file(path, found):
    text = _read_text(path, found, limit=1 << 20)
    if text is None:
        return None
    try:
        if path.endswith(".json"):
            return json.loads(text)
        from ruamel.yaml import YAML  # deferred: only when a dask config file exists

        return YAML(typ="safe", pure=True).load(text)
    except Exception:  # a malformed file of someone else's: skip it, say so
        found.problems.append("%s: not valid YAML/JSON; skipped" % path)
        return None


def coiled(env, found):
    merged = {}  # key -> (value, source); later files win, as in dask's own resolution
    for directory in dask_config_dirs(env.environ, env.home):
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if not name.endswith((".yaml", ".yml", ".json")):
                continue
            path = os.path.join(directory, name)
            doc = _load_config_file(path, found)
            section = doc.get("coiled") if isinstance(doc, dict) else None
            if isinstance(section, dict):
                for key in _COILED_KEYS:
                    value = section.get(key)
                    if isinstance(value, str) and value.strip():
                        merged[key] = (value, path)
            doc = section = None  # drop the parsed file (and the token in it) at once
    for key in _COILED_KEYS:
        name = "DASK_COILED__" + key.upper()
        if env.environ.get(name, "").strip():
            merged[key] = (env.environ[name], "$" + name)
    if "user" in merged:
        found.add("user", *merged["user"])
    # Coiled itself uses coiled.workspace, falling back to the older coiled.account.
    workspace = merged.get("workspace") or merged.get("account")
    if workspace:
        found.add("workspace", *workspace)


# ---------------------------------------------------------------------------


def gather(env, frameworks):
    """{framework: Found} for the named frameworks (unknown names get an empty Found)."""
    result = {}
    for name in frameworks:
        found = Found(name)
        if name == "ray":
            ray(env, found)
        elif name == "parsl":
            parsl(env, found)
        elif name == "bacalhau":
            bacalhau(env, found)
        elif name == "coiled":
            coiled(env, found)
        else:
            found.notes.append("usagectl knows no local identifiers for %s" % name)
        result[name] = found
    return result
