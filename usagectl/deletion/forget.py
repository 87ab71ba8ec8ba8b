"""`usagectl forget`: after a deletion request, remove what links future reports to past ones.

Two kinds of thing go: the framework's own resettable identifier files (each framework
says which, ``Framework.forgettable``: Bacalhau's installation_id), and usagectl's own
local copies for that framework (its lines in the sent ledger and the places file, and
its accepted field sets and the identifiers it captured), so a later opt-in starts fresh, as Go's `gotelemetry clean`
does. What can't be reset is said plainly. The deletion receipts stay: they are the
proof that a request was made.

An identifier that no recorded deletion request names would be lost to a later request,
so forget refuses while there is one (``--force`` overrides); nothing is removed
without being shown first (``--dry-run`` shows only).
"""

import os

from usagectl import _files, _ledger
from usagectl import frameworks as registry
from usagectl.core.errors import BadInput


def plan(env, names):
    """[{framework, remove: [{kind, path, how}], kept: [{kind, how}], ledger_lines,
    place_lines, captured_lines, known_fields, unrequested: [{kind, value}]}] for each framework."""
    from usagectl.deletion import captured, identifiers, ledger
    from usagectl.preview import fieldsets

    found = identifiers.gather(env, names)
    requested = {}
    for record in ledger.Ledger(env).load_all():
        for item in record.get("identifiers") or ():
            requested.setdefault(record.get("framework"), set()).add(item.get("value"))
    known, _problem = fieldsets.read(env)
    plans = []
    for name in names:
        framework = registry.get(name)
        items = framework.forgettable(env) if framework is not None else []
        remove = [dict(i) for i in items if i["resettable"] and i.get("path") and os.path.lexists(i["path"])]
        kept = [{"kind": i["kind"], "how": i["how"]} for i in items if not i["resettable"]]
        unrequested = [{"kind": i.kind, "value": i.value} for i in found[name].identifiers
                       if i.value not in requested.get(name, set())]
        plans.append({"framework": name, "remove": remove, "kept": kept,
                      "ledger_lines": _count(_ledger.ledger_path(env.environ), name),
                      "place_lines": _count(_ledger.places_path(env.environ), name),
                      "captured_lines": _count(captured.path(env), name),
                      "known_fields": name in known, "unrequested": unrequested})
    return plans


def _count(path, name):
    import json

    total = 0
    for file_path in _ledger.rotated_paths(path) + [path]:
        try:
            with _files.open_regular(file_path) as handle:
                for raw in handle:
                    try:
                        entry = json.loads(raw)
                    except (ValueError, RecursionError):
                        continue
                    total += isinstance(entry, dict) and entry.get("framework") == name
        except OSError:
            continue
    return total


def has_work(item):
    return bool(item["remove"] or item["ledger_lines"] or item["place_lines"] or item["captured_lines"]
                or item["known_fields"])


def run(env, report, names, dry_run=False, yes=False, force=False, confirm=None, show=None):
    """Plan, show, check, confirm and forget. Returns the frameworks forgotten."""
    names = names or list(registry.names())
    plans = plan(env, names)
    report.data = {"dry_run": dry_run, "frameworks": plans}
    if show:
        show(plans)
    work = [p for p in plans if has_work(p)]
    if dry_run or not work:
        return []
    blocked = [p for p in work if p["unrequested"]]
    if blocked and not force:
        for item in blocked:
            report.warn("%s: %d identifier(s) no recorded deletion request names (%s): forgetting them "
                        "would leave nothing to ask with; run `usagectl request-deletion %s` first, or "
                        "pass --force" % (item["framework"], len(item["unrequested"]),
                                          ", ".join(i["kind"] for i in item["unrequested"]), item["framework"]))
        report.exit_code = 1
        work = [p for p in work if not p["unrequested"]]
        if not work:
            return []
    if not yes and not (confirm and confirm("Forget these for %s?" % ", ".join(p["framework"] for p in work))):
        raise BadInput("not confirmed: nothing was removed", hint="pass --yes to forget without asking")
    done = []
    for item in work:
        _forget(env, item)
        done.append(item["framework"])
    report.data["forgotten"] = done
    return done


def _forget(env, item):
    from usagectl.preview import fieldsets

    name = item["framework"]
    for entry in item["remove"]:
        try:
            os.unlink(entry["path"])  # a link is removed, never its target
            entry["removed"] = True
        except FileNotFoundError:
            entry["removed"] = True
        except OSError as exc:
            entry["removed"] = False
            entry["error"] = exc.strerror or str(exc)
    item["ledger_removed"] = _ledger.drop_lines(_ledger.ledger_path(env.environ),
                                                lambda e: e.get("framework") == name)
    item["places_removed"] = _ledger.drop_lines(_ledger.places_path(env.environ),
                                                lambda e: e.get("framework") == name)
    from usagectl.deletion import captured

    item["captured_removed"] = _ledger.drop_lines(captured.path(env), lambda e: e.get("framework") == name)
    if item["known_fields"]:
        fieldsets.forget(env, name)
