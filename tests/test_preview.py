"""`usagectl preview`: payloads built by the frameworks' own code, compared with that code.

Nothing here sends anything or starts a cluster: Ray, Parsl and dask are asked, in
subprocesses with the isolated environment, to build payloads or resolve config.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from usagectl import preview as previews
from usagectl.core.environment import Environment

pytestmark = pytest.mark.frameworks

SINK = "http://127.0.0.1:9/"  # discard port on loopback: never contacted, only named


def _python(code, *args, input=None):
    proc = subprocess.run([sys.executable, "-P", "-c", code, *args], capture_output=True, text=True,
                          timeout=120, input=input, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# The real console-script entry point.
_RUN = "from usagectl.main import run; run()"


def run_preview(*args, env=None):
    proc = subprocess.run([sys.executable, "-P", "-c", _RUN, "preview", *args], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, **(env or {})))
    return proc


def preview_json(*args, env=None):
    proc = run_preview(*args, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    envelope = json.loads(proc.stdout)
    assert envelope["command"] == "preview" and envelope["ok"] is True
    return {item["framework"]: item for item in envelope["data"]["frameworks"]}


def ray_config_off(env):
    """~/.ray/config.json as `usagectl disable ray` writes it: Ray's own switch off."""
    path = os.path.join(env.home, ".ray", "config.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        json.dump({"usage_stats": False}, handle)


def write_consent(env, text):
    path = env.consent_path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("schema = 1\n" + text)


# ------------------------------------------------------------------------------ Ray

_RAY_DISABLED = r"""
import dataclasses, json
from ray._common.usage import usage_lib
print(json.dumps(dataclasses.asdict(usage_lib.generate_disabled_report_data())))
"""


def test_ray_off_body_is_rays_own_disabled_ping(env, monkeypatch):
    monkeypatch.setenv("RAY_USAGE_STATS_REPORT_URL", SINK)
    monkeypatch.setenv("RAY_USAGE_STATS_SOURCE", "site-build-7")  # Ray puts this in "source"
    write_consent(env, '[frameworks.ray]\nmode = "off"\n')
    ray_config_off(env)  # applied, as `usagectl disable ray` leaves it
    before = int(time.time() * 1000)
    item = preview_json("ray")["ray"]
    after = int(time.time() * 1000)
    theirs = json.loads(_python(_RAY_DISABLED))

    assert item["intent"]["mode"] == "off"
    assert item["native"]["mode"] == "off"
    assert item["based_on"] == "consent"
    assert item["effective"] == "off" and item["will_send"] is True and item["exact"] is True
    assert item["destination"] == SINK
    ours = json.loads(item["body"])
    assert list(ours) == list(theirs)              # Ray's exact key order
    assert before <= ours.pop("collect_timestamp_ms") <= after
    theirs.pop("collect_timestamp_ms")
    assert ours == theirs
    assert ours["source"] == "site-build-7"
    # The bytes are json.dumps of the dict, as requests' json= encodes them.
    assert item["body"] == json.dumps(json.loads(item["body"]))
    assert any("no local trace" in note for note in item["notes"])


def test_ray_native_off_previews_disabled_ping(env, monkeypatch):
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    item = previews.preview(Environment(), "ray")
    assert item["intent"]["mode"] == "unset" and item["native"]["mode"] == "off"
    assert item["based_on"] == "native" and item["effective"] == "off"
    assert item["kind"] == "disabled-ping"
    assert json.loads(item["body"])["session_id"] is None


_RAY_WRITE = r"""
import sys
from ray._common.usage import usage_lib as u
data = u.UsageStatsToReport(schema_version="0.1", source="OSS", collect_timestamp_ms=1795478575953,
    total_success=3, total_failed=1, seq_number=4, ray_version="2.60.0", session_id="ab" * 28,
    os="linux", extra_usage_tags={"gcs_storage": "memory"}, total_num_nodes=1)
u.UsageReportClient().write_usage_data(u.generate_write_data(data, sys.argv[2] or None), sys.argv[1])
"""


def _session(tmp_path, name, error=""):
    path = tmp_path / "tmp" / "ray" / name
    path.mkdir(parents=True)
    _python(_RAY_WRITE, str(path), error)
    return path


@pytest.fixture
def live_process():
    """A stand-in process whose command line names a session dir, as Ray's daemons' do
    (its second word is the dashboard's script, so it stands in for a head's dashboard)."""
    procs = []

    def start(session_dir):
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                 "ray/dashboard/dashboard.py", "--session-dir=%s" % session_dir])
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(timeout=10)


