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


def preview_probe(*levels):
    import base64
    import logging
    import types
    from importlib import metadata

    logging.getLogger("parsl").addHandler(logging.NullHandler())
    from parsl.config import Config
    from parsl.usage_tracking.usage import UsageTracker

    # Parsl before levels (2024.3 and older) has a boolean switch and one message,
    # sent as text without the protocol byte.
    has_levels = hasattr(UsageTracker, "check_tracking_level")
    built = []
    for level in levels if has_levels else [None]:
        config = Config(usage_tracking=int(level) if has_levels else True)
        # UsageTracker reads only .config and ._config of the DataFlowKernel; a stand-in
        # lets Parsl build its message without starting a workflow.
        dfk = types.SimpleNamespace(config=config, _config=config)
        tracker = UsageTracker(dfk)
        datagram = tracker.construct_start_message()
        if isinstance(datagram, str):
            datagram = datagram.encode("utf-8")
        built.append({"level": getattr(tracker, "tracking_level", None),
                      "datagram_base64": base64.b64encode(datagram).decode("ascii"),
                      "host": tracker.domain_name, "port": tracker.UDP_PORT})
    return {"messages": built, "version": metadata.version("parsl"), "levels": has_levels}
