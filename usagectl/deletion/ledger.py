"""The deletion-request ledger: one JSON file per request, written before any send.

Layout: ``<state dir>/deletion/requests/<request id>.json``, each replaced atomically
(temp file, fsync, rename, fsync of the directory) under one sidecar lock, so a crash
leaves either the old record or the new one. A record holds what was asked, of whom,
and what happened; it never holds a password or a token.

Status: ``pending`` (recorded, not known to be delivered) -> ``sent`` (the server
accepted it: its reply or Message-ID is kept) or ``failed`` (with the reason).
``written`` (an .eml/.json left for the user to send) and ``shown`` (a mailto: URL
printed) are honest about what usagectl did: the request has not been sent by us.
Every status but ``sent`` is resent with the same request id, hence the same
Message-ID and Idempotency-Key.
"""

import json
import os
import uuid

from usagectl import _files
from usagectl.core import fsutil

SCHEMA = 1
PENDING, SENT, FAILED, WRITTEN, SHOWN = "pending", "sent", "failed", "written", "shown"
STATUSES = (PENDING, SENT, FAILED, WRITTEN, SHOWN)
#: Keys a record may hold; anything else is dropped before writing, so a stray secret
#: can never be persisted by accident.
_KEYS = ("schema", "id", "framework", "created", "updated", "status", "via", "target",
         "identifiers", "subject", "body", "date", "message_id", "idempotency_key", "attempts",
         "response", "reason", "events")


def _iso(when):
    text = when.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def idempotency_key(request_id):
    return "usagectl-deletion-" + request_id


def message_id(request_id, domain):
    return "<usagectl-deletion-%s@%s>" % (request_id, domain)


class Ledger:
    def __init__(self, env):
        self.env = env
        self.directory = os.path.join(env.state_dir, "deletion", "requests")
        self.problems = []

    def lock(self, timeout=10.0):
        """Held for a whole send, so two runs can never deliver the same request twice."""
        return fsutil.locked(os.path.join(self.directory, "..", "ledger"), timeout=timeout)

    def path_of(self, request_id):
        return os.path.join(self.directory, request_id + ".json")

    def load_all(self):
        """Every readable record, oldest first. Damaged files are named in ``problems``."""
        self.problems = []
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return []
        records = []
        for name in names:
            if not name.endswith(".json") or name.startswith("."):
                continue
            path = os.path.join(self.directory, name)
            try:
                record = json.loads(_files.read_regular(path, 1 << 20).decode("utf-8"))
                if not isinstance(record, dict) or record.get("status") not in STATUSES:
                    raise ValueError("not a deletion request record")
            except (OSError, ValueError, RecursionError) as exc:
                self.problems.append("%s: cannot read it (%s); left alone" % (path, exc))
                continue
            records.append(record)
        records.sort(key=lambda r: (r.get("created") or "", r.get("id") or ""))
        return records

    def get(self, request_id):
        for record in self.load_all():
            if record.get("id") == request_id:
                return record
        return None

    def new_record(self, framework, target, identifiers, subject, body, domain):
        request_id = uuid.uuid4().hex
        now = self.env.now()
        from email.utils import format_datetime

        return {
            "schema": SCHEMA,
            "id": request_id,
            "framework": framework,
            "created": _iso(now),
            "updated": _iso(now),
            "status": PENDING,
            "via": None,
            "target": dict(target),
            "identifiers": [{"kind": i["kind"], "value": i["value"]} for i in identifiers],
            "subject": subject,
            "body": body,
            "date": format_datetime(now),
            "message_id": message_id(request_id, domain),
            "idempotency_key": idempotency_key(request_id),
            "attempts": 0,
            "response": None,
            "reason": None,
            "events": [],
        }

    def save(self, record, status=None, via=None, detail=None, **fields):
        """Record a status change (with an event) and write the file durably."""
        now = _iso(self.env.now())
        if status is not None:
            record["status"] = status
            record["events"].append({"at": now, "status": status, "via": via, "detail": detail})
        if via is not None:
            record["via"] = via
        record.update(fields)
        record["updated"] = now
        clean = {key: record.get(key) for key in _KEYS}
        data = json.dumps(clean, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
        fsutil.ensure_private_dir(self.directory)
        fsutil.remove_stale_temps(self.directory)  # any record's, left by a killed run
        fsutil.atomic_write(self.path_of(record["id"]), data, follow=False)
        return record


def summary(record):
    """The record as shown by --status and in --json (it holds no secret to strip)."""
    return {
        "id": record.get("id"),
        "framework": record.get("framework"),
        "status": record.get("status"),
        "via": record.get("via"),
        "target": record.get("target"),
        "created": record.get("created"),
        "updated": record.get("updated"),
        "identifiers": record.get("identifiers"),
        "message_id": record.get("message_id"),
        "idempotency_key": record.get("idempotency_key"),
        "attempts": record.get("attempts"),
        "response": record.get("response"),
        "reason": record.get("reason"),
    }
