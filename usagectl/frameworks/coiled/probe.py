"""Ask dask and Coiled themselves. Run by path in the target Python (stdlib, dask and
Coiled only, no usagectl).

``probe()`` is verify's question (the analytics keys as dask resolves them);
``preview_probe(*keys)`` gives any keys' values with where dask looked. Neither opens
a socket.
"""

import json

#: The keys that decide whether Coiled analytics data leaves (see framework.py).
VERIFY_KEYS = (
    "coiled.analytics.disabled",
    "coiled.analytics.computation.code.transmit",
    "coiled.analytics.profile.transmit",
    "coiled.analytics.events.allow",
    "coiled.analytics.client-spans.transmit",
    "coiled.send-client-events",
)


def _describe(exc):
    """The error's type and, for a YAML error, the file and line: never its message, which
    quotes the file (and the line it quotes may hold the Coiled token)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None and getattr(mark, "line", None) is not None:
        return "%s in %s line %d" % (type(exc).__name__, getattr(mark, "name", "a dask config file"),
                                     mark.line + 1)
    return type(exc).__name__


def probe():
    try:
        import coiled  # noqa: F401  (registers coiled's defaults with dask)
        import dask.config
    except ImportError:
        return {"installed": False}
    except Exception as exc:  # dask reads every config file on import: a bad one raises here
        return {"installed": True, "error": _describe(exc)}
    try:
        dask.config.refresh()
        values = {key: dask.config.get(key, None) for key in VERIFY_KEYS}
        preload = dask.config.get("distributed.scheduler.preload", [])
    except Exception as exc:
        return {"installed": True, "error": _describe(exc)}
    return {"installed": True, "values": values,
            "preload": preload if isinstance(preload, (list, str)) else repr(preload),
            "read_locally": _keys_read_by_installed_coiled()}


def preview_probe(*keys):
    import dask.config

    try:  # coiled registers its defaults (coiled.yaml) with dask when imported
        import coiled  # noqa: F401

        coiled_version = _version("coiled")
    except ImportError:
        coiled_version = None
    dask.config.refresh()
    missing = object()
    values = {}
    for key in keys:
        value = dask.config.get(key, missing)
        values[key] = {"set": value is not missing, "value": None if value is missing else _jsonable(value)}
    return {"values": values, "coiled_version": coiled_version, "dask_version": _version("dask"),
            "paths": list(getattr(dask.config, "paths", [])),
            "read_locally": _keys_read_by_installed_coiled() if coiled_version else None}


def _keys_read_by_installed_coiled():
    """The coiled.* keys the installed Coiled's own code asks dask for (its
    ``dask.config.get("coiled....")`` calls), with dask's '_' == '-' rule applied. A key
    usagectl sets that a release never reads stops nothing in that release (client spans
    on Coiled 1.85, for one)."""
    import os
    import re

    import coiled

    pattern = re.compile(r"""config\.get\(\s*["'](coiled\.[\w.\-]+)["']""")
    found = set()
    root = os.path.dirname(os.path.abspath(coiled.__file__))
    for base, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                try:
                    with open(os.path.join(base, name), encoding="utf-8", errors="replace") as handle:
                        found.update(key.replace("_", "-") for key in pattern.findall(handle.read()))
                except OSError:
                    continue
    return sorted(found)


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _version(dist):
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
