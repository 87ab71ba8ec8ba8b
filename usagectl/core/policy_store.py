"""Writing the system policy (`usagectl --system enable|disable|local|reset`).

The same discipline as the consent file (core/store.py): a lock on the sidecar, an
atomic replace, comments and unknown keys kept, the file sealed, and bytes parsed back
before they replace anything. The policy is read by every user, so it is 0644 in a 0755
directory; a damaged policy is never overwritten without --repair (which keeps a copy).
"""

from __future__ import annotations

import os

from usagectl import consent
from usagectl.core.errors import ConsentDamaged, UsagectlError

HEADER = (
    consent.SEALED_PREFIX + ": the system policy (docs/consent-file.md).",
    "# Ceilings every user of this machine is held to: a user may choose less, never more.",
    "# Written by `usagectl --system`; hand edits are fine. Keep the last line last.",
)


def _new_document():
    import tomlkit

    doc = tomlkit.document()
    doc["schema"] = consent.SCHEMA_VERSION
    return doc


def _sealed(text):
    from usagectl.core import store

    if not text.startswith(consent.SEALED_PREFIX):
        # A new or hand-written policy gets the policy's own header with the seal.
        text = "\n".join(HEADER) + "\n" + text
    return store.seal(text)


#: Every change `usagectl --system` makes to the policy, one JSON line each (readable by
#: every user, as the policy is): `usagectl --system history` shows it.
HISTORY_FILE = "/var/log/usagectl/policy-history.jsonl"


def history_path(env):
    from usagectl.core import system

    return system.system_path(env, HISTORY_FILE)


def set_ceilings(tree, location, targets, ceiling, level=None, message=None, repair=False, now=None, send=None,
                 history=None, command=None):
    """Set ``ceiling`` (off/local/on, with ``level``) on each target (None: the default
    entry); ``ceiling`` None removes the entry. ``send`` ({target: categories}) lets a
    local ceiling allow those. ``tree`` (core.rootfs.Tree) is the system root and
    ``location`` the policy's system path; each change is appended to ``history`` (a
    system path) under the same lock. The history is checked before the policy is
    replaced, so the two land together or not at all.
    -> [(target, old ceiling, new ceiling)]."""
    import tomlkit

    from usagectl.core import store

    path = tree.path(location)
    with tree.locked(location):
        try:
            data = tree.read(location, consent.MAX_FILE_BYTES)
        except OSError as exc:
            raise ConsentDamaged("cannot read the policy file %s: %s" % (path, exc.strerror or exc),
                                 hint="every framework is off for every user until it can be read", path=path)
        backup = None
        if data is None:
            doc = _new_document()
        else:
            snapshot = consent.parse_policy(data, path)
            if snapshot.problem:
                if not repair:
                    raise ConsentDamaged("the policy file can't be trusted: %s" % snapshot.problem,
                                         hint="every framework is off for every user; fix it by hand, or add "
                                              "--repair to keep a copy and start a fresh policy",
                                         path=path, line=snapshot.problem.line)
                when = (now or store.utc_now()).strftime("%Y%m%dT%H%M%SZ")
                backup_location = "%s.damaged-%s" % (location, when)
                tree.write(backup_location, data, 0o600)
                backup = tree.path(backup_location)
                doc = _new_document()
                doc["default"] = {"ceiling": "off"}
            else:
                doc = tomlkit.parse(data.decode("utf-8"))
        changes = []
        before = {target: _state(doc, target) for target in targets}
        for target in targets:
            changes.append(_apply(doc, target, ceiling, level, message, (send or {}).get(target)))
        out = _sealed(tomlkit.dumps(doc)).encode("utf-8")
        check = consent.parse_policy(out, path)
        if check.problem:
            raise UsagectlError("refusing to write a policy that would not parse: %s" % check.problem)
        if out != data:
            # The consent history's record shape (store.Change), for each entry that moved.
            moved = [store.Change(t, *_pair(before[t], _state(doc, t))) for t in targets
                     if _state(doc, t) != before[t]]
            records = store.history_records(moved, command, now or store.utc_now(), backup)
            if history and records:
                tree.check_appendable(history)
            tree.write(location, out, 0o644)
            if history and records:
                _record(tree, history, records)
        return changes, backup


def _state(doc, target):
    """(ceiling, level, send) of one entry as the document says now (None: no entry)."""
    table = doc.get("default") if target is None else (doc.get("frameworks") or {}).get(target)
    if table is None:
        return None
    send = table.get("send")
    return (table.get("ceiling"), table.get("level"), tuple(send) if send is not None else None)


def _pair(old, new):
    """store.Change's arguments after the target: old/new mode and level, then old/new send."""
    old, new = old or (None, None, None), new or ("unset", None, None)
    return old[0], old[1], new[0], new[1], old[2], new[2]


def _record(tree, history, records):
    """Append one policy write's history lines, naming who ran it (the sudo user if any)."""
    import getpass
    import json

    user = os.environ.get("SUDO_USER") or getpass.getuser()
    tree.append(history, [json.dumps(dict(r, user=user), sort_keys=True).encode("utf-8") for r in records],
                mode=0o644)


def _apply(doc, target, ceiling, level, message, send=None):
    import tomlkit

    if target is None:
        table = doc.get("default")
        old = table.get("ceiling") if table is not None else None
        if ceiling is None:
            doc.pop("default", None)
            return (None, old, None)
        if table is None:
            table = doc["default"] = tomlkit.table()
    else:
        frameworks = doc.get("frameworks")
        table = frameworks.get(target) if frameworks is not None else None
        old = table.get("ceiling") if table is not None else None
        if ceiling is None:
            if table is not None:
                frameworks.pop(target)
            return (target, old, None)
        if frameworks is None:
            frameworks = doc["frameworks"] = tomlkit.table(is_super_table=True)
        if table is None:
            table = frameworks[target] = tomlkit.table()
    table["ceiling"] = ceiling
    if level is None:
        table.pop("level", None)
    else:
        table["level"] = level
    if send is None or ceiling != "local":
        table.pop("send", None)
    else:
        table["send"] = list(send)
    if message:
        table["message"] = message
    return (target, old, ceiling)