def test_ray_on_next_report_from_live_session(env, tmp_path, monkeypatch, live_process):
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "1")
    monkeypatch.setenv("RAY_USAGE_STATS_REPORT_URL", SINK)
    older = _session(tmp_path, "session_2026-11-20_10-00-00_000001_100")
    newer = _session(tmp_path, "session_2026-11-24_00-02-40_976526_5951")
    live_process(older)  # only the older one is running
    last = json.loads((older / "usage_stats.json").read_text())["usage_stats"]

    item = preview_json("ray")["ray"]
    assert item["effective"] == "on" and item["will_send"] is True and item["exact"] is False
    assert item["session"]["dir"] == str(older)
    upcoming = json.loads(item["body"])
    assert upcoming["seq_number"] == last["seq_number"] + 1 == 5
    assert upcoming["total_success"] == last["total_success"] + 1   # the last report succeeded
    assert upcoming["total_failed"] == last["total_failed"]
    assert upcoming["collect_timestamp_ms"] == "<will be set at send time>"
    assert list(upcoming) == list(last)
    assert {k: v for k, v in upcoming.items() if k not in ("seq_number", "total_success",
                                                           "collect_timestamp_ms")} == \
        {k: v for k, v in last.items() if k not in ("seq_number", "total_success",
                                                    "collect_timestamp_ms")}
    assert item["destination"] == SINK
    assert newer.exists()


def test_ray_on_failed_last_report_counts_a_failure(env, tmp_path, monkeypatch, live_process):
    session = _session(tmp_path, "session_2026-11-24_00-02-40_976526_5951", error="500 Server Error")
    live_process(session)
    item = previews.preview(Environment(), "ray")
    upcoming = json.loads(item["body"])
    assert (upcoming["seq_number"], upcoming["total_success"], upcoming["total_failed"]) == (5, 3, 2)
    assert item["last_report"]["outcome"] == "failed"


def test_ray_on_without_live_session_lists_rays_fields(env, tmp_path):
    stopped = _session(tmp_path, "session_2026-11-24_00-02-40_976526_5951")
    item = previews.preview(Environment(), "ray")
    fields = json.loads(_python("import dataclasses, json\nfrom ray._common.usage import usage_lib\n"
                                "print(json.dumps([f.name for f in "
                                "dataclasses.fields(usage_lib.UsageStatsToReport)]))"))
    assert item["effective"] == "on" and item["body"] is None
    assert item["fields"] == fields and len(fields) == 27
    assert item["interval_s"] == 3600
    assert any(str(stopped) in note for note in item["notes"])


# ---------------------------------------------------------------------------- Parsl

# Parsl's own construction, re-encoded with our run's correlator and start time so the
# whole datagram can be compared byte for byte.
_PARSL_OWN = r"""
import json, sys, types
from parsl.config import Config
from parsl.usage_tracking.usage import UsageTracker
ours = json.loads(sys.stdin.read())
out = {}
for level, message in ours.items():
    config = Config(usage_tracking=int(level))
    tracker = UsageTracker(types.SimpleNamespace(config=config, _config=config))
    theirs = json.loads(tracker.construct_start_message()[1:])
    assert list(theirs) == list(message), (list(theirs), list(message))
    theirs["correlator"] = message["correlator"]
    if "start" in theirs:
        theirs["start"] = message["start"]
    out[level] = {"datagram": tracker.encode_message(theirs).decode(),
                  "host": tracker.domain_name, "port": tracker.UDP_PORT}
print(json.dumps(out))
"""


def _datagrams(item, kind="start"):
    return {m["level"]: base64.b64decode(m["body_base64"]) if m["body"] is None else m["body"].encode()
            for m in item["messages"] if m["kind"] == kind}


