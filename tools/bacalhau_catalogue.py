#!/usr/bin/env python3
"""Write Bacalhau's analytics field catalogue from Bacalhau's own Go source.

    tools/bacalhau_catalogue.py --write    # regenerate usagectl/frameworks/bacalhau/catalogue.py
    tools/bacalhau_catalogue.py --check    # exit 1 if the checked-in catalogue differs

Two lines of releases send differently, and each has its own part of the catalogue,
from the module `github.com/bacalhau-project/bacalhau@<version>` in the Go module cache
(scripts/bacalhau-build downloads both):

- v1.6-1.7 (SOURCE_VERSION): OTLP log records. Each event is a Go struct marshalled to
  JSON (pkg/analytics/*.go, `json:"..."` tags): every field with its JSON type and
  whether `omitempty` may leave it out.
- v1.8+ (POSTHOG_SOURCE_VERSION): PostHog events. Each event is a map built in one
  function and its helpers (pkg/analytics/events_*.go): every key the source writes, its
  JSON type judged from the expression that fills it (TYPE_RULES, VALUE_TYPES: a new
  expression stops the tool until someone says what it is), and whether it is set only
  on some path. The resource attributes ride in one property, `resource_attributes`.

What each field can carry (identifying or free text) is the judgement below, kept beside
the parse so one file says both. Bacalhau is Go, so unlike Ray's and Parsl's catalogues
nothing can be asked at run time: tests/test_bacalhau_binary.py compares each part with
the events a real `bacalhau serve` of that release sends.
"""

import os
import pprint
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(ROOT, "usagectl", "frameworks", "bacalhau", "catalogue.py")
MODULE = "github.com/bacalhau-project/bacalhau"
SOURCE_VERSION = "v1.6.0"
POSTHOG_SOURCE_VERSION = "v1.9.3"

#: event type -> (Go struct, source file); from the NewEvent(...) calls in each file.
EVENTS = {
    "bacalhau.job_v1.submit": ("SubmitJobEvent", "pkg/analytics/job_submit.go"),
    "bacalhau.job_v1.terminal": ("JobTerminalEvent", "pkg/analytics/job_terminal.go"),
    "bacalhau.execution_v1.create": ("ExecutionEvent", "pkg/analytics/executions.go"),
    "bacalhau.execution_v1.terminal": ("ExecutionEvent", "pkg/analytics/executions.go"),
    "bacalhau.execution_v1.compute_message": ("ExecutionComputeMessage",
                                              "pkg/analytics/execution_compute_message.go"),
}

#: What a field can carry. "identifying": links events to one job, execution, node or
#: person (raw ids, and SHA-256 hashes of names, which anyone can recompute for a
#: guessed name). "free-text": text a user or a program wrote.
FLAGS = {
    "job_id": ["identifying"], "execution_id": ["identifying"], "evaluation_id": ["identifying"],
    "previous_execution": ["identifying"], "next_execution": ["identifying"],
    "followup_eval_id": ["identifying"],
    "namespace_hash": ["identifying"], "task_name_hash": ["identifying"],
    "node_name_hash": ["identifying"],
    "error": ["free-text"], "warnings": ["free-text"], "compute_message": ["free-text"],
}
#: Flags for one struct's field only: execution events key their resources by the
#: task's own name, unhashed (the job events send only its hash).
FLAGGED_KEYS = {"ExecutionEvent.resources": ["free-text", "identifying"]}

RESOURCE_ATTRIBUTES = [
    {"name": "os.type", "type": "string", "flags": [], "about": "the operating system (Go's GOOS)"},
    {"name": "installation_id", "type": "string", "flags": ["identifying"],
     "about": "a random id kept in ~/.bacalhau/installation_id (or under the data dir)"},
    {"name": "instance_id", "type": "string", "flags": ["identifying"],
     "about": "InstanceID from system_metadata.yaml: a SHA-256 of the machine id"},
    {"name": "node_id_hash", "type": "string", "flags": ["identifying"],
     "about": "a SHA-256 of the node's name (NameProvider: the hostname by default)"},
    {"name": "node_type", "type": "string", "flags": [], "about": "hybrid, orchestrator or compute"},
    {"name": "node_version", "type": "string", "flags": [], "about": "the bacalhau binary's version"},
]

