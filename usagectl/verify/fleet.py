"""Many machines' `usagectl verify --json` envelopes as one table (`usagectl fleet`).

Each envelope is one host's verdict. One that can't be read is a row of its own, never a
reason to drop the others, and never a pass: a host that sent nothing is unknown.
"""

from __future__ import annotations

import json
import os

from usagectl.core.exitcodes import ExitCode

#: The most an envelope may be: verify's are kilobytes.
MAX_ENVELOPE_BYTES = 16 << 20

VERDICTS = ("pass", "fail", "unknown", "damaged", "unreadable")


def _verdict(envelope):
    code = envelope.get("exit_code")
    data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
    if envelope.get("command") != "verify" or not isinstance(code, int) or "checks" not in data:
        return "unreadable", "not a `usagectl verify --json` envelope"
    if code == ExitCode.OK and data.get("ok") is True:
        return "pass", None
    if code == ExitCode.VERIFY_FAILED:
        return "fail", None
    if code == ExitCode.CONSENT_DAMAGED:
        return "damaged", "the consent or policy file is damaged: every framework off, unverified"
    if code == ExitCode.VERIFY_UNKNOWN:
        return "unknown", None
    error = envelope.get("error") or {}
    return "unknown", str(error.get("message") or "verify ended with exit %d" % code)


def row_for(source, envelope):
    """One host's row from its envelope (a dict) read from ``source``."""
    verdict, note = _verdict(envelope)
    data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
    checks = [c for c in data.get("checks") or [] if isinstance(c, dict)]
    machine = data.get("host") if isinstance(data.get("host"), str) and data.get("host") else None
    failing = ["%s %s" % (c.get("framework"), c.get("check")) for c in checks if c.get("status") == "fail"]
    unknown = ["%s %s" % (c.get("framework"), c.get("check")) for c in checks if c.get("status") == "unknown"]
    # The name the collector gave the file (the Ansible role: inventory host and user), and
    # the machine's own name from the envelope.
    return {"host": _stem(source), "machine": machine, "source": source, "verdict": verdict,
            "exit_code": envelope.get("exit_code"), "version": envelope.get("version"),
            "failing": failing, "unknown": unknown, "note": note}


def _stem(source):
    name = os.path.basename(source)
    return name[:-5] if name.endswith(".json") else name


def unreadable(source, why):
    return {"host": _stem(source), "machine": None, "source": source, "verdict": "unreadable", "exit_code": None,
            "version": None, "failing": [], "unknown": [], "note": why}


def envelope_files(paths):
    """The files named, and the *.json files in the directories named, sorted."""
    found = []
    for path in paths:
        if os.path.isdir(path):
            found.extend(os.path.join(path, n) for n in sorted(os.listdir(path)) if n.endswith(".json"))
        else:
            found.append(path)
    return found


def read_rows(paths):
    from usagectl import _files

    rows = []
    for path in envelope_files(paths):
        try:
            data = _files.read_regular(path, MAX_ENVELOPE_BYTES)
        except (OSError, ValueError) as exc:
            rows.append(unreadable(path, "cannot read it (%s)" % (getattr(exc, "strerror", None) or exc)))
            continue
        try:
            envelope = json.loads(data)
        except (ValueError, RecursionError):
            rows.append(unreadable(path, "not JSON"))
            continue
        if not isinstance(envelope, dict):
            rows.append(unreadable(path, "not a `usagectl verify --json` envelope"))
            continue
        rows.append(row_for(path, envelope))
    return rows


def exit_code(rows, allow_unknown=False):
    """5 when a host failed; else 7 when one is unknown, damaged or unreadable (unknown
    is never a pass); else 0."""
    verdicts = {r["verdict"] for r in rows}
    if "fail" in verdicts:
        return ExitCode.VERIFY_FAILED
    if verdicts - {"pass"} and not allow_unknown:
        return ExitCode.VERIFY_UNKNOWN
    if not rows and not allow_unknown:
        return ExitCode.VERIFY_UNKNOWN
    return ExitCode.OK