def test_parsl_datagrams_equal_parsls_own_for_each_level(env):
    item = preview_json("parsl")["parsl"]
    ours = _datagrams(item)
    assert sorted(ours) == [1, 2, 3]
    assert all(d.startswith(b"1{") for d in ours.values())
    theirs = json.loads(_python(_PARSL_OWN, input=json.dumps(
        {level: json.loads(d[1:]) for level, d in ours.items()})))
    for level, datagram in ours.items():
        assert theirs[str(level)]["datagram"].encode() == datagram
        assert json.loads(datagram[1:])["tracking_level"] == level
    assert item["destination"] == "%s:%d" % (theirs["3"]["host"], theirs["3"]["port"])
    assert item["exact"] is True and item["transport"] == "udp"
    assert item["will_send"] is None  # the level is in the user's code


_PARSL_OWN_END = r"""
import json, sys
from parsl.config import Config
from parsl.dataflow.states import States
from parsl.usage_tracking.usage import UsageTracker
ours = json.loads(sys.stdin.read())
DataFlowKernel = type("DataFlowKernel", (), {"__module__": "parsl.dataflow.dflow"})
dfk = DataFlowKernel()
dfk.config = dfk._config = Config(usage_tracking=3)
dfk.task_count, dfk.task_state_counts = 0, {States.failed: 0, States.dep_fail: 0}
tracker = UsageTracker(dfk)
tracker.construct_start_message()
theirs = json.loads(tracker.construct_end_message()[1:])
assert list(theirs) == list(ours), (list(theirs), list(ours))
for key in ("correlator", "end", "execution_time"):
    theirs[key] = ours[key]
print(tracker.encode_message(theirs).decode())
"""


def test_parsl_level_3_end_message_is_parsls_own(env):
    item = preview_json("parsl")["parsl"]
    [end] = _datagrams(item, "end").values()
    theirs = _python(_PARSL_OWN_END, input=json.dumps(json.loads(end[1:]))).strip()
    assert theirs.encode() == end
    [entry] = [m for m in item["messages"] if m["kind"] == "end"]
    assert entry["level"] == 3 and {f["name"] for f in entry["fields"]} == set(json.loads(end[1:]))


# Every field of Parsl's own start and end messages, at each level, with project_name set.
_PARSL_ALL_FIELDS = r"""
import json
from parsl.config import Config
from parsl.dataflow.states import States
from parsl.usage_tracking.usage import UsageTracker
out = {"start": {}, "end": {}}
for level in (1, 2, 3):
    DataFlowKernel = type("DataFlowKernel", (), {"__module__": "parsl.dataflow.dflow"})
    dfk = DataFlowKernel()
    dfk.config = dfk._config = Config(usage_tracking=level, project_name="p")
    dfk.task_count, dfk.task_state_counts = 0, {States.failed: 0, States.dep_fail: 0}
    tracker = UsageTracker(dfk)
    out["start"][level] = sorted(json.loads(tracker.construct_start_message()[1:]))
    if level == 3:
        out["end"][level] = sorted(json.loads(tracker.construct_end_message()[1:]))
print(json.dumps(out))
"""


def test_parsl_catalogue_covers_every_field_parsl_sends_at_each_level():
    from usagectl.frameworks.parsl import catalogue

    sent = json.loads(_python(_PARSL_ALL_FIELDS))
    for kind, table in (("start", catalogue.START), ("end", catalogue.END)):
        levels = {entry["name"]: entry["level"] for entry in table}
        for level, names in sent[kind].items():
            assert set(names) <= set(levels), (kind, level, set(names) - set(levels))
            # The catalogue's level is the lowest level that sends the field.
            assert all(levels[name] <= int(level) for name in names), (kind, level)
        every = set().union(*map(set, sent[kind].values()))
        assert every == set(levels), (kind, set(levels) - every)


WORKFLOW_CONFIG = """\
from parsl.config import Config
from parsl.executors import HighThroughputExecutor
config = Config(executors=[HighThroughputExecutor(label="htex")], usage_tracking={level},
                project_name={project!r})
if __name__ == "__main__":
    raise SystemExit("the preview must not run the workflow")
"""