#: v1.8+: event type -> the functions whose maps make its properties (the first builds
#: the event; the others are the helpers it calls), all in pkg/analytics.
POSTHOG_EVENTS = {
    "bacalhau.job_v1.submit": ("events_jobs.go", ["NewSubmitJobEvent", "createCommonJobProperties"]),
    "bacalhau.job_v1.terminal": ("events_jobs.go", ["NewJobTerminalEvent", "createCommonJobProperties"]),
    "bacalhau.execution_v1.create": ("events_executions.go", ["createExecutionEvent"]),
    "bacalhau.execution_v1.terminal": ("events_executions.go", ["createExecutionEvent"]),
    "bacalhau.execution_v1.compute_message": ("events_executions.go", ["NewComputeMessageExecutionEvent"]),
    "bacalhau.compute_nodes_v1.info": ("events_nodes.go", [
        "NewNodeInfosEvent", "populateNodeStateProperties", "populateResourceProperties",
        "populateResourceStatsProperties", "populateCapabilitiesProperties", "addCapabilityDetails",
        "populateUtilizationProperties"]),
}
#: v1.8+ flags beyond FLAGS: a non-Bacalhau image's name is sent as its SHA-256 (anyone can
#: hash a guessed name), Bacalhau's own in clear; execution resources are keyed by the
#: hash of the task's name (v1.6 sent the name itself).
POSTHOG_FLAGS = {"task_docker_image": ["identifying"], "resources": []}
POSTHOG_FLAGGED_KEYS = {"createExecutionEvent.resources": ["identifying"]}
#: The functions whose "resources" is a map keyed by the task name's hash (else one resource).
_RESOURCES_BY_TASK = ("createExecutionEvent",)
#: The JSON type of the expression a v1.8+ map value is built from: patterns first...
TYPE_RULES = [
    (r"^len\(", "number"), (r"\s(?:!=|==)\s", "boolean"), (r"^hashString\(", "string"),
    (r"^time\.Unix\(", "string"), (r"\.String\(\)$", "string"), (r"\.Error\(\)$", "string"),
    (r"^(?:float64|uint64)\(|^calculateStdDev\(|^0\.0$|\* 100$", "number"),
    (r"^\w+Resources\.(?:CPU|Memory|Disk|GPU)(?:\s*/.*)?$", "number"),
    (r"^getInputSourceTypes\(", "array"), (r"^getDockerImageAnalytics\(", "string"),
    (r"^newResourceFromConfig\(", "object"),
]
#: ...then the variables and fields the source names, as Go declares them (models.Job,
#: models.Execution, the helpers' results).
VALUE_TYPES = {
    "string": ["j.ID", "j.Type", "t.Engine.Type", "t.Publisher.Type", "jobID", "e.JobID", "e.ID", "e.EvalID",
               "desiredStateErrorCode", "computeStateErrorCode", "publisherType", "e.PreviousExecution",
               "e.NextExecution", "e.FollowupEvalID", "e.ComputeState.Message", "errorCode",
               "j.State.StateType.String()"],
    "number": ["j.Count", "j.Version", "j.Revision", "e.Revision", "t.Timeouts.ExecutionTimeout",
               "t.Timeouts.QueueTimeout", "t.Timeouts.TotalTimeout", "exitCode", "count",
               "capabilities[i].count", "totalRunningExecutions", "totalEnqueuedExecutions"],
    "boolean": ["stdoutTruncated", "stderrTruncated"],
    "array": ["warnings"],
    "object": ["resources"],
}
#: The PostHog envelope around each event (posthog-go v1.23.0, the client v1.9.3 pins),
#: as a keyed test build sent it (tests/fixtures/bacalhau/posthog-v1.9.3-keyed.json):
#: the library adds its own `$` properties to every event.
POSTHOG_ENVELOPE = [
    {"name": "distinct_id", "type": "string", "flags": ["identifying"],
     "about": "ResourceAttributes.DetermineDistinctID(): network_id, else installation_id, else instance_id"},
    {"name": "event", "type": "string", "flags": [], "about": "the event type"},
    {"name": "uuid", "type": "string", "flags": [], "about": "a random id of this event (posthog-go)"},
    {"name": "timestamp", "type": "string", "flags": [], "about": "when it was captured"},
]
POSTHOG_LIBRARY_PROPERTIES = [
    {"name": name, "type": kind, "flags": [], "about": about} for name, kind, about in (
        ("$lib", "string", "posthog-go"), ("$lib_version", "string", "posthog-go's version"),
        ("$is_server", "boolean", "always true"), ("$geoip_disable", "boolean", "no GeoIP lookup"),
        ("$go_version", "string", "the Go version the binary was built with"),
        ("$os", "string", "the operating system"), ("$os_version", "string", "its version"),
        ("$os_distro", "string", "the Linux distribution (from /etc/os-release)"))]

