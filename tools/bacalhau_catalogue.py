#!/usr/bin/env python3
"""Write Bacalhau's analytics field catalogue from Bacalhau's own Go source.

    tools/bacalhau_catalogue.py --write    # regenerate usagectl/frameworks/bacalhau/catalogue.py
    tools/bacalhau_catalogue.py --check    # exit 1 if the checked-in catalogue differs

The source is the module `github.com/bacalhau-project/bacalhau@<SOURCE_VERSION>` in the
Go module cache (scripts/bacalhau-build downloads it). Each analytics event of that
release is a Go struct marshalled to JSON (pkg/analytics/*.go, `json:"..."` tags); the
catalogue lists every field of each event with its JSON type, whether `omitempty` may
leave it out, and what it can carry (identifying or free text: the judgement below,
kept here beside the parse so one file says both). Bacalhau is Go, so unlike Ray's and
Parsl's catalogues nothing can be asked at run time: tests/test_bacalhau_binary.py
compares the catalogue with the events a real `bacalhau serve` of this release sends.
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


def build(source):
    """(events, structs): each event's struct and file, and each struct's fields once
    (the create and terminal execution events share one)."""
    structs = parse_structs(os.path.join(source, "pkg", "analytics"))
    events = {event: {"struct": struct, "file": path} for event, (struct, path) in EVENTS.items()}
    return events, {struct: _fields(struct, structs) for struct in dict.fromkeys(s for s, _p in EVENTS.values())}


def render(built):
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
            + "    return STRUCTS[EVENTS[event_type][\"struct\"]]\n")


def main(argv):
    source = source_dir()
    if source is None:
        print("no %s@%s in the Go module cache: run scripts/bacalhau-build" % (MODULE, SOURCE_VERSION),
              file=sys.stderr)
        return 2
    text = render(build(source))
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
