"""`usagectl fleet`: many verify envelopes, one table; a bad one never hides the others."""

import importlib.util
import json
import os
import sys

import pytest

# The hostile envelopes are the stress suite's (stress/hostile_inputs.py), made the same way here.
_STRESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "stress")
sys.path.insert(0, _STRESS)
_spec = importlib.util.spec_from_file_location("hostile_inputs", os.path.join(_STRESS, "hostile_inputs.py"))
hostile_inputs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hostile_inputs)
sys.path.remove(_STRESS)

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


def test_a_thousand_hostile_envelopes_each_a_row_and_the_failing_host_fails(cli, tmp_path, _envelope):
    import os
    import sys

    directory = tmp_path / "fleet"
    directory.mkdir()
    names, failing = hostile_inputs.hostile_fleet(str(directory), _envelope(cli))
    result = cli("fleet", "--json", str(directory))
    envelope = result.json()
    assert result.exit_code == 5, envelope["error"]
    rows = envelope["data"]["hosts"]
    assert len(rows) == len(names) + len(failing)  # every host a row, none hidden
    by_host = {r["host"]: r for r in rows}
    assert by_host["liar"]["verdict"] == "fail" and "exit_code is 0" in by_host["liar"]["note"]
    # Wrong types, FIFOs and garbage are unreadable rows; a well-formed envelope with a
    # hostile value (a 4 MiB host name, a version that is a number) is that host's verdict.
    assert [r["host"] for r in rows if r["verdict"] not in ("unreadable", "pass")] == ["liar"]
    assert sum(r["verdict"] == "unreadable" for r in rows) > 900
    counts = envelope["data"]["counts"]

    # On a terminal: no raw control byte, and no slower than the JSON run by much.
    environ = dict(os.environ, COLUMNS="100", LINES="40")
    code, shown = hostile_inputs.on_pty([sys.executable, "-m", "usagectl", "fleet", str(directory)], environ)
    assert code == 5
    for raw in hostile_inputs.CONTROL:
        assert raw not in shown, raw
    summary = "1001 hosts: %d pass, 1 fail, %d unreadable" % (counts["pass"], counts["unreadable"])
    assert summary.encode() in shown
    assert len(shown) < 2_000_000  # huge fields are clipped, not shown whole


def test_envelopes_verify_writes_match_the_published_schema(cli, _envelope):
    import os

    import jsonschema

    from usagectl.verify import fleet

    schema_path = os.path.join(os.path.dirname(__file__), "..", "docs", "schemas", "verify-envelope.schema.json")
    with open(schema_path, encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    real = json.loads(_envelope(cli))
    jsonschema.validate(real, schema)
    assert fleet.malformed(real) is None
    # Every mutation the schema accepts, fleet accepts; every one fleet refuses, the schema refuses.
    for field, value in (("exit_code", "5"), ("error", "x"), ("ok", 1), ("data", [])):
        broken = dict(real, **{field: value})
        assert fleet.malformed(broken) is not None
        assert not jsonschema.Draft202012Validator(schema).is_valid(broken)