_GO_SCALARS = {"string": "string", "bool": "boolean", "int": "number", "int64": "number",
               "uint64": "number", "float64": "number", "time.Time": "string"}
_STRUCT = re.compile(r"^type (\w+) struct \{\n(.*?)^\}", re.S | re.M)
_FIELD = re.compile(r"^\s*(\w+)\s+([\w.\[\]]+)\s+`json:\"([^\"]*)\"`", re.M)


def source_dir(version=SOURCE_VERSION):
    """The module's directory in the Go module cache, or None."""
    cache = os.environ.get("GOMODCACHE")
    if not cache:
        try:
            cache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True,
                                   timeout=60).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            cache = ""
    cache = cache or os.path.join(os.path.expanduser("~"), "go", "pkg", "mod")
    path = os.path.join(cache, "github.com", "bacalhau-project", "bacalhau@" + version)
    return path if os.path.isdir(path) else None


def parse_structs(analytics_dir):
    structs = {}
    for name in sorted(os.listdir(analytics_dir)):
        if name.endswith(".go") and not name.endswith("_test.go"):
            with open(os.path.join(analytics_dir, name), encoding="utf-8") as handle:
                for match in _STRUCT.finditer(handle.read()):
                    structs[match.group(1)] = _FIELD.findall(match.group(2))
    return structs


def _json_type(go_type, structs):
    """(JSON type, nested fields or None) of a Go field type."""
    if go_type in _GO_SCALARS:
        return _GO_SCALARS[go_type], None
    if go_type.startswith("[]"):
        inner, nested = _json_type(go_type[2:], structs)
        return "array", ({"items": inner, "fields": nested} if nested else {"items": inner})
    if go_type.startswith("map[string]"):
        inner, nested = _json_type(go_type[len("map[string]"):], structs)
        return "object", {"keys": "task name", "values": inner, "fields": nested}
    if go_type in structs:
        return "object", _fields(go_type, structs)
    raise SystemExit("unknown Go type %s: teach tools/bacalhau_catalogue.py about it" % go_type)


def _fields(struct, structs, owner=None):
    out = []
    for go_name, go_type, tag in structs[struct]:
        name, _, options = tag.partition(",")
        json_type, nested = _json_type(go_type, structs)
        flags = FLAGGED_KEYS.get("%s.%s" % (struct, name), FLAGS.get(name, []) if owner is None else [])
        entry = {"name": name, "type": json_type, "omitempty": "omitempty" in options.split(","),
                 "go": "%s.%s %s" % (struct, go_name, go_type), "flags": list(flags)}
        if nested is not None:
            entry["nested"] = nested
        out.append(entry)
    return out


def _functions(text):
    """{name: body} of the top-level functions in Go source text."""
    found = {}
    for match in re.finditer(r"^func (\w+)\(.*?\{\n(.*?)^\}", text, re.S | re.M):
        found[match.group(1)] = match.group(2)
    return found


def _value_type(expression, where):
    expression = " ".join(expression.split())
    for pattern, kind in TYPE_RULES:
        if re.search(pattern, expression):
            return kind
    for kind, names in VALUE_TYPES.items():
        if expression in names:
            return kind
    raise SystemExit("%s: %r is a value tools/bacalhau_catalogue.py can't type: add it to VALUE_TYPES"
                     % (where, expression))


_ENTRY = re.compile(r'^\t*"(\w+)":\s*(.+?),\s*(?://.*)?$', re.M)
_ASSIGN = re.compile(r'^(\t*)(?:props|properties)\[("(\w+)"(\s*\+\s*\w+)?|prefix\s*\+.*?)\]\s*=\s*'
                     r'(.*?)\s*$', re.M)


