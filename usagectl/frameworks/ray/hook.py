"""What the runtime hook does to Ray. Loaded by path by usagectl/hook/runtime.py.

Stdlib only; every function takes the runtime (``rt``: decide, record, log,
copy_identity, MARK, NOT_SENDING) so this file needs nothing else of usagectl.

- ``before_import``: before Ray's package runs, ``RAY_USAGE_STATS_ENABLED=0`` when the
  consent is off or local. Ray's ``usage_lib._usage_stats_enabledness()`` reads that
  variable first, on every call, and ``"0"`` means DISABLED_EXPLICITLY; child
  processes (``ray start``'s dashboard among them) inherit it.
- ``patch_usage_lib``: every report Ray's dashboard POSTs (the disabled ping included)
  goes into usagectl's sent ledger with its exact body.
"""

import os

ENV_VAR = "RAY_USAGE_STATS_ENABLED"


def before_import(rt):
    decision = rt.decide("ray")
    if decision.mode in rt.NOT_SENDING:
        # Overrides a user's "1" too: the consent file outranks the framework's switch.
        os.environ[ENV_VAR] = "0"
        # The disabled ping is sent whatever the switch says; a blackhole the user named
        # in settings.toml [blackhole] takes it instead (never set by default).
        blackhole = rt.setting("blackhole", "ray")
        if isinstance(blackhole, str) and blackhole:
            os.environ["RAY_USAGE_STATS_REPORT_URL"] = blackhole


def patch_usage_lib(rt, module):
    """Record every report Ray's dashboard sends (the disabled ping included) in the ledger.

    Both the full report and the "disabled ping" go through
    ``UsageReportClient.report_usage_data`` (usage_stats_head.py), which POSTs
    ``json=asdict(data)``: requests encodes that with json.dumps(allow_nan=False), so
    the recorded body is the exact bytes on the wire.
    """
    client = getattr(module, "UsageReportClient", None)
    original = getattr(client, "report_usage_data", None)
    if original is None or getattr(original, rt.MARK, False):
        return

    def report_usage_data(self, url, data, *args, **kwargs):
        body, identifiers = None, {}
        try:
            import dataclasses
            import json

            body = json.dumps(dataclasses.asdict(data), allow_nan=False).encode("utf-8")
            if getattr(data, "session_id", None):
                identifiers["session_id"] = data.session_id
        except Exception:
            pass
        ping = getattr(data, "session_id", None) is None and getattr(data, "ray_version", None) is None
        try:
            result = original(self, url, data, *args, **kwargs)
        except BaseException as exc:
            # requests' HTTPError carries the response: the server got the body.
            status = getattr(getattr(exc, "response", None), "status_code", None)
            delivery = "delivered" if isinstance(status, int) else None
            # A ping stays a ping when it fails: its label says what it was, delivery what
            # happened to it (unknown here is classified from the reason when read back).
            rt.record("ray", url, body, "disabled-ping" if ping else "failed",
                      "%s: %s" % (type(exc).__name__, exc), identifiers,
                      delivery=delivery, http_status=status if delivery else None)
            raise
        rt.record("ray", url, body, "disabled-ping" if ping else "sent", None, identifiers,
                  delivery="delivered")
        return result

    rt.copy_identity(report_usage_data, original)
    client.report_usage_data = report_usage_data
