"""Parsl payloads rebuilt from real parsl.log / parsl.jsonlog files (tests/fixtures/parsl)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from usagectl.frameworks.parsl import records as parsl_log

FIXTURES = Path(__file__).parent / "fixtures" / "parsl"
LOG = FIXTURES / "runinfo" / "000" / "parsl.log"
JSONLOG = FIXTURES / "runinfo" / "001" / "parsl.jsonlog"

from test_records_ray import RUNNER  # noqa: E402  (the real console-script entry point)


def show_last(*args, timeout=60):
    return subprocess.run([sys.executable, "-c", RUNNER, "show-last", *args], capture_output=True,
                          env=dict(os.environ), timeout=timeout)


# Parsl's own UsageTracker, bound to the same Config as the fixture run, with the run's
# correlator and clock: its construct_*_message must give the bytes we rebuilt from the log.
PARSL_BUILDS = """
import json, sys, time, types
from parsl.config import Config
from parsl.executors.threads import ThreadPoolExecutor
from parsl.dataflow.states import States
from parsl.usage_tracking import usage
args = json.loads(sys.argv[1])
config = Config(executors=[ThreadPoolExecutor(max_threads=2, label="threads")],
                usage_tracking=3, project_name="usagectl-fixture")
class DataFlowKernel(types.SimpleNamespace):
    pass
DataFlowKernel.__module__ = "parsl.dataflow.dflow"  # the end message names the DFK's type
dfk = DataFlowKernel(config=config, _config=config, task_count=3,
                     task_state_counts={States.failed: 0, States.dep_fail: 0})
tracker = usage.UsageTracker(dfk)
tracker.correlator_uuid = args["correlator"]
time.time = lambda: args["start"]
start = tracker.construct_start_message()
time.time = lambda: args["end"]
end = tracker.construct_end_message()
sys.stdout.write(json.dumps({"start": start.decode(), "end": end.decode()}))
"""


def parsl_messages(correlator, start, end):
    out = subprocess.run([sys.executable, "-c", PARSL_BUILDS,
                          json.dumps({"correlator": correlator, "start": start, "end": end})],
                         capture_output=True, check=True, timeout=120, env=dict(os.environ))
    built = json.loads(out.stdout)
    return built["start"].encode(), built["end"].encode()


def _payloads(path, n=5):
    found, skip = parsl_log.read_log(str(path), limit=n)
    assert skip is None
    return {p.kind: p for p in found}


def test_rebuilt_datagrams_equal_parsls_own_construct_messages():
    for path in (LOG, JSONLOG):
        by_kind = _payloads(path)
        start = json.loads(by_kind["start"].body[1:])
        end = json.loads(by_kind["end"].body[1:])
        parsl_start, parsl_end = parsl_messages(start["correlator"], start["start"], end["end"])
        assert by_kind["start"].body == parsl_start, path
        assert by_kind["end"].body == parsl_end, path
        assert by_kind["start"].body.startswith(b'1{"correlator": ')


def test_2026_10_26_pickle_failure_is_failed_not_sent():
    result = show_last("parsl", "-n", "4", "--json", "--path", str(FIXTURES / "runinfo"))
    assert result.returncode == 0, result
    payloads = json.loads(result.stdout)["data"]["frameworks"][0]["payloads"]
    assert len(payloads) == 4  # start + end of both runs
    for payload in payloads:
        assert payload["outcome"] == "failed"
        assert payload["reason"].startswith("Can't pickle <function udp_messenger")
        assert payload["destination"] == "udp://tracking.parsl-project.org:50077"
    human = show_last("parsl", "--path", str(FIXTURES / "runinfo")).stdout.decode()
    assert "FAILED, NOT delivered (it failed before the request reached the server): Can't pickle" in human
    assert " sent" not in human


def test_line_numbers_and_failure_pairing_on_real_log():
    by_kind = _payloads(LOG)
    assert by_kind["start"].source_line == 31 and by_kind["end"].source_line == 112
    assert by_kind["start"].identifiers["project_name"] == "usagectl-fixture"


def test_without_a_failure_line_it_is_logged_not_known_sent(tmp_path):
    run = tmp_path / "runinfo" / "000"
    run.mkdir(parents=True)
    kept = [line for line in LOG.read_bytes().split(b"\n") if b"Usage tracking failed" not in line]
    (run / "parsl.log").write_bytes(b"\n".join(kept))
    result = show_last("parsl", "-n", "2", "--json")  # ./runinfo is searched by default
    payloads = json.loads(result.stdout)["data"]["frameworks"][0]["payloads"]
    assert [p["outcome"] for p in payloads] == ["logged-not-known-sent"] * 2
    assert [p["kind"] for p in payloads] == ["end", "start"]


def test_huge_middle_is_skipped_but_head_and_tail_found(tmp_path):
    lines = LOG.read_bytes().split(b"\n")
    filler = b"1795478563.5 2026-11-24 00:02:43 MainProcess-1 MainThread-1 parsl.x:1 f DEBUG: pad\n"
    path = tmp_path / "parsl.log"
    with open(path, "wb") as handle:
        handle.write(b"\n".join(lines[:60]) + b"\n")
        handle.write(filler * 4000)
        handle.write(b"\n".join(lines[60:]))
    found, _ = parsl_log.read_log(str(path), limit=2, budget=64 * 1024)
    assert [p.kind for p in found] == ["end", "start"]
    assert found[1].source_line == 31          # head read from the start: line known
    assert found[0].source_line is None        # tail read from the end: offset only
    assert found[0].source_offset > 64 * 1024


def test_consent_search_globs_are_used(tmp_path, env):
    work = Path(env.home) / "work" / "proj" / "runinfo" / "007"
    work.mkdir(parents=True)
    shutil.copy(LOG, work / "parsl.log")
    consent = Path(env.consent_path)
    consent.parent.mkdir(parents=True, exist_ok=True)
    consent.write_text('schema = 1\n\n[search]\nparsl = ["~/work/*/runinfo"]\n')
    result = show_last("parsl", "--json")
    payloads = json.loads(result.stdout)["data"]["frameworks"][0]["payloads"]
    assert payloads and payloads[0]["source"]["file"] == str(work / "parsl.log")
