"""Human view of payloads for `usagectl show-last`.

Payload text is untrusted: every line goes through sanitize.safe_text, so no ANSI,
CSI, OSC, C1 or bidi character from a payload reaches the terminal; they appear as
visible escapes. We write plain text (no rich), so markup like ``[red]`` is shown
as the literal characters it is.
"""

import json

from usagectl import frameworks as registry
from usagectl.core.sanitize import safe_bytes, safe_text

OUTCOME_WORDS = {
    "sent": "sent",
    "failed": "FAILED",
    "logged-not-known-sent": "logged, not known to be sent",
    "disabled-ping": "disabled ping",
}


def outcome_words(d):
    """What happened, and whether the server received it: "failed" is never "not sent"
    unless the error shows it failed before the request was written."""
    from usagectl.core.delivery import describe

    words = OUTCOME_WORDS.get(d["outcome"], safe_text(d["outcome"]))
    return "%s, %s" % (words, describe(d.get("delivery"), d.get("http_status")))


def when_text(iso):
    from usagectl.output.views import when

    return when(iso, seconds=True, unknown="time unknown")


def pretty_body(payload):
    """The body as display lines: JSON pretty-printed when it is JSON, else escaped text."""
    body = payload.body
    if body is None:
        return ["(the body was not recorded)"]
    prefix = b""
    framework = registry.get(payload.framework)
    shown = framework.display_body(payload) if framework is not None else None
    if shown is not None and body.endswith(shown):
        # A transport prefix before the data (Parsl's b"1"): name it, then show the rest.
        prefix, body = body[:len(body) - len(shown)], shown
    try:
        value = json.loads(body)
        text = json.dumps(value, indent=2, ensure_ascii=False)
        lines = [safe_text(line) for line in text.split("\n")]
    except (ValueError, RecursionError):
        lines = safe_bytes(body).split("\n")
    if prefix:
        lines.insert(0, "%s  <- protocol byte; JSON follows" % safe_text(prefix.decode("latin-1")))
    return lines


def payload_lines(payload, index=None):
    d = payload.as_dict()
    head = "%s  %s  %s" % (safe_text(d["framework"]), when_text(d["when"]), outcome_words(d))
    if d["reason"]:
        head += ": " + safe_text(d["reason"])
    lines = ["-- " + head]
    via = " (%s)" % safe_text(d["transport"]) if d["transport"] else ""
    lines.append("   to:      %s%s" % (safe_text(d["destination"] or "unknown"), via))
    ids = d["identifiers"]
    if "session_id" in ids:
        lines.append("   session: %s  (needed for a deletion request)" % safe_text(ids["session_id"]))
    for key in ("session_dir", "seq_number", "correlator", "project_name", "run_dir"):
        if key in ids:
            lines.append("   %-8s %s" % (key.replace("_", " ") + ":", safe_text(ids[key])))
    source = d["source"]
    if source["file"]:
        where = safe_text(source["file"])
        if source["line"]:
            where += " line %d" % source["line"]
        elif source["offset"] is not None:
            where += " at byte %d" % source["offset"]
        lines.append("   from:    %s (%s)" % (where, safe_text(d["origin"])))
    for note in d["notes"]:
        lines.append("   note:    %s" % safe_text(note))
    size = "%d bytes" % d["body_length"] if d["body_length"] is not None else "no body"
    lines.append("   body (%s, pretty-printed; --raw gives the exact bytes):" % size)
    lines.extend("     " + line for line in pretty_body(payload))
    return lines


def framework_lines(entry):
    lines = ["%s:" % safe_text(entry["framework"])]
    if not entry["payloads"]:
        lines.append("   no payloads found")
    for payload in entry["payloads"]:
        lines.extend(payload_lines(payload))
    for note in entry["notes"]:
        lines.append("   %s" % safe_text(note))
    return lines


def show_last(env, report):
    if report.data.get("streamed"):
        return
    blocks = ["\n".join(framework_lines(entry)) for entry in report.view]
    env.stdout.write("\n\n".join(blocks) + "\n")
