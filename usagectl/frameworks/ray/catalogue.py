"""Every field of Ray's usage report (``UsageStatsToReport`` in usage_lib.py), what it
holds and what it can carry. Written from Ray 2.60.0's usage_lib.py (the dataclass and
generate_report_data); tests/test_preview.py checks that every field of the installed
Ray's dataclass is here. ``flags``: "identifying" (links reports to one cluster),
"free-text" (text a user or an operator wrote).
"""

FIELDS = (
    {"name": "schema_version", "type": "string", "flags": [], "about": "the report schema's version"},
    {"name": "source", "type": "string", "flags": [],
     "about": "RAY_USAGE_STATS_SOURCE, else \"OSS\" (KubeRay and cloud images set their own)"},
    {"name": "collect_timestamp_ms", "type": "number", "flags": [], "about": "when it was sent"},
    {"name": "total_success", "type": "number", "flags": [], "about": "reports that succeeded so far"},
    {"name": "total_failed", "type": "number", "flags": [], "about": "reports that failed so far"},
    {"name": "seq_number", "type": "number", "flags": [], "about": "this report's number in the session"},
    {"name": "ray_version", "type": "string", "flags": [], "about": "Ray's version"},
    {"name": "python_version", "type": "string", "flags": [], "about": "Python's version"},
    {"name": "session_id", "type": "string", "flags": ["identifying"],
     "about": "the cluster id (56 hex characters): what a deletion request names"},
    {"name": "git_commit", "type": "string", "flags": [], "about": "the commit Ray was built from"},
    {"name": "os", "type": "string", "flags": [], "about": "the OS name"},
    {"name": "session_start_timestamp_ms", "type": "number", "flags": [], "about": "when the cluster started"},
    {"name": "cloud_provider", "type": "string", "flags": [],
     "about": "from the cluster launcher's config (aws, gcp, ...), or \"unknown\""},
    {"name": "min_workers", "type": "number", "flags": [], "about": "the launcher config's min_workers"},
    {"name": "max_workers", "type": "number", "flags": [], "about": "the launcher config's max_workers"},
    {"name": "head_node_instance_type", "type": "string", "flags": [],
     "about": "the launcher config's head node type"},
    {"name": "worker_node_instance_types", "type": "array", "flags": [],
     "about": "the launcher config's worker node types"},
    {"name": "total_num_cpus", "type": "number", "flags": [], "about": "CPUs in the cluster"},
    {"name": "total_num_gpus", "type": "number", "flags": [], "about": "GPUs in the cluster"},
    {"name": "total_memory_gb", "type": "number", "flags": [], "about": "memory in the cluster"},
    {"name": "total_object_store_memory_gb", "type": "number", "flags": [], "about": "object store memory"},
    {"name": "library_usages", "type": "array", "flags": [],
     "about": "Ray libraries imported (data, train, tune, serve, ...)"},
    {"name": "extra_usage_tags", "type": "object", "flags": ["free-text"],
     "about": "Ray's own counters and settings, plus every key=value of RAY_USAGE_STATS_EXTRA_TAGS "
              "(text anyone who starts the cluster can set)"},
    {"name": "total_num_nodes", "type": "number", "flags": [], "about": "nodes in the cluster"},
    {"name": "total_num_running_jobs", "type": "number", "flags": [], "about": "jobs running"},
    {"name": "libc_version", "type": "string", "flags": [], "about": "the C library and its version"},
    {"name": "hardware_usages", "type": "array", "flags": [], "about": "CPU model names seen in the cluster"},
)


def entries_for(names):
    """The catalogue entries for the field ``names`` a report holds, in their order; a
    name the catalogue lacks comes back flagged "uncatalogued" (a field this Ray added)."""
    by_name = {entry["name"]: entry for entry in FIELDS}
    return [dict(by_name[name]) if name in by_name else
            {"name": name, "type": None, "flags": ["uncatalogued"],
             "about": "not in usagectl's catalogue: a field this Ray added"}
            for name in names]


def extra_tags(environ):
    """The user's RAY_USAGE_STATS_EXTRA_TAGS as Ray's get_extra_usage_tags_to_report parses
    it (usage_lib.py): strip ";", split on ";", each part split on "=" into exactly two;
    the first part that doesn't split stops the parse, keeping the tags before it."""
    raw = environ.get("RAY_USAGE_STATS_EXTRA_TAGS")
    tags = {}
    if raw:
        for part in raw.strip(";").split(";"):
            pieces = part.split("=")
            if len(pieces) != 2:
                break
            tags[pieces[0]] = pieces[1]
    return tags
