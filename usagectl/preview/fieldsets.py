"""No surprises: the field sets a user accepted, and what a framework now sends beyond them.

Ray promises users they will be told when the data it collects changes; nothing in a
framework remembers what a user last saw. `usagectl preview --accept` remembers the
field set of each message the preview shows (per framework and framework version) in
``known_fields.json`` in usagectl's state dir; `preview` and `status` then name the
fields an upgrade added or removed. Until something is accepted, preview compares
with usagectl's own catalogue (a field it lacks is new to usagectl too).

Only `preview --accept` writes this file: `preview` and `status` stay read-only.
"""

import json
import os

FILE_NAME = "known_fields.json"
MAX_BYTES = 1 << 20


def path(env):
    return os.path.join(env.state_dir, FILE_NAME)


def read(env):
    """({framework: {"version", "accepted", "sets": {section: [names]}}}, problem or None).
    A missing file is ({}, None); an unreadable or damaged one is ({}, one line)."""
    from usagectl import _files

    where = path(env)
    try:
        data = json.loads(_files.read_regular(where, MAX_BYTES))
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ValueError
        return data, None
    except (FileNotFoundError, NotADirectoryError):
        return {}, None
    except (OSError, ValueError, RecursionError, UnicodeDecodeError):
        return {}, "%s is damaged or unreadable: field changes are compared with usagectl's catalogue" % where


def accept(env, items):
    """Remember the field sets of the preview ``items`` (those that carry some) -> names."""
    from usagectl.core import fsutil

    where = path(env)
    accepted = []
    with fsutil.locked(where):
        known, _problem = read(env)
        for item in items:
            sets = item.get("field_sets")
            if not sets:
                continue
            entry = known.setdefault(item["framework"], {"sets": {}})
            entry.update(version=item.get("framework_version"), accepted=_now())
            entry.setdefault("sets", {}).update({k: sorted(v) for k, v in sets.items()})
            accepted.append(item["framework"])
        data = (json.dumps(known, indent=1, sort_keys=True) + "\n").encode("utf-8")
        fsutil.atomic_write(where, data, follow=False)
    return accepted


def forget(env, name):
    """Drop ``name``'s accepted field sets (`usagectl forget`)."""
    from usagectl.core import fsutil

    where = path(env)
    with fsutil.locked(where):
        known, _problem = read(env)
        if known.pop(name, None) is None:
            return
        data = (json.dumps(known, indent=1, sort_keys=True) + "\n").encode("utf-8")
        fsutil.atomic_write(where, data, follow=False)


def changes(framework, sets, version, known):
    """What the field ``sets`` ({section: names}) add to or drop from what the user
    accepted (``known``, from ``read``), or, with nothing accepted, what the framework's
    catalogue lacks. None when nothing changed."""
    accepted = (known or {}).get(framework.name)
    if accepted and accepted.get("sets"):
        added, removed = {}, {}
        for section, names in sets.items():
            before = accepted["sets"].get(section)
            if before is None:
                continue
            new, gone = sorted(set(names) - set(before)), sorted(set(before) - set(names))
            if new:
                added[section] = new
            if gone:
                removed[section] = gone
        if not added and not removed:
            return None
        return {"against": "accepted", "accepted": accepted.get("accepted"),
                "accepted_version": accepted.get("version"), "version": version,
                "added": added, "removed": removed}
    catalogued = {field["name"] for section in framework.field_catalogue() for field in section["fields"]}
    if not catalogued:
        return None
    unknown = {section: sorted(set(names) - catalogued) for section, names in sets.items()}
    unknown = {section: names for section, names in unknown.items() if names}
    if not unknown:
        return None
    return {"against": "catalogue", "accepted": None, "accepted_version": None, "version": version,
            "added": unknown, "removed": {}}


def describe(change, title, subject=None):
    """One line for a change, as preview and status print it; ``subject`` replaces
    "<title> <version>" as what the sentence is about."""
    def listing(by_section):
        return "; ".join("%s: %s" % (section, ", ".join(names)) for section, names in sorted(by_section.items()))

    who = subject or ("%s %s" % (title, change["version"]) if change.get("version") else title)
    if change["against"] == "catalogue":
        return ("%s sends fields usagectl's catalogue doesn't know (%s): read what they hold before "
                "you allow it" % (who, listing(change["added"])))
    parts = []
    if change["added"]:
        parts.append("adds %s" % listing(change["added"]))
    if change["removed"]:
        parts.append("drops %s" % listing(change["removed"]))
    return ("%s %s, compared with the fields you accepted on %s (%s %s); `usagectl preview --accept` "
            "accepts them" % (who, " and ".join(parts), change.get("accepted") or "?", title,
                              change.get("accepted_version") or "?"))


def check_sent(env, report, rows):
    """Status: the newest report each framework sent, against the field sets the user
    accepted. Only once something was accepted (else this costs status nothing)."""
    from usagectl import frameworks as registry

    known, problem = read(env)
    if problem:
        report.warn(problem)
    if not known:
        return
    from usagectl.records import collect

    for row in rows:
        adapter = registry.get(row["framework"])
        if adapter is None or row["framework"] not in known or not registry.has(adapter, "body_fields"):
            continue
        found, _skipped = collect.collect(env, [adapter.name], limit=1)
        payloads = found[adapter.name]["payloads"]
        got = adapter.body_fields(payloads[0]) if payloads else None
        change = changes(adapter, {got[0]: got[1]}, None, known) if got else None
        if change and change["against"] == "accepted":
            row["field_changes"] = change
            subject = "its last report (%s)" % (payloads[0].source_file or payloads[0].origin)
            report.warn("%s: FIELDS CHANGED: %s" % (adapter.name, describe(change, adapter.title, subject)))


def _now():
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
