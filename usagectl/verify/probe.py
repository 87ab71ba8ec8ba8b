"""Ask the frameworks themselves what they will do. Run as a script by the target Python.

    python probe.py [--without-hook] FRAMEWORK...

Prints one JSON object. Stdlib plus the frameworks only: the target Python need not
have usagectl installed. With --without-hook the runtime hook's import finder (if the
.pth installed one) is removed first, so the answer is the framework's own, unaided.
"""

import json
import os
import sys


def _drop_hook():
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "_usagectl_hook", False)]


def _hook_active():
    return any(getattr(f, "_usagectl_hook", False) for f in sys.meta_path)


def probe_ray():
    try:
        from ray._common.usage import usage_lib
    except ImportError:
        return {"installed": False}
    try:
        enabled = usage_lib.usage_stats_enabled()
    except Exception as exc:  # Ray raises ValueError on a bad env value or file type
        return {"installed": True, "error": "%s: %s" % (type(exc).__name__, exc)}
    return {"installed": True, "enabled": bool(enabled),
            "env": os.environ.get("RAY_USAGE_STATS_ENABLED")}


COILED_KEYS = (
    "coiled.analytics.disabled",
    "coiled.analytics.computation.code.transmit",
    "coiled.analytics.profile.transmit",
    "coiled.analytics.events.allow",
    "coiled.analytics.client-spans.transmit",
    "coiled.send-client-events",
)


def probe_coiled():
    try:
        import dask.config
        import coiled  # noqa: F401  (registers coiled's defaults with dask)
    except ImportError:
        return {"installed": False}
    try:
        dask.config.refresh()
        values = {key: dask.config.get(key, None) for key in COILED_KEYS}
    except Exception as exc:
        return {"installed": True, "error": "%s: %s" % (type(exc).__name__, exc)}
    return {"installed": True, "values": values}


def probe_parsl():
    try:
        from parsl.usage_tracking import usage
    except ImportError:
        return {"installed": False}
    gate = getattr(usage.UsageTracker, "check_tracking_level", None)
    return {"installed": True, "capped_by_hook": bool(getattr(gate, "_usagectl_hook", False))}


PROBES = {"ray": probe_ray, "coiled": probe_coiled, "parsl": probe_parsl}


def main(argv):
    without_hook = "--without-hook" in argv
    names = [a for a in argv if not a.startswith("--")] or sorted(PROBES)
    if without_hook:
        _drop_hook()
    result = {"python": sys.executable, "hook_active": _hook_active(), "frameworks": {}}
    for name in names:
        if name in PROBES:
            result["frameworks"][name] = PROBES[name]()
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