def _map_keys(body, where, prefixes):
    """[(key, expression, always)] that one function body writes into an event's map."""
    keys = []
    for block in re.finditer(r"EventProperties\{\n(.*?)^\t+\}", body, re.S | re.M):
        for name, expression in _ENTRY.findall(block.group(1)):
            keys.append((name, expression, True))
    branches = {}  # key -> the openers of the blocks that set it conditionally
    for match in _ASSIGN.finditer(body):
        indent, key, name, dynamic, expression = match.groups()
        if not expression:  # the value is on the next line
            following = body[match.end():].lstrip("\n").split("\n", 1)[0]
            expression = following.strip()
        always = len(indent) <= 1  # set in the function's own block, not inside an if or a loop
        if name is None:  # properties[prefix+name]: one key per capability, for each prefix
            keys.extend(("%s*" % p, expression, False) for p in prefixes)
        elif dynamic:
            keys.append(("%s*" % name, expression, False))
        else:
            if not always:
                branches.setdefault(name, set()).add(_opener(body, match.start(), len(indent)))
            keys.append((name, expression, always))
    # Set in an `if` and in its `else`: on every path.
    both = {name for name, openers in branches.items()
            if any(o.startswith("if ") for o in openers) and any(o.startswith("} else") for o in openers)}
    return [(name, expression, always or name in both) for name, expression, always in keys]


def _opener(body, offset, depth):
    """The line that opens the block a line at ``offset`` (indented ``depth`` tabs) is in."""
    for line in reversed(body[:offset].split("\n")[:-1]):
        if line.strip() and len(line) - len(line.lstrip("\t")) < depth:
            return line.strip()
    return ""


def build_posthog(source):
    """(events, functions, attributes) for v1.8+: each event's file and the functions that
    build its map; each function's fields once (two events share a builder, and the job
    events a helper); the resource attributes."""
    analytics = os.path.join(source, "pkg", "analytics")
    structs = parse_structs(analytics)
    texts = {}
    events = {}
    built = {}
    for event, (path, functions) in POSTHOG_EVENTS.items():
        text = texts.get(path)
        if text is None:
            with open(os.path.join(analytics, path), encoding="utf-8") as handle:
                text = texts[path] = handle.read()
        if '"%s"' % event not in text:
            raise SystemExit("%s no longer names %s: update POSTHOG_EVENTS" % (path, event))
        bodies = _functions(text)
        prefixes = re.findall(r'addCapabilityDetails\(\w+, "(\w+)", properties\)', text)
        for function in functions:
            if function not in bodies:
                raise SystemExit("%s has no func %s: update POSTHOG_EVENTS" % (path, function))
            if function not in built:
                built[function] = _function_fields(function, bodies[function], path, prefixes, structs)
        events[event] = {"file": "pkg/analytics/" + path, "functions": functions}
    attributes = [dict(f, flags=list(RESOURCE_FLAGS.get(f["name"], []))) for f in _fields("ResourceAttributes", structs,
                                                                                          owner="attributes")]
    return events, built, attributes


def _function_fields(function, body, path, prefixes, structs):
    fields = {}
    for name, expression, always in _map_keys(body, "%s %s" % (path, function), prefixes):
        kind = _value_type(expression, "%s %s %s" % (path, function, name))
        if name in fields:  # set on two paths (an if and its else): present if either always is
            fields[name]["omitempty"] = fields[name]["omitempty"] and not always
            continue
        flags = POSTHOG_FLAGGED_KEYS.get("%s.%s" % (function, name), POSTHOG_FLAGS.get(name, FLAGS.get(name, [])))
        entry = {"name": name, "type": kind, "omitempty": not always,
                 "go": "%s: %s" % (function, " ".join(expression.split())), "flags": list(flags)}
        if name == "resources":
            nested = _fields("resource", structs, owner="resources")
            entry["nested"] = ({"keys": "SHA-256 of the task name", "values": "object", "fields": nested}
                               if function in _RESOURCES_BY_TASK else nested)
        fields[name] = entry
    return list(fields.values())


#: What each v1.8+ resource attribute can carry.
RESOURCE_FLAGS = {"installation_id": ["identifying"], "instance_id": ["identifying"],
                  "node_id_hash": ["identifying"], "network_id": ["identifying"]}


def build(source):
    """(events, structs): each event's struct and file, and each struct's fields once
    (the create and terminal execution events share one)."""
    structs = parse_structs(os.path.join(source, "pkg", "analytics"))
    events = {event: {"struct": struct, "file": path} for event, (struct, path) in EVENTS.items()}
    return events, {struct: _fields(struct, structs) for struct in dict.fromkeys(s for s, _p in EVENTS.values())}


