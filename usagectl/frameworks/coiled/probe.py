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
    analytics = dask.config.get("coiled.analytics", {})
    settings = {}
    for key, value in _flatten(analytics if isinstance(analytics, dict) else {}, "coiled.analytics."):
        settings[key] = _jsonable(value)
    for key in keys:
        if values[key]["set"] and key.startswith("coiled."):
            settings.setdefault(key, values[key]["value"])
    return {"values": values, "coiled_version": coiled_version, "dask_version": _version("dask"),
            "paths": list(getattr(dask.config, "paths", [])),
            "read_locally": _keys_read_by_installed_coiled() if coiled_version else None,
            "settings": settings, "sources": _sources(dask.config, list(settings))}


def _flatten(tree, prefix):
    for name, value in tree.items():
        if isinstance(value, dict) and value:
            yield from _flatten(value, prefix + str(name) + ".")
        else:
            yield prefix + str(name), value


def _has(tree, key):
    node = tree
    for part in key.split("."):
        if not isinstance(node, dict):
            return False
        match = [k for k in node if str(k).replace("_", "-") == part.replace("_", "-")]
        if not match:
            return False
        node = node[match[0]]
    return True


def _sources(config, keys):
    """Which layer set each key, as dask itself layers them: its config files in
    ``config.paths`` order (later wins), then DASK_* variables; else the defaults
    Coiled registers (its coiled.yaml) or its code's own."""
    import os

    files = []
    try:
        files = list(config.collect_yaml(config.paths, return_paths=True))
    except TypeError:  # older dask: no return_paths; one file at a time, in dask's order
        for path in config.paths:
            names = sorted(os.path.join(path, n) for n in os.listdir(path)
                           if n.endswith((".yaml", ".yml", ".json"))) if os.path.isdir(path) else [path]
            for name in names:
                files.extend((name, found) for found in config.collect_yaml([name]))
    except Exception:
        files = []
    sources = {}
    for key in keys:
        source = "Coiled's defaults (coiled.yaml) or its code"
        for path, found in files:
            if _has(found, key):
                source = str(path)
        for name in sorted(os.environ):
            if name.startswith("DASK_") and _has(config.collect_env({name: os.environ[name]}), key):
                source = "$" + name
        sources[key] = source
    return sources


def _keys_read_by_installed_coiled():
    """The coiled.* keys the installed Coiled's own code asks dask for (its
    ``dask.config.get("coiled....")`` calls), with dask's '_' == '-' rule applied. A key
    usagectl sets that a release never reads stops nothing in that release (client spans
    on Coiled 1.85, for one)."""
    import os
    import re
    import stat

    import coiled

    pattern = re.compile(r"""config\.get\(\s*["'](coiled\.[\w.\-]+)["']""")
    found = set()
    root = os.path.dirname(os.path.abspath(coiled.__file__))
    for base, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                try:
                    # Never blocks (this runs in the user's interpreter, without usagectl): a
                    # FIFO in the package is passed over, not waited on.
                    fd = os.open(os.path.join(base, name), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
                    with os.fdopen(fd, "rb") as handle:
                        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                            continue
                        text = handle.read().decode("utf-8", "replace")
                    found.update(key.replace("_", "-") for key in pattern.findall(text))
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
