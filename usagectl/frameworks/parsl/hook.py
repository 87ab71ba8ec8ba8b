"""What the runtime hook does to Parsl. Loaded by path by usagectl/hook/runtime.py.

Stdlib only; every function takes the runtime (``rt``) so this file needs nothing
else of usagectl.

``UsageTracker.check_tracking_level``, the one gate every send passes through (its
result becomes ``tracking_level``, which the start and end messages test), is wrapped
so its result is capped at the consent level (Parsl before levels, 2024.3 and older:
``check_tracking_enabled`` answers False unless the consent allows sending); and every
message Parsl hands to its UDP sender goes into usagectl's sent ledger.
"""


def patch_usage(rt, module):
    tracker = module.UsageTracker
    _patch_send(rt, tracker)
    _patch_init(rt, tracker)
    if not hasattr(tracker, "check_tracking_level"):
        # Parsl before levels (2024.3 and older): a boolean gate, check_tracking_enabled.
        _patch_enabled(rt, module, tracker)
        return
    original = tracker.check_tracking_level
    if getattr(original, rt.MARK, False):
        return

    def check_tracking_level(self):
        level = original(self)  # Parsl's own validation (and ConfigurationError) first
        try:
            cap = rt.level_cap(rt.decide("parsl"))
        except Exception:
            cap = 0
        if cap is None or int(level) <= cap:
            return level
        rt.log("info", "usagectl: usage tracking level %s capped at %d by the telemetry consent",
               level, cap, logger_name=module.__name__)
        return cap

    check_tracking_level.__doc__ = original.__doc__
    check_tracking_level.__wrapped__ = original
    setattr(check_tracking_level, rt.MARK, True)
    tracker.check_tracking_level = check_tracking_level


def _patch_enabled(rt, module, tracker):
    """Older Parsl: ``check_tracking_enabled() -> bool`` (config.usage_tracking and the
    PARSL_TRACKING variable) decides at start. Off or local in the consent, or a level
    cap below 3: False."""
    original = getattr(tracker, "check_tracking_enabled", None)
    if original is None or getattr(original, rt.MARK, False):
        return

    def check_tracking_enabled(self):
        enabled = original(self)
        try:
            cap = rt.level_cap(rt.decide("parsl"))
        except Exception:
            cap = 0
        # Its one message holds what level 3 holds (the start time; the end message's app
        # counts), so any cap below 3 turns it off: it can't send less.
        if enabled and cap is not None and cap < 3:
            rt.log("info", "usagectl: usage tracking turned off by the telemetry consent",
                   logger_name=module.__name__)
            return False
        return enabled

    check_tracking_enabled.__doc__ = original.__doc__
    check_tracking_enabled.__wrapped__ = original
    setattr(check_tracking_enabled, rt.MARK, True)
    tracker.check_tracking_enabled = check_tracking_enabled


def _patch_init(rt, tracker):
    """Note each workflow's run_dir (its parsl.log), so usagectl finds logs wherever the
    workflow ran: the DataFlowKernel makes run_dir before it makes its UsageTracker."""
    original = tracker.__init__
    if getattr(original, rt.MARK, False):
        return

    def __init__(self, dfk, *args, **kwargs):
        original(self, dfk, *args, **kwargs)
        run_dir = getattr(dfk, "run_dir", None)
        if isinstance(run_dir, str) and run_dir:
            rt.record_place("parsl", "run_dir", run_dir)

    rt.copy_identity(__init__, original)
    tracker.__init__ = __init__


def _patch_send(rt, tracker):
    """Record what Parsl hands to its UDP sender in the ledger.

    Parsl sends from a spawned process and logs failures only there, so usagectl can
    know that a message was handed over ("logged-not-known-sent"), or that the
    hand-over itself failed (in 2026.10.26 it always does: Parsl issue #4038).
    """
    original = getattr(tracker, "send_UDP_message", None)
    if original is None or getattr(original, rt.MARK, False):
        return

    def send_UDP_message(self, message, *args, **kwargs):
        before = len(getattr(self, "procs", None) or ())
        result = original(self, message, *args, **kwargs)
        started = len(getattr(self, "procs", None) or ()) > before
        identifiers = {}
        try:
            import json

            raw = message.encode("utf-8") if isinstance(message, str) else bytes(message)
            # b"1" + JSON since levels; plain JSON text before (2024.3 and older).
            sent = json.loads(raw[1:] if raw[:1] == b"1" else raw)
            for key in ("correlator", "uuid", "project_name"):
                if sent.get(key):
                    identifiers[key] = sent[key]
        except Exception:
            pass
        destination = "udp://%s:%s" % (getattr(self, "domain_name", "?"), getattr(self, "UDP_PORT", "?"))
        if started:
            rt.record("parsl", destination, message, "logged-not-known-sent",
                      "handed to Parsl's sender process, which reports no outcome", identifiers,
                      delivery="unknown")
        else:
            rt.record("parsl", destination, message, "failed",
                      "Parsl could not start its sender process ('Usage tracking failed' in parsl.log)",
                      identifiers, delivery="not-delivered")
        return result

    rt.copy_identity(send_UDP_message, original)
    tracker.send_UDP_message = send_UDP_message