def test_parsl_preview_with_the_users_config_flags_project_name(env, tmp_path):
    path = tmp_path / "workflow_config.py"
    path.write_text(WORKFLOW_CONFIG.format(level=2, project="alice-lab"))
    write_consent(env, '[frameworks.parsl]\nmode = "on"\n')
    item = preview_json("parsl", "--config", str(path))["parsl"]
    [start] = item["messages"]
    assert start["level"] == 2 and start["kind"] == "start"
    assert start["message"]["project_name"] == "alice-lab"
    assert "HighThroughputExecutor" in json.dumps(start["message"]["components"])  # the user's own
    flags = {f["name"]: f["flags"] for f in start["fields"]}
    assert "identifying" in flags["project_name"] and "free-text" in flags["project_name"]
    assert any("alice-lab" in w and "deanonymize" in w for w in item["warnings"])
    assert item["will_send"] is True and item["config"] == {"spec": str(path), "usage_tracking": 2}

    # MODULE:ATTR, a Config that sends nothing, and a broken file.
    (tmp_path / "quiet_config.py").write_text(WORKFLOW_CONFIG.format(level=0, project=None).replace(
        "config = ", "quiet = "))
    item = preview_json("parsl", "--config", "quiet_config:quiet", env={"PYTHONPATH": str(tmp_path)})["parsl"]
    assert item["messages"] == [] and item["will_send"] is False


def test_a_config_that_cannot_be_loaded_is_bad_input_in_the_envelope_too(env, tmp_path):
    # Every way a Config can fail to load is a row of tests/test_bad_input.py; here, the envelope.
    text, said = "config = (\n", "SyntaxError"
    (tmp_path / "broken.py").write_text(text)
    proc = run_preview("parsl", "--config", str(tmp_path / "broken.py"), "--json")
    envelope = json.loads(proc.stdout)
    assert proc.returncode == 2 and envelope["error"]["kind"] == "usage", proc.stderr
    assert "could not be loaded" in envelope["error"]["message"] and said in envelope["error"]["message"]
    assert envelope["error"]["file"] == str(tmp_path / "broken.py")
    assert envelope["data"]["frameworks"][0]["config_error"] == envelope["error"]["message"]


def test_parsl_respects_consent_level_cap(env):
    write_consent(env, '[frameworks.parsl]\nmode = "on"\nlevel = 1\n')
    item = preview_json("parsl")["parsl"]
    assert [m["level"] for m in item["messages"]] == [1]
    assert "components" not in json.loads(item["body"][1:])
    item = preview_json("parsl", "--level", "3")["parsl"]
    assert [m["level"] for m in item["messages"]] == [1]
    assert any("above the cap" in note for note in item["notes"])


def test_parsl_level_option_without_cap(env):
    item = preview_json("parsl", "--level", "2")["parsl"]
    assert [m["level"] for m in item["messages"]] == [2]
    assert json.loads(item["body"][1:])["tracking_level"] == 2


def test_parsl_off_with_and_without_hook(env, monkeypatch):
    write_consent(env, '[frameworks.parsl]\nmode = "off"\n')
    from usagectl.hook import state

    absent = {"installed": False, "ours": False, "runtime_exists": None, "current": False,
              "path": "/site/usagectl-hook.pth"}
    monkeypatch.setattr(state, "hook_installed", lambda env: absent)
    item = previews.preview(Environment(), "parsl")
    assert item["effective"] == "off" and item["will_send"] is None
    assert any("hook is not installed" in note for note in item["notes"])
    present = dict(absent, installed=True, ours=True, runtime_exists=True, current=True)
    monkeypatch.setattr(state, "hook_installed", lambda env: present)
    item = previews.preview(Environment(), "parsl")
    assert item["will_send"] is False
    assert [m["level"] for m in item["messages"] if m["kind"] == "start"] == [1, 2, 3]  # what would go without the hook
    assert any("Nothing would be sent" in note for note in item["notes"])


