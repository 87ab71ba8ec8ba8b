"""--follow streams new payloads within a second of a writer process writing them."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from test_records_ray import RUNNER  # noqa: E402

PARSL_LOG = Path(__file__).parent / "fixtures" / "parsl" / "runinfo" / "000" / "parsl.log"

# The writer: a ledger append, Parsl log lines appended, and a new Ray session whose
# usage_stats.json Ray's own code writes. It prints when each write finished.
WRITER = """
import json, os, sys, time
from ray._common.usage import usage_lib as u
from usagectl._ledger import record_sent
args = json.loads(sys.argv[1])
def done(what):
    print(json.dumps({"what": what, "at": time.time()}), flush=True)
time.sleep(0.5)
record_sent("parsl", "udp://x", b'1{"ledger": true}', "sent")
done("ledger")
time.sleep(1.5)
with open(args["log"], "ab") as f:
    f.write(args["lines"].encode())
done("parsl")
time.sleep(1.5)
session = os.path.join(args["ray_root"], "session_2026-11-30_10-00-00_000001_77")
os.makedirs(session)
data = u.UsageStatsToReport(schema_version="0.1", source="OSS", collect_timestamp_ms=1795900000000,
                            session_id="cd" * 28)
time.sleep(0.3)
u.UsageReportClient().write_usage_data(u.generate_write_data(data, None), session)
done("ray")
"""


def test_follow_sees_appends_within_a_second_and_ctrl_c_exits_130(tmp_path):
    run = tmp_path / "runinfo" / "000"
    run.mkdir(parents=True)
    log = run / "parsl.log"
    log.write_bytes(b"")
    ray_root = tmp_path / "tmp" / "ray"
    ray_root.mkdir(parents=True)
    real = PARSL_LOG.read_text().split("\n")
    start = next(i for i, line in enumerate(real) if "Usage tracking start message" in line)
    assert "Usage tracking failed" in real[start + 1]
    text = real[start] + "\n" + real[start + 1] + "\n"  # the real message and its failure line

    # Ctrl-C's SIGINT, delivered as a terminal would: a test run started in the background
    # (`cmd &` in a script) inherits SIGINT ignored, and so would this child.
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, "show-last", "ray", "parsl", "--follow",
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    arrivals = []

    def read():
        for raw in proc.stdout:
            arrivals.append((time.time(), json.loads(raw)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    errors, drainer = [], None
    try:
        started = proc.stderr.readline()
        assert b"following" in started, started
        # Drain stderr from here on, so a warning can never fill the pipe and block the child.
        drainer = threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True)
        drainer.start()
        writer = subprocess.run([sys.executable, "-c", WRITER, json.dumps(
            {"log": str(log), "lines": text, "ray_root": str(ray_root)})],
            capture_output=True, text=True, timeout=90, env=dict(os.environ))
        assert writer.returncode == 0, writer.stderr
        written = {json.loads(line)["what"]: json.loads(line)["at"] for line in writer.stdout.splitlines()}
        deadline = time.time() + 3
        while time.time() < deadline and len(arrivals) < 3:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
    if drainer is not None:
        drainer.join(5)
    err = b"".join(errors)
    assert code == 130, err
    assert b"Traceback" not in err

    def arrival(predicate):
        return next(at for at, event in arrivals if predicate(event["payload"]))

    ledger_at = arrival(lambda p: p["origin"] == "ledger")
    parsl_at = arrival(lambda p: p["origin"] == "parsl.log")
    ray_at = arrival(lambda p: p["framework"] == "ray")
    parsl_payload = next(e["payload"] for _, e in arrivals if e["payload"]["origin"] == "parsl.log")
    assert parsl_payload["outcome"] == "failed"
    for what, seen in (("ledger", ledger_at), ("parsl", parsl_at), ("ray", ray_at)):
        print("follow latency %s: %.3f s" % (what, seen - written[what]))
        assert 0 <= seen - written[what] <= 1.0, (what, seen - written[what])

