"""Ask Ray itself. Run by path in the target Python (stdlib and Ray only, no usagectl).

``probe()`` is verify's question (will Ray report?); ``preview_probe()`` builds the
payloads a preview shows, with Ray's own functions. Neither opens a socket.
"""

import os


def _usage_lib():
    # 2.60 keeps it in ray._common.usage; older releases in ray._private.usage.
    try:
        from ray._common.usage import usage_lib
    except ImportError:
        from ray._private.usage import usage_lib
    return usage_lib


def probe():
    try:
        usage_lib = _usage_lib()
    except ImportError:
        return {"installed": False}
    try:
        enabled = usage_lib.usage_stats_enabled()
    except Exception as exc:  # Ray raises ValueError on a bad env value or file type
        return {"installed": True, "error": "%s: %s" % (type(exc).__name__, exc)}
    return {"installed": True, "enabled": bool(enabled),
            "env": os.environ.get("RAY_USAGE_STATS_ENABLED")}


def preview_probe():
    import dataclasses
    import json
    from importlib import metadata

    usage_lib = _usage_lib()
    # The disabled ping came after 2.9 (2.9.3 has no generate_disabled_report_data: with
    # usage stats off it sends nothing at all).
    make_disabled = getattr(usage_lib, "generate_disabled_report_data", None)
    disabled = make_disabled() if make_disabled is not None else None
    return {
        # requests' json= encodes with json.dumps (default separators): these are the bytes.
        "disabled_body": json.dumps(dataclasses.asdict(disabled)) if disabled is not None else None,
        "has_disabled_ping": disabled is not None,
        "url": usage_lib._usage_stats_report_url(),
        "interval_s": usage_lib._usage_stats_report_interval_s(),
        "fields": [f.name for f in dataclasses.fields(usage_lib.UsageStatsToReport)],
        "version": metadata.version("ray"),
    }