def test_parsl_config_preview_under_the_hook_follows_its_cap(env, monkeypatch, tmp_path):
    """With the hook installed, the user's level-3 Config sends nothing while the consent is
    off, and level 1 (start message only) under a cap of 1."""
    from usagectl.hook import state

    path = tmp_path / "workflow_config.py"
    path.write_text(WORKFLOW_CONFIG.format(level=3, project=None))
    present = {"installed": True, "ours": True, "runtime_exists": True, "current": True,
               "path": "/site/usagectl-hook.pth"}
    monkeypatch.setattr(state, "hook_installed", lambda env: present)
    write_consent(env, '[frameworks.parsl]\nmode = "off"\n')
    item = previews.preview(Environment(), "parsl", config=str(path))
    assert item["messages"] == [] and item["will_send"] is False and item["effective"] == "off"
    write_consent(env, '[frameworks.parsl]\nmode = "on"\nlevel = 1\n')
    item = previews.preview(Environment(), "parsl", config=str(path))
    assert [(m["kind"], m["level"]) for m in item["messages"]] == [("start", 1)]
    assert item["will_send"] is True and any("caps it at 1" in n for n in item["notes"])


# ------------------------------------------------------------------------- Bacalhau

# system_metadata.yaml as Bacalhau's pkg/repo SystemMetadata struct writes it (yaml tags
# RepoVersion, InstanceID, LastUpdateCheck, NodeName).
_METADATA = ("RepoVersion: 4\nInstanceID: {instance}\n"
             "LastUpdateCheck: 2026-11-20T10:00:00Z\nNodeName: {node}\n")


@pytest.mark.parametrize("datadir_var", [None, "BACALHAU_DATADIR", "BACALHAU_DIR"])
def test_bacalhau_ids_read_from_disk(env, isolated_home, tmp_path, monkeypatch, datadir_var):
    installation = "3a1f0c2e-7d44-4c55-9d7e-0a1b2c3d4e5f"
    instance = hashlib.sha256(b"machine-id-of-test").hexdigest()
    node = "n-5d2f4a9e-1111-2222-3333-444455556666"
    config_dir = isolated_home / ".config" / "bacalhau"
    config_dir.mkdir(parents=True)
    (config_dir / "installation_id").write_text(installation + "\n")
    data_dir = isolated_home / ".bacalhau"
    if datadir_var:
        data_dir = tmp_path / "elsewhere"
        monkeypatch.setenv(datadir_var, str(data_dir))
    data_dir.mkdir()
    (data_dir / "system_metadata.yaml").write_text(_METADATA.format(instance=instance, node=node))

    item = preview_json("bacalhau")["bacalhau"]
    attributes = json.loads(item["body"])
    assert attributes["installation_id"] == installation
    assert attributes["instance_id"] == instance
    assert attributes["node_id_hash"] == hashlib.sha256(node.encode()).hexdigest()
    assert list(attributes) == ["os.type", "installation_id", "instance_id", "node_id_hash",
                                "node_type", "node_version"]
    assert "bacalhau.job_v1.submit" in item["event_types"]
    update = item["side_channels"][0]
    assert update["carries"] == {"installation_id": installation, "instance_id": instance}
    assert update["will_send"] is True
    assert item["exact"] is False


def test_bacalhau_off_still_names_side_channels(env, monkeypatch):
    write_consent(env, '[frameworks.bacalhau]\nmode = "off"\n')
    monkeypatch.setenv("BACALHAU_DISABLEANALYTICS", "true")  # applied (here through its variable)
    monkeypatch.setenv("BACALHAU_UPDATECONFIG_INTERVAL", "0s")
    item = previews.preview(Environment(), "bacalhau")
    assert item["effective"] == "off" and item["will_send"] is False
    assert item["side_channels"][0]["will_send"] is False
    assert item["side_channels"][1]["will_send"] is True


# --------------------------------------------------------------------------- Coiled

_DASK_OWN = r"""
import json, sys
import dask.config, coiled
dask.config.refresh()
print(json.dumps({k: dask.config.get(k, "<unset>") for k in json.loads(sys.argv[1])}))
"""


