"""Ask Parsl itself. Run by path in the target Python (stdlib and Parsl only, no usagectl).

``probe()`` tells verify whether the runtime hook's cap is on Parsl's one gate;
``preview_probe(*levels)`` builds the start message Parsl would send at each level,
with Parsl's own UsageTracker. Neither opens a socket.
"""


def probe():
    try:
        from parsl.usage_tracking import usage
    except ImportError:
        return {"installed": False}
    gate = getattr(usage.UsageTracker, "check_tracking_level", None)
    return {"installed": True, "capped_by_hook": bool(getattr(gate, "_usagectl_hook", False))}


def preview_probe(*args):
    """Parsl's own messages. ``args``: levels ("1".."3"), or with ``--config=SPEC`` (the
    user's Config: MODULE:ATTR, or a .py file with an optional :ATTR, default "config")
    the level that Config asks for, capped by ``--cap=N`` (what the runtime hook does)."""
    import base64
    import logging
    from importlib import metadata

    logging.getLogger("parsl").addHandler(logging.NullHandler())
    from parsl.config import Config
    from parsl.usage_tracking.usage import UsageTracker

    options = dict(a[2:].split("=", 1) for a in args if a.startswith("--"))
    levels = [int(a) for a in args if not a.startswith("--")]
    # Parsl before levels (2024.3 and older) has a boolean switch and one message,
    # sent as text without the protocol byte.
    has_levels = hasattr(UsageTracker, "check_tracking_level")
    user = _load_config(options["config"]) if "config" in options else None

    def encoded(message):
        return base64.b64encode(message.encode("utf-8") if isinstance(message, str) else message).decode("ascii")

    built = []
    asked = None
    plans = [None] if not has_levels else levels
    if user is not None:
        tracker = UsageTracker(_stand_in_kernel(user))
        asked = getattr(tracker, "tracking_level", None) if has_levels else bool(tracker.tracking_enabled)
        cap = int(options["cap"]) if options.get("cap") not in (None, "") else None
        if has_levels:
            sent_level = min(asked, cap) if cap is not None else asked
            plans = [sent_level] if sent_level else []  # capped at 0: the hook stops it
        else:
            plans = [None] if asked else []
    for level in plans:
        config = user if user is not None else Config(usage_tracking=int(level) if has_levels else True)
        tracker = UsageTracker(_stand_in_kernel(config))
        if has_levels and user is not None:
            tracker.tracking_level = level  # the hook's cap, as check_tracking_level would return it
        entry = {"level": getattr(tracker, "tracking_level", None), "kind": "start",
                 "datagram_base64": encoded(tracker.construct_start_message()),
                 "host": tracker.domain_name, "port": tracker.UDP_PORT}
        built.append(entry)
        if level == 3 or not has_levels:
            # Sent at cleanup (level 3 only): the counts are this stand-in's (0), yours are your run's.
            if not has_levels:
                tracker.dfk.task_count = 0
            built.append(dict(entry, kind="end", datagram_base64=encoded(tracker.construct_end_message())))
    return {"messages": built, "version": metadata.version("parsl"), "levels": has_levels,
            "config": options.get("config"), "config_level": asked,
            "project_name": getattr(user, "project_name", None) if user is not None else None}


def _stand_in_kernel(config):
    """What UsageTracker reads of a DataFlowKernel (its config, task counts), so Parsl
    builds its messages without starting a workflow. Named as the real class, because
    the end message reports the DataFlowKernel's type."""
    from parsl.dataflow.states import States

    kernel = type("DataFlowKernel", (), {"__module__": "parsl.dataflow.dflow"})()
    kernel.config = kernel._config = config
    kernel.task_count = 0
    kernel.task_state_counts = {States.failed: 0, States.dep_fail: 0}
    kernel.run_dir = None
    return kernel


def _load_config(spec):
    """The user's Config object: MODULE:ATTR (imported), or PATH.py[:ATTR] (run with
    runpy, so an ``if __name__ == "__main__"`` block does not run)."""
    import importlib
    import os
    import runpy

    target, _, attr = spec.rpartition(":") if ":" in spec and not os.path.exists(spec) else (spec, "", "")
    if target.endswith(".py") or os.sep in target or os.path.exists(target):
        namespace = runpy.run_path(target, run_name="__usagectl_preview__")
        value = namespace[attr or "config"]
    else:
        value = getattr(importlib.import_module(target), attr or "config")
    from parsl.config import Config

    if not isinstance(value, Config):
        raise TypeError("not a parsl Config")
    return value
