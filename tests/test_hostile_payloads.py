"""Payload text is untrusted: nothing from a payload may drive the terminal."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_records_ray import ray_write, show_last  # noqa: E402

PARSL_LOG = Path(__file__).parent / "fixtures" / "parsl" / "runinfo" / "000" / "parsl.log"
HOSTILE = "\x1b[2J" + "\x1b]52;c;aGVsbG8=\x07" + "\x9b31m" + "\u202e" + "[red]x[/red]"
RAW_FORBIDDEN = [b"\x1b", b"\x07", "\x9b".encode(), b"\x9b", "\u202e".encode()]


def assert_clean(data):
    for forbidden in RAW_FORBIDDEN:
        assert forbidden not in data, forbidden


def hostile_parsl_log(run_dir, hostile=HOSTILE):
    """The real fixture log with a hostile project name (written as Parsl writes a message:
    the dict's repr) and a hostile raw failure reason. Shared with stress/hostile.py."""
    out = []
    for line in PARSL_LOG.read_bytes().split(b"\n"):
        marker = b"Usage tracking start message: "
        if marker in line:
            head, text = line.split(marker)
            message = ast.literal_eval(text.decode())
            message["project_name"] = hostile
            line = head + marker + str(message).encode()
        elif b"Usage tracking failed: " in line:
            line = line.split(b"Usage tracking failed: ")[0] + b"Usage tracking failed: " + hostile.encode()
        out.append(line)
    run_dir.mkdir(parents=True)
    (run_dir / "parsl.log").write_bytes(b"\n".join(out))


@pytest.fixture
def hostile_sources(tmp_path):
    ray_write(tmp_path / "tmp" / "ray" / "session_2026-11-25_10-00-00_000001_42", error=HOSTILE,
              extra_tags={"evil": HOSTILE})
    hostile_parsl_log(tmp_path / "runinfo" / "000")
    raw_file = (tmp_path / "tmp" / "ray" / "session_2026-11-25_10-00-00_000001_42" /
                "usage_stats.json").read_bytes()
    assert b"\\u001b" in raw_file  # Ray's json.dumps wrote the ESC as an escape; the error
    return tmp_path


def test_human_output_escapes_everything(hostile_sources):
    result = show_last("ray", "parsl", "-n", "2")
    assert result.returncode == 0, result
    assert_clean(result.stdout)
    assert_clean(result.stderr)
    out = result.stdout.decode()
    assert "\\x1b[2J" in out
    assert "\\x1b]52;c;aGVsbG8=\\x07" in out
    assert "\\x9b31m" in out
    assert "\\u202e" in out
    assert "[red]x[/red]" in out  # markup shown as the literal text it is, never interpreted
    assert out.count("[red]x[/red]") >= 3  # ray tag + ray error + parsl project/reason


def test_json_output_escapes_everything(hostile_sources):
    result = show_last("ray", "parsl", "-n", "2", "--json")
    assert_clean(result.stdout)
    envelope = json.loads(result.stdout)
    ray = envelope["data"]["frameworks"][0]["payloads"][0]
    assert json.loads(ray["body"])["extra_usage_tags"]["evil"] == HOSTILE  # exact after decoding
    assert ray["reason"] == HOSTILE


def test_raw_to_a_pipe_is_exact_and_to_a_terminal_is_escaped(hostile_sources):
    result = show_last("parsl", "--raw")
    assert result.returncode == 0
    body = result.stdout
    assert body.startswith(b"1{") and json.loads(body[1:])["correlator"]
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", __import__("test_records_ray").RUNNER, "show-last",
                             "ray", "--raw"], stdout=follower, stderr=subprocess.PIPE, env=dict(os.environ))
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    shown = b"".join(chunks)
    assert_clean(shown)
    assert b"stdout is a terminal" in proc.stderr.read()
