"""usagectl.watch: the machinery of `usagectl verify --run`.

Network safety: tests that name a real telemetry host run the watched command inside
a network namespace with only loopback, in its own PID and mount namespaces (tests/isolation.py). The other
tests only ever reach 127.0.0.1, and configure it as an endpoint where a block is wanted.
"""

import http.server
import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from usagectl.core.errors import BadInput
from usagectl.watch import audit, endpoints
from usagectl.watch.run import SITECUSTOMIZE_DIR, consent_decisions, run_watched

FIXTURES = Path(__file__).parent / "fixtures" / "watch"
NETNS_TIMEOUT = 240


# ---------------------------------------------------------------------------
# Helpers


def _netns_available():
    import isolation

    try:
        return isolation.available()[0]
    except (OSError, subprocess.TimeoutExpired):
        return False


_netns = pytest.mark.skipif(not _netns_available(), reason="needs unprivileged network namespaces")


def needs_netns(test):
    return pytest.mark.netns(_netns(test))


def run_in_netns(tmp_path, runs):
    """run_watched for each (argv, timeout) inside one fresh network namespace.

    Returns (reports, outputs): WatchReports and each command's combined stdout/stderr.
    """
    spec, outputs = [], []
    for number, (argv, timeout) in enumerate(runs):
        output = tmp_path / ("run-%d.out" % number)
        outputs.append(output)
        spec.append({"argv": [str(a) for a in argv], "timeout": timeout, "output": str(output)})
    spec_path, out_path = tmp_path / "spec.json", tmp_path / "reports.pickle"
    spec_path.write_text(json.dumps(spec))
    import isolation

    proc = subprocess.run(
        isolation.isolated([sys.executable, FIXTURES / "netns_driver.py", spec_path, out_path]),
        capture_output=True, text=True, timeout=NETNS_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out_path, "rb") as handle:
        reports = pickle.load(handle)
    return reports, [o.read_text(errors="replace") for o in outputs]


