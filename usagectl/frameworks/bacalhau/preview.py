"""Bacalhau's analytics: OTLP log records from `bacalhau serve` orchestrators.

Bacalhau is a Go binary, so nothing here runs its code: the resource attributes are
assembled from the files Bacalhau reads its identifiers from (installation_id and
$DataDir/system_metadata.yaml), and the body is marked not exact (the wire format is
OTLP protobuf over gRPC). Two side channels carry the same IDs whatever
DisableAnalytics says: the daily update check and the ID headers on API calls.
"""

import hashlib
import json
import sys

from usagectl.core import previews as result
from usagectl.frameworks.bacalhau import catalogue
from usagectl.frameworks.bacalhau.framework import installation_id_path, node_type, system_metadata_path

FRAMEWORK_NAME = "bacalhau"
TITLE = "Bacalhau"
DESTINATION = "t.bacalhau.org:4317"
EVENT_TYPES = tuple(catalogue.EVENTS)
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
    item["transport"] = "otlp-grpc"
    item["destination"] = DESTINATION
    item["when"] = "while `bacalhau serve` runs as an orchestrator, on each job and execution event"
    item["will_send"] = {"on": True, "off": False}.get(effective)
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
    attributes = {
        "os.type": _go_os(),
        "installation_id": installation_id,
        "instance_id": str(instance_id) if instance_id is not None else None,
        # Bacalhau hashes the node's ID (its name) with SHA-256 before sending it.
        "node_id_hash": hashlib.sha256(str(node_name).encode()).hexdigest() if node_name else None,
        "node_type": node_type(env) or "orchestrator or hybrid (only orchestrators send)",
        "node_version": "the bacalhau binary's version",
    }
    if node_type(env) == "compute":
        item["notes"].append("config.yaml makes this node compute-only: only orchestrators send "
                             "analytics events (unless `bacalhau serve --orchestrator` overrides it).")
    elif node_type(env):
        item["notes"].append("node_type is what config.yaml's Orchestrator.Enabled and Compute.Enabled "
                             "say; `bacalhau serve --orchestrator/--compute` flags override them.")
    item["notes"].append("node_version is the binary's version: usagectl never runs `bacalhau` for a "
                         "preview (`bacalhau version --client` initialises a repo in an empty data dir). "
                         "v1.6-1.7 send these OTLP events; v1.9.3's PostHog client has no API key and "
                         "drops its events (docs/truth.md).")
    item["resource_attributes"] = attributes
    item["resource_attribute_fields"] = [dict(entry) for entry in catalogue.RESOURCE_ATTRIBUTES]
    item["identifier_files"] = {"installation_id": install_path, "system_metadata": meta_path}
    item["event_types"] = list(EVENT_TYPES)
    item["events"] = _events()
    item["catalogue_source"] = catalogue.SOURCE
    result.set_body(item, json.dumps(attributes, indent=2))
    item["kind"] = "otlp-resource-attributes"
    item["notes"].append("The body lists the OTLP resource attributes attached to every analytics "
                         "event, not the wire bytes (OTLP protobuf over gRPC; v1.8+ sends to "
                         "PostHog instead, in official builds only).")
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
    def field(entry):
        out = {"name": entry["name"], "type": entry["type"], "flags": list(entry["flags"]),
               "may_be_absent": entry["omitempty"]}
        nested = entry.get("nested")
        if isinstance(nested, list):
            out["fields"] = [field(inner) for inner in nested]
        elif isinstance(nested, dict) and nested.get("fields"):
            out["fields"] = [field(inner) for inner in nested["fields"]]
        return out

    return [{"type": name, "when": _WHEN.get(name, ""), "attributes": {"event": name, "properties": "JSON"},
             "properties": [field(entry) for entry in catalogue.fields(name)]}
            for name in catalogue.EVENTS]


_WHEN = {"bacalhau.job_v1.submit": "a job is submitted",
         "bacalhau.job_v1.terminal": "a job completes, fails or is stopped",
         "bacalhau.execution_v1.create": "an execution is created on a compute node",
         "bacalhau.execution_v1.terminal": "an execution ends",
         "bacalhau.execution_v1.compute_message": "a compute node reports a message about an execution"}


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
