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
def test_ray_release_honours_the_consent_file(entry):
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


@pytest.mark.parametrize("entry", _entries("ray"), ids=_id)
def test_ray_preview_says_what_this_release_sends_when_off(entry):
    assert usagectl(entry, "disable", "ray").returncode == 0
    item = json.loads(usagectl(entry, "preview", "ray", "--json").stdout)["data"]["frameworks"][0]
    version = tuple(int(p) for p in entry["version"].split(".")[:2])
    if version < (2, 10):
        assert item["will_send"] is False  # no disabled ping before 2.10
        assert any("no \"disabled ping\"" in n for n in item["notes"])
    else:
        assert item["will_send"] is True and item["kind"] == "disabled-ping"


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
def test_parsl_release_is_gated_by_the_hook(entry):
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
            assert own(entry, PARSL_GATE % asked) == [None, True]
    finally:
        assert usagectl(entry, "hook", "uninstall").returncode == 0


COILED_DISABLED = ("import json, coiled, dask.config; dask.config.refresh(); "
                   "print(json.dumps([dask.config.get('coiled.analytics.disabled', None), "
                   "dask.config.get('coiled.analytics.computation.code.transmit', None)]))")


@pytest.mark.parametrize("entry", _entries("coiled"), ids=_id)
def test_coiled_release_honours_the_consent_file(entry):
    assert usagectl(entry, "disable", "coiled").returncode == 0
    assert own(entry, COILED_DISABLED) == [True, False]
    found = checks(entry, "coiled")
    assert found["own-code"]["status"] == "pass" and found["model-agreement"]["status"] == "pass"
    assert usagectl(entry, "enable", "coiled").returncode == 0
    assert own(entry, COILED_DISABLED)[0] is False
    assert usagectl(entry, "preview", "coiled").returncode == 0


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
def test_show_last_reads_a_usage_stats_file_this_release_wrote(entry, tmp_path):
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
def test_parsl_hook_records_what_this_release_hands_to_its_sender(entry, tmp_path):
    """A real workflow of the release, in isolated namespaces (its UDP send can't leave):
    the hook records its start and end messages in the sent ledger, as handed over."""
    from isolation import available, isolated

    ok, why = available()
    if not ok:
        pytest.skip("no isolated namespaces here: %s" % why)
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
    # UDP gives no receipt: handed over, never claimed as sent.
    assert {p["outcome"] for p in payloads} == {"logged-not-known-sent"}
    assert all('"parsl_v": "%s.' % entry["version"][:4] in p["body"] for p in payloads[1:])

    # Without the ledger, parsl.log alone: releases with levels log each message before
    # sending it; 2024.3 logs none, so only the hook's ledger can show what it sent.
    os.unlink(os.path.join(os.environ["USAGECTL_STATE_DIR"], "sent.jsonl"))
    alone = json.loads(usagectl(entry, "show-last", "parsl", "--json", "-n", "5", "--path",
                                str(tmp_path / "runinfo")).stdout)["data"]["frameworks"][0]["payloads"]
    assert bool(alone) is bool(levels), alone
