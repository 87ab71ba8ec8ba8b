"""Writing the system policy (`usagectl --system enable|disable|local|reset`).

The same discipline as the consent file (core/store.py): a lock on the sidecar, an
atomic replace, comments and unknown keys kept, the file sealed, and bytes parsed back
before they replace anything. The policy is read by every user, so it is 0644 in a 0755
directory; a damaged policy is never overwritten without --repair (which keeps a copy).
"""

from __future__ import annotations

import os

from usagectl import consent
from usagectl.core import fsutil
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


def set_ceilings(path, targets, ceiling, level=None, message=None, repair=False, now=None, send=None):
    """Set ``ceiling`` (off/local/on, with ``level``) on each target (None: the default
    entry); ``ceiling`` None removes the entry. ``send`` ({target: categories}) lets a
    local ceiling allow those. -> [(target, old ceiling, new ceiling)]."""
    import tomlkit

    from usagectl.core import store

    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o755, exist_ok=True)
    with fsutil.locked(path):
        data = store.read_existing(path, "the policy file")
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
                backup = fsutil.backup_copy(path, data, now or store.utc_now())
                doc = _new_document()
                doc["default"] = {"ceiling": "off"}
            else:
                doc = tomlkit.parse(data.decode("utf-8"))
        changes = []
        for target in targets:
            changes.append(_apply(doc, target, ceiling, level, message, (send or {}).get(target)))
        out = _sealed(tomlkit.dumps(doc)).encode("utf-8")
        check = consent.parse_policy(out, path)
        if check.problem:
            raise UsagectlError("refusing to write a policy that would not parse: %s" % check.problem)
        if out != data:
            fsutil.atomic_write(path, out, new_mode=0o644)
        return changes, backup


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
