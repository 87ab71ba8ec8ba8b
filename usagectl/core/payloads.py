"""The Payload record: one message a framework sent, tried to send, or logged.

``body`` holds the bytes exactly as they went (or would have gone) on the wire.
``outcome`` never claims more than the source proves: Parsl logs a message before
sending it, so a logged message is "logged-not-known-sent", not "sent". ``delivery``
says whether the server received the bytes (usagectl.core.delivery): a report Ray calls
"failed" because the server answered 500 was delivered all the same.
"""

import base64
import datetime

SENT = "sent"
FAILED = "failed"
LOGGED_NOT_KNOWN_SENT = "logged-not-known-sent"
DISABLED_PING = "disabled-ping"
OUTCOMES = (SENT, FAILED, LOGGED_NOT_KNOWN_SENT, DISABLED_PING)

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class Payload:
    __slots__ = ("framework", "when", "destination", "outcome", "reason", "body", "kind",
                 "transport", "origin", "source_file", "source_line", "source_offset",
                 "identifiers", "notes", "delivery", "http_status")

    def __init__(self, framework, when, destination, outcome, body, reason=None, kind=None,
                 transport=None, origin=None, source_file=None, source_line=None,
                 source_offset=None, identifiers=None, notes=(), delivery=None, http_status=None):
        from usagectl.core import delivery as deliveries

        if outcome not in OUTCOMES:
            raise ValueError("unknown outcome %r" % (outcome,))
        if delivery is None:
            # What the outcome alone proves: a success is delivered; anything else, unknown.
            delivery = deliveries.DELIVERED if outcome == SENT else deliveries.UNKNOWN
        if delivery not in deliveries.STATES:
            raise ValueError("unknown delivery %r" % (delivery,))
        self.delivery = delivery
        self.http_status = http_status
        self.framework = framework
        self.when = when                # aware datetime, or None when unknown
        self.destination = destination
        self.outcome = outcome
        self.reason = reason            # why it failed, when it did
        self.body = body                # bytes, or None when the source kept no body
        self.kind = kind                # "report", "start", "end", "disabled-ping", ...
        self.transport = transport      # "http-post", "udp", ...
        self.origin = origin            # "usage_stats.json", "parsl.log", "parsl.jsonlog", "ledger"
        self.source_file = source_file
        self.source_line = source_line  # 1-based, None when the file was not read from its start
        self.source_offset = source_offset
        self.identifiers = dict(identifiers or {})
        self.notes = list(notes)

    def sort_key(self):
        return self.when or _EPOCH

    def __repr__(self):
        return "Payload(%r, %r, %r, %r)" % (self.framework, self.when, self.outcome, self.origin)

    def as_dict(self):
        """The JSON form: the body as text, plus base64 when it is not valid UTF-8."""
        body_text = body_b64 = None
        if self.body is not None:
            try:
                body_text = self.body.decode("utf-8")
            except UnicodeDecodeError:
                body_b64 = base64.b64encode(self.body).decode("ascii")
        return {
            "framework": self.framework,
            "when": iso(self.when),
            "destination": self.destination,
            "outcome": self.outcome,
            "delivery": self.delivery,
            "http_status": self.http_status,
            "reason": self.reason,
            "kind": self.kind,
            "transport": self.transport,
            "body": body_text,
            "body_base64": body_b64,
            "body_length": None if self.body is None else len(self.body),
            "origin": self.origin,
            "source": {"file": self.source_file, "line": self.source_line,
                       "offset": self.source_offset},
            "identifiers": self.identifiers,
            "notes": self.notes,
        }


def iso(when):
    if when is None:
        return None
    text = when.astimezone(datetime.timezone.utc).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def from_epoch(seconds):
    try:
        return datetime.datetime.fromtimestamp(float(seconds), datetime.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


class Skipped:
    """A file we did not read, and why (shown as a warning)."""

    __slots__ = ("path", "reason")

    def __init__(self, path, reason):
        self.path = path
        self.reason = reason

    def __repr__(self):
        return "Skipped(%r, %r)" % (self.path, self.reason)
