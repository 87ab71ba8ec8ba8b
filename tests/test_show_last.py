"""`usagectl show-last` as a whole: envelope, ledger, --trust, --since, no-record frameworks."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from test_records_ray import ENABLED, SESSION, show_last  # noqa: E402

from usagectl import _ledger as ledger  # noqa: E402

PARSL_RUNINFO = Path(__file__).parent / "fixtures" / "parsl" / "runinfo"


def copy_ray_session(tmp_path):
    target = tmp_path / "tmp" / "ray" / SESSION
    shutil.copytree(ENABLED / SESSION, target)
    return target / "usage_stats.json"


def test_envelope_shape_and_no_record_frameworks():
    result = show_last("--json")
    envelope = json.loads(result.stdout)
    assert result.returncode == 0 and envelope["command"] == "show-last"
    names = [f["framework"] for f in envelope["data"]["frameworks"]]
    assert names == ["ray", "parsl", "bacalhau", "coiled"]
    by_name = {f["framework"]: f for f in envelope["data"]["frameworks"]}
    assert by_name["bacalhau"]["payloads"] == []
    assert "keeps no local record" in by_name["bacalhau"]["notes"][0]
    assert "t.bacalhau.org:4317" in " ".join(by_name["bacalhau"]["notes"])
    assert "computation.code.transmit" in " ".join(by_name["coiled"]["notes"])


def test_other_users_file_is_skipped_unless_trusted(tmp_path):
    path = copy_ray_session(tmp_path)
    if os.getuid() == 0:
        os.chown(path, 65534, 65534)
        why = "owned by uid 65534"
    else:
        os.chmod(path, 0o666)
        why = "world-writable"
    result = show_last("ray", "--json")
    envelope = json.loads(result.stdout)
    assert envelope["data"]["frameworks"][0]["payloads"] == []
    [warning] = envelope["warnings"]
    assert why in warning["message"] and "--trust" in warning["message"]
    assert warning["file"] == str(path)
    human = show_last("ray")
    assert why in human.stderr.decode()
    trusted = json.loads(show_last("ray", "--json", "--trust").stdout)
    assert len(trusted["data"]["frameworks"][0]["payloads"]) == 1


def test_group_writable_parsl_log_is_skipped(tmp_path):
    shutil.copytree(PARSL_RUNINFO, tmp_path / "runinfo")
    log = tmp_path / "runinfo" / "000" / "parsl.log"
    os.chmod(log, 0o664)
    envelope = json.loads(show_last("parsl", "--json", "-n", "4").stdout)
    sources = {p["source"]["file"] for p in envelope["data"]["frameworks"][0]["payloads"]}
    assert str(log) not in sources
    assert any("group-writable" in w["message"] for w in envelope["warnings"])


def test_ledger_is_preferred_for_the_same_body(tmp_path, env):
    path = copy_ray_session(tmp_path)
    body = json.dumps(json.loads(path.read_bytes())["usage_stats"]).encode()
    assert ledger.record_sent("ray", "https://usage-stats.ray.io/", body, "sent",
                              identifiers={"session_id": "x"}, environ=env.environ)
    payloads = json.loads(show_last("ray", "--json", "-n", "3").stdout)["data"]["frameworks"][0]["payloads"]
    assert len(payloads) == 1
    assert payloads[0]["origin"] == "ledger" and payloads[0]["outcome"] == "sent"
    assert payloads[0]["body"].encode() == body


def test_ledger_entries_for_frameworks_without_local_record(env):
    ledger.record_sent("bacalhau", "t.bacalhau.org:4317", b"\xff\x00binary", "failed",
                       reason="refused", environ=env.environ)
    result = show_last("bacalhau", "--json")
    [payload] = json.loads(result.stdout)["data"]["frameworks"][0]["payloads"]
    assert payload["body"] is None and payload["body_base64"] == "/wBiaW5hcnk="
    assert payload["outcome"] == "failed" and payload["reason"] == "refused"
    raw = show_last("bacalhau", "--raw")
    assert raw.stdout == b"\xff\x00binary"


def test_since_filters_and_rejects_nonsense(tmp_path):
    copy_ray_session(tmp_path)  # its report is from 2026-11-24T00:02:55Z
    after = json.loads(show_last("ray", "--json", "--since", "2026-11-24T00:03:00Z").stdout)
    before = json.loads(show_last("ray", "--json", "--since", "2026-11-24T00:02:00Z").stdout)
    assert after["data"]["frameworks"][0]["payloads"] == []
    assert len(before["data"]["frameworks"][0]["payloads"]) == 1
    bad = show_last("ray", "--since", "yesterday-ish")
    assert bad.returncode == 2 and b"--since" in bad.stderr and b"Traceback" not in bad.stderr


def test_raw_refuses_json_and_many():
    assert show_last("--raw", "--json").returncode == 2
    assert show_last("--raw", "-n", "2").returncode == 2


def test_ledger_module_is_stdlib_only():
    code = ("import sys; before = set(sys.modules); import usagectl._ledger; "
            "new = set(sys.modules) - before; "
            "print('\\n'.join(sorted(m for m in new if m.split('.')[0] not in sys.stdlib_module_names)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert set(out.stdout.split()) == {"usagectl", "usagectl._paths", "usagectl._ledger", "usagectl.consent"}


def test_record_sent_never_raises(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert ledger.record_sent("ray", "u", b"x", "sent", path=str(blocker / "sub" / "sent.jsonl")) is False
    assert ledger.record_sent("ray", "u", object(), "sent", path=str(tmp_path / "l.jsonl")) is False
    assert ledger.record_sent("ray", "u", b"x", "bogus", path=str(tmp_path / "l.jsonl")) is False


def test_concurrent_record_sent_from_processes(tmp_path):
    path = tmp_path / "state" / "sent.jsonl"
    code = ("import sys; from usagectl._ledger import record_sent\n"
            "for i in range(50): assert record_sent('parsl', 'd', ('p%s-%d' % (sys.argv[1], i)).encode() * 200,"
            " 'sent', path=sys.argv[2])")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(n), str(path)]) for n in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    entries = [ledger.decode_entry(line) for line in lines[:-1]]
    assert len(entries) == 200 and all(e is not None for e in entries)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
