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
from isolation import available, isolated

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
    ok, why = available()
    if not ok:
        pytest.skip("no isolated namespaces here: %s" % why)
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


def assert_shape(value, fields, where):
    """``value`` (a decoded JSON object) has the catalogue's field names and types: every
    key is catalogued, every field that Go always writes is there. Go writes a nil slice
    or map as null."""
    by_name = {f["name"]: f for f in fields}
    assert set(value) <= set(by_name), (where, sorted(set(value) - set(by_name)))
    missing = [f["name"] for f in fields if not f["may_be_absent"] and f["name"] not in value]
    assert not missing, (where, missing)
    for name, item in value.items():
        expected = by_name[name]["type"]
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
        assert on["47731"] >= 1 or "project API key is missing" in log
        assert "bacalhau.job_v1.submit" in log
        if on["47731"] == 0:
            verified("bacalhau", "preview", "not compared: this release sends no analytics events (its "
                     "PostHog client has no API key); `preview` lists the v1.6 events", version=version)
    # Which channels opened, not how often: the counts vary with batching (docs/truth.md).
    verified("bacalhau", "connections", "consent off: none; on: %s" % ", ".join(
        _PORT_NAMES[port] for port in sorted(on) if on[port]), version=version)


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


def test_the_catalogue_is_what_the_cited_bacalhau_source_says():
    """usagectl/frameworks/bacalhau/catalogue.py is generated from the module in the Go
    module cache (scripts/bacalhau-build downloads it); regenerate and compare."""
    from usagectl.frameworks.bacalhau import catalogue

    if _CATALOGUE_SOURCE is None:
        if shutil.which("go") is None:
            pytest.skip("Go is not installed here, so Bacalhau's source can't be downloaded")
        pytest.fail("no %s in the Go module cache: run scripts/bacalhau-build" % catalogue.SOURCE)
    assert catalogue.SOURCE.endswith("@" + bacalhau_catalogue.SOURCE_VERSION)
    fresh = bacalhau_catalogue.render(bacalhau_catalogue.build(_CATALOGUE_SOURCE))
    with open(bacalhau_catalogue.TARGET, encoding="utf-8") as handle:
        assert handle.read() == fresh, "run tools/bacalhau_catalogue.py --write"
    # Every struct the catalogue names exists in that source, with every json-tagged field.
    structs = bacalhau_catalogue.parse_structs(os.path.join(_CATALOGUE_SOURCE, "pkg", "analytics"))
    for name, event in catalogue.EVENTS.items():
        assert [f["name"] for f in catalogue.fields(name)] == [t.partition(",")[0] for _g, _t, t in
                                                               structs[event["struct"]]]
        with open(os.path.join(_CATALOGUE_SOURCE, event["file"]), encoding="utf-8") as handle:
            assert '"%s"' % name in handle.read(), (name, event["file"])