class _Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.server.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def sink():
    """An HTTP server on 127.0.0.1 that keeps every POST body; stopped after the test."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    server.bodies = []
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _python(code):
    return [sys.executable, "-c", textwrap.dedent(code)]


def _local_endpoint(port, framework="configured"):
    return endpoints.Endpoint("127.0.0.1", port, framework, "test")


def _add_configured_endpoints(settings_file, entries):
    text = settings_file.read_text() if settings_file.exists() else ""
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_text(text + "\n[verify]\nendpoints = %s\n" % json.dumps(entries))


# ---------------------------------------------------------------------------
# The endpoint list


def test_endpoints_come_from_every_framework_and_the_settings_file(env, cli, settings_file):
    from usagectl import frameworks

    assert cli("disable").exit_code == 0
    _add_configured_endpoints(settings_file, ["Telemetry.Example.com.", "collector.example.org:4317",
                                             "[2001:db8::1]:443", "usage-stats.ray.io"])
    found, warnings = endpoints.collect(env)
    assert warnings == []
    pairs = {(e.host, e.port): e.framework for e in found}
    for adapter in frameworks.all():
        for entry in adapter.endpoints:
            assert pairs[endpoints.parse_entry(entry)] == adapter.name
    # The list, all present and attributed.
    for host, framework in [("usage-stats.ray.io", "ray"), ("tracking.parsl-project.org", "parsl"),
                            ("t.bacalhau.org", "bacalhau"), ("get.bacalhau.org", "bacalhau"),
                            ("cloud.coiled.io", "coiled")]:
        assert pairs[(host, None)] == framework
    assert pairs[("telemetry.example.com", None)] == "configured"
    assert pairs[("collector.example.org", 4317)] == "configured"
    assert pairs[("2001:db8::1", 443)] == "configured"
    # A host an adapter already lists is not listed twice.
    assert [e.host for e in found].count("usage-stats.ray.io") == 1
    # What the watched processes receive decodes to the same list.
    assert audit.parse_endpoints(endpoints.encode(found)) == tuple((e.host, e.port, e.framework) for e in found)


@pytest.mark.parametrize("entry", ["", "exa mple.com", "host:0", "host:99999", "host:http", "[::1", 7])
def test_a_malformed_configured_endpoint_is_refused_with_file_and_line(env, settings_file, entry):
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_text('# mine\n\n[verify]\nendpoints = [%s]\n' % json.dumps(entry))
    with pytest.raises(BadInput) as caught:
        endpoints.collect(env)
    assert caught.value.path == str(settings_file)
    assert caught.value.line == 4
    assert "line 4" in caught.value.message and "[verify] endpoints" in caught.value.message


@pytest.mark.parametrize("which, text", [("consent", "schema = 1\n[verify\n"), ("settings", "[verify\n")])
def test_an_unreadable_consent_or_settings_file_is_a_warning_not_a_silent_gap(env, which, text):
    damaged = Path(env.consent_path if which == "consent" else env.settings_path)
    damaged.parent.mkdir(parents=True, exist_ok=True)
    damaged.write_text(text)
    found, warnings = endpoints.collect(env)
    assert {e.framework for e in found} == {"ray", "parsl", "bacalhau", "coiled"}
    assert len(warnings) == 1 and "not watched" in warnings[0] and str(damaged) in warnings[0]


def test_matching_covers_subdomains_case_trailing_dots_and_ports():
    listed = (("usage-stats.ray.io", None, "ray"), ("tracking.parsl-project.org", 50077, "parsl"),
              ("10.1.2.3", None, "configured"))
    assert audit.match("usage-stats.ray.io", 443, listed)[2] == "ray"
    assert audit.match("EU.Usage-Stats.Ray.IO.", "https", listed)[2] == "ray"
    assert audit.match(b"usage-stats.ray.io", None, listed)[2] == "ray"
    assert audit.match("notusage-stats.ray.io", 443, listed) is None
    assert audit.match("usage-stats.ray.io.evil.example", 443, listed) is None
    assert audit.match("tracking.parsl-project.org", 50077, listed)[2] == "parsl"
    assert audit.match("tracking.parsl-project.org", "50077", listed)[2] == "parsl"
    assert audit.match("tracking.parsl-project.org", 443, listed) is None
    # An unknown port (a lookup without one, an unknown service name) matches: fail closed.
    assert audit.match("tracking.parsl-project.org", None, listed)[2] == "parsl"
    assert audit.match("tracking.parsl-project.org", "gopher", listed)[2] == "parsl"
    assert audit.match("::ffff:10.1.2.3", 80, listed)[2] == "configured"
    assert audit.match(None, 80, listed) is None
    assert audit.match("127.0.0.1", 80, listed) is None


@pytest.mark.parametrize("options, flag", [(["-I", "x.py"], "I"), (["-uE", "x.py"], "E"),
                                           (["-X", "dev", "-S"], "S"), (["-Werror", "x.py"], None),
                                           (["-W", "E", "x.py"], None), (["-c", "-I"], None),
                                           (["x.py", "-I"], None), (["-m", "pip", "-E"], None)])
def test_interpreter_flags_that_skip_the_watch_are_recognised(options, flag):
    assert audit._skipping_flag(options) == flag


# ---------------------------------------------------------------------------
# Watched runs on loopback only


def test_a_loopback_server_is_reached_and_nothing_is_recorded(env, sink):
    code = """
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d/report", data=b"local-body", timeout=10) as r:
            assert r.read() == b"ok"
    """ % sink.server_port
    report = run_watched(env, _python(code), timeout=60)
    assert report.exit_status == 0
    assert sink.bodies == [b"local-body"]
    assert report.attempts == ()
    assert len(report.processes) == 1  # it was watched, and let the call through


def test_a_listed_address_is_blocked_before_connecting_with_the_body_shown(env, sink):
    code = """
        import socket, urllib.error, urllib.request
        port = %d
        try:  # http.client resolves first, even an IP: caught at getaddrinfo, body visible
            urllib.request.urlopen("http://127.0.0.1:%%d/report" %% port, data=b'{"k": 1}', timeout=10)
            raise SystemExit("not blocked")
        except urllib.error.URLError as exc:
            assert isinstance(exc.reason, PermissionError), exc.reason
        for call in (lambda s: s.connect(("127.0.0.1", port)), lambda s: s.connect_ex(("127.0.0.1", port))):
            try:
                call(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                raise SystemExit("not blocked")
            except PermissionError:
                pass
        try:
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"1datagram", ("127.0.0.1", port))
            raise SystemExit("not blocked")
        except PermissionError:
            pass
    """ % sink.server_port
    report = run_watched(env, _python(code), timeout=60, endpoints=[_local_endpoint(sink.server_port, "ray")])
    assert report.exit_status == 0
    assert sink.bodies == []  # nothing arrived
    port = sink.server_port
    assert [(a.event, a.host, a.port, a.framework) for a in report.attempts] == [
        ("socket.getaddrinfo", "127.0.0.1", port, "ray"), ("socket.connect", "127.0.0.1", port, "ray"),
        ("socket.connect", "127.0.0.1", port, "ray"), ("socket.sendto", "127.0.0.1", port, "ray")]
    http_attempt, connect, connect_ex, udp = report.attempts
    assert http_attempt.payload == b'{"k": 1}' and http_attempt.payload_source.startswith("http.client.")
    assert connect.payload is None and "no payload" in connect.payload_note
    assert udp.payload == b"1datagram" and udp.payload_size == 9
    assert report.by_framework() == {"ray": list(report.attempts)}


def test_children_inherit_the_watch(env, sink):
    port = sink.server_port
    Path("grandchild.py").write_text(textwrap.dedent("""
        import socket
        try:
            socket.create_connection(("127.0.0.1", %d), timeout=5)
        except PermissionError:
            pass
    """ % port))
    Path("child.py").write_text("import subprocess, sys\n"
                                "subprocess.run([sys.executable, 'grandchild.py'], check=True)\n")
    script = Path("parent.py")
    script.write_text(textwrap.dedent("""
        import multiprocessing, socket, subprocess, sys

        def connect():
            try:
                socket.create_connection(("127.0.0.1", %d), timeout=5)
            except PermissionError:
                pass

        if __name__ == "__main__":
            # python spawning python, which spawns python again
            subprocess.run([sys.executable, "child.py"], check=True)
            # multiprocessing's spawn: a fresh interpreter, as Parsl starts its helpers
            process = multiprocessing.get_context("spawn").Process(target=connect)
            process.start()
            process.join(30)
    """ % port))
    report = run_watched(env, [sys.executable, str(script)], timeout=120,
                         endpoints=[_local_endpoint(port)])
    assert report.exit_status == 0
    assert sink.bodies == []
    assert len(report.attempts) == 2
    parent_pid = next(p["pid"] for p in report.processes if p["argv0"] == str(script))
    assert parent_pid not in {a.pid for a in report.attempts}
    assert len({a.pid for a in report.attempts}) == 2
    # parent, child, grandchild, the spawned worker (and spawn's resource tracker) all started watched
    assert len(report.processes) >= 4


def test_existing_pythonpath_and_sitecustomize_are_kept(env, tmp_path):
    user_site = tmp_path / "user-site"
    user_lib = tmp_path / "user-lib"
    user_site.mkdir()
    user_lib.mkdir()
    (user_site / "sitecustomize.py").write_text("import os\nMARK = 'user sitecustomize ran'\n"
                                                "os.environ['USER_SITECUSTOMIZE'] = 'yes'\n")
    (user_lib / "userlib.py").write_text("VALUE = 42\n")
    env.environ["PYTHONPATH"] = os.pathsep.join([str(user_site), str(user_lib)])
    code = """
        import json, os, sys, sitecustomize, userlib
        print(json.dumps({"mark": sitecustomize.MARK, "env": os.environ.get("USER_SITECUSTOMIZE"),
                          "lib": userlib.VALUE, "pythonpath": os.environ["PYTHONPATH"],
                          "watched": "_usagectl_watch_audit" in sys.modules}))
    """
    out = tmp_path / "out.json"
    with open(out, "wb") as handle:
        report = run_watched(env, _python(code), timeout=60, stdout=handle)
    assert report.exit_status == 0
    seen = json.loads(out.read_text())
    assert seen == {"mark": "user sitecustomize ran", "env": "yes", "lib": 42, "watched": True,
                    "pythonpath": os.pathsep.join([SITECUSTOMIZE_DIR, str(user_site), str(user_lib)])}
    assert len(report.processes) == 1
    # The caller's environment object is untouched.
    assert env.environ["PYTHONPATH"] == os.pathsep.join([str(user_site), str(user_lib)])


def test_children_that_drop_the_watch_are_reported(env):
    code = """
        import os, subprocess, sys
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
        stripped = {k: v for k, v in os.environ.items() if not k.startswith("USAGECTL_WATCH")}
        subprocess.run([sys.executable, "-c", "pass"], env=stripped, check=True)
        subprocess.run([sys.executable, "-c", "pass"], check=True)  # inherits: watched
    """
    report = run_watched(env, _python(code), timeout=60)
    assert report.exit_status == 0
    reasons = [s["reason"] for s in report.unwatched_spawns]
    assert len(reasons) == 2
    assert "-I" in reasons[0]
    assert "USAGECTL_WATCH_LOG" in reasons[1]
    assert len(report.processes) == 2  # the command and its third child
    assert any("non-Python" in note for note in report.notes)


def test_exit_status(env):
    assert run_watched(env, _python("import sys; sys.exit(7)"), timeout=60).exit_status == 7


def _gone(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")  # zombie: dead
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("terminal", [False, True], ids=["own-group", "terminal-stdin"])
def test_a_timeout_stops_the_command_and_its_children(env, tmp_path, terminal):
    pid_file = tmp_path / "grandchild.pid"
    code = """
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import os, time; "
                                  "open(%r, 'w').write(str(os.getpid())); time.sleep(60)"])
        time.sleep(60)
    """ % str(pid_file)
    master = slave = None
    if terminal:
        # stdin on a terminal: the command stays in our process group (so it may read the
        # terminal), and the timeout finds its children through /proc instead.
        master, slave = os.openpty()
    try:
        report = run_watched(env, _python(code), timeout=2, stdin=slave if terminal else subprocess.DEVNULL)
    finally:
        for fd in (master, slave):
            if fd is not None:
                os.close(fd)
    assert report.timed_out is True
    assert report.exit_status < 0
    grandchild = int(pid_file.read_text())
    for _ in range(50):
        if _gone(grandchild):
            break
        time.sleep(0.1)
    assert _gone(grandchild)


def test_a_command_that_does_not_exist_is_bad_input(env):
    with pytest.raises(BadInput):
        run_watched(env, ["/nonexistent/usagectl-test-command"], timeout=10)


def test_a_watched_start_imports_nothing_heavy(env, tmp_path):
    code = "import sys; print(' '.join(sorted(sys.modules)))"
    plain = subprocess.run(_python(code), capture_output=True, text=True, timeout=60,
                           env=env.environ).stdout.split()
    out = tmp_path / "modules.txt"
    with open(out, "wb") as handle:
        run_watched(env, _python(code), timeout=60, stdout=handle)
    added = set(out.read_text().split()) - set(plain)
    assert added <= {"sitecustomize", "_usagectl_watch_audit", "importlib", "importlib.machinery",
                     "importlib._bootstrap", "importlib._bootstrap_external", "warnings"}, added


# ---------------------------------------------------------------------------
# Consent


class _Decision:
    def __init__(self, mode, send=None):
        self.mode = mode
        self.send = send if send is not None else (() if mode in ("off", "local") else None)


def test_failed_consent_counts_attempts_of_frameworks_that_are_off(env, sink):
    code = """
        import socket
        for port in (%d, %d):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5)
            except PermissionError:
                pass
    """
    port = sink.server_port
    other = port + 1 if port < 65535 else port - 1
    report = run_watched(env, _python(code % (port, other)), timeout=60,
                         endpoints=[_local_endpoint(port, "ray"), _local_endpoint(other, "parsl")])
    assert report.frameworks() == ["parsl", "ray"]
    on, off, local, unset = (_Decision(m) for m in ("on", "off", "local", "unset"))
    assert report.failed_consent({"ray": on, "parsl": unset}) == []
    assert [a.framework for a in report.failed_consent({"ray": off, "parsl": on})] == ["ray"]
    assert [a.framework for a in report.failed_consent({"ray": on, "parsl": local})] == ["parsl"]
    assert len(report.failed_consent({"ray": on})) == 1  # parsl unknown: fail closed
    summary = report.as_dict({"ray": off, "parsl": on})
    assert summary["failed_consent"] == 1
    assert summary["frameworks"]["ray"]["failed"] is True and summary["frameworks"]["parsl"]["failed"] is False
    # Some categories allowed: an attempt may carry one or the other, so it is unknown, never ok.
    some = _Decision("local", ("metrics",))
    assert report.failed_consent({"ray": some, "parsl": on}) == []
    assert [a.framework for a in report.unknown_consent({"ray": some, "parsl": on})] == ["ray"]
    summary = report.as_dict({"ray": some, "parsl": on})
    assert summary["unknown_consent"] == 1 and summary["frameworks"]["ray"]["unknown"] is True


def test_verify_run_under_a_send_list_is_unknown_not_a_pass(env, cli, isolated_home):
    """A Coiled connection while consent lets only metrics through: exit 7 with the reason;
    --allow-unknown gives the command's own status; plain off fails (5). The Coiled
    server is set to a loopback port (coiled.server), which the watch lists for Coiled."""
    dask_dir = isolated_home / ".config" / "dask"
    dask_dir.mkdir(parents=True, exist_ok=True)
    (dask_dir / "coiled-server.yaml").write_text("coiled:\n  server: http://127.0.0.1:9\n")
    assert cli("enable", "coiled", "--only", "metrics").exit_code == 0
    code = "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9), timeout=5)\nexcept OSError:\n    pass\n"
    result = cli("verify", "--run", "--", sys.executable, "-c", code)
    assert result.exit_code == 7, result
    assert "coiled: 1 attempt(s) while consent lets only metrics through" in result.stderr
    assert cli("verify", "--allow-unknown", "--run", "--", sys.executable, "-c", code).exit_code == 0
    assert cli("disable", "coiled").exit_code == 0
    assert cli("verify", "--run", "--", sys.executable, "-c", code).exit_code == 5


# ---------------------------------------------------------------------------
# The frameworks themselves, inside a network namespace


@pytest.mark.frameworks
@needs_netns
def test_ray_report_to_its_default_url_is_blocked_with_the_body_shown(env, cli, tmp_path):
    assert cli("disable").exit_code == 0
    result = tmp_path / "ray-result.json"
    (report,), (output,) = run_in_netns(tmp_path, [([sys.executable, FIXTURES / "ray_report.py", result], 120)])
    ray_said = json.loads(result.read_text())
    assert report.exit_status == 0, output
    assert ray_said["url"] == "https://usage-stats.ray.io/"
    assert ray_said["error"].startswith("ConnectionError") and "blocked" in ray_said["error"]
    assert report.frameworks() == ["ray"]
    (attempt,) = report.attempts
    assert (attempt.event, attempt.host, attempt.port, attempt.framework) == (
        "socket.getaddrinfo", "usage-stats.ray.io", 443, "ray")
    # The exact bytes Ray would have POSTed (its disabled ping).
    assert attempt.payload == ray_said["expected_body"].encode()
    assert json.loads(attempt.payload_text)["schema_version"]
    # Consent is off for Ray: a failure. After `usagectl enable`, the same run is not.
    failed = report.failed_consent(consent_decisions(env, report.frameworks()))
    assert failed == [attempt]
    assert cli("enable").exit_code == 0
    assert report.failed_consent(consent_decisions(env, report.frameworks())) == []


@pytest.mark.frameworks
@needs_netns
def test_hooked_parsl_workflow_while_consent_is_off_makes_no_attempt(env, cli, tmp_path):
    from usagectl.hook.installer import place

    assert cli("disable").exit_code == 0
    hook_site = tmp_path / "hook-site"
    hook_site.mkdir()
    place(str(hook_site))
    workflow = [sys.executable, FIXTURES / "parsl_workflow.py"]
    runs = [
        # Control: no hook, and a messenger that works (see parsl_workflow.py): Parsl tries.
        (workflow + [tmp_path / "unhooked", "--working-messenger"], 120),
        # The real runtime hook with the same working messenger: nothing is attempted.
        (workflow + [tmp_path / "hooked", "--hook-site", hook_site, "--working-messenger"], 120),
        # The stock Parsl, hooked: what the issue asks for.
        (workflow + [tmp_path / "stock", "--hook-site", hook_site], 120),
    ]
    (unhooked, hooked, stock), outputs = run_in_netns(tmp_path, runs)

    assert unhooked.exit_status == 0, outputs[0]
    assert unhooked.frameworks() == ["parsl"]
    assert len(unhooked.attempts) == 2  # the start and end messages
    for attempt in unhooked.attempts:
        assert (attempt.event, attempt.host) == ("socket.gethostbyname", "tracking.parsl-project.org")
        assert attempt.payload[:1] == b"1"
        assert json.loads(attempt.payload[1:])["project_name"] == "usagectl-watch-test"
    assert len(unhooked.failed_consent(consent_decisions(env, unhooked.frameworks()))) == 2

    for report, output, run_dir in ((hooked, outputs[1], "hooked"), (stock, outputs[2], "stock")):
        assert report.exit_status == 0, output
        assert report.attempts == ()
        assert report.failed_consent(consent_decisions(env, report.frameworks())) == []
        assert report.processes  # it was watched
        log = next((tmp_path / run_dir).glob("*/parsl.log")).read_text()
        assert "Tracking level: 0" in log  # the hook capped Parsl's level


@needs_netns
def test_connect_and_sendto_by_name_are_blocked_before_the_name_is_resolved(env, tmp_path):
    # The C socket methods resolve a name *before* raising their audit event; without
    # the Python-level check the DNS query would leave and the program would see a
    # resolver error (gaierror) here instead of the block.
    code = tmp_path / "by_name.py"
    code.write_text(textwrap.dedent("""
        import socket, sys
        seen = []
        for call in (lambda: socket.socket().connect(("usage-stats.ray.io", 443)),
                     lambda: socket.socket().connect_ex(("cloud.coiled.io", 443)),
                     lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
                         b"1{}", ("tracking.parsl-project.org", 50077))):
            try:
                call()
                seen.append("not blocked")
            except OSError as exc:
                seen.append(type(exc).__name__)
        print(seen)
        sys.exit(0 if seen == ["TelemetryConnectionBlocked"] * 3 else 1)
    """))
    (report,), (output,) = run_in_netns(tmp_path, [([sys.executable, code], 60)])
    assert report.exit_status == 0, output
    assert [(a.event, a.host, a.framework) for a in report.attempts] == [
        ("socket.connect", "usage-stats.ray.io", "ray"), ("socket.connect", "cloud.coiled.io", "coiled"),
        ("socket.sendto", "tracking.parsl-project.org", "parsl")]
    assert report.attempts[2].payload == b"1{}"


@pytest.mark.slow
@pytest.mark.frameworks
@needs_netns
def test_ray_start_dashboard_is_watched_and_its_disabled_ping_blocked(env, cli, tmp_path):
    # The disabled ping is sent by the dashboard, a grandchild of `ray start` started
    # as a daemon: the watch reaches it only through the inherited environment.
    assert cli("disable").exit_code == 0
    env_ray = os.path.join(os.path.dirname(sys.executable), "ray")
    import tempfile

    # Short: Ray's AF_UNIX socket paths under --temp-dir must stay within 107 bytes.
    temp = tempfile.mkdtemp(prefix="uw-", dir="/tmp")
    try:
        (report,), (output,) = run_in_netns(tmp_path, [(["sh", FIXTURES / "ray_start.sh", env_ray, temp], 200)])
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert report.exit_status == 0, output
    assert "ray start exit: 0" in output, output[-3000:]
    (attempt,) = report.attempts
    assert (attempt.framework, attempt.host, attempt.port) == ("ray", "usage-stats.ray.io", 443)
    assert attempt.argv0.endswith(os.path.join("dashboard", "dashboard.py"))
    body = json.loads(attempt.payload_text)
    assert body["schema_version"] and body["session_id"] is None  # the disabled ping: all else null
    assert report.failed_consent(consent_decisions(env, ["ray"])) == [attempt]
    assert any(p["argv0"].endswith("dashboard.py") for p in report.processes)


def test_endpoints_the_frameworks_own_settings_name_are_watched(env, cli, isolated_home, monkeypatch):
    from usagectl.core.environment import Environment

    monkeypatch.setenv("RAY_USAGE_STATS_REPORT_URL", "http://127.0.0.1:8999/")
    dask_dir = isolated_home / ".config" / "dask"
    dask_dir.mkdir(parents=True, exist_ok=True)
    (dask_dir / "coiled-server.yaml").write_text("coiled:\n  server: https://coiled.example.org\n")
    found, warnings = endpoints.collect(Environment())
    assert warnings == []
    by_host = {(e.host, e.port): e for e in found}
    assert by_host[("127.0.0.1", 8999)].framework == "ray"
    assert by_host[("127.0.0.1", 8999)].source == "env:RAY_USAGE_STATS_REPORT_URL"
    assert by_host[("coiled.example.org", None)].framework == "coiled"
    assert by_host[("coiled.example.org", None)].source == "file:%s" % (dask_dir / "coiled-server.yaml")


def test_a_post_to_a_configured_report_url_is_blocked_and_fails_verify(cli, monkeypatch):
    monkeypatch.setenv("RAY_USAGE_STATS_REPORT_URL", "http://127.0.0.1:8999/")
    assert cli("disable").exit_code == 0
    code = ("import urllib.request\n"
            "try:\n    urllib.request.urlopen('http://127.0.0.1:8999/', data=b'{\"report\": 1}', timeout=5)\n"
            "except Exception as exc:\n    print(type(exc).__name__)\n")
    result = cli("verify", "--run", "--json", "--", sys.executable, "-c", code)
    assert result.exit_code == 5, result
    attempts = result.json()["data"]["run"]["frameworks"]["ray"]["attempts"]
    assert attempts and all((a["host"], a["port"]) == ("127.0.0.1", 8999) for a in attempts)
