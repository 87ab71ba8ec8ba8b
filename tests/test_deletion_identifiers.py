"""`request-deletion --list-ids`: identifiers from real local artifacts, read-only."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "deletion"))
from servers import RAY_SESSION_ID, install_ray_session  # noqa: E402
from support import run_cli, write_settings  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PARSL_LOG = FIXTURES / "parsl" / "runinfo" / "000" / "parsl.log"
PARSL_JSONLOG = FIXTURES / "parsl" / "runinfo" / "001" / "parsl.jsonlog"
LOG_CORRELATOR = "92c5290d-77eb-4108-9628-e00da3122fc0"
JSONLOG_CORRELATOR = "fb474421-2726-4a06-9ce0-bd9f1236c1f4"


def _ids(result, framework):
    assert result.exit_code == 0, result
    [row] = [r for r in result.json()["data"]["frameworks"] if r["framework"] == framework]
    return row


def test_ray_session_id_from_usage_stats_and_both_logs():
    session = install_ray_session(os.environ["TMPDIR"])
    before = {p: p.read_bytes() for p in session.rglob("*") if p.is_file()}
    row = _ids(run_cli("request-deletion", "--list-ids", "ray", "--json"), "ray")
    [item] = row["identifiers"]
    assert item["kind"] == "session_id" and item["value"] == RAY_SESSION_ID
    names = sorted(os.path.basename(s) for s in item["sources"])
    assert names == ["gcs_server.out", "raylet.out", "usage_stats.json"]
    assert row["channel"]["email"] == "usage_stats@ray.io" and row["channel"]["documented"]
    assert {p: p.read_bytes() for p in session.rglob("*") if p.is_file()} == before  # read-only

    human = run_cli("request-deletion", "--list-ids", "ray")
    assert human.exit_code == 0, human
    assert RAY_SESSION_ID in human.stdout
    assert "usage_stats@ray.io" in human.stdout


def test_parsl_correlators_from_runinfo_search_paths_and_sent_ledger(tmp_path):
    run = tmp_path / "runinfo" / "000"
    run.mkdir(parents=True)
    (run / "parsl.log").write_bytes(PARSL_LOG.read_bytes())
    elsewhere = Path(os.environ["HOME"]) / "work" / "wf1" / "runinfo" / "001"
    elsewhere.mkdir(parents=True)
    (elsewhere / "parsl.jsonlog").write_bytes(PARSL_JSONLOG.read_bytes())
    write_settings('[search]\nparsl = ["~/work/*/runinfo"]\n')

    # The sent ledger, written by the runtime hook's own recorder with a real datagram.
    code = ("import sys; from usagectl import _ledger as ledger\n"
            "from usagectl.frameworks.parsl import records as parsl_log\n"
            "line = [l for l in open(sys.argv[1]) if 'Usage tracking start message: ' in l][0]\n"
            "body = parsl_log.decode_message(line.split('Usage tracking start message: ', 1)[1])\n"
            "assert ledger.record_sent('parsl', 'udp://tracking.parsl-project.org:50077', body)\n")
    subprocess.run([sys.executable, "-c", code, str(PARSL_LOG)], check=True, timeout=60)

    row = _ids(run_cli("request-deletion", "--list-ids", "parsl", "--json"), "parsl")
    values = {(i["kind"], i["value"]): i["sources"] for i in row["identifiers"]}
    assert set(values) == {("correlator", LOG_CORRELATOR), ("correlator", JSONLOG_CORRELATOR),
                           ("project_name", "usagectl-fixture")}
    log_sources = [os.path.basename(s) for s in values[("correlator", LOG_CORRELATOR)]]
    assert sorted(log_sources) == ["parsl.log", "sent.jsonl"]
    assert row["channel"]["documented"] is False and row["channel"]["email"] is None
    assert "documents no way" in row["channel"]["note"]


def test_hostile_identifier_is_skipped_not_printed(tmp_path):
    run = tmp_path / "runinfo" / "000"
    run.mkdir(parents=True)
    text = PARSL_LOG.read_text().replace("'project_name': 'usagectl-fixture'",
                                         "'project_name': 'evil\\x1b[2J\\u202e'")
    assert "evil" in text
    (run / "parsl.log").write_text(text)
    result = run_cli("request-deletion", "--list-ids", "parsl")
    assert result.exit_code == 0, result
    assert "\x1b" not in result.stdout + result.stderr
    assert "\u202e" not in result.stdout + result.stderr
    assert "control characters was skipped" in result.stderr
    assert LOG_CORRELATOR in result.stdout


def test_bacalhau_installation_and_instance_ids(tmp_path):
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "bacalhau"
    config.mkdir(parents=True)
    (config / "installation_id").write_text("5b7c1e4e-0b1f-4d3c-9a51-3f1f0e9a7d21\n")
    data_dir = tmp_path / "bacalhau-data"
    data_dir.mkdir()
    instance = "c0ffee" * 10 + "beef"
    # The shape Bacalhau's repo writes (pkg/repo: SystemMetadata, YAML keys RepoVersion, InstanceID).
    (data_dir / "system_metadata.yaml").write_text("RepoVersion: 4\nInstanceID: %s\n" % instance)
    row = _ids(run_cli("request-deletion", "--list-ids", "bacalhau", "--json",
                       env={"BACALHAU_DATADIR": str(data_dir), "BACALHAU_DIR": "/nonexistent"}), "bacalhau")
    assert [(i["kind"], i["value"]) for i in row["identifiers"]] == [
        ("installation_id", "5b7c1e4e-0b1f-4d3c-9a51-3f1f0e9a7d21"), ("instance_id", instance)]


def test_coiled_user_and_workspace_match_dask_and_never_the_token(tmp_path):
    token = "coiled-token-abcdef0123456789"
    dask_dir = Path(os.environ["HOME"]) / ".config" / "dask"
    dask_dir.mkdir(parents=True)
    (dask_dir / "coiled.yaml").write_text(
        "coiled:\n  user: alice\n  token: %s\n  server: https://cloud.coiled.io\n  account: alice-old\n"
        % token)
    override = tmp_path / "dask-override"
    override.mkdir()
    (override / "zz-team.yaml").write_text("coiled:\n  workspace: team-ws\n")
    env = {"DASK_CONFIG": str(override)}
    result = run_cli("request-deletion", "--list-ids", "coiled", "--json", env=env)
    row = _ids(result, "coiled")
    found = {i["kind"]: i["value"] for i in row["identifiers"]}

    # Ask dask's own resolution, and Coiled's own rule (workspace, else account).
    code = ("import json, dask.config as c; c.refresh(); "
            "print(json.dumps([c.get('coiled.user'), c.get('coiled.workspace', c.get('coiled.account'))]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **env))
    assert proc.returncode == 0, proc.stderr
    user, workspace = json.loads(proc.stdout)
    assert found == {"user": user, "workspace": workspace} == {"user": "alice", "workspace": "team-ws"}

    human = run_cli("request-deletion", "--list-ids", "coiled", env=env)
    for text in (result.stdout, result.stderr, human.stdout, human.stderr):
        assert token not in text


def test_path_is_searched_by_request_deletion_and_verify():
    from clirun import run_in_process

    runinfo = str(Path(__file__).resolve().parent / "fixtures" / "parsl" / "runinfo")
    without = json.dumps(run_in_process("request-deletion", "parsl", "--list-ids", "--json").json()["data"])
    assert "correlator" not in without
    found = json.dumps(run_in_process("request-deletion", "parsl", "--list-ids", "--path", runinfo,
                                      "--json").json()["data"])
    assert "correlator" in found and runinfo in found
    result = run_in_process("verify", "parsl", "--path", runinfo, "--json")
    assert "checks" in result.json()["data"], result


RAY_FIXTURES = FIXTURES / "ray"
REPORTED_ID = "a368c6afa0ec8e95b9eb9160038d6d289c31b5c2577bba8b4f79c6cd"   # enabled/: reported
DISABLED_ID = "8fd73c4983eafe590f8bc31311fa17c28c774e0d2bb26ed686bd4d54"   # disabled/: never reported
INIT_ID = "e351d8b22e934e478e612cba0cb0162d330dfaca1ffaf77592e0d2b9"       # init/: ray.init(), never reported
LEDGER_ID = "0b" * 28


def _install(kind):
    [session] = [p for p in (RAY_FIXTURES / kind).glob("session_*") if p.is_dir()]
    target = Path(os.environ["TMPDIR"]) / "ray" / session.name
    shutil.copytree(session, target)
    return target


def test_ray_lists_only_ids_the_server_received_with_evidence():
    """Three real session dirs: one that reported (its last report got HTTP 500: the server
    had the bytes), one with usage stats disabled and one `ray.init()` cluster, both of
    which hold their id in their logs but never sent it; plus an id only the hook's sent
    ledger saw."""
    for kind in ("enabled", "disabled", "init"):
        _install(kind)
    code = ("import sys; from usagectl import _ledger as ledger\n"
            "assert ledger.record_sent('ray', 'https://usage-stats.ray.io/', b'{}', identifiers="
            "{'session_id': sys.argv[1]}, delivery='delivered', http_status=200)\n"
            "assert ledger.record_sent('ray', 'https://usage-stats.ray.io/', b'{}', outcome='failed', "
            "identifiers={'session_id': sys.argv[2]}, delivery='not-delivered')\n")
    subprocess.run([sys.executable, "-c", code, LEDGER_ID, "0c" * 28], check=True, timeout=60)

    row = _ids(run_cli("request-deletion", "--list-ids", "ray", "--json"), "ray")
    by_value = {item["value"]: item for item in row["identifiers"]}
    assert set(by_value) == {REPORTED_ID, LEDGER_ID}, sorted(by_value)
    reported = by_value[REPORTED_ID]
    [evidence] = reported["evidence"]
    assert evidence["source"].endswith("usage_stats.json")
    assert "reached the server (HTTP 500)" in evidence["how"]
    assert sorted(os.path.basename(s) for s in reported["sources"]) == [
        "gcs_server.out", "raylet.out", "usage_stats.json"]
    assert "sent ledger" in by_value[LEDGER_ID]["evidence"][0]["how"]
    assert any("2 Ray session(s) left out" in note for note in row["notes"]), row["notes"]

    human = run_cli("request-deletion", "--list-ids", "ray")
    assert REPORTED_ID in human.stdout and DISABLED_ID not in human.stdout and INIT_ID not in human.stdout
    assert "received: Ray's report #2 reached the server" in human.stdout


def test_the_request_names_what_each_vendor_holds():
    from usagectl import frameworks
    from usagectl.deletion import messages

    for name in frameworks.names():
        holds = frameworks.get(name).deletion_holds
        assert holds, name  # every framework says what its vendor keeps
        body = messages.body_for(name, [{"kind": "x", "value": "y"}])
        assert " ".join(body.split()).count(" ".join(("This includes " + holds).split())) == 1, name


BACALHAU_NODE = FIXTURES / "bacalhau" / "node"


def test_bacalhau_ids_include_node_hash_and_jobs_sent_while_analytics_were_on(tmp_path):
    """A real v1.6 node: its node_id_hash is the one that arrived at the collector, and of
    its two jobs only the one made while the consent was on is listed (usagectl's history
    from the same run shows the other was made while it was off)."""
    node = tmp_path / "node"
    shutil.copytree(BACALHAU_NODE, node)
    state = Path(os.environ["USAGECTL_STATE_DIR"])
    state.mkdir(parents=True, exist_ok=True)
    (state / "history.jsonl").write_bytes((node / "usagectl-history.jsonl").read_bytes())
    arrived = json.loads((node / "arrived-otlp.json").read_text())
    sent_jobs = {json.loads(r["attributes"]["properties"])["job_id"] for r in arrived}
    [sent_hash] = {r["resource"]["node_id_hash"] for r in arrived}

    row = _ids(run_cli("request-deletion", "--list-ids", "bacalhau", "--json",
                       env={"BACALHAU_DIR": str(node)}), "bacalhau")
    by_kind = {}
    for item in row["identifiers"]:
        by_kind.setdefault(item["kind"], []).append(item)
    assert [i["value"] for i in by_kind["node_id_hash"]] == [sent_hash]
    assert {i["value"] for i in by_kind["job_id"]} == sent_jobs
    [instance] = by_kind["instance_id"]
    assert "records one at 2026-12-02T10:14:49" in instance["evidence"][0]["how"]
    assert "if analytics were on" in by_kind["job_id"][0]["evidence"][0]["how"]
    assert any("1 Bacalhau job(s) left out" in note for note in row["notes"]), row["notes"]


def test_a_request_to_a_public_list_needs_its_own_explicit_yes(tmp_path):
    """Parsl's only contact is a public Google Group: --yes alone never sends there."""
    run = tmp_path / "runinfo" / "000"
    run.mkdir(parents=True)
    (run / "parsl.log").write_bytes(PARSL_LOG.read_bytes())
    write_settings('[search]\nparsl = ["%s"]\n[deletion.parsl]\nemail = "parsl@googlegroups.com"\n'
                   % (tmp_path / "runinfo"))
    listed = _ids(run_cli("request-deletion", "--list-ids", "parsl", "--json"), "parsl")
    assert listed["channel"]["public_list"] is True
    assert "PUBLIC mailing list" in run_cli("request-deletion", "--list-ids", "parsl").stdout

    refused = run_cli("request-deletion", "parsl", "--yes", "--json")
    assert refused.exit_code == 1
    assert "PUBLIC mailing list" in refused.stderr and "--to-public-list" in refused.stderr
    [entry] = refused.json()["data"]["requests"]
    assert entry["status"] == "public-list-refused"
    assert run_cli("request-deletion", "--status", "--json").json()["data"]["requests"] == []  # nothing recorded

    sent = run_cli("request-deletion", "parsl", "--yes", "--to-public-list", "--json")
    assert sent.exit_code == 0, sent.stderr
    assert "PUBLIC mailing list" in sent.stderr  # still said
    request = sent.json()["data"]["requests"][0]["request"]  # stdout is the JSON alone
    assert request["target"]["email"] == "parsl@googlegroups.com"
    assert request["response"]["mailto"].startswith("mailto:parsl@googlegroups.com?")


