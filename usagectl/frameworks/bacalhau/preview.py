"""Bacalhau's analytics from `bacalhau serve` orchestrators: OTLP log records (v1.6-1.7)
or PostHog events (v1.8 and later).

Bacalhau is a Go binary, so nothing here runs its analytics code: the identifiers are
assembled from the files Bacalhau reads them from (installation_id and
$DataDir/system_metadata.yaml), and the body is marked not exact. The only thing asked
of the binary is its version (`bacalhau version --client`, in a scratch data dir), which
says which of the two lines applies. Two side channels carry the same IDs whatever
DisableAnalytics says: the daily update check and the ID headers on API calls.
"""

import hashlib
import json
import os
import platform
import sys

from usagectl.core import previews as result
from usagectl.frameworks.bacalhau import catalogue
from usagectl.frameworks.bacalhau.framework import binary_version, installation_id_path, node_type, system_metadata_path

FRAMEWORK_NAME = "bacalhau"
TITLE = "Bacalhau"
DESTINATION = "t.bacalhau.org:4317"
EVENT_TYPES = tuple(catalogue.EVENTS)
POSTHOG_EVENT_TYPES = tuple(catalogue.POSTHOG_EVENTS)

#: The two lines of releases, by how they send (catalogue.py has each one's events).
OTLP, POSTHOG = "otlp", "posthog"
LINES = {
    OTLP: {"releases": "v1.6-1.7", "transport": "otlp-grpc", "destination": DESTINATION},
    POSTHOG: {"releases": "v1.8 and later", "transport": "https (a PostHog /batch/ POST)",
              "destination": "the PostHog endpoint linked into the build (`-X pkg/analytics.Endpoint`; "
                             "the source sets none)"},
}
#: Releases whose source usagectl read and whose PostHog client gets an empty API key
#: (pkg/analytics/client.go: posthog.NewWithConfig("", ...)): no build of them sends.
KEYLESS_RELEASES = ((1, 9, 0), (1, 9, 3))


def _parse_version(text):
    try:
        return tuple(int(part) for part in text.split("-", 1)[0].split(".")[:3])
    except (AttributeError, ValueError):
        return None


def line_of(version):
    """OTLP or POSTHOG for a version string ("1.9.3"), or None when it can't be told."""
    parsed = _parse_version(version) if version else None
    if parsed is None or len(parsed) < 2:
        return None
    return OTLP if parsed[:2] < (1, 8) else POSTHOG


def posthog_sends(version):
    """False for the releases read that can't send; None where usagectl hasn't read it."""
    parsed = _parse_version(version)
    if parsed is not None and KEYLESS_RELEASES[0] <= parsed <= KEYLESS_RELEASES[1]:
        return False
    return None


_MAX_FILE = 64 * 1024


def _read_text(path):
    """(text or None, problem or None); a missing file is (None, None)."""
    from usagectl import _files

    try:
        with _files.open_regular(path) as handle:
            data = handle.read(_MAX_FILE + 1)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, "can't read %s: %s" % (path, exc.strerror or exc)
    if len(data) > _MAX_FILE:
        return None, "%s is larger than %d bytes: not Bacalhau's" % (path, _MAX_FILE)
    return data.decode("utf-8", "replace"), None


def read_system_metadata(path):
    """(dict, problem) from system_metadata.yaml (keys RepoVersion, InstanceID, NodeName, ...)."""
    text, problem = _read_text(path)
    if text is None:
        return {}, problem
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        doc = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        from usagectl.core import yamlfile

        line, words = yamlfile.error_summary(exc)  # never the file's text: it may hold a key
        return {}, "%s%s is not valid YAML (%s)" % (path, "" if line is None else " line %d" % line, words)
    if not isinstance(doc, dict):
        return {}, "%s does not hold a mapping" % path
    return doc, None


def _go_os():
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform == "win32":
        return "windows"
    if sys.platform.startswith("freebsd"):
        return "freebsd"
    return sys.platform


