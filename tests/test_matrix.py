"""The version matrix: older releases of each framework, each in its own cached venv with
usagectl installed (scripts/matrix), asked through their own code.

Run by `.ci/run` as its own stage (`pytest -m matrix`); the default test run covers the
newest release of each (the project's own venv). The supported-versions table in
docs/supported-versions.md says what these show, per release.
"""

import json
import os
import subprocess

import pytest

# Read at import, before the isolation fixture moves HOME: the venvs live in the real cache.
_MATRIX = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                       "usagectl-dev", "matrix", "matrix.json")
pytestmark = pytest.mark.matrix
# USAGECTL_RECORD_FIXTURES=tests/fixtures/matrix: keep each release's own records as
# fixtures (tests/fixtures/matrix/README.md), read by the default run without the venvs.
_RECORD = os.environ.get("USAGECTL_RECORD_FIXTURES")


def record_fixture(entry, source, name):
    if not _RECORD:
        return
    import shutil

    target = os.path.join(_RECORD, "%s-%s" % (entry["framework"], entry["version"]))
    os.makedirs(target, exist_ok=True)
    shutil.copyfile(source, os.path.join(target, name))


def _entries(framework):
    try:
        with open(_MATRIX) as handle:
            found = [e for e in json.load(handle) if e["framework"] == framework]
    except (OSError, ValueError):
        found = []
    return found or [pytest.param(None, marks=pytest.mark.skip(reason="no matrix venvs: run scripts/matrix"))]


def _id(entry):
    return "%s-%s" % (entry["framework"], entry["version"]) if entry else "none"


