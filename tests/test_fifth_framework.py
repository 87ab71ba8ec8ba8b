"""A fifth framework is one package plus one registry line, and nothing else changes.

The framework (tests/fixtures/fifth/usagectl_toyfw) is a plug-in found through its
entry point; every command is run as a user runs it, in a subprocess, and must pick
it up: status, disable/enable, env, show-last, preview, verify, request-deletion.
"""

import json
import pathlib
import time

import pytest

FIFTH = pathlib.Path(__file__).resolve().parent / "fixtures" / "fifth"


@pytest.fixture
def toy(cli_process, isolated_home):
    """A real process: plug-ins are found on the sys.path a process starts with."""
    def run(*args):
        return cli_process(*args, env={"PYTHONPATH": str(FIFTH)})

    return run


def row(result, name="toyfw"):
    return next(r for r in result.json()["data"]["frameworks"] if r["framework"] == name)


def test_status_and_disable_enable_reach_the_fifth_framework(toy, isolated_home):
    before = toy("status", "--json")
    assert before.exit_code == 0, before
    assert row(before)["native"]["mode"] == "on" and row(before)["title"] == "Toyfw"

    assert toy("disable", "toyfw").exit_code == 0
    assert json.loads((isolated_home / ".toyfw.json").read_text()) == {"telemetry": False}
    after = row(toy("status", "--json"))
    assert (after["mode"], after["native"]["mode"], after["drift"]) == ("off", "off", False)

    assert toy("enable", "toyfw").exit_code == 0
    assert json.loads((isolated_home / ".toyfw.json").read_text()) == {"telemetry": True}


def test_env_prints_its_variable(toy):
    assert toy("disable").exit_code == 0
    result = toy("env", "--json")
    assert result.exit_code == 0, result
    assert "TOYFW_TELEMETRY=0" in toy("env").stdout


def test_show_last_reads_its_own_records(toy, isolated_home):
    records = isolated_home / ".toyfw"
    records.mkdir()
    (records / "sent.jsonl").write_text(json.dumps({"time": time.time(), "body": '{"hello": 1}',
                                                    "install_id": "toy-123"}) + "\n")
    result = toy("show-last", "toyfw", "--json")
    assert result.exit_code == 0, result
    (entry,) = result.json()["data"]["frameworks"]
    assert entry["framework"] == "toyfw"
    assert [p["body"] for p in entry["payloads"]] == ['{"hello": 1}']


def test_preview_and_verify_use_its_own_answers(toy):
    assert toy("disable", "toyfw").exit_code == 0
    preview = toy("preview", "toyfw", "--json")
    assert preview.exit_code == 0, preview
    (item,) = preview.json()["data"]["frameworks"]
    assert (item["framework"], item["will_send"], item["body"]) == ("toyfw", False, '{"version": "1.0"}')

    verify = toy("verify", "toyfw", "--json")
    checks = {c["check"]: c["status"] for c in verify.json()["data"]["checks"] if c["framework"] == "toyfw"}
    assert checks["settings"] == "pass", verify
    assert verify.exit_code == 0, verify


def test_request_deletion_lists_its_ids_and_channel(toy, isolated_home):
    (isolated_home / ".toyfw").mkdir()
    (isolated_home / ".toyfw" / "id").write_text("toy-123\n")
    result = toy("request-deletion", "toyfw", "--list-ids", "--json")
    assert result.exit_code == 0, result
    text = json.dumps(result.json()["data"])
    assert "toy-123" in text and "privacy@toyfw.example" in text


def test_verify_run_watches_its_endpoint(toy):
    result = toy("verify", "--run", "--json", "--", "true")
    watched = result.json()["data"]["run"]["endpoints"]
    assert any(e["host"] == "telemetry.toyfw.example" and e["framework"] == "toyfw" for e in watched), \
        result.stdout
