"""The deletion request itself, built only from what the ledger records.

The subject, body, date and Message-ID are fixed when the request is recorded, so a
resend (after a crash or a failure) carries exactly the same message and the same
Message-ID / Idempotency-Key, and the recipient can tell it is one request.
"""

import json
from email.message import EmailMessage
from urllib.parse import quote


def title(framework):
    from usagectl import frameworks

    found = frameworks.get(framework)
    return found.title if found is not None else framework


def _label(framework, kind):
    from usagectl import frameworks

    found = frameworks.get(framework)
    return (found.identifier_labels if found is not None else {}).get(kind, kind)


def subject_for(framework):
    return "Request to delete %s usage statistics data" % title(framework)


def _holds(framework):
    from usagectl import frameworks

    found = frameworks.get(framework)
    return getattr(found, "deletion_holds", "") if found is not None else ""


def body_for(framework, identifiers):
    import textwrap

    lines = [
        "Hello,",
        "",
        "Please delete all usage statistics / telemetry data you hold that was collected from",
        "my use of %s and is linked to the identifiers below, and confirm the deletion by" % title(framework),
        "replying to this message.",
        "",
    ]
    holds = _holds(framework)
    if holds:
        lines += textwrap.wrap("This includes %s." % holds, width=88) + [""]
    for item in identifiers:
        lines.append("  %s: %s" % (_label(framework, item["kind"]), item["value"]))
    lines += [
        "",
        "Thank you.",
        "",
        "(Sent with usagectl request-deletion. The identifiers were read from local files on my",
        "machine; this message has no other data about me.)",
    ]
    return "\n".join(lines) + "\n"


def email_message(record, sender=None):
    """The exact e-mail for ``record`` (From is the configured sender, when there is one)."""
    message = EmailMessage()
    if sender:
        message["From"] = sender
    message["To"] = record["target"]["email"]
    message["Subject"] = record["subject"]
    message["Date"] = record["date"]
    message["Message-ID"] = record["message_id"]
    message["X-Usagectl-Request-Id"] = record["id"]
    # Plain 7bit keeps the identifiers readable in the raw message (no quoted-printable
    # soft breaks inside a 56-character id); non-ASCII text falls back to quoted-printable.
    body = record["body"]
    message.set_content(body, cte="7bit" if body.isascii() else "quoted-printable")
    return message


def email_bytes(record, sender=None):
    from email import policy

    # No header folding (RFC 5322 allows 998 characters): a folded Message-ID reads back
    # with a leading space in some parsers, and it must compare equal on every resend.
    return email_message(record, sender).as_bytes(policy=policy.SMTP.clone(max_line_length=998))


def json_payload(record):
    """The body POSTed (or written) for an HTTPS channel."""
    identifiers = {}
    for item in record["identifiers"]:
        identifiers.setdefault(item["kind"], []).append(item["value"])
    return {
        "type": "usage-data-deletion-request",
        "request_id": record["id"],
        "framework": record["framework"],
        "requested_at": record["created"],
        "identifiers": identifiers,
        "message": record["body"],
    }


def json_bytes(record):
    return json.dumps(json_payload(record), indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def mailto_url(record):
    """A mailto: URL (RFC 6068): every part percent-encoded, so nothing can break out of it."""
    return "mailto:%s?subject=%s&body=%s" % (
        quote(record["target"]["email"], safe="@"),
        quote(record["subject"], safe=""),
        quote(record["body"].replace("\n", "\r\n"), safe=""),
    )


def preview(record, via, sender=None):
    """The exact text a user is shown before anything leaves the machine."""
    if via in ("email", "mailto") or (via == "file" and record["target"].get("email")):
        return email_bytes(record, sender).decode("utf-8", "replace").replace("\r\n", "\n")
    return "POST %s\nIdempotency-Key: %s\nContent-Type: application/json\n\n%s" % (
        record["target"]["url"], record["idempotency_key"], json_bytes(record).decode("utf-8"))
