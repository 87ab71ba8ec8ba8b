"""Every field Parsl's usage tracking can send, by message and level.

From parsl/usage_tracking/usage.py (UsageTracker.construct_start_message and
construct_end_message) and parsl/usage_tracking/api.py (get_parsl_usage: the
"components" list) of Parsl 2026.10.26; tests/test_preview.py builds both messages
at every level with the installed Parsl's own code and checks that each field it
sends is here. Parsl before levels (2024.3 and older) sends other names: LEGACY.

``level``: the lowest tracking level that sends the field. ``flags``: "identifying"
(links messages to one run or person), "free-text" (text the user wrote).
"""

START = (
    {"name": "correlator", "level": 1, "type": "string", "flags": ["identifying"],
     "about": "a new UUID per run: links the start and end messages of one workflow"},
    {"name": "parsl_v", "level": 1, "type": "string", "flags": [], "about": "Parsl's version"},
    {"name": "python_v", "level": 1, "type": "string", "flags": [], "about": "Python's version"},
    {"name": "platform.system", "level": 1, "type": "string", "flags": [], "about": "the OS name"},
    {"name": "tracking_level", "level": 1, "type": "number", "flags": [], "about": "1, 2 or 3"},
    {"name": "project_name", "level": 1, "type": "string", "flags": ["identifying", "free-text"],
     "about": "Config(project_name=...), sent at every level when set: Parsl's own docs say it "
              "identifies the user on a public list"},
    {"name": "components", "level": 2, "type": "array", "flags": [],
     "about": "the class names of the Config, executors, providers and launchers, with counts "
              "and some settings"},
    {"name": "start", "level": 3, "type": "number", "flags": [], "about": "the start time (Unix seconds)"},
)

END = (
    {"name": "correlator", "level": 3, "type": "string", "flags": ["identifying"],
     "about": "the run's UUID, as in its start message"},
    {"name": "end", "level": 3, "type": "number", "flags": [], "about": "the end time (Unix seconds)"},
    {"name": "execution_time", "level": 3, "type": "number", "flags": [],
     "about": "seconds from start to end"},
    {"name": "components", "level": 3, "type": "array", "flags": [],
     "about": "the DataFlowKernel's app_count and app_fails, then the Config's components"},
    {"name": "project_name", "level": 3, "type": "string", "flags": ["identifying", "free-text"],
     "about": "as in the start message"},
)

#: Parsl 2024.3 and older: one switch (usage_tracking=True), no levels.
LEGACY = {
    "start": (
        {"name": "uuid", "type": "string", "flags": ["identifying"], "about": "a new UUID per run"},
        {"name": "parsl_v", "type": "string", "flags": [], "about": "Parsl's version"},
        {"name": "python_v", "type": "string", "flags": [], "about": "Python's version"},
        {"name": "os", "type": "string", "flags": [], "about": "the OS name"},
        {"name": "os_v", "type": "string", "flags": [], "about": "the kernel release"},
        {"name": "start", "type": "number", "flags": [], "about": "the start time"},
    ),
    "end": (
        {"name": "uuid", "type": "string", "flags": ["identifying"], "about": "the run's UUID"},
        {"name": "end", "type": "number", "flags": [], "about": "the end time"},
        {"name": "t_apps", "type": "number", "flags": [], "about": "apps run"},
        {"name": "sites", "type": "number", "flags": [], "about": "executors configured"},
        {"name": "failed", "type": "number", "flags": [], "about": "apps failed"},
    ),
}


def fields_of(kind, names, legacy=False):
    """The catalogue entries of message ``kind`` ("start"/"end") for the field ``names``
    a message holds; a name the catalogue lacks comes back flagged "uncatalogued"."""
    table = LEGACY[kind] if legacy else (START if kind == "start" else END)
    by_name = {entry["name"]: entry for entry in table}
    return [dict(by_name[name]) if name in by_name else
            {"name": name, "type": None, "flags": ["uncatalogued"],
             "about": "not in usagectl's catalogue: a field this Parsl added"}
            for name in names]