def usagectl(entry, *args):
    proc = subprocess.run([entry["usagectl"], *args], env=dict(os.environ), capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def own(entry, code):
    """Run ``code`` in the release's own Python; its last stdout line, parsed as JSON."""
    proc = subprocess.run([entry["python"], "-c", code], env=dict(os.environ), capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def checks(entry, framework):
    proc = usagectl(entry, "verify", framework, "--json")
    return {c["check"]: c for c in json.loads(proc.stdout)["data"]["checks"]}


RAY_ENABLED = ("import json\ntry:\n    from ray._common.usage import usage_lib\nexcept ImportError:\n"
               "    from ray._private.usage import usage_lib\nprint(json.dumps(usage_lib.usage_stats_enabled()))")


@pytest.mark.parametrize("entry", _entries("ray"), ids=_id)
def test_ray_release_honours_the_consent_file(entry, verified):
    assert usagectl(entry, "disable", "ray").returncode == 0
    assert own(entry, RAY_ENABLED) is False
    found = checks(entry, "ray")
    assert found["own-code"]["status"] == "pass" and found["model-agreement"]["status"] == "pass"
    assert usagectl(entry, "enable", "ray").returncode == 0
    assert own(entry, RAY_ENABLED) is True

    # The hook: consent off, Ray's file still says on: Ray's own code says off in a hooked Python.
    assert usagectl(entry, "disable", "ray", "--consent-only").returncode == 0
    assert usagectl(entry, "hook", "install").returncode == 0
    try:
        assert own(entry, "import ray\n" + RAY_ENABLED) is False
        assert checks(entry, "ray")["runtime-hook"]["status"] == "pass"
    finally:
        assert usagectl(entry, "hook", "uninstall").returncode == 0
    assert own(entry, RAY_ENABLED) is True  # unhooked again: the file's "on"
    module = own(entry, "import json\ntry:\n    import ray._common.usage.usage_lib\n"
                        "    print(json.dumps('ray._common.usage'))\n"
                        "except ImportError:\n    print(json.dumps('ray._private.usage'))")
    verified(entry, "settings", "yes (`%s.usage_lib.usage_stats_enabled()`)" % module)
    verified(entry, "verify", "yes (`own-code`, `model-agreement`)")
    verified(entry, "hook", "yes (env set before Ray is imported)")


@pytest.mark.parametrize("entry", _entries("ray"), ids=_id)
def test_ray_preview_says_what_this_release_sends_when_off(entry, verified):
    assert usagectl(entry, "disable", "ray").returncode == 0
    item = json.loads(usagectl(entry, "preview", "ray", "--json").stdout)["data"]["frameworks"][0]
    version = tuple(int(p) for p in entry["version"].split(".")[:2])
    if version < (2, 10):
        assert item["will_send"] is False  # no disabled ping before 2.10
        assert any("no \"disabled ping\"" in n for n in item["notes"])
        verified(entry, "preview", "yes: \"no disabled ping\" (this release sends nothing when off)")
    else:
        assert item["will_send"] is True and item["kind"] == "disabled-ping"
        verified(entry, "preview", "yes, built by Ray (the disabled ping)")


PARSL_GATE = """\
import json, tempfile
import parsl
from parsl.usage_tracking import usage
class DFK:
    pass
dfk = DFK()
dfk.config = parsl.Config(usage_tracking=%s)
dfk.run_dir = tempfile.mkdtemp()
dfk.run_id = "matrix"
tracker = usage.UsageTracker(dfk)
print(json.dumps([getattr(tracker, "tracking_level", None), getattr(tracker, "tracking_enabled", None)]))
"""


@pytest.mark.parametrize("entry", _entries("parsl"), ids=_id)
def test_parsl_release_is_gated_by_the_hook(entry, verified):
    levels = own(entry, "import json, inspect; from parsl.usage_tracking import usage; "
                        "print(json.dumps(hasattr(usage.UsageTracker, 'check_tracking_level')))")
    asked = "3" if levels else "True"
    unhooked = own(entry, PARSL_GATE % asked)
    assert unhooked == ([3, None] if levels else [None, True])
    assert usagectl(entry, "disable", "parsl").returncode == 0
    assert usagectl(entry, "hook", "install").returncode == 0
    try:
        hooked_gate = own(entry, PARSL_GATE % asked)
        assert hooked_gate == ([0, None] if levels else [None, False])
        assert usagectl(entry, "enable", "parsl", "--level", "1").returncode == 0
        if levels:
            assert own(entry, PARSL_GATE % asked) == [1, None]  # capped at the consent's level
        else:
            # No levels: its one message holds level 3's content, so a cap of 1 turns it off.
            assert own(entry, PARSL_GATE % asked) == [None, False]
            assert usagectl(entry, "enable", "parsl").returncode == 0
            assert own(entry, PARSL_GATE % asked) == [None, True]
    finally:
        assert usagectl(entry, "hook", "uninstall").returncode == 0
    verified(entry, "hook", "level capped at the consent's (`check_tracking_level`)" if levels else
             "before levels, `check_tracking_enabled` answers False when off or capped below 3")


PARSL_BUILD = """import json, sys, types
import parsl
from parsl.usage_tracking.usage import UsageTracker
has_levels = hasattr(UsageTracker, "check_tracking_level")
out = {}
for level in (1, 2, 3) if has_levels else [None]:
    config = parsl.Config(usage_tracking=level if has_levels else True)
    message = UsageTracker(types.SimpleNamespace(config=config, _config=config)).construct_start_message()
    message = message.decode() if isinstance(message, bytes) else message
    out[str(level)] = sorted(json.loads(message[1:] if message.startswith("1") else message))
print(json.dumps(out))
"""


@pytest.mark.parametrize("entry", _entries("parsl"), ids=_id)
def test_parsl_preview_is_built_by_this_release(entry, verified):
    """`preview parsl` on each release: the messages are this release's own (the same
    field names as its UsageTracker builds), one per level, or one when it has none."""
    assert usagectl(entry, "enable", "parsl").returncode == 0
    item = json.loads(usagectl(entry, "preview", "parsl", "--json").stdout)["data"]["frameworks"][0]
    expected = own(entry, PARSL_BUILD)
    shown = {str(m["level"]): sorted(m["message"]) for m in item["messages"] if m["kind"] == "start"}
    # Level 3 (or a release without levels) also sends an end message at cleanup.
    assert [m["kind"] for m in item["messages"]].count("end") == 1
    assert shown == expected
    assert item["exact"] is True and all(m["exact"] for m in item["messages"])
    verified(entry, "preview", "yes: built by its own `construct_start_message` (%s)"
             % ("levels 1-3" if "None" not in expected else "one message: no levels"))


COILED_DISABLED = ("import json, coiled, dask.config; dask.config.refresh(); "
                   "print(json.dumps([dask.config.get('coiled.analytics.disabled', None), "
                   "dask.config.get('coiled.analytics.computation.code.transmit', None)]))")


COILED_SPAN_SENT = """\
import json, dask.config, coiled.spans
calls = []
class Cluster:  # stands in for a Coiled-managed cluster: add_span is where a span is sent
    def add_span(self, **kwargs):
        calls.append(kwargs)
with dask.config.set({"coiled.analytics.client-spans.transmit": False}):
    with coiled.spans.span(Cluster(), name="matrix"):
        pass
print(json.dumps(bool(calls)))
"""

COILED_HOOKED = """\
import json
import coiled.analytics as a
patched = [bool(getattr(a.register, "_usagectl_hook", False)), bool(getattr(a.dask_setup, "_usagectl_hook", False))]
# Only called when patched: the hook refuses before Coiled's own code runs (no client, no network).
print(json.dumps(patched + [a.register() if all(patched) else "unpatched"]))
"""


@pytest.mark.parametrize("entry", _entries("coiled"), ids=_id)
def test_coiled_release_honours_the_consent_file(entry, verified):
    assert usagectl(entry, "disable", "coiled").returncode == 0
    assert own(entry, COILED_DISABLED) == [True, False]
    # Does this release's own span code stop client spans when the key says so?
    spans_stoppable = own(entry, COILED_SPAN_SENT) is False
    found = checks(entry, "coiled")
    if spans_stoppable:
        assert found["own-code"]["status"] == "pass" and found["model-agreement"]["status"] == "pass"
        verified(entry, "verify", "yes (`own-code`, `model-agreement`)")
    else:
        # Its spans leave whatever the config says: verify must not pass it, and says why.
        assert found["own-code"]["status"] == "fail", found["own-code"]
        assert "never reads coiled.analytics.client-spans.transmit" in found["own-code"]["evidence"][-1]
        assert "upgrade" in (found["own-code"].get("fix") or "")
        verified(entry, "verify", "fails, rightly: this release sends client spans whatever "
                                  "`client-spans.transmit` says (its own `coiled.spans.span`, asked)")
    assert usagectl(entry, "enable", "coiled").returncode == 0
    assert own(entry, COILED_DISABLED)[0] is False
    verified(entry, "settings", "yes (`dask.config.get`)")

    # The hook: consent off, dask's files still on: this release's own register() and
    # scheduler preload (dask_setup) refuse in a hooked Python.
    assert usagectl(entry, "disable", "coiled", "--consent-only").returncode == 0
    assert usagectl(entry, "hook", "install").returncode == 0
    try:
        assert own(entry, COILED_HOOKED) == [True, True, None]
        assert checks(entry, "coiled")["runtime-hook"]["status"] == "pass"
    finally:
        assert usagectl(entry, "hook", "uninstall").returncode == 0
    assert own(entry, COILED_HOOKED)[:2] == [False, False]
    verified(entry, "hook", "yes: its `coiled.analytics.register()` and scheduler preload refuse when off")

    assert usagectl(entry, "enable", "coiled").returncode == 0
    shown = json.loads(usagectl(entry, "preview", "coiled", "--json").stdout)["data"]["frameworks"][0]
    spans = {k["key"]: k for k in shown["keys"]}["coiled.analytics.client-spans.transmit"]
    # What preview says of the spans key is what this release's own span code does.
    assert spans.get("read_by_this_release", True) is spans_stoppable
    if not spans_stoppable:
        assert spans["leaves"] is True
        assert any("never reads coiled.analytics.client-spans.transmit" in n for n in shown["notes"])
    verified(entry, "preview", "yes: every analytics key with its value and source%s"
             % ("" if spans_stoppable else "; says client spans can't be stopped in this release"))


RAY_WRITE = """\
import dataclasses, json, sys
try:
    from ray._common.usage import usage_lib as u
except ImportError:
    from ray._private.usage import usage_lib as u
given = dict(schema_version="0.1", source="OSS", collect_timestamp_ms=1795478600000, seq_number=3,
             session_id="cd" * 28, extra_usage_tags={"matrix": "yes"})
# Older releases have no defaults: every other field is None, as a report with nothing known.
fields = {f.name: given.get(f.name) for f in dataclasses.fields(u.UsageStatsToReport)}
data = u.UsageStatsToReport(**fields)
u.UsageReportClient().write_usage_data(u.generate_write_data(data, None), sys.argv[1])
print(json.dumps(json.dumps(dataclasses.asdict(data))))
"""


@pytest.mark.parametrize("entry", _entries("ray"), ids=_id)
def test_show_last_reads_a_usage_stats_file_this_release_wrote(entry, tmp_path, verified):
    """The record, written by the release's own code (UsageReportClient.write_usage_data),
    read back by show-last byte for byte."""
    session = tmp_path / "tmp" / "ray" / "session_2026-12-02_07-00-00_000001_4242"
    session.mkdir(parents=True)
    proc = subprocess.run([entry["python"], "-c", RAY_WRITE, str(session)], env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    posted = json.loads(proc.stdout.strip().splitlines()[-1])
    shown = json.loads(usagectl(entry, "show-last", "ray", "--json").stdout)
    [payload] = shown["data"]["frameworks"][0]["payloads"]
    assert payload["body"] == posted and payload["outcome"] == "sent"
    record_fixture(entry, str(session / "usage_stats.json"), "usage_stats.json")
    verified(entry, "records",
             "yes: a `usage_stats.json` written by its own `write_usage_data`, read back byte for byte")


PARSL_WORKFLOW = """\
import sys
import parsl
from parsl.config import Config
from parsl.executors.threads import ThreadPoolExecutor
level = sys.argv[1]
parsl.load(Config(executors=[ThreadPoolExecutor(max_threads=1)], run_dir=sys.argv[2],
                  usage_tracking=int(level) if level.isdigit() else True))
@parsl.python_app
def inc(x):
    return x + 1
assert inc(1).result() == 2
parsl.dfk().cleanup()
"""


@pytest.mark.parametrize("entry", _entries("parsl"), ids=_id)
def test_parsl_hook_records_what_this_release_hands_to_its_sender(entry, tmp_path, verified):
    """A real workflow of the release, in isolated namespaces (its UDP send can't leave):
    the hook records its start and end messages in the sent ledger, as handed over."""
    from isolation import isolated, require

    require()
    levels = own(entry, "import json; from parsl.usage_tracking import usage; "
                        "print(json.dumps(hasattr(usage.UsageTracker, 'check_tracking_level')))")
    script = tmp_path / "workflow.py"
    script.write_text(PARSL_WORKFLOW)
    assert usagectl(entry, "enable", "parsl").returncode == 0
    assert usagectl(entry, "hook", "install").returncode == 0
    try:
        proc = subprocess.run(isolated([entry["python"], str(script), "3" if levels else "True",
                                        str(tmp_path / "runinfo")]), env=dict(os.environ),
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        assert usagectl(entry, "hook", "uninstall").returncode == 0
    shown = json.loads(usagectl(entry, "show-last", "parsl", "--json", "-n", "5", "--path",
                                str(tmp_path / "runinfo")).stdout)
    payloads = [p for p in shown["data"]["frameworks"][0]["payloads"] if p["origin"] == "ledger"]
    assert len(payloads) == 2  # start and end
    [log] = [os.path.join(base, "parsl.log") for base, _d, files in os.walk(tmp_path / "runinfo")
             if "parsl.log" in files]
    record_fixture(entry, log, "parsl.log")
    # UDP gives no receipt: handed over, never claimed as sent. 2026.10.26 can't start
    # its sender (it can't pickle it, Parsl issue #4038): recorded as failed.
    broken = entry["version"] == "2026.10.26"
    assert {p["outcome"] for p in payloads} == ({"failed"} if broken else {"logged-not-known-sent"})
    assert all('"parsl_v": "%s.' % entry["version"][:4] in p["body"] for p in payloads[1:])

    # Without the ledger, parsl.log alone: releases with levels log each message before
    # sending it; 2024.3 logs none, so only the hook's ledger can show what it sent.
    os.unlink(os.path.join(os.environ["USAGECTL_STATE_DIR"], "sent.jsonl"))
    alone = json.loads(usagectl(entry, "show-last", "parsl", "--json", "-n", "5", "--path",
                                str(tmp_path / "runinfo")).stdout)["data"]["frameworks"][0]["payloads"]
    assert bool(alone) is bool(levels), alone
    verified(entry, "records", "yes: a real workflow's start and end messages in the sent ledger (%s)%s"
             % ("its send fails: Parsl issue #4038" if broken else "handed over, not known sent",
                "; and its `parsl.log`" if levels else "; its `parsl.log` holds no message bodies"))


_UDP_SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "parsl", "udp_sink.py")


@pytest.mark.parametrize("entry", _entries("parsl"), ids=_id)
def test_parsl_sender_processes_are_paired_with_their_messages(entry, tmp_path, verified):
    """A real workflow whose UDP send reaches a loopback listener (a hosts file in the
    mount namespace points tracking.parsl-project.org at 127.0.0.1): from parsl.log
    alone, a message whose fork sender ended with exit 0 and logged no failure is "sent",
    and its body is a datagram that arrived; a failed one never arrived."""
    import base64

    from isolation import isolated_shell, require

    require()
    script = tmp_path / "workflow.py"
    # Two seconds before cleanup, so the start message's sender has surely ended by the
    # time Parsl joins it (else its line says "started" and the message stays unknown).
    script.write_text(PARSL_WORKFLOW.replace("parsl.dfk().cleanup()", "import time; time.sleep(2)\n"
                                             "parsl.dfk().cleanup()"))
    levels = own(entry, "import json; from parsl.usage_tracking import usage; "
                        "print(json.dumps(hasattr(usage.UsageTracker, 'check_tracking_level')))")
    shell = ("printf '127.0.0.1 localhost tracking.parsl-project.org\\n' > {t}/hosts && "
             "mount --bind {t}/hosts /etc/hosts && "
             "{{ timeout 60 python3 {sink} {t}/datagrams.json 30 50077 & }} && sleep 0.5 && "
             "timeout 120 {py} {script} {level} {t}/runinfo && sleep 1").format(
        t=tmp_path, sink=_UDP_SINK, py=entry["python"], script=script, level="3" if levels else "True")
    proc = subprocess.run(isolated_shell(shell), env=dict(os.environ), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / "datagrams.json") as handle:
        arrived = [base64.b64decode(d) for d in json.load(handle)]
    shown = json.loads(usagectl(entry, "show-last", "parsl", "--json", "-n", "5", "--path",
                                str(tmp_path / "runinfo")).stdout)
    payloads = shown["data"]["frameworks"][0]["payloads"]
    for payload in payloads:
        body = payload["body"].encode()
        if payload["outcome"] == "sent":
            assert body in arrived, payload
        elif payload["outcome"] == "failed":
            assert body not in arrived, payload
    sent = [p for p in payloads if p["outcome"] == "sent"]
    if levels and entry["version"] != "2026.10.26":
        assert sent, payloads  # the start message's sender had ended when Parsl joined it
        [log] = [os.path.join(base, "parsl.log") for base, _d, files in os.walk(tmp_path / "runinfo")
                 if "parsl.log" in files]
        record_fixture(entry, log, "parsl-loopback.log")
        record_fixture(entry, str(tmp_path / "datagrams.json"), "datagrams.json")
    if levels and entry["version"] != "2026.10.26":
        verified(entry, "records", "its sender processes' own lines paired with their messages: one "
                 "shown as sent is a datagram that arrived at a loopback listener")