def render(built, posthog=None):
    events, structs = built
    header = ('"""Bacalhau\'s analytics events, field by field. GENERATED by tools/bacalhau_catalogue.py\n'
              "from %s@%s (pkg/analytics/*.go): do not edit by hand.\n\n"
              "Each event is an OTLP log record with attributes `event` (the type) and `properties`\n"
              "(the JSON of the struct named here); RESOURCE_ATTRIBUTES ride on every record.\n"
              "v1.8 and later send PostHog events built from maps instead (docs/truth.md).\n"
              '"""\n\n' % (MODULE, SOURCE_VERSION))
    return (header + "SOURCE = %r\n\n" % ("%s@%s" % (MODULE, SOURCE_VERSION))
            + "RESOURCE_ATTRIBUTES = " + pprint.pformat(RESOURCE_ATTRIBUTES, width=100, sort_dicts=False)
            + "\n\nEVENTS = " + pprint.pformat(events, width=100, sort_dicts=False)
            + "\n\nSTRUCTS = " + pprint.pformat(structs, width=100, sort_dicts=False)
            + "\n\n\ndef fields(event_type):\n    \"\"\"The catalogued fields of one event type.\"\"\"\n"
            + "    return STRUCTS[EVENTS[event_type][\"struct\"]]\n"
            + _render_posthog(posthog))


def _render_posthog(posthog):
    if posthog is None:
        return ""
    events, functions, attributes = posthog
    return ("\n\n# --- v1.8 and later: PostHog events, from %s@%s (pkg/analytics/events_*.go) ---\n\n"
            % (MODULE, POSTHOG_SOURCE_VERSION)
            + "POSTHOG_SOURCE = %r\n\n" % ("%s@%s" % (MODULE, POSTHOG_SOURCE_VERSION))
            + "#: Under the property `resource_attributes` of every event (ResourceAttributes, json tags).\n"
            + "POSTHOG_RESOURCE_ATTRIBUTES = " + pprint.pformat(attributes, width=100, sort_dicts=False)
            + "\n\n#: Around each event; the client library's own properties ride with each one.\n"
            + "POSTHOG_ENVELOPE = " + pprint.pformat(POSTHOG_ENVELOPE, width=100, sort_dicts=False)
            + "\n\nPOSTHOG_LIBRARY_PROPERTIES = " + pprint.pformat(POSTHOG_LIBRARY_PROPERTIES, width=100,
                                                                   sort_dicts=False)
            + "\n\n#: Each event's file and the functions that build its properties, in order.\n"
            + "POSTHOG_EVENTS = " + pprint.pformat(events, width=100, sort_dicts=False)
            + "\n\n#: What each function writes into an event's map: a name ending in * stands for one\n"
            + "#: key per value (a node state, an engine's name); omitempty: set only on some paths.\n"
            + "POSTHOG_FUNCTIONS = " + pprint.pformat(functions, width=100, sort_dicts=False)
            + "\n\n\ndef posthog_fields(event_type):\n"
            + "    \"\"\"One v1.8+ event's properties: its functions' fields, in order; a key two of them\n"
            + "    write is absent only where both may leave it out.\"\"\"\n"
            + "    merged = {}\n"
            + "    for function in POSTHOG_EVENTS[event_type][\"functions\"]:\n"
            + "        for field in POSTHOG_FUNCTIONS[function]:\n"
            + "            seen = merged.get(field[\"name\"])\n"
            + "            merged[field[\"name\"]] = field if seen is None else dict(\n"
            + "                seen, omitempty=seen[\"omitempty\"] and field[\"omitempty\"])\n"
            + "    return list(merged.values())\n")


def main(argv):
    source = source_dir()
    if source is None:
        print("no %s@%s in the Go module cache: run scripts/bacalhau-build" % (MODULE, SOURCE_VERSION),
              file=sys.stderr)
        return 2
    posthog_source = source_dir(POSTHOG_SOURCE_VERSION)
    if posthog_source is None:
        print("no %s@%s in the Go module cache: run scripts/bacalhau-build" % (MODULE, POSTHOG_SOURCE_VERSION),
              file=sys.stderr)
        return 2
    text = render(build(source), build_posthog(posthog_source))
    if "--write" in argv:
        with open(TARGET, "w", encoding="utf-8") as handle:
            handle.write(text)
        return 0
    with open(TARGET, encoding="utf-8") as handle:
        if handle.read() != text:
            print("%s is not what %s@%s says: run tools/bacalhau_catalogue.py --write"
                  % (TARGET, MODULE, SOURCE_VERSION), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
