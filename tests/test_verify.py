"""usagectl verify: each check fails for the right reason, and passes after the fix it names."""

import datetime
import json
import os
import shutil
from pathlib import Path

import pytest

from usagectl import consent
from usagectl.core.environment import Environment
from usagectl.verify import verify

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.frameworks


def checks(result, framework=None):
    data = result.json()["data"]
    return {c["check"]: c for c in data["checks"] if framework is None or c["framework"] == framework}


def test_drifted_ray_file_fails_until_sync(cli, isolated_home):
    pytest.importorskip("ray")
    cli("disable")
    assert cli("verify", "ray").exit_code == 0
    (isolated_home / ".ray" / "config.json").write_text('{"usage_stats": true}')
    result = cli("verify", "ray", "--json")
    assert result.exit_code == 5, result
    found = checks(result)
    assert found["settings"]["status"] == "fail" and "usagectl sync" in found["settings"]["fix"]
    assert found["own-code"]["status"] == "fail"  # Ray's own usage_lib says on
    assert found["model-agreement"]["status"] == "pass"
    assert cli("sync").exit_code == 0
    assert cli("verify", "ray").exit_code == 0


def test_env_trap_fails_until_unset(cli):
    pytest.importorskip("ray")
    cli("disable")
    result = cli("verify", "ray", "--json", env={"RAY_USAGE_STATS_ENABLED": "true"})
    assert result.exit_code == 5
    found = checks(result)
    assert found["env-traps"]["status"] == "fail"
    assert "RAY_USAGE_STATS_ENABLED='true'" in found["env-traps"]["evidence"][0]
    assert cli("verify", "ray").exit_code == 0


def test_payload_after_opt_out_fails_and_is_listed(cli, env):
    cli("disable", "parsl")
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)
    assert consent.record_sent("parsl", "udp://tracking.parsl-project.org:50077", b'1{"test": 1}',
                               when=later)
    result = cli("verify", "parsl", "--json")
    assert result.exit_code == 5, result
    found = checks(result)["payloads-after-opt-out"]
    assert found["status"] == "fail" and "1 payload(s)" in found["summary"]
    assert "tracking.parsl-project.org" in found["evidence"][0]
    # The payload predates the fix the user made afterwards: --since moves the line.
    fixed_at = (later + datetime.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert checks(cli("verify", "parsl", "--json", "--since", fixed_at))[
        "payloads-after-opt-out"]["status"] == "pass"


def test_payload_before_opt_out_is_not_held_against_it(cli):
    earlier = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    consent.record_sent("parsl", "udp://tracking.parsl-project.org:50077", b"1{}", when=earlier)
    cli("disable", "parsl")
    assert checks(cli("verify", "parsl", "--json"))["payloads-after-opt-out"]["status"] == "pass"


def test_ray_report_from_a_cluster_started_before_opt_out_is_caught(cli, isolated_home):
    cli("disable", "ray")
    # A real usage_stats.json (see tests/fixtures/ray/README.md) in a session that started
    # before the opt-out, rewritten after it: Ray decided at start, and it kept reporting.
    source = next(p for p in (FIXTURES / "ray" / "enabled").glob("session_*") if p.is_dir())
    target = Path(os.environ["TMPDIR"]) / "ray" / "session_2020-01-01_00-00-00_000000_1"
    shutil.copytree(source, target)
    stats = json.loads((target / "usage_stats.json").read_text())
    stats["usage_stats"]["collect_timestamp_ms"] = int(
        (datetime.datetime.now(datetime.timezone.utc).timestamp() + 5) * 1000)
    (target / "usage_stats.json").write_text(json.dumps(stats))
    result = cli("verify", "ray", "--json")
    assert result.exit_code == 5
    assert checks(result)["payloads-after-opt-out"]["status"] == "fail"
    # Ray rewrites usage_stats.json with each report: one file is at least one payload (#24 case 4).
    assert checks(result)["payloads-after-opt-out"]["summary"].startswith("at least 1 payload(s)")


def test_missing_hook_warns_for_installed_python_frameworks(cli):
    pytest.importorskip("parsl")
    cli("disable")
    found = checks(cli("verify", "parsl", "--json"))
    assert found["runtime-hook"]["status"] == "warn"
    assert "usagectl hook install" in found["runtime-hook"]["fix"]


def test_side_channels_are_warnings_not_failures(cli):
    cli("disable", "bacalhau")
    result = cli("verify", "bacalhau", "--json")
    assert result.exit_code == 0
    found = checks(result)
    assert found["side-channel:id-headers"]["status"] == "warn"
    # usagectl stopped the update check when it turned analytics off
    assert found["side-channel:update-check"]["status"] == "pass"


def test_python_api_for_framework_test_suites():
    env = Environment()
    from usagectl.core import store

    store.set_modes(env.consent_path, env.history_path, ["bacalhau"], "off", None, "test")
    result = verify(["bacalhau"], env=env)
    assert not result.ok  # bacalhau's own file still says on: nobody ran sync
    assert [c.name for c in result.failures()] == ["settings"]
    from usagectl.commands import sync
    from usagectl.output import Report

    sync.apply_all(env, Report("sync"), ["bacalhau"])
    assert verify(["bacalhau"], env=env).ok


def _in_netns(argv, timeout=120):
    """Run ``argv`` in a fresh network namespace with only loopback (skip if unavailable)."""
    import subprocess

    import isolation

    isolation.require()
    return subprocess.run(isolation.isolated(argv), capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ))


