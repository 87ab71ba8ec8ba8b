"""`usagectl fleet`: many verify envelopes, one table; a bad one never hides the others."""

import json

import pytest

_CACHE = {}


@pytest.fixture
def _envelope():
    """A real `usagectl verify --json` envelope, made by the first test (in its own
    isolated home) and reused: verify asks every framework's own code, which takes seconds."""
    def make(cli):
        if "envelope" not in _CACHE:
            _CACHE["envelope"] = cli("verify", "--json").stdout
        return _CACHE["envelope"]

    return make


def test_each_envelope_is_a_row_and_bad_ones_are_rows_too(cli, tmp_path, _envelope):
    good = _envelope(cli)
    assert json.loads(good)["data"]["host"]
    envelopes = tmp_path / "env"
    envelopes.mkdir()
    (envelopes / "web-1.json").write_text(good)
    failed = json.loads(good)
    failed.update(exit_code=5, ok=False)
    failed["data"]["checks"].append({"framework": "ray", "check": "settings", "status": "fail",
                                     "summary": "x", "evidence": [], "fix": None})
    (envelopes / "web-2.json").write_text(json.dumps(failed))
    (envelopes / "web-3.json").write_text("{not json")
    (envelopes / "notes.txt").write_text("ignored: not *.json")
    result = cli("fleet", "--json", str(envelopes), str(tmp_path / "missing.json"))
    rows = {r["host"]: r for r in result.json()["data"]["hosts"]}
    assert {h: r["verdict"] for h, r in rows.items()} == {
        "web-1": "pass", "web-2": "fail", "web-3": "unreadable", "missing": "unreadable"}
    assert rows["web-2"]["failing"] == ["ray settings"]
    assert result.exit_code == 5


def test_unknown_is_never_a_pass(cli, tmp_path, _envelope):
    unknown = json.loads(_envelope(cli))
    unknown.update(exit_code=7, ok=False)
    path = tmp_path / "h.json"
    path.write_text(json.dumps(unknown))
    assert cli("fleet", str(path)).exit_code == 7
    assert cli("fleet", "--allow-unknown", str(path)).exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("fleet", str(empty)).exit_code == 7  # no host reported: nothing is known


def test_hostile_names_and_details_cannot_drive_the_terminal(cli, tmp_path, _envelope):
    envelope = json.loads(_envelope(cli))
    envelope["data"]["host"] = "\x1b[2Jevil[red]x[/red]"
    envelope.update(exit_code=1, error={"message": "\x1b]0;title\x07boom"})
    (tmp_path / "h\x1b[31m.json").write_text(json.dumps(envelope))
    out = cli("fleet", str(tmp_path)).stdout
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2Jevil[red]x[/red]" in out


def test_the_human_table_names_each_host(cli, tmp_path, _envelope):
    (tmp_path / "a.json").write_text(_envelope(cli))
    out = cli("fleet", str(tmp_path))
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["HOST", "MACHINE", "VERDICT", "EXIT", "DETAIL"]
    assert lines[1].split()[0] == "a" and "pass" in lines[1] and lines[-1] == "1 hosts: 1 pass"
