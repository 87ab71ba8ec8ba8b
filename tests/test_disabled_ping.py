"""Ray's "disabled ping" is judged by what happened to it, with its real destination."""

import json

import pytest
from clirun import run_in_process

from usagectl import consent

PING = json.dumps({"schema_version": "0.1", "source": "OSS", "collect_timestamp_ms": 1795478600000,
                   "session_id": None, "ray_version": None})


def record_ping(url, delivery, reason=None):
    assert consent.record_sent("ray", url, PING, outcome="disabled-ping", reason=reason,
                               delivery=delivery)


@pytest.mark.parametrize("delivery, verdict, code", [
    ("delivered", "fail", 5),
    ("not-delivered", "pass", None),
    ("unknown", "unknown", 7),
])
def test_the_verdict_follows_delivery(delivery, verdict, code):
    assert run_in_process("disable").exit_code == 0
    record_ping("http://127.0.0.1:8999/", delivery,
                None if delivery == "delivered" else "ConnectionError: Connection refused")
    result = run_in_process("verify", "ray", "--json")
    checks = {c["check"]: c for c in result.json()["data"]["checks"]}
    assert checks["disabled-ping"]["status"] == verdict
    if verdict == "fail":
        assert "http://127.0.0.1:8999/" in checks["disabled-ping"]["summary"]   # where it really went
    # A ping is never counted as an ordinary report, and never loses its label.
    assert checks["payloads-after-opt-out"]["status"] == "pass"
    if code is not None:
        assert result.exit_code == code
    shown = run_in_process("show-last", "ray").stdout
    assert "disabled ping" in shown


def test_the_side_channel_names_the_configured_url(monkeypatch):
    monkeypatch.setenv("RAY_USAGE_STATS_REPORT_URL", "http://127.0.0.1:8999/")
    from usagectl import frameworks
    from usagectl.core.environment import Environment

    (ping,) = [c for c in frameworks.get("ray").side_channels(Environment()) if c["name"] == "disabled-ping"]
    assert "http://127.0.0.1:8999/" in ping["detail"] and "usage-stats.ray.io/ with" not in ping["detail"]