def preview(env, decision, native, level=None):
    item, effective = result.start(FRAMEWORK_NAME, TITLE, decision, native,
                                   "`usagectl disable bacalhau` sets DisableAnalytics")
    version, program, problem = binary_version(env)
    line = line_of(version)
    item["node_version"] = version
    item["analytics_line"] = line
    shown = LINES[line or OTLP]
    item["transport"] = shown["transport"]
    item["destination"] = shown["destination"]
    item["when"] = "while `bacalhau serve` runs as an orchestrator, on each job and execution event"
    item["will_send"] = {"on": True, "off": False}.get(effective)
    if problem:
        item["notes"].append(problem)
    if version is None:
        item["notes"].append("%s: which line of releases applies is unknown, so both are shown: v1.6-1.7 "
                             "send OTLP log records, v1.8+ PostHog events." % (
                                 "no bacalhau on PATH" if program is None else "its version could not be read"))
    else:
        item["notes"].append("%s is Bacalhau %s (asked with `bacalhau version --client` in a scratch data dir, "
                             "removed afterwards): the %s line applies." % (program, version, shown["releases"]))
    if line == POSTHOG and item["will_send"]:
        sends = posthog_sends(version)
        item["will_send"] = sends
        if sends is False:
            item["notes"].append("Bacalhau %s's own source gives its PostHog client an empty API key "
                                 "(pkg/analytics/client.go), and posthog-go then sends nothing: no build "
                                 "of this release sends these events. Only the side channels below leave."
                                 % version)
        else:
            item["notes"].append("usagectl has not read Bacalhau %s's source (it read v1.9.0 and v1.9.3, "
                                 "which can't send): whether its build sends these events is unknown."
                                 % version)
    if effective == "unknown":
        item["notes"].append("Bacalhau's own switch could not be read (%s); Bacalhau's default is "
                             "to send." % native.get("detail"))

    install_path = installation_id_path(env)
    install_text, problem = _read_text(install_path)
    installation_id = install_text.strip() if install_text else None
    if problem:
        item["notes"].append(problem)
    meta_path = system_metadata_path(env)
    meta, problem = read_system_metadata(meta_path)
    if problem:
        item["notes"].append(problem)
    instance_id = meta.get("InstanceID")
    node_name = meta.get("NodeName")
    node_id_hash = hashlib.sha256(str(node_name).encode()).hexdigest() if node_name else None
    attributes = {
        "os.type": _go_os(),
        "installation_id": installation_id,
        "instance_id": str(instance_id) if instance_id is not None else None,
        # Bacalhau hashes the node's ID (its name) with SHA-256 before sending it.
        "node_id_hash": node_id_hash,
        "node_type": node_type(env) or "orchestrator or hybrid (only orchestrators send)",
        "node_version": version or "the bacalhau binary's version",
    }
    if node_type(env) == "compute":
        item["notes"].append("config.yaml makes this node compute-only: only orchestrators send "
                             "analytics events (unless `bacalhau serve --orchestrator` overrides it).")
    elif node_type(env):
        item["notes"].append("node_type is what config.yaml's Orchestrator.Enabled and Compute.Enabled "
                             "say; `bacalhau serve --orchestrator/--compute` flags override them.")
    item["resource_attributes"] = attributes
    item["resource_attribute_fields"] = [dict(entry) for entry in catalogue.RESOURCE_ATTRIBUTES]
    item["identifier_files"] = {"installation_id": install_path, "system_metadata": meta_path}
    item["event_types"] = list(EVENT_TYPES)
    item["events"] = _events()
    item["catalogue_source"] = catalogue.SOURCE
    posthog = _posthog_attributes(env, version, installation_id, instance_id, node_id_hash)
    item["posthog"] = {
        "source": catalogue.POSTHOG_SOURCE,
        "distinct_id": posthog.pop("distinct_id"),
        "resource_attributes": posthog,
        "resource_attribute_fields": [dict(entry) for entry in catalogue.POSTHOG_RESOURCE_ATTRIBUTES],
        "envelope_fields": [dict(entry) for entry in catalogue.POSTHOG_ENVELOPE],
        "library_properties": [dict(entry) for entry in catalogue.POSTHOG_LIBRARY_PROPERTIES],
        "event_types": list(POSTHOG_EVENT_TYPES),
        "events": _posthog_events(),
    }
    if line is not None:
        # No surprises: each event's property names for this version, to remember with
        # `preview --accept` and to compare after an upgrade (v1.7 -> v1.9 changes them).
        events = item["posthog"]["events"] if line == POSTHOG else item["events"]
        item["framework_version"] = version
        item["field_sets"] = {event["type"]: [f["name"] for f in event["properties"]] for event in events}
    if line == POSTHOG:
        result.set_body(item, json.dumps({"distinct_id": item["posthog"]["distinct_id"],
                                          "properties": {"resource_attributes": posthog}}, indent=2))
        item["kind"] = "posthog-resource-attributes"
        item["notes"].append("The body is what every PostHog event carries besides its own properties "
                             "(the distinct id and `resource_attributes`), not the wire bytes.")
    else:
        result.set_body(item, json.dumps(attributes, indent=2))
        item["kind"] = "otlp-resource-attributes"
        item["notes"].append("The body lists the OTLP resource attributes attached to every analytics "
                             "event, not the wire bytes (OTLP protobuf over gRPC).")
    if installation_id is None:
        item["notes"].append("No %s yet: Bacalhau creates it on first run." % install_path)
    if instance_id is None:
        item["notes"].append("No InstanceID in %s yet: Bacalhau sets it (a SHA-256 of the "
                             "machine-id) when it initialises its data dir." % meta_path)
    if node_name is None:
        item["notes"].append("No NodeName in %s: node_id_hash can't be computed here." % meta_path)
    item["side_channels"] = _side_channels(native, installation_id, instance_id)
    if effective == "off":
        item["notes"].append("DisableAnalytics does not stop the side channels: see below.")
    return item