def test_coiled_flags_follow_dask_config_file(env, isolated_home, monkeypatch):
    dask_dir = isolated_home / ".config" / "dask"
    dask_dir.mkdir(parents=True)
    (dask_dir / "analytics.yaml").write_text(
        "coiled:\n  analytics:\n    computation:\n      code:\n        transmit: false\n"
        "    client-spans:\n      transmit: false\n    events:\n      allow: []\n")
    monkeypatch.setenv("DASK_COILED__SEND_CLIENT_EVENTS", "False")
    item = preview_json("coiled")["coiled"]
    keys = {entry["key"]: entry for entry in item["keys"]}
    theirs = json.loads(_python(_DASK_OWN, json.dumps(list(keys))))
    for key, entry in keys.items():
        if theirs[key] != "<unset>":
            assert entry["value"] == theirs[key], key
    assert keys["coiled.analytics.computation.code.transmit"]["leaves"] is False
    assert keys["coiled.analytics.client-spans.transmit"]["leaves"] is False
    assert keys["coiled.send-client-events"]["leaves"] is False
    assert keys["coiled.analytics.events.allow"]["leaves"] is False
    assert keys["coiled.analytics.disabled"]["leaves"] is True  # default false: plugin sends
    assert keys["coiled.analytics.profile.transmit"]["leaves"] is False


def test_coiled_defaults_transmit(env):
    item = previews.preview(Environment(), "coiled")
    keys = {entry["key"]: entry for entry in item["keys"]}
    assert keys["coiled.analytics.computation.code.transmit"]["leaves"] is True
    assert keys["coiled.analytics.client-spans.transmit"]["leaves"] is True


# ---------------------------------------------------------------------- human output


def test_human_output_escapes_hostile_ids(env, isolated_home):
    config_dir = isolated_home / ".config" / "bacalhau"
    config_dir.mkdir(parents=True)
    (config_dir / "installation_id").write_text("id\x1b[2J\x1b]52;c;aGk=\x07\u202e[red]x[/red]")
    proc = run_preview("bacalhau")
    assert proc.returncode == 0, proc.stderr
    for raw in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert raw not in proc.stdout
    assert "[red]x[/red]" in proc.stdout        # markup shown, not interpreted
    assert "\\u001b[2J" in proc.stdout or "\\x1b[2J" in proc.stdout
    assert "Bacalhau" in proc.stdout and "installation_id" in proc.stdout


def test_human_output_names_basis_and_ping(env):
    write_consent(env, '[frameworks.ray]\nmode = "off"\n')
    ray_config_off(env)
    proc = run_preview("ray")
    assert proc.returncode == 0, proc.stderr
    assert "preview based on: the consent intent" in proc.stdout
    assert "disabled ping" in proc.stdout and "no local trace" in proc.stdout
    assert '"schema_version": "0.1"' in proc.stdout


def test_unknown_framework_is_not_claimed(env):
    item = previews.preview(Environment(), "someframework")
    assert item["will_send"] is None and item["body"] is None


def test_ray_off_warns_about_running_cluster_started_on(env, tmp_path, live_process):
    """The dashboard decides once: a cluster started while on keeps reporting after opt-out."""
    import shutil

    write_consent(env, '[frameworks.ray]\nmode = "off"\n')
    ray_config_off(env)
    session = _session(tmp_path, "session_2026-11-24_00-02-40_976526_5951")
    real = os.path.join(os.path.dirname(__file__), "fixtures", "ray", "enabled",
                        "session_2026-11-24_00-02-40_976526_5951", "logs")
    shutil.copytree(real, session / "logs")  # a real dashboard.log: "Usage reporting is enabled."
    item = previews.preview(Environment(), "ray")
    assert not any("keeps sending" in note for note in item["notes"])  # not running
    assert item["effective"] == "off"
    live_process(session)
    item = previews.preview(Environment(), "ray")
    assert item["kind"] == "disabled-ping"  # what the next `ray start --head` sends ...
    assert any(str(session) in note and "keeps sending" in note for note in item["notes"])
    # ... but the headline is what leaves now (#24 case 4): the running head keeps reporting.
    assert item["effective"] == "on" and item["based_on"] == "native"
    assert "keeps reporting until it is restarted" in item["notes"][0]


_RAY_FIELDS = r"""
import dataclasses, json
from ray._common.usage import usage_lib
print(json.dumps([f.name for f in dataclasses.fields(usage_lib.UsageStatsToReport)]))
"""