def test_ids_are_captured_by_writing_commands_and_outlive_ray_s_own_copy(tmp_path):
    """Ray's only copy of a reported session's id is under /tmp, which cleanup removes.
    `disable` keeps it (with its evidence) in captured-ids.jsonl; a later request still
    names it; read-only commands never write the file; forget removes its lines."""
    from usagectl.core.environment import Environment
    from usagectl.deletion import captured

    env = Environment(environ=dict(os.environ), argv=[])
    reported = _install("enabled")
    _install("disabled")
    for command in (("status",), ("show-last", "ray"), ("request-deletion", "--list-ids", "ray")):
        run_cli(*command)
    assert not os.path.exists(captured.path(env)), "a read-only command wrote the captured ids"

    disable = run_cli("disable", "ray")
    assert disable.exit_code == 0, disable
    assert "kept 1 identifier(s) the vendors received" in disable.stderr
    [line] = [json.loads(raw) for raw in open(captured.path(env))]
    assert (line["framework"], line["kind"], line["value"]) == ("ray", "session_id", REPORTED_ID)
    assert line["command"] == "usagectl disable ray" and "reached the server" in line["evidence"][0]["how"]
    assert run_cli("disable", "ray").stderr.count("kept ") == 0  # nothing new: nothing appended
    assert len(open(captured.path(env)).readlines()) == 1

    shutil.rmtree(reported)  # Ray's cleanup
    with open(captured.path(env), "a") as handle:
        handle.write('{"framework": "ray", "kind": broken\n')  # one bad line hides nothing
    row = _ids(run_cli("request-deletion", "--list-ids", "ray", "--json"), "ray")
    [item] = row["identifiers"]
    assert item["value"] == REPORTED_ID
    assert "captured by `usagectl disable ray`" in item["evidence"][0]["how"]
    assert DISABLED_ID not in json.dumps(row)

    forget = run_cli("forget", "ray", "--yes", "--force", "--json")
    assert forget.exit_code == 0, forget
    assert [r for r in captured.read(env) if r["framework"] == "ray"] == []
