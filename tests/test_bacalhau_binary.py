"""The real Bacalhau: binaries built from its Go module by scripts/bacalhau-build
(bash .ci/run builds them first), asked through its own `bacalhau config list`.

Every run of the binary is inside tests/isolation.py's namespaces (no network but
loopback), with its update check pointed at the loopback discard port besides.
Skipped only where Go is absent; with Go and no binary, the tests fail and say how to
build it.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
from isolation import isolated, require

from usagectl import consent

VERSIONS = ("v1.6.0", "v1.9.3")
# Read at import, before the isolation fixture moves HOME: the binaries live in the real cache.
_CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                      "usagectl-dev", "bacalhau")
pytestmark = [pytest.mark.frameworks, pytest.mark.netns]


def bacalhau(version):
    path = os.path.join(_CACHE, version, "bacalhau")
    if not os.path.exists(path):
        if shutil.which("go") is None:
            pytest.skip("Go is not installed here, so no Bacalhau binary can be built")
        pytest.fail("no Bacalhau %s at %s: run scripts/bacalhau-build (bash .ci/run does)" % (version, path))
    require()
    return path


def config_list(binary, *flags, env=None):
    """Bacalhau's own {Key: Value}, as `bacalhau [flags] config list --output json` resolves it."""
    environ = dict(os.environ, **(env or {}))
    environ["BACALHAU_UPDATE_CHECKER_ENDPOINT"] = "http://127.0.0.1:9/version"
    proc = subprocess.run(isolated([binary, *flags, "config", "list", "--output", "json"]), env=environ,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    start = lines.index("[")
    return {item["Key"]: item["Value"] for item in json.loads("\n".join(lines[start:]))}


def status_row(cli, env=None):
    return cli("status", "bacalhau", "--json", env=env).json()["data"]["frameworks"][0]


VARIANTS = {
    "home": ({}, ()),
    "BACALHAU_DIR": ({"BACALHAU_DIR": "{root}/bdir"}, ()),
    "BACALHAU_DATADIR": ({"BACALHAU_DATADIR": "{root}/bdatadir", "BACALHAU_DIR": "{root}/ignored"}, ()),
    "--data-dir": ({"BACALHAU_DATADIR": "{root}/flagdir"}, ("--data-dir", "{root}/flagdir")),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_bacalhau_itself_agrees_with_status_after_disable_enable_and_sync(cli, tmp_path, version, variant,
                                                                         verified):
    binary = bacalhau(version)
    env_template, flag_template = VARIANTS[variant]
    env = {k: v.format(root=tmp_path) for k, v in env_template.items()}
    # --data-dir is a flag of one bacalhau command: usagectl is told the same directory
    # through the variable, and Bacalhau's flag must resolve to that same file.
    flags = tuple(f.format(root=tmp_path) for f in flag_template)
    bacalhau_env = {} if flags else env

    assert cli("disable", env=env).exit_code == 0
    own = config_list(binary, *flags, env=bacalhau_env)
    assert own["DisableAnalytics"] is True and own["UpdateConfig.Interval"] == "0s"
    row = status_row(cli, env)
    assert row["mode"] == "off" and row["native"]["mode"] == "off"

    assert cli("enable", env=env).exit_code == 0
    assert config_list(binary, *flags, env=bacalhau_env)["DisableAnalytics"] is False
    assert status_row(cli, env)["native"]["mode"] == "on"

    assert cli("disable", "--consent-only", env=env).exit_code == 0
    assert config_list(binary, *flags, env=bacalhau_env)["DisableAnalytics"] is False  # not carried yet
    assert status_row(cli, env)["drift"] is True
    assert cli("sync", env=env).exit_code == 0
    assert config_list(binary, *flags, env=bacalhau_env)["DisableAnalytics"] is True
    assert status_row(cli, env)["drift"] is False
    verified("bacalhau", "settings", "yes (`bacalhau config list --output json`)", version=version,
             detail=variant)


HAND_WRITTEN = """\
# My node: hand-written, keep these notes.
api:
    port: 1235   # not the default
disableANALYTICS: false   # odd case: Bacalhau's keys are case-insensitive
"""


@pytest.mark.parametrize("version", VERSIONS)
def test_a_hand_written_config_keeps_its_comments_and_keys_and_bacalhau_reads_the_change(cli, env, version):
    binary = bacalhau(version)
    path = os.path.join(env.home, ".bacalhau", "config.yaml")
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        handle.write(HAND_WRITTEN)
    before = config_list(binary)
    assert before["DisableAnalytics"] is False and before["API.Port"] == 1235
    assert status_row(cli)["native"]["mode"] == "on"

    assert cli("disable").exit_code == 0
    text = open(path).read()
    assert "# My node: hand-written, keep these notes." in text and "# not the default" in text
    assert "disableANALYTICS: true" in text  # the user's spelling, updated in place
    after = config_list(binary)
    assert after["DisableAnalytics"] is True and after["API.Port"] == 1235
    assert status_row(cli)["native"]["mode"] == "off"


@pytest.mark.parametrize("version", VERSIONS)
def test_verify_asks_bacalhau_itself_when_it_is_on_path(cli, tmp_path, version, verified):
    binary = bacalhau(version)
    # On PATH as `bacalhau`, but only ever run inside the namespaces: a wrapper does that.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "bacalhau"
    wrapper.write_text("#!/bin/sh\nexec %s\n" % " ".join(["'%s'" % a for a in isolated([binary])] + ['"$@"']))
    wrapper.chmod(0o755)
    path = "%s:%s" % (bindir, os.environ["PATH"])

    assert cli("disable", "bacalhau").exit_code == 0
    result = cli("verify", "bacalhau", "--json", env={"PATH": path})
    checks = {c["check"]: c for c in result.json()["data"]["checks"]}
    assert checks["own-program"]["status"] == "pass", checks["own-program"]
    assert "bacalhau config list --output json" in " ".join(checks["own-program"]["evidence"])
    assert "DisableAnalytics = true" in checks["own-program"]["evidence"]
    assert "program-agreement" not in checks

    # A -c override usagectl's file can't see: Bacalhau itself says on, verify fails.
    result = cli("verify", "bacalhau", "--json", env={"PATH": path, "BACALHAU_DISABLEANALYTICS": "false"})
    checks = {c["check"]: c for c in result.json()["data"]["checks"]}
    assert checks["own-program"]["status"] == "fail"
    assert result.exit_code == 5
    recorded = consent.read_consent(os.path.join(os.environ["USAGECTL_CONFIG_DIR"], "consent.toml"))
    assert recorded.frameworks["bacalhau"].mode == "off"  # verify changed nothing
    verified("bacalhau", "verify", "yes (`own-program`: `bacalhau config list`)", version=version)


# --- `bacalhau serve` with a job: what leaves, with consent off and on ----------------

SERVE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "bacalhau", "serve.sh")
#: How long the node runs after the job is submitted: v1.6's OTLP exporter and v1.9's
#: PostHog client both flush within 5 s.
WINDOW_S = 8


def serve_counts(binary, tmp_path, env):
    out = tmp_path / "serve"
    out.mkdir(parents=True)
    environ = dict(os.environ, **env)
    environ["BACALHAU_UPDATE_CHECKER_ENDPOINT"] = "http://127.0.0.1:47732/version"
    # v1.6 dials the loopback collector in plain gRPC (the OpenTelemetry SDK's own
    # variable; its code sets only the endpoint): what is sent is unchanged.
    environ["OTEL_EXPORTER_OTLP_INSECURE"] = "true"
    environ["SINK_PYTHON"] = sys.executable  # the collector needs grpcio (the test extra)
    proc = subprocess.run(isolated(["sh", SERVE, binary, str(out), str(WINDOW_S)]), env=environ,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    counts = json.loads((out / "final.json").read_text())
    log = (out / "serve.log").read_text(errors="replace")
    assert "bacalhau node running" in log, log[-3000:]
    otlp = json.loads((out / "otlp-final.json").read_text())
    return {port: entry["connections"] for port, entry in counts.items()}, counts, log, otlp


_PORT_NAMES = {"4317": "OTLP analytics", "443": "https", "47731": "PostHog analytics",
               "47732": "the update check"}
_JSON_TYPES = {str: "string", bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}


def _catalogued(by_name, key):
    """The catalogue entry for ``key``: by name, or a name ending in * it starts with."""
    if key in by_name:
        return by_name[key]
    return next((f for name, f in by_name.items() if name.endswith("*") and key.startswith(name[:-1])), None)


def assert_shape(value, fields, where):
    """``value`` (a decoded JSON object) has the catalogue's field names and types: every
    key is catalogued, every field that Go always writes is there. Go writes a nil slice
    or map as null."""
    by_name = {f["name"]: f for f in fields}
    unknown = sorted(k for k in value if _catalogued(by_name, k) is None)
    assert not unknown, (where, unknown)
    missing = [f["name"] for f in fields if not f["may_be_absent"] and f["name"] not in value]
    assert not missing, (where, missing)
    for name, item in value.items():
        expected = _catalogued(by_name, name)["type"]
        if item is None:
            assert expected in ("array", "object"), (where, name)
            continue
        assert _JSON_TYPES[type(item)] == expected, (where, name, item, expected)


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_serve_with_consent_off_sends_nothing_and_with_consent_on_it_does(cli, tmp_path, version,
                                                                        record_property, verified):
    binary = bacalhau(version)
    env = {"BACALHAU_DIR": str(tmp_path / "node")}
    assert cli("disable", "bacalhau", env=env).exit_code == 0
    off, _raw, _log, otlp_off = serve_counts(binary, tmp_path / "off", env)
    assert off == {"4317": 0, "443": 0, "47731": 0, "47732": 0}, off
    assert otlp_off == []

    assert cli("enable", "bacalhau", env=env).exit_code == 0
    # Back to Bacalhau's own default for the update check: `enable` never turns it back on.
    config = tmp_path / "node" / "config.yaml"
    config.write_text(config.read_text().replace("Interval: 0s", "Interval: 24h"))
    on, raw, log, otlp = serve_counts(binary, tmp_path / "on", env)
    record_property("connections", json.dumps({"version": version, "off": off, "on": on}))
    # The update check carries the instance id: it left, once, at start.
    assert on["47732"] >= 1 and "instanceID=" in raw["47732"]["first"]
    if version.startswith("v1.6"):
        assert on["4317"] >= 1  # OTLP analytics to t.bacalhau.org:4317
        assert_preview_has_the_shape_of(cli, env, otlp)
        verified("bacalhau", "preview", "yes: the OTLP events a real `bacalhau serve` sent have preview's "
                 "event types, field names and types, and its identifier values", version=version)
    else:
        # PostHog: this release's client refuses to send without a project API key, which
        # no build flag sets; the events are built and dropped, and Bacalhau logs why.
        # (The keyed build's test compares what this release would send with preview.)
        assert on["47731"] == 0 and "project API key is missing" in log
        assert "bacalhau.job_v1.submit" in log
    # Which channels opened, not how often: the counts vary with batching (docs/truth.md).
    verified("bacalhau", "connections", "consent off: none; on: %s" % ", ".join(
        _PORT_NAMES[port] for port in sorted(on) if on[port]), version=version)


@pytest.mark.slow
def test_a_v1_9_3_that_can_send_sends_nothing_when_off_and_what_preview_says_when_on(cli, tmp_path, verified):
    """The keyed build (v1.9.3 with a test API key, scripts/bacalhau-build) is the only way
    to see v1.8+'s PostHog events: DisableAnalytics must stop them, and what arrives
    must be what `preview bacalhau --json` says of the v1.8+ line."""
    binary = bacalhau("v1.9.3-keyed")
    env = {"BACALHAU_DIR": str(tmp_path / "node")}
    assert cli("disable", "bacalhau", env=env).exit_code == 0
    off, _raw, log_off, _otlp = serve_counts(binary, tmp_path / "off", env)
    assert off["47731"] == 0 and off["4317"] == 0, off
    assert "project API key is missing" not in log_off  # this build could have sent
    assert cli("enable", "bacalhau", env=env).exit_code == 0
    on, raw, log, _otlp = serve_counts(binary, tmp_path / "on", env)
    assert on["47731"] >= 1, on
    # The hourly node report never starts: its loop asks before the client exists.
    skipped = log.find("Analytics is disabled, skipping nodes analytics")
    assert -1 < skipped < log.find("Analytics client initialized"), "the node-report loop started"
    batches = [json.loads(r["body"]) for r in raw["47731"]["requests"] if r["path"].startswith("POST /batch/")]
    path = os.path.dirname(binary) + os.pathsep + os.environ["PATH"]
    proc = subprocess.run(isolated([sys.executable, "-m", "usagectl", "preview", "bacalhau", "--json"]),
                          env=dict(os.environ, PATH=path, **env), capture_output=True, text=True, timeout=120)
    item = json.loads(proc.stdout)["data"]["frameworks"][0]
    assert (item["node_version"], item["analytics_line"]) == ("1.9.3", "posthog")
    assert_posthog_matches_preview(item, batches)
    verified("bacalhau", "preview", "yes, from a build with a test API key (the published source has none): "
             "the PostHog events it sent have preview's event types, property names and types, and its "
             "identifier values", version="v1.9.3")


def assert_posthog_matches_preview(item, batches):
    """Every event of every batch against the PostHog part of `preview bacalhau --json`."""
    posthog = item["posthog"]
    events = {event["type"]: event for event in posthog["events"]}
    envelope = {f["name"] for f in posthog["envelope_fields"]} | {"properties"}
    library = {f["name"]: f for f in posthog["library_properties"]}
    attribute_fields = [dict(f, may_be_absent=True) for f in posthog["resource_attribute_fields"]]
    arrived = [event for batch in batches for event in batch["batch"]]
    assert {"bacalhau.job_v1.submit", "bacalhau.job_v1.terminal"} <= {e["event"] for e in arrived}
    for event in arrived:
        assert set(event) <= envelope, set(event) - envelope
        assert event["event"] in events, event["event"]
        assert event["distinct_id"] == posthog["distinct_id"]
        properties = dict(event["properties"])
        attributes = properties.pop("resource_attributes")
        own = {k: v for k, v in properties.items() if not k.startswith("$")}
        assert set(properties) - set(own) <= set(library), set(properties) - set(own) - set(library)
        assert_shape(own, events[event["event"]]["properties"], event["event"])
        assert_shape(attributes, attribute_fields, "resource_attributes")
        for name in ("instance_id", "node_id_hash", "network_id", "node_version", "os_type", "os_arch",
                     "environment"):
            assert attributes.get(name) == posthog["resource_attributes"].get(name), name


def test_the_posthog_catalogue_matches_what_a_keyed_v1_9_3_sent(cli, tmp_path):
    """The same comparison on the recorded run (tests/fixtures/bacalhau/posthog), without
    the binary: the catalogue and preview against bytes that arrived."""
    fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "bacalhau", "posthog")
    node = tmp_path / "node"
    node.mkdir()
    shutil.copy(os.path.join(fixture, "system_metadata.yaml"), node / "system_metadata.yaml")
    with open(os.path.join(fixture, "arrived-posthog.json"), encoding="utf-8") as handle:
        arrived = json.load(handle)
    item = cli("preview", "bacalhau", "--json", env={"BACALHAU_DIR": str(node), "PATH": "/usr/bin:/bin"}
               ).json()["data"]["frameworks"][0]
    assert item["analytics_line"] is None and item["node_version"] is None  # no binary: both lines shown
    # What the run's binary reported, which preview could only have asked the binary for.
    item["posthog"]["resource_attributes"]["node_version"] = "1.9.3"
    assert_posthog_matches_preview(item, arrived["batches"])
    assert all(path.startswith("POST /batch/") for path in arrived["path"])


@pytest.mark.parametrize("version", ("v1.6.0", "v1.9.3"))
def test_preview_asks_the_binary_its_version_and_leaves_nothing_behind(tmp_path, version):
    """`bacalhau version --client` in a scratch data dir: the version, no file of the
    user's created, and no connection anywhere: in the test's namespaces Bacalhau's own
    hosts resolve to loopback, where listeners on the update check's port (pointed at 9),
    https and OTLP count every connection."""
    from isolation import isolated_shell

    binary = bacalhau(version)
    user_dir = tmp_path / "user-node"
    code = (
        "import json, os, socket, sys, threading\n"
        "from usagectl.core.environment import Environment\n"
        "from usagectl.frameworks.bacalhau.framework import binary_version\n"
        "seen = []\n"
        "for port in (9, 443, 4317):\n"
        "    listener = socket.socket(); listener.bind(('127.0.0.1', port)); listener.listen(8)\n"
        "    threading.Thread(target=lambda l=listener: [seen.append(l.accept()) for _ in range(8)],\n"
        "                     daemon=True).start()\n"
        "env = Environment(environ=dict(os.environ), argv=[])\n"
        "version, program, problem = binary_version(env)\n"
        "print(json.dumps({'version': version, 'problem': problem, 'connections': len(seen)}))\n")
    (tmp_path / "code.py").write_text(code)
    (tmp_path / "hosts").write_text("127.0.0.1 localhost t.bacalhau.org get.bacalhau.org\n")
    environ = dict(os.environ, PATH=os.path.dirname(binary) + os.pathsep + os.environ["PATH"],
                   BACALHAU_DIR=str(user_dir), TMPDIR=str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    proc = subprocess.run(isolated_shell("mount --bind %s /etc/hosts && exec %s %s" % (
        tmp_path / "hosts", sys.executable, tmp_path / "code.py")), env=environ, capture_output=True, text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    assert answer == {"version": version[1:], "problem": None, "connections": 0}
    assert not user_dir.exists()
    assert os.listdir(tmp_path / "scratch") == []  # the scratch data dir is gone


def assert_preview_has_the_shape_of(cli, env, otlp):
    """What arrived at the collector, record by record, against `preview bacalhau --json`:
    the same event types, field names and JSON types, and the same resource attributes
    with the same identifier values (read by preview from the node's own files)."""
    item = cli("preview", "bacalhau", "--json", env=env).json()["data"]["frameworks"][0]
    events = {event["type"]: event for event in item["events"]}
    arrived = {record["attributes"].get("event") for record in otlp}
    # One job (a docker job on a node without docker: no node can run it, so no execution
    # is created): its submit and terminal events. Any other event that arrives is checked too.
    assert {"bacalhau.job_v1.submit", "bacalhau.job_v1.terminal"} <= arrived, arrived
    assert arrived <= set(events), arrived - set(events)
    attribute_names = {f["name"] for f in item["resource_attribute_fields"]}
    for record in otlp:
        assert set(record["attributes"]) == {"event", "properties"}, record["attributes"]
        event = record["attributes"]["event"]
        assert_shape(json.loads(record["attributes"]["properties"]), events[event]["properties"], event)
        assert set(record["resource"]) <= attribute_names, set(record["resource"]) - attribute_names
        for name in ("installation_id", "instance_id", "node_id_hash"):
            assert record["resource"].get(name) == item["resource_attributes"][name], name


# --- the field catalogue, against the source it cites ---------------------------------

import bacalhau_catalogue  # noqa: E402  (tools/, on sys.path from conftest)

# Read at import, before the isolation fixture moves HOME: the Go module cache is the user's.
_CATALOGUE_SOURCE = bacalhau_catalogue.source_dir()
_POSTHOG_SOURCE = bacalhau_catalogue.source_dir(bacalhau_catalogue.POSTHOG_SOURCE_VERSION)


def test_the_catalogue_is_what_the_cited_bacalhau_source_says():
    """usagectl/frameworks/bacalhau/catalogue.py is generated from the module in the Go
    module cache (scripts/bacalhau-build downloads it); regenerate and compare."""
    from usagectl.frameworks.bacalhau import catalogue

    if _CATALOGUE_SOURCE is None or _POSTHOG_SOURCE is None:
        if shutil.which("go") is None:
            pytest.skip("Go is not installed here, so Bacalhau's source can't be downloaded")
        pytest.fail("no %s or %s in the Go module cache: run scripts/bacalhau-build"
                    % (catalogue.SOURCE, catalogue.POSTHOG_SOURCE))
    assert catalogue.SOURCE.endswith("@" + bacalhau_catalogue.SOURCE_VERSION)
    assert catalogue.POSTHOG_SOURCE.endswith("@" + bacalhau_catalogue.POSTHOG_SOURCE_VERSION)
    fresh = bacalhau_catalogue.render(bacalhau_catalogue.build(_CATALOGUE_SOURCE),
                                      bacalhau_catalogue.build_posthog(_POSTHOG_SOURCE))
    with open(bacalhau_catalogue.TARGET, encoding="utf-8") as handle:
        assert handle.read() == fresh, "run tools/bacalhau_catalogue.py --write"
    # Every struct the catalogue names exists in that source, with every json-tagged field.
    structs = bacalhau_catalogue.parse_structs(os.path.join(_CATALOGUE_SOURCE, "pkg", "analytics"))
    for name, event in catalogue.EVENTS.items():
        assert [f["name"] for f in catalogue.fields(name)] == [t.partition(",")[0] for _g, _t, t in
                                                               structs[event["struct"]]]
        with open(os.path.join(_CATALOGUE_SOURCE, event["file"]), encoding="utf-8") as handle:
            assert '"%s"' % name in handle.read(), (name, event["file"])


def test_an_upgrade_from_the_otlp_line_to_the_posthog_line_names_what_it_adds(cli, tmp_path):
    """`preview --accept` with v1.6.0 on PATH, then v1.9.3: preview names the fields the
    upgrade added (task_docker_image among them) and dropped, per event."""
    env = {"BACALHAU_DIR": str(tmp_path / "node")}

    def preview(version, *extra):
        path = os.path.dirname(bacalhau(version)) + os.pathsep + os.environ["PATH"]
        proc = subprocess.run(isolated([sys.executable, "-m", "usagectl", "preview", "bacalhau", "--json", *extra]),
                              env=dict(os.environ, PATH=path, **env), capture_output=True, text=True, timeout=120)
        return json.loads(proc.stdout)["data"]["frameworks"][0]

    first = preview("v1.6.0", "--accept")
    assert first["analytics_line"] == "otlp" and first["node_version"] == "1.6.0"
    after = preview("v1.9.3")
    change = after["field_changes"]
    assert change["against"] == "accepted" and change["accepted_version"] == "1.6.0"
    assert change["version"] == "1.9.3"
    assert "task_docker_image" in change["added"]["bacalhau.job_v1.submit"]
    assert any("adds" in w and "task_docker_image" in w for w in after["warnings"])


@pytest.mark.slow
@pytest.mark.parametrize("form,disabled", [('"true"', True), ("1", True), ('"0"', False), ("0", False)])
def test_a_non_boolean_disable_analytics_is_read_as_bacalhau_serve_reads_it(cli, tmp_path, form, disabled):
    """#24 case 7: viper decodes the config weakly (a number is true unless 0, a string by
    strconv.ParseBool), so `DisableAnalytics: "true"` or `1` stops a real `bacalhau serve`
    and `0` does not; status says the same, never "unknown"."""
    binary = bacalhau("v1.6.0")  # the release whose analytics reach a loopback collector
    node = tmp_path / "node"
    node.mkdir()
    (node / "config.yaml").write_text("DisableAnalytics: %s\nUpdateConfig:\n  Interval: 0s\n" % form)
    env = {"BACALHAU_DIR": str(node)}
    row = status_row(cli, env)
    assert row["native"]["mode"] == ("off" if disabled else "on"), row["native"]
    assert row["traps"] == []
    counts, _raw, _log, otlp = serve_counts(binary, tmp_path / "serve", env)
    if disabled:
        assert counts["4317"] == 0 and otlp == [], counts
    else:
        assert counts["4317"] >= 1, counts


@pytest.mark.parametrize("version", VERSIONS)
def test_a_config_file_given_with_c_replaces_the_data_dirs_config(cli, tmp_path, version):
    """#24 case 7: `-c other.yaml` is not an override of one key: $DataDir/config.yaml is
    then not read at all (status says so in its detail)."""
    binary = bacalhau(version)
    node = tmp_path / "node"
    node.mkdir()
    (node / "config.yaml").write_text("DisableAnalytics: true\nAPI:\n  Port: 1299\n")
    other = tmp_path / "other.yaml"
    other.write_text("DisableAnalytics: false\n")
    env = {"BACALHAU_DIR": str(node)}
    assert config_list(binary, env=env)["DisableAnalytics"] is True
    replaced = config_list(binary, "-c", str(other), env=env)
    assert replaced["DisableAnalytics"] is False and replaced["API.Port"] != 1299  # config.yaml unread
    row = status_row(cli, env)
    assert "-c FILE replaces %s (it is then not read)" % (node / "config.yaml") in row["native"]["detail"]