def test_ray_catalogue_covers_every_field_of_rays_own_report_dataclass():
    from usagectl.frameworks.ray import catalogue

    theirs = json.loads(_python(_RAY_FIELDS))
    assert [entry["name"] for entry in catalogue.FIELDS] == theirs


def test_ray_preview_flags_fields_and_the_users_extra_tags(env):
    write_consent(env, '[frameworks.ray]\nmode = "on"\n')
    item = preview_json("ray", env={"RAY_USAGE_STATS_EXTRA_TAGS": "team=alice;proj=x;"})["ray"]
    flags = {f["name"]: f["flags"] for f in item["field_catalogue"]}
    assert flags["session_id"] == ["identifying"] and flags["extra_usage_tags"] == ["free-text"]
    assert not any("uncatalogued" in f for f in flags.values())
    assert item["extra_usage_tags_from_env"] == {"team": "alice", "proj": "x"}
    assert any("team=alice" in w for w in item["warnings"])
    # What Ray itself makes of the same variable: the same tags.
    code = ("import json, os\nfrom unittest import mock\nfrom ray._common.usage import usage_lib\n"
            "client = mock.MagicMock()\nclient.internal_kv_keys.return_value = []\n"
            "print(json.dumps(usage_lib.get_extra_usage_tags_to_report(client)))")
    proc = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, RAY_USAGE_STATS_EXTRA_TAGS="team=alice;proj=x;"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == item["extra_usage_tags_from_env"]


