"""The runtime hook: install/uninstall/status, start-up cost, and what it does to the
real Ray, Parsl and Coiled packages once they are imported.

Every framework test runs the real package in a subprocess of a throwaway virtual
environment with the real .pth installed by `usagectl hook install --python`. The
venv sees the frameworks through a plain path line to this test environment's
site-packages, but not usagectl (the editable install's own .pth is not processed
there), so these tests also cover an environment where usagectl is not installed.
Workflows and registrations run inside a network namespace with only loopback.
"""

import json
import os
import subprocess
import sys
import sysconfig
import textwrap

import pytest

from usagectl.hook import installer

TIMEOUT = 120
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------
# Helpers


def run_hook_cli(*args):
    """`usagectl hook ...` in a subprocess (the group is invoked directly)."""
    proc = subprocess.run([sys.executable, "-c", "from usagectl.cli.hook import hook; hook()", *args],
                          capture_output=True, text=True, timeout=TIMEOUT)
    return proc


def make_venv(path, usagectl_importable=False):
    """A throwaway venv that can import the frameworks (and usagectl, if asked)."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(path)],
                   check=True, timeout=TIMEOUT)
    python = str(path / "bin" / "python")
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True, timeout=TIMEOUT).stdout.strip()
    lines = [sysconfig.get_paths()["purelib"]]
    if usagectl_importable:
        lines.insert(0, REPO)
    with open(os.path.join(purelib, "_test_frameworks.pth"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return python, purelib


@pytest.fixture
def venv(tmp_path):
    python, purelib = make_venv(tmp_path / "venv")
    return python, purelib


@pytest.fixture
def hooked(venv):
    """The venv's python, with the hook installed through the real CLI."""
    python, purelib = venv
    proc = run_hook_cli("install", "--python", python, "--json")
    assert proc.returncode == 0, proc.stderr
    assert os.path.isfile(os.path.join(purelib, installer.PTH_NAME))
    return python


def run_py(python, code, *args, env=None, netns=False, check=True):
    environ = dict(os.environ)
    environ.update(env or {})
    argv = [python, "-c", textwrap.dedent(code), *args]
    if netns:
        argv = netns_argv(argv)
    proc = subprocess.run(argv, capture_output=True, text=True, env=environ, timeout=TIMEOUT)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def netns_argv(argv):
    import isolation

    isolation.require()
    return isolation.isolated(argv)


def write_ray_config(home, value):
    (home / ".ray").mkdir(exist_ok=True)
    (home / ".ray" / "config.json").write_text(json.dumps({"usage_stats": value}))


# ---------------------------------------------------------------------------
# install / uninstall / status