def _events():
    """Every event an orchestrator sends, each field with its JSON type and what it can
    carry (from the catalogue, built from Bacalhau's source); values exist only once a
    job runs, so none are shown."""
    return [{"type": name, "when": _WHEN.get(name, ""), "attributes": {"event": name, "properties": "JSON"},
             "properties": [_field(entry) for entry in catalogue.fields(name)]}
            for name in catalogue.EVENTS]


def _field(entry):
    """A catalogue field as preview shows it, its nested fields (a struct's, or a list's or
    a map's values') under "fields"."""
    out = {"name": entry["name"], "type": entry["type"], "flags": list(entry["flags"]),
           "may_be_absent": entry["omitempty"]}
    nested = entry.get("nested")
    inner = nested if isinstance(nested, list) else (nested or {}).get("fields")
    if inner:
        out["fields"] = [_field(f) for f in inner]
    return out


def _posthog_attributes(env, version, installation_id, instance_id, node_id_hash):
    """ResourceAttributes.Properties() as v1.9.3 builds it (omitempty: only what is set),
    and the distinct id DetermineDistinctID() picks (network_id defaults to instance_id)."""
    instance = str(instance_id) if instance_id is not None else None
    values = {
        "installation_id": installation_id, "instance_id": instance, "node_id_hash": node_id_hash,
        "node_type": node_type(env) or "orchestrator or hybrid (only orchestrators send)",
        "node_version": version or "the bacalhau binary's version",
        "network_id": instance,
        "environment": _environment(),
        "os_type": _go_os(), "os_arch": _go_arch(),
    }
    out = {key: value for key, value in values.items() if value}
    out["distinct_id"] = instance or installation_id or "unknown"
    return out


def _environment():
    """WithSystemInfo's detectDockerEnvironment (v1.9.3 pkg/analytics/options.go): "docker"
    when /.dockerenv exists or /proc/self/cgroup names /docker/, /docker- or .scope."""
    if os.path.exists("/.dockerenv"):
        return "docker"
    try:
        with open("/proc/self/cgroup", encoding="utf-8", errors="replace") as handle:
            content = handle.read()
    except OSError:
        return "local"
    return "docker" if any(marker in content for marker in ("/docker/", "/docker-", ".scope")) else "local"


def _go_arch():
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
            "i386": "386", "i686": "386"}.get(machine, machine)


def _posthog_events():
    """Every v1.8+ event, each property with its JSON type and what it can carry."""
    return [{"type": name, "when": _WHEN.get(name, ""), "source": "%s %s" % (catalogue.POSTHOG_SOURCE, event["file"]),
             "properties": [_field(entry) for entry in catalogue.posthog_fields(name)]}
            for name, event in catalogue.POSTHOG_EVENTS.items()]


_WHEN = {"bacalhau.job_v1.submit": "a job is submitted",
         "bacalhau.job_v1.terminal": "a job completes, fails or is stopped",
         "bacalhau.execution_v1.create": "an execution is created on a compute node",
         "bacalhau.execution_v1.terminal": "an execution ends",
         "bacalhau.execution_v1.compute_message": "a compute node reports a message about an execution",
         "bacalhau.compute_nodes_v1.info": "every hour, from each orchestrator: its compute nodes in numbers "
                                           "(v1.9.3's `bacalhau serve` starts that loop before its analytics "
                                           "client, so it never sends it: its own log says \"Analytics is "
                                           "disabled, skipping nodes analytics\")"}


def _side_channels(native, installation_id, instance_id):
    # The same answer as status and verify: the framework's own state, env and config.yaml.
    update = native.get("update_check") or {}
    update_off = update.get("stopped") is True
    return [{
        "name": "update-check",
        "destination": "https://get.bacalhau.org/version",
        "carries": {"installation_id": installation_id,
                    "instance_id": str(instance_id) if instance_id is not None else None},
        "will_send": not update_off,
        "detail": "a daily version check carrying both IDs; only UpdateConfig.Interval <= 0 (env "
                  "BACALHAU_UPDATECONFIG_INTERVAL=0s) stops it" + (
                      ": stopped (%s = %s)" % (update.get("source"), update.get("value"))
                      if update_off else ""),
    }, {
        "name": "id-headers",
        "destination": "the orchestrator each API call goes to",
        "carries": {"X-Bacalhau-InstallationID": installation_id,
                    "X-Bacalhau-InstanceID": str(instance_id) if instance_id is not None else None},
        "will_send": True,
        "detail": "headers on every API call from the CLI to an orchestrator",
    }]
