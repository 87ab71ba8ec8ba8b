"""Any HTTP response means the server received the bytes: "failed" is not "not sent".

Ray's own report function posts to a loopback server that answers 500, and to a closed
loopback port, inside isolated namespaces (tests/isolation.py); Ray's own writer then
records each attempt in usage_stats.json, exactly as its dashboard does after a report.
usagectl must call the first delivered (HTTP 500) and the second not delivered.
"""

import json
import os
import subprocess
import sys

import isolation
import pytest
from clirun import run_in_process

from usagectl.core import delivery

REPORT_AND_RECORD = r"""
import http.server, json, socket, sys, threading
from ray._common.usage import usage_lib as u

out, mode = sys.argv[1], sys.argv[2]
received = []

class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(500); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args):
        pass

if mode == "500":
    server = http.server.HTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/" % server.server_port
else:  # a port nobody listens on
    probe = socket.socket(); probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]; probe.close()
    url = "http://127.0.0.1:%d/" % port
data = u.UsageStatsToReport(schema_version="0.1", source="OSS", collect_timestamp_ms=1795478600000,
                            seq_number=1, session_id="cd" * 28, ray_version="2.60.0")
client = u.UsageReportClient()
try:
    client.report_usage_data(url, data)
    error = None
except Exception as exc:   # what usage_stats_head.py does with a failed report
    error = str(exc)
client.write_usage_data(u.generate_write_data(data, error), out)
print(json.dumps({"url": url, "received": len(received), "error": error}))
"""


def report(tmp_path, mode):
    isolation.require()
    session = tmp_path / "tmp" / "ray" / ("session_2026-11-25_10-00-0%s_000001_7" % len(mode))
    session.mkdir(parents=True)
    proc = subprocess.run(isolation.isolated([sys.executable, "-c", REPORT_AND_RECORD, session, mode]),
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.frameworks
@pytest.mark.netns
def test_a_report_answered_500_was_delivered_and_one_to_a_closed_port_was_not(tmp_path):
    answered = report(tmp_path, "500")
    refused = report(tmp_path, "closed")
    assert answered["received"] == 1 and refused["received"] == 0  # what really happened

    result = run_in_process("show-last", "ray", "-n", "2", "--json")
    assert result.exit_code == 0, result
    payloads = {p["destination"]: p for p in result.json()["data"]["frameworks"][0]["payloads"]}
    got = payloads[answered["url"]]
    assert (got["outcome"], got["delivery"], got["http_status"]) == ("failed", "delivered", 500)
    missed = next(p for p in payloads.values() if p is not got)
    assert (missed["outcome"], missed["delivery"]) == ("failed", "not-delivered")
    assert missed["destination"] == refused["url"]   # from Ray's own error, not a guess

    human = run_in_process("show-last", "ray", "-n", "2").stdout
    assert "DELIVERED (HTTP 500" in human and "NOT delivered" in human and "not sent" not in human


@pytest.mark.parametrize("text, expected", [
    ("500 Server Error: Internal Server Error for url: http://127.0.0.1:8999/",
     (delivery.DELIVERED, 500, "http://127.0.0.1:8999/")),
    ("HTTPError: 429 Client Error: Too Many Requests for url: https://usage-stats.ray.io/",
     (delivery.DELIVERED, 429, "https://usage-stats.ray.io/")),
    ("HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: / (Caused by "
     "NewConnectionError('<urllib3.connection.HTTPConnection object>: Failed to establish a new "
     "connection: [Errno 111] Connection refused'))",
     (delivery.NOT_DELIVERED, None, "http://127.0.0.1:9/")),
    ("HTTPSConnectionPool(host='usage-stats.ray.io', port=443): Max retries exceeded with url: / "
     "(Caused by NameResolutionError(\"Failed to resolve 'usage-stats.ray.io'\"))",
     (delivery.NOT_DELIVERED, None, "https://usage-stats.ray.io:443/")),
    ("HTTPConnectionPool(host='127.0.0.1', port=8999): Read timed out. (read timeout=10)",
     (delivery.UNKNOWN, None, "http://127.0.0.1:8999")),
    ("something nobody has seen", (delivery.UNKNOWN, None, None)),
    (None, (delivery.UNKNOWN, None, None)),
])
def test_error_texts_are_classified_without_guessing(text, expected):
    assert delivery.classify_http_error(text) == expected
