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


def test_a_named_blackhole_takes_the_ping_in_env_and_in_the_hook(settings_file, tmp_path):
    """Never by default; where the user names one, `usagectl env` and the runtime hook
    point Ray's report URL (which the disabled ping uses) at it while consent is off."""
    import os
    import subprocess
    import sys

    assert run_in_process("disable").exit_code == 0
    assert "RAY_USAGE_STATS_REPORT_URL" not in run_in_process("env").stdout
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_text('[blackhole]\nray = "http://127.0.0.1:9/"\n')
    assert "export RAY_USAGE_STATS_REPORT_URL=http://127.0.0.1:9/" in run_in_process("env").stdout
    assert run_in_process("reset").exit_code == 0
    assert run_in_process("enable", "ray").exit_code == 0
    assert "RAY_USAGE_STATS_REPORT_URL" not in run_in_process("env").stdout   # on: left alone

    # The hook's own action, as Ray's import would trigger it.
    assert run_in_process("disable", "ray").exit_code == 0
    code = ("import os, sys; sys.path.insert(0, %r)\n"
            "from usagectl.hook import runtime\n"
            "from usagectl.frameworks.ray import hook\n"
            "hook.before_import(runtime)\n"
            "print(os.environ.get('RAY_USAGE_STATS_REPORT_URL'), os.environ.get('RAY_USAGE_STATS_ENABLED'))"
            % os.path.dirname(os.path.dirname(os.path.abspath(consent.__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ), check=True).stdout.split()
    assert out == ["http://127.0.0.1:9/", "0"]