def test_install_status_uninstall_round_trip(venv):
    python, purelib = venv
    pth = os.path.join(purelib, installer.PTH_NAME)
    others = sorted(os.listdir(purelib))

    status = run_hook_cli("status", "--python", python, "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["data"]["installed"] is False

    first = run_hook_cli("install", "--python", python, "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)["data"]
    assert data["changed"] is True and data["current"] is True and data["path"] == pth
    with open(pth, encoding="utf-8") as handle:
        assert handle.read() == installer.render_pth(installer.code_dir(purelib))
    assert oct(os.stat(pth).st_mode & 0o777) == oct(0o644)

    status = json.loads(run_hook_cli("status", "--python", python, "--json").stdout)["data"]
    assert status["installed"] and status["current"] and status["ours"] and status["runtime_exists"]
    assert status["active"] is True  # the interpreter itself loaded it
    assert status["frameworks"] == {"ray": True, "parsl": True, "coiled": True}

    again = json.loads(run_hook_cli("install", "--python", python, "--json").stdout)["data"]
    assert again["changed"] is False

    with open(pth, "a", encoding="utf-8") as handle:
        handle.write("# edited\n")
    stale = run_hook_cli("status", "--python", python, "--json")
    assert json.loads(stale.stdout)["data"]["current"] is False
    assert "not the one this usagectl writes" in stale.stderr
    assert json.loads(run_hook_cli("install", "--python", python, "--json").stdout)["data"]["changed"]
    assert json.loads(run_hook_cli("status", "--python", python, "--json").stdout)["data"]["current"]

    removed = run_hook_cli("uninstall", "--python", python, "--json")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["data"]["removed"] is True
    assert not os.path.exists(pth)
    assert sorted(os.listdir(purelib)) == others  # nothing else touched
    assert json.loads(run_hook_cli("uninstall", "--python", python, "--json").stdout)["data"]["removed"] is False
    active = run_py(python, "import sys; print(any(getattr(f, '_usagectl_hook', False) for f in sys.meta_path))")
    assert active.stdout.strip() == "False"


def test_human_output_and_venv_directory_argument(venv, tmp_path):
    python, purelib = venv
    proc = run_hook_cli("install", "--python", str(tmp_path / "venv"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Installed the runtime hook: " + os.path.join(purelib, installer.PTH_NAME))
    status = run_hook_cli("status", "--python", python)
    assert "Runtime hook: installed, current" in status.stdout
    assert "Loaded at start-up: yes" in status.stdout


def test_uninstall_leaves_a_foreign_file_alone(venv):
    python, purelib = venv
    pth = os.path.join(purelib, installer.PTH_NAME)
    with open(pth, "w") as handle:
        handle.write("/some/path\n")
    proc = run_hook_cli("uninstall", "--python", python)
    assert proc.returncode != 0
    assert "not written by usagectl" in proc.stderr
    with open(pth) as handle:
        assert handle.read() == "/some/path\n"
    assert run_hook_cli("install", "--python", python).returncode != 0


def test_bad_python_is_one_line_error(tmp_path):
    proc = run_hook_cli("status", "--python", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["usagectl: error: no Python interpreter at %s" % (tmp_path / "nope")]
    assert "Traceback" not in proc.stderr


def test_hook_installed_helper_reads_a_site_dir(tmp_path, env):
    state = installer.hook_installed(env, site_dir=str(tmp_path))
    assert state["installed"] is False
    installer.place(str(tmp_path))
    state = installer.hook_installed(env, site_dir=str(tmp_path))
    assert state["installed"] and state["current"] and state["runtime_exists"]
    assert installer.hook_installed(env)["path"] == os.path.join(sysconfig.get_paths()["purelib"],
                                                                 installer.PTH_NAME)


# ---------------------------------------------------------------------------
# Start-up: nearly free, nothing read


def test_startup_only_adds_the_watcher(hooked, consent_file):
    # Even a damaged consent file is not looked at until a framework is imported.
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_bytes(b"\x00\xff not toml [[[")
    proc = run_py(hooked, """
        import json, sys
        print(json.dumps({"modules": sorted(m for m in sys.modules if "usagectl" in m or m == "tomllib"),
                          "first_finder": getattr(sys.meta_path[0], "__name__", None),
                          "ray_var": __import__("os").environ.get("RAY_USAGE_STATS_ENABLED")}))
    """)
    assert proc.stderr == ""
    info = json.loads(proc.stdout)
    assert info["modules"] == ["usagectl_hook_pth"]
    assert info["ray_var"] is None


def test_pth_is_processed_once_even_twice_present(hooked, tmp_path):
    # A venv with --system-site-packages over a base that has the hook too: one watcher.
    extra = tmp_path / "extra"
    extra.mkdir()
    installer.place(str(extra))
    proc = run_py(hooked, """
        import site, sys
        site.addsitedir(sys.argv[1])
        print(sum(1 for f in sys.meta_path if getattr(f, "_usagectl_hook", False)))
    """, str(extra))
    assert proc.stdout.strip() == "1"


# ---------------------------------------------------------------------------
# Ray

RAY_PROBE = """
    import importlib.util, json, os, subprocess, sys
    importable_before = importlib.util.find_spec("usagectl") is not None
    import ray
    from ray._common.usage import usage_lib
    child = subprocess.run([sys.executable, "-S", "-c",
                            "import os; print(os.environ.get('RAY_USAGE_STATS_ENABLED'))"],
                           capture_output=True, text=True, timeout=60).stdout.strip()
    print(json.dumps({"enabled": usage_lib.usage_stats_enabled(),
                      "var": os.environ.get("RAY_USAGE_STATS_ENABLED"), "child_var": child,
                      "usagectl_importable_before": importable_before,
                      "usagectl_file": getattr(sys.modules.get("usagectl"), "__file__", None),
                      "code_file": getattr(sys.modules.get("usagectl_hook_code"), "__file__", None),
                      "usagectl_modules": sorted(m for m in sys.modules if "usagectl" in m)}))
"""


@pytest.mark.frameworks
@pytest.mark.parametrize("usagectl_importable", [False, True])
def test_ray_off_overrides_its_own_config(tmp_path, cli, isolated_home, usagectl_importable):
    python, purelib = make_venv(tmp_path / "venv", usagectl_importable=usagectl_importable)
    assert run_hook_cli("install", "--python", python).returncode == 0
    assert cli("disable").exit_code == 0
    write_ray_config(isolated_home, True)  # someone ran `ray enable-usage-stats` since

    info = json.loads(run_py(python, RAY_PROBE).stdout)
    assert info["enabled"] is False
    assert info["var"] == "0" and info["child_var"] == "0"  # `ray start`'s children inherit it
    assert info["usagectl_importable_before"] is usagectl_importable
    # The code that ran is the copy in the interpreter's own site-packages, under a private
    # name, even where another usagectl is importable (docs/security.md): the one in the
    # checkout is never loaded, so it can't be shadowed either.
    assert info["usagectl_file"] is None
    assert info["code_file"].startswith(os.path.join(purelib, installer.CODE_PREFIX))
    # Only the stdlib-only reader came along: no click, no CLI, no adapters.
    assert info["usagectl_modules"] == ["usagectl_hook_code", "usagectl_hook_code._paths", "usagectl_hook_code.consent",
                                        "usagectl_hook_pth", "usagectl_hook_runtime"]

    # Control: the same interpreter without the hook lets Ray's own config win.
    assert run_hook_cli("uninstall", "--python", python).returncode == 0
    assert json.loads(run_py(python, RAY_PROBE).stdout)["enabled"] is True


@pytest.mark.frameworks
def test_ray_on_is_not_loosened(hooked, cli, isolated_home):
    assert cli("enable", "ray").exit_code == 0
    write_ray_config(isolated_home, True)
    info = json.loads(run_py(hooked, RAY_PROBE).stdout)
    assert info["enabled"] is True and info["var"] is None

    # Ray's own off switches still work: the hook never sets "1".
    info = json.loads(run_py(hooked, RAY_PROBE, env={"RAY_USAGE_STATS_ENABLED": "0"}).stdout)
    assert info["enabled"] is False and info["var"] == "0"
    write_ray_config(isolated_home, False)
    assert json.loads(run_py(hooked, RAY_PROBE).stdout)["enabled"] is False


@pytest.mark.frameworks
def test_ray_do_not_track_and_local_mean_off(hooked, cli, isolated_home):
    write_ray_config(isolated_home, True)
    info = json.loads(run_py(hooked, RAY_PROBE, env={"DO_NOT_TRACK": "1"}).stdout)
    assert info["enabled"] is False
    assert cli("local", "ray").exit_code == 0
    write_ray_config(isolated_home, True)
    assert json.loads(run_py(hooked, RAY_PROBE, env={"RAY_USAGE_STATS_ENABLED": "1"}).stdout)["enabled"] is False


# ---------------------------------------------------------------------------
# Parsl: a real workflow in a network namespace

PARSL_FLOW = """
    import sys
    import parsl
    from parsl.config import Config
    from parsl.executors.threads import ThreadPoolExecutor

    config = Config(executors=[ThreadPoolExecutor(max_threads=1, label="threads")],
                    usage_tracking=3, run_dir=sys.argv[1])

    @parsl.python_app
    def add(a, b):
        return a + b

    with parsl.load(config):
        assert add(1, 2).result(timeout=60) == 3
"""


def parsl_log(python, run_dir):
    run_py(python, PARSL_FLOW, str(run_dir), netns=True)
    logs = sorted(run_dir.glob("*/parsl.log"))
    assert len(logs) == 1, logs
    return logs[0].read_text()


@pytest.mark.frameworks
@pytest.mark.netns
def test_parsl_workflow_consent_off_tracks_nothing(hooked, cli, tmp_path):
    assert cli("disable").exit_code == 0
    log = parsl_log(hooked, tmp_path / "runinfo")
    assert "Tracking level: 0" in log
    assert "Usage tracking start message" not in log
    assert "Sending start message" not in log
    assert "usage tracking level 3 capped at 0" in log

    # Control: without the hook, Parsl does what its Config says.
    log = parsl_log(sys.executable, tmp_path / "runinfo-nohook")
    assert "Tracking level: 3" in log
    assert "Usage tracking start message" in log


@pytest.mark.frameworks
@pytest.mark.netns
def test_parsl_workflow_consent_level_1_caps_at_1(hooked, cli, tmp_path):
    assert cli("enable", "parsl", "--level", "1").exit_code == 0
    log = parsl_log(hooked, tmp_path / "runinfo")
    assert "Tracking level: 1" in log
    start = [line for line in log.splitlines() if "Usage tracking start message" in line]
    assert len(start) == 1 and "'tracking_level': 1" in start[0] and "components" not in start[0]
    assert "Sending end message" not in log  # only level 3 sends one


@pytest.mark.frameworks
def test_parsl_consent_on_without_level_leaves_config_alone(hooked, cli):
    assert cli("enable", "parsl").exit_code == 0
    proc = run_py(hooked, PARSL_TRACKER_PROBE)
    assert json.loads(proc.stdout)["levels"] == [0, 1, 3, True]


PARSL_TRACKER_PROBE = """
    import json
    from types import SimpleNamespace
    from parsl.usage_tracking.usage import UsageTracker
    levels = [UsageTracker.check_tracking_level(SimpleNamespace(config=SimpleNamespace(usage_tracking=v)))
              for v in (0, 1, 3, True)]
    print(json.dumps({"levels": levels, "wrapped": hasattr(UsageTracker.check_tracking_level, "__wrapped__")}))
"""


# ---------------------------------------------------------------------------
# Coiled

COILED_PROBE = """
    import asyncio, json
    calls = []

    class Recorder:
        # Stands in for the client, the scheduler and everything that could reach the network.
        def __init__(self, label):
            self.label = label
        def __getattr__(self, name):
            calls.append(self.label + "." + name)
            raise RuntimeError("stub reached")
        def __call__(self, *args, **kwargs):
            calls.append(self.label + "()")
            raise RuntimeError("stub reached")

    import coiled, coiled.analytics, urllib3
    coiled.Cloud = Recorder("coiled.Cloud")
    urllib3.PoolManager = Recorder("urllib3.PoolManager")
    out = {}
    for name, call in (("register", lambda: coiled.analytics.register(Recorder("client"))),
                       ("dask_setup", lambda: asyncio.run(coiled.analytics.dask_setup(Recorder("scheduler"))))):
        try:
            out[name] = repr(call())
        except RuntimeError as exc:
            out[name] = "raised: %s" % exc
    out["calls"] = calls
    print(json.dumps(out))
"""


@pytest.mark.frameworks
@pytest.mark.netns
def test_coiled_register_and_preload_refused_when_off(hooked, cli):
    assert cli("disable", "coiled").exit_code == 0
    proc = run_py(hooked, COILED_PROBE, netns=True)
    out = json.loads(proc.stdout)
    assert out == {"register": "None", "dask_setup": "None", "calls": []}
    refusals = [line for line in proc.stderr.splitlines() if line.startswith("usagectl: ")]
    assert refusals == [
        "usagectl: coiled.analytics.register() refused: telemetry consent for coiled is off "
        "(the consent file's entry for coiled says off)",
        "usagectl: the coiled.analytics scheduler preload refused: telemetry consent for coiled is off "
        "(the consent file's entry for coiled says off)",
    ]


@pytest.mark.frameworks
@pytest.mark.netns
def test_coiled_passes_through_when_on(hooked, cli):
    assert cli("enable", "coiled").exit_code == 0
    out = json.loads(run_py(hooked, COILED_PROBE, netns=True).stdout)
    # The real code ran: it reached the (stubbed) Cloud login and HTTP pool.
    assert out["calls"] == ["coiled.Cloud()", "urllib3.PoolManager()"]
    assert out["register"].startswith("raised") and out["dask_setup"].startswith("raised")


@pytest.mark.frameworks
@pytest.mark.netns
def test_coiled_plugin_follows_the_metrics_category(hooked, cli):
    # Categories other than metrics: the plugin (what sends metrics) is refused.
    assert cli("enable", "coiled", "--only", "events,spans").exit_code == 0
    proc = run_py(hooked, COILED_PROBE, netns=True)
    assert json.loads(proc.stdout) == {"register": "None", "dask_setup": "None", "calls": []}
    assert "coiled.analytics.register() refused: telemetry consent for coiled is local" in proc.stderr
    # Metrics allowed: the real code runs (the dask config holds back the rest).
    assert cli("enable", "coiled", "--only", "metrics").exit_code == 0
    out = json.loads(run_py(hooked, COILED_PROBE, netns=True).stdout)
    assert out["calls"] == ["coiled.Cloud()", "urllib3.PoolManager()"]


# ---------------------------------------------------------------------------
# Failing closed, never breaking an import

EVERYTHING_PROBE = """
    import json, sys
    from types import SimpleNamespace
    if len(sys.argv) > 1 and sys.argv[1] == "break-reader":
        # The consent reader cannot be imported, neither an installed one nor the hook's copy.
        sys.modules["usagectl.consent"] = sys.modules["usagectl_hook_code.consent"] = None
    import ray
    from ray._common.usage import usage_lib
    from parsl.usage_tracking.usage import UsageTracker
    import coiled.analytics
    calls = []
    coiled.Cloud = lambda *a, **k: calls.append("Cloud")
    level = UsageTracker.check_tracking_level(SimpleNamespace(config=SimpleNamespace(usage_tracking=3)))
    print(json.dumps({"ray": usage_lib.usage_stats_enabled(), "parsl": level,
                      "coiled": coiled.analytics.register(object()), "calls": calls}))
"""


@pytest.mark.frameworks
@pytest.mark.netns
def test_damaged_consent_file_means_everything_off(hooked, consent_file, isolated_home):
    write_ray_config(isolated_home, True)
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_text("schema = 1\n[default]\nmode = 'maybe'\n")
    proc = run_py(hooked, EVERYTHING_PROBE, netns=True)
    assert json.loads(proc.stdout) == {"ray": False, "parsl": 0, "coiled": None, "calls": []}
    assert "consent file can't be trusted" in proc.stderr


@pytest.mark.frameworks
@pytest.mark.netns
def test_unloadable_consent_reader_means_everything_off(hooked, isolated_home):
    write_ray_config(isolated_home, True)
    proc = run_py(hooked, EVERYTHING_PROBE, "break-reader", netns=True)
    assert json.loads(proc.stdout) == {"ray": False, "parsl": 0, "coiled": None, "calls": []}
    assert "consent reader could not be loaded" in proc.stderr


@pytest.mark.frameworks
def test_missing_runtime_fails_closed_for_ray_and_says_so_for_the_rest(venv, isolated_home):
    python, purelib = venv
    with open(os.path.join(purelib, installer.PTH_NAME), "w") as handle:
        handle.write(installer.render_pth("/nonexistent/usagectl-hook-0"))
    write_ray_config(isolated_home, True)
    assert run_py(python, "pass").stderr == ""  # start-up is still silent
    proc = run_py(python, """
        import ray
        from ray._common.usage import usage_lib
        import parsl.usage_tracking.usage
        print(usage_lib.usage_stats_enabled())
    """)
    assert proc.stdout.strip() == "False"
    assert ("usagectl hook: cannot load /nonexistent/usagectl-hook-0/usagectl/hook/runtime.py" in proc.stderr
            and "parsl.usage_tracking.usage telemetry is not restricted" in proc.stderr)


def test_a_patch_that_fails_never_breaks_the_import(hooked, tmp_path):
    # A coiled whose analytics module lacks what the hook wraps: the import still works.
    fake = tmp_path / "fake"
    (fake / "coiled").mkdir(parents=True)
    (fake / "coiled" / "__init__.py").write_text("")
    (fake / "coiled" / "analytics.py").write_text("VALUE = 42\n")
    proc = run_py(hooked, """
        import coiled.analytics
        print(coiled.analytics.VALUE, type(coiled.analytics.__loader__).__name__)
    """, env={"PYTHONPATH": str(fake)})
    assert proc.stdout.split() == ["42", "SourceFileLoader"]  # real loader put back
    assert "usagectl hook: patching coiled.analytics failed" in proc.stderr


# ---------------------------------------------------------------------------
# The sent ledger: what hooked frameworks actually send


class _Sink:
    """A real HTTP server on 127.0.0.1 that keeps the bodies POSTed to it (bounded in time)."""

    def __init__(self):
        import http.server
        import threading

        bodies = self.bodies = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.server.timeout = 5
        self.url = "http://127.0.0.1:%d/" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def sink():
    server = _Sink()
    yield server
    server.close()


RAY_REPORT = """
    import sys
    from ray._common.usage import usage_lib as u
    if sys.argv[2] == "ping":
        data = u.generate_disabled_report_data()
    else:
        data = u.UsageStatsToReport(schema_version="0.1", source="OSS", collect_timestamp_ms=1795478600000,
                                    seq_number=1, session_id="cd" * 28, ray_version="2.60.0")
    u.UsageReportClient().report_usage_data(sys.argv[1], data)
"""


def ledger_entries():
    path = os.path.join(os.environ["USAGECTL_STATE_DIR"], "sent.jsonl")
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.mark.frameworks
def test_ray_report_sent_while_on_is_recorded_byte_for_byte(hooked, cli, sink):
    import base64

    cli("enable", "ray", "--consent-only")
    run_py(hooked, RAY_REPORT, sink.url, "report")
    [entry] = ledger_entries()
    assert (entry["framework"], entry["outcome"], entry["destination"]) == ("ray", "sent", sink.url)
    body = base64.b64decode(entry["body_base64"]) if entry.get("body_base64") else entry["body"].encode()
    assert [body] == sink.bodies
    shown = cli("show-last", "ray", "--json").json()["data"]["frameworks"][0]["payloads"][0]
    assert (shown["origin"], shown["outcome"], shown["identifiers"]["session_id"]) == ("ledger", "sent", "cd" * 28)


@pytest.mark.frameworks
def test_rays_disabled_ping_is_recorded_and_verify_names_it(hooked, cli, sink):
    cli("disable", "ray")
    run_py(hooked, RAY_REPORT, sink.url, "ping")
    [entry] = ledger_entries()
    assert entry["outcome"] == "disabled-ping" and len(sink.bodies) == 1
    payload = json.loads(sink.bodies[0])
    assert payload["session_id"] is None and payload["schema_version"]
    assert entry["delivery"] == "delivered" and entry["destination"] == sink.url
    check = {c["check"]: c for c in cli("verify", "ray", "--json").json()["data"]["checks"]}
    # It reached the server after the opt-out: that is a failure, named with where it went.
    assert check["disabled-ping"]["status"] == "fail" and sink.url in check["disabled-ping"]["summary"]
    assert check["payloads-after-opt-out"]["status"] == "pass"


@pytest.mark.frameworks
def test_a_disabled_ping_that_never_left_keeps_its_label_and_passes(hooked, cli):
    cli("disable", "ray")
    proc = run_py(hooked, RAY_REPORT, "http://127.0.0.1:9/", "ping", check=False)
    assert proc.returncode != 0  # Ray's own function raised: connection refused
    [entry] = ledger_entries()
    assert entry["outcome"] == "disabled-ping" and "ConnectionError" in entry["reason"]
    check = {c["check"]: c for c in cli("verify", "ray", "--json").json()["data"]["checks"]}
    assert check["disabled-ping"]["status"] == "pass"
    assert check["payloads-after-opt-out"]["status"] == "pass"


@pytest.mark.frameworks
def test_ray_report_that_fails_is_recorded_as_failed(hooked, cli):
    cli("enable", "ray", "--consent-only")
    proc = run_py(hooked, RAY_REPORT, "http://127.0.0.1:9/", "report", check=False)
    assert proc.returncode != 0  # Ray's own function raises; the hook doesn't swallow it
    [entry] = ledger_entries()
    assert entry["outcome"] == "failed" and "ConnectionError" in entry["reason"]


@pytest.mark.frameworks
@pytest.mark.netns
def test_parsl_hand_over_is_recorded_with_its_outcome(hooked, cli, tmp_path):
    assert cli("enable", "parsl", "--level", "1").exit_code == 0
    log = parsl_log(hooked, tmp_path / "runinfo")
    entries = [e for e in ledger_entries() if e["framework"] == "parsl"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["destination"] == "udp://tracking.parsl-project.org:50077"
    # Parsl 2026.10.26 can't start its sender (issue #4038): failed, never "sent".
    failed = "Usage tracking failed" in log
    assert entry["outcome"] == ("failed" if failed else "logged-not-known-sent")
    assert entry["identifiers"]["correlator"] in log


@pytest.mark.frameworks
@pytest.mark.netns
def test_a_hooked_workflow_is_found_from_any_directory(hooked, cli, tmp_path, monkeypatch):
    """The hook notes each run_dir when Parsl starts; show-last and request-deletion then
    find the workflow's log from wherever they run, with no [search] setting."""
    assert cli("enable", "parsl", "--level", "1").exit_code == 0
    log = parsl_log(hooked, tmp_path / "project" / "runinfo")
    assert "Usage tracking start message" in log
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    # Only the log is left to find: the sent ledger's copy of the same message goes.
    os.unlink(os.path.join(os.environ["USAGECTL_STATE_DIR"], "sent.jsonl"))
    shown = cli("show-last", "parsl", "-n", "5", "--json").json()["data"]["frameworks"][0]["payloads"]
    logged = [p for p in shown if p["origin"] == "parsl.log"]
    assert logged and logged[0]["source"]["file"].startswith(str(tmp_path / "project" / "runinfo"))
    ids = json.dumps(cli("request-deletion", "parsl", "--list-ids", "--json").json()["data"])
    assert "correlator" in ids
    # And verify, judging that log against an opt-out dated before the run, finds it too.
    consent_file = os.path.join(os.environ["USAGECTL_CONFIG_DIR"], "consent.toml")
    with open(consent_file, "w") as handle:
        handle.write('schema = 1\n[default]\nmode = "off"\nchanged = 2020-01-01T00:00:00Z\n')
    checks = {c["check"]: c for c in cli("verify", "parsl", "--json").json()["data"]["checks"]}
    assert checks["payloads-after-opt-out"]["status"] == "fail"
    assert str(tmp_path / "project" / "runinfo") in json.dumps(checks["payloads-after-opt-out"]["evidence"])