RAY_OWN_REPORT = (
    "from ray._common.usage import usage_lib as u\n"
    "url = u._usage_stats_report_url()\n"
    "assert url == 'https://usage-stats.ray.io/', url\n"
    "try:\n"
    "    u.UsageReportClient().report_usage_data(url, u.generate_disabled_report_data())\n"
    "except Exception as exc:\n"
    "    print('blocked:', type(exc).__name__)\n")


@pytest.mark.netns
def test_verify_run_blocks_rays_own_report_at_its_default_url(cli):
    import sys

    pytest.importorskip("ray")
    cli("disable")
    proc = _in_netns([sys.executable, "-m", "usagectl", "verify", "--json", "--timeout", "90", "--run",
                      "--", sys.executable, "-c", RAY_OWN_REPORT])
    assert proc.returncode == 5, proc.stderr
    run = json.loads(proc.stdout)["data"]["run"]
    [attempt] = run["frameworks"]["ray"]["attempts"]
    assert attempt["host"] == "usage-stats.ray.io"
    body = json.loads(attempt["payload_text"])  # the disabled ping, as Ray's own code built it
    assert body["session_id"] is None and body["source"] and body["schema_version"]
    assert run["frameworks"]["ray"]["failed"] is True
    assert "blocked:" in proc.stderr  # the command's own output went to stderr, not into the JSON
    human = _in_netns([sys.executable, "-m", "usagectl", "verify", "--timeout", "90", "--run", "--",
                       sys.executable, "-c", RAY_OWN_REPORT])
    assert human.returncode == 5 and "usage-stats.ray.io" in human.stdout
    assert '"schema_version"' in human.stdout  # the body is shown


PARSL_FLOW = """
import sys
import parsl
from parsl.config import Config
from parsl.executors.threads import ThreadPoolExecutor

config = Config(executors=[ThreadPoolExecutor(max_threads=1, label="threads")], usage_tracking=3,
                run_dir=sys.argv[1])

@parsl.python_app
def add(a, b):
    return a + b

with parsl.load(config):
    assert add(1, 2).result(timeout=60) == 3
"""


@pytest.mark.netns
def test_verify_run_of_a_hooked_parsl_workflow_while_off_sees_nothing(cli, tmp_path):
    import sys

    pytest.importorskip("parsl")
    from test_hook import make_venv

    python, _ = make_venv(tmp_path / "venv")
    assert cli("hook", "install", "--python", python).exit_code == 0
    cli("disable")
    flow = tmp_path / "flow.py"
    flow.write_text(PARSL_FLOW)
    proc = _in_netns([sys.executable, "-m", "usagectl", "verify", "--json", "--timeout", "120", "--run",
                      "--", python, str(flow), str(tmp_path / "runinfo")], timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = json.loads(proc.stdout)["data"]["run"]
    assert run["attempt_count"] == 0 and run["exit_status"] == 0
    log = next((tmp_path / "runinfo").glob("*/parsl.log")).read_text()
    assert "Tracking level: 0" in log


def test_missing_hook_warning_clears_after_hook_install(cli, tmp_path):
    pytest.importorskip("parsl")
    from test_hook import make_venv

    python, _ = make_venv(tmp_path / "venv")
    cli("disable")
    before = checks(cli("verify", "parsl", "--python", python, "--json"))
    assert before["runtime-hook"]["status"] == "warn"
    assert cli("hook", "install", "--python", python).exit_code == 0
    after = checks(cli("verify", "parsl", "--python", python, "--json"))
    assert after["runtime-hook"]["status"] == "pass"


def test_verify_run_without_a_command_is_a_usage_error(cli):
    result = cli("verify", "--run")
    assert result.exit_code == 2 and "needs a command" in result.stderr


def _head_session(root, started, decided=b"Usage reporting is disabled."):
    name = started.strftime("session_%Y-%m-%d_%H-%M-%S_%f") + "_4242"
    logs = Path(root) / "ray" / name / "logs"
    logs.mkdir(parents=True)
    (logs / "dashboard.log").write_bytes(b"2026-12-08 01:00:00,000\tINFO usage_stats_head.py:120 -- " + decided + b"\n")
    return name


def test_a_head_started_since_the_opt_out_is_an_inferred_disabled_ping_unknown(cli, isolated_home):
    """#24 case 3: without the hook nothing records Ray's disabled ping, but a head that
    started after the opt-out and logged "disabled" sent one: verify says so as
    inference, delivery unknown, exit 7 (0 with --allow-unknown). A head from before the
    opt-out, or one that decided "enabled", is not such a ping."""
    assert cli("disable", "ray").exit_code == 0
    now = datetime.datetime.now()  # Ray names sessions in local time
    _head_session(os.environ["TMPDIR"], now - datetime.timedelta(days=3))  # before the opt-out
    result = cli("verify", "ray", "--json")
    assert "disabled-ping" not in checks(result)
    name = _head_session(os.environ["TMPDIR"], now + datetime.timedelta(seconds=2))
    result = cli("verify", "ray", "--json")
    ping = checks(result)["disabled-ping"]
    assert ping["status"] == "unknown" and "1 inferred" in ping["summary"], ping
    assert any(name in e for e in ping["evidence"])
    assert result.exit_code == 7, result
    assert cli("verify", "ray", "--allow-unknown").exit_code == 0
