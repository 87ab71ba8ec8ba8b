"""The Coiled user and workspace, from the dask config (never the token beside them)."""

import json
import os

from usagectl.core.identifiers import read_text
from usagectl.frameworks.coiled.framework import dask_search_paths

#: The only dask-config keys read here. ``coiled.token`` sits in the same file and must
#: never be copied into a result, printed or stored.
_COILED_KEYS = ("user", "workspace", "account")


def _load_config_file(path, found):
    text = read_text(path, found, limit=1 << 20)
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


def gather(env, found):
    merged = {}  # key -> (value, source); later files win, as in dask's own resolution
    for directory in dask_search_paths(env):
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
    found.notes.append("Coiled keeps no local list of your clusters: the request names your Coiled "
                       "user and workspace, with which Coiled finds them (and their analytics)")
