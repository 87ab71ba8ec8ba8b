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


#: What a check's status may be (verify's words).
STATUSES = ("pass", "fail", "warn", "skip", "unknown")


def malformed(envelope):
    """Why ``envelope`` is not a `usagectl verify --json` envelope, or None.

    The rules of docs/schemas/verify-envelope.schema.json, checked by hand (the tests check
    real envelopes against the schema file itself): another host's file is data, so any
    value of a wrong type makes the row unreadable, never an exception.
    """
    if envelope.get("command") != "verify":
        return "not a `usagectl verify --json` envelope"
    code = envelope.get("exit_code")
    if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= 255:
        return "exit_code is not an exit status"
    if not isinstance(envelope.get("ok"), bool):
        return "ok is not true or false"
    error = envelope.get("error")
    if error is not None and not (isinstance(error, dict) and isinstance(error.get("message"), str)):
        return "error is neither null nor an error object"
    data = envelope.get("data")
    if data is None:
        return None if error is not None else "no data and no error"
    if not isinstance(data, dict):
        return "data is not an object"
    if "host" in data and not isinstance(data["host"], str):
        return "data.host is not a string"
    checks = data.get("checks")
    if not isinstance(checks, list):
        return "data.checks is not a list"
    for index, check in enumerate(checks):
        if not isinstance(check, dict):
            return "data.checks[%d] is not an object" % index
        for key in ("framework", "check"):
            if not isinstance(check.get(key), str):
                return "data.checks[%d].%s is not a string" % (index, key)
        if check.get("status") not in STATUSES:
            return "data.checks[%d].status is not one of %s" % (index, ", ".join(STATUSES))
    return None


def _verdict(envelope):
    problem = malformed(envelope)
    if problem:
        return "unreadable", problem
    code = envelope["exit_code"]
    data = envelope.get("data") or {}
    checks = data.get("checks") or []
    # A host's own checks outrank its exit code: a failing check fails the host whatever
    # exit_code says, and an exit code of 0 beside unknown checks is not a pass.
    if code == ExitCode.VERIFY_FAILED or any(c["status"] == "fail" for c in checks):
        return "fail", None if code == ExitCode.VERIFY_FAILED else "a check failed, though exit_code is %d" % code
    if code == ExitCode.CONSENT_DAMAGED:
        return "damaged", "the consent or policy file is damaged: every framework off, unverified"
    if code == ExitCode.VERIFY_UNKNOWN or any(c["status"] == "unknown" for c in checks):
        return "unknown", None
    if code == ExitCode.OK and data.get("ok") is True and envelope.get("error") is None:
        return "pass", None
    error = envelope.get("error") or {}
    return "unknown", error.get("message") or "verify ended with exit %d" % code


def row_for(source, envelope):
    """One host's row from its envelope (a dict) read from ``source``."""
    verdict, note = _verdict(envelope)
    data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
    checks = [c for c in data.get("checks") or [] if isinstance(c, dict)] if verdict != "unreadable" else []
    machine = data.get("host") if isinstance(data.get("host"), str) and data.get("host") else None
    failing = ["%s %s" % (c.get("framework"), c.get("check")) for c in checks if c.get("status") == "fail"]
    unknown = ["%s %s" % (c.get("framework"), c.get("check")) for c in checks if c.get("status") == "unknown"]
    version = envelope.get("version")
    # The name the collector gave the file (the Ansible role: inventory host and user), and
    # the machine's own name from the envelope.
    return {"host": _stem(source), "machine": machine, "source": source, "verdict": verdict,
            "exit_code": envelope.get("exit_code") if verdict != "unreadable" else None,
            "version": version if isinstance(version, str) else None,
            "failing": failing, "unknown": unknown, "note": note}


def _stem(source):
    name = os.path.basename(source)
    return name[:-5] if name.endswith(".json") else name


def unreadable(source, why):
    return {"host": _stem(source), "machine": None, "source": source, "verdict": "unreadable", "exit_code": None,
            "version": None, "failing": [], "unknown": [], "note": why}


def envelope_files(paths):
    """(files, rows): the files named and the *.json files in the directories named,
    sorted; and an unreadable row for each directory that can't be listed or holds none."""
    found, rows = [], []
    for path in paths:
        if os.path.isdir(path):
            try:
                names = sorted(n for n in os.listdir(path) if n.endswith(".json"))
            except OSError as exc:
                rows.append(unreadable(path, "cannot list it (%s)" % (exc.strerror or exc)))
                continue
            if not names:
                rows.append(unreadable(path, "holds no *.json envelopes"))
            found.extend(os.path.join(path, n) for n in names)
        else:
            found.append(path)
    return found, rows


def read_rows(paths):
    """One row per envelope, in the order named; any bytes give a row."""
    from usagectl import _files

    files, rows = envelope_files(paths)
    for path in files:
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