def test_an_upgrade_that_adds_a_field_is_named_by_preview_and_status(env, tmp_path):
    """No surprises: the field set accepted under an older Ray lacked a field; the installed
    Ray's own report has it (preview), and so does the last report sent (status)."""
    write_consent(env, '[frameworks.ray]\nmode = "on"\n')
    envelope = json.loads(run_preview("ray", "--accept", "--json").stdout)
    assert envelope["data"]["accepted"] == ["ray"]
    known_file = Path(envelope["data"]["accepted_file"])
    known = json.loads(known_file.read_text())
    assert known["ray"]["sets"]["report"] == sorted(json.loads(_python(_RAY_FIELDS)))
    assert preview_json("ray")["ray"]["field_changes"] is None  # nothing new since

    # As if accepted under Ray 2.50, before hardware_usages existed.
    known["ray"]["sets"]["report"].remove("hardware_usages")
    known["ray"]["version"] = "2.50.0"
    known_file.write_text(json.dumps(known))
    item = preview_json("ray")["ray"]
    assert item["field_changes"]["added"] == {"report": ["hardware_usages"]}
    assert any("adds report: hardware_usages" in w and "2.50.0" in w for w in item["warnings"])

    # status reads the last report sent: a session whose report carries a field nobody accepted.
    session = Path(os.environ["TMPDIR"]) / "ray" / "session_2026-12-02_07-00-00_000001_4242"
    session.mkdir(parents=True)
    report = {name: None for name in known["ray"]["sets"]["report"]}
    report.update(session_id="ab" * 28, seq_number=0, brand_new_field="x")
    (session / "usage_stats.json").write_text(json.dumps({"usage_stats": report, "success": True, "error": None}))
    before = known_file.read_bytes()
    proc = subprocess.run([sys.executable, "-P", "-c", _RUN, "status", "ray", "--json"], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    [row] = json.loads(proc.stdout)["data"]["frameworks"]
    assert row["field_changes"]["added"] == {"report": ["brand_new_field"]}
    assert "FIELDS CHANGED" in proc.stderr and "brand_new_field" in proc.stderr
    assert known_file.read_bytes() == before  # status and preview never write it


def test_without_anything_accepted_preview_compares_with_the_catalogue(env):
    from usagectl.frameworks import get
    from usagectl.preview import fieldsets

    change = fieldsets.changes(get("ray"), {"report": ["session_id", "gpu_serial_numbers"]}, "9.0", {})
    assert change["against"] == "catalogue" and change["added"] == {"report": ["gpu_serial_numbers"]}
    assert "catalogue doesn't know" in fieldsets.describe(change, "Ray")
    assert fieldsets.changes(get("ray"), {"report": ["session_id"]}, "9.0", {}) is None


def test_coiled_preview_shows_every_analytics_setting_with_the_layer_that_set_it(env):
    """Every key of the installed Coiled's own coiled.analytics defaults is shown, with its
    value as dask resolves it and where it came from: a user's dask file, a DASK_ variable."""
    dask_dir = Path(env.home) / ".config" / "dask"
    dask_dir.mkdir(parents=True, exist_ok=True)
    (dask_dir / "mine.yaml").write_text("coiled:\n  analytics:\n    idle:\n      timeout: 30m\n")
    item = preview_json("coiled", env={"DASK_COILED__ANALYTICS__EVENTS__INTERVAL": "5s"})["coiled"]
    shown = {entry["key"]: entry for entry in item["settings"]}
    code = ("import json, coiled, dask.config\n"
            "def flat(d, p):\n"
            "    return [k for n, v in d.items() for k in (flat(v, p + n + '.') if isinstance(v, dict) and v"
            " else [p + n])]\n"
            "print(json.dumps(flat(dask.config.get('coiled.analytics'), 'coiled.analytics.')))")
    assert set(json.loads(_python(code))) <= set(shown)
    assert shown["coiled.analytics.idle.timeout"]["value"] == "30m"
    assert shown["coiled.analytics.idle.timeout"]["source"] == str(dask_dir / "mine.yaml")
    assert shown["coiled.analytics.idle.timeout"]["controls"] == "cluster lifetime"
    assert shown["coiled.analytics.events.interval"]["source"] == "$DASK_COILED__ANALYTICS__EVENTS__INTERVAL"
    assert shown["coiled.analytics.events.allow"]["value"] == ["*"]
    assert shown["coiled.analytics.client-spans.transmit"]["source"].startswith("not set")
    assert not any(entry["controls"] == "unknown" for entry in item["settings"]), item["settings"]


@pytest.mark.frameworks
def test_preview_coiled_says_the_hook_refuses_a_preload_where_it_is_installed(env, monkeypatch, isolated_home):
    """#24 case 5: with the hook in this Python and consent off, a scheduler preload of
    coiled.analytics registers nothing from here (the hook refuses it); without the hook
    it registers, and preview says which."""
    from usagectl.hook import state

    write_consent(env, '[frameworks.coiled]\nmode = "off"\n')
    config = isolated_home / ".config" / "dask" / "distributed.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("distributed:\n  scheduler:\n    preload: [coiled.analytics]\n")
    absent = {"installed": False, "ours": False, "runtime_exists": None, "current": False,
              "path": "/site/usagectl-hook.pth", "python": "/venv/bin/python"}
    monkeypatch.setattr(state, "hook_installed", lambda env: absent)
    item = previews.preview(Environment(), "coiled")
    assert item["scheduler_preload_registers"] is True
    assert any("registers with Coiled analytics (the runtime hook would refuse it" in n for n in item["notes"])
    present = dict(absent, installed=True, ours=True, runtime_exists=True, current=True)
    monkeypatch.setattr(state, "hook_installed", lambda env: present)
    item = previews.preview(Environment(), "coiled")
    assert any("the runtime hook in /venv/bin/python refuses that registration" in n for n in item["notes"])
    assert not any("every scheduler started with this config registers" in n for n in item["notes"])


def test_preview_headline_is_the_one_judgment_under_drift(env):
    """#24: consent off but Ray's own settings still on (consent recorded, not applied):
    the headline says what Ray will send, on, from its own state, and the next report is
    its full report, not the disabled ping; the note names the DRIFT status shows."""
    write_consent(env, '[frameworks.ray]\nmode = "off"\n')
    item = preview_json("ray")["ray"]
    assert item["native"]["mode"] == "on"
    assert item["effective"] == "on" and item["based_on"] == "native", item
    assert item["kind"] == "report"
    assert any("DRIFT" in note for note in item["notes"])
    ray_config_off(env)
    item = preview_json("ray")["ray"]
    assert item["effective"] == "off" and item["kind"] == "disabled-ping"
