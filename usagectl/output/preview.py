"""The human view of `usagectl preview`. Every payload-derived value goes through safe_text."""

import json

from usagectl import output
from usagectl.core.sanitize import safe_text

_SEND = {True: "yes", False: "no", None: "depends (see notes)"}


def _pretty(body):
    """JSON bodies pretty-printed (key order kept); anything else as it is."""
    prefix = ""
    text = body
    if body.startswith("1{"):  # Parsl's datagram: protocol byte b"1" + JSON
        prefix, text = "1", body[1:]
    try:
        return prefix, json.dumps(json.loads(text), indent=2)
    except (ValueError, RecursionError):
        return "", body


def _body_lines(console, body, body_base64, label="body"):
    if body is None and body_base64 is None:
        return
    if body is None:
        console.print("  %s (base64, not UTF-8): %s" % (label, body_base64))
        return
    prefix, text = _pretty(body)
    heading = "  %s (pretty-printed; --json has the exact bytes)" % label
    if prefix:
        heading += ", the datagram is b\"%s\" followed by this JSON" % prefix
    console.print(heading + ":")
    for line in text.splitlines():
        console.print("    " + safe_text(line))


def render(env, report):
    console = output.console(env)
    first = True
    for item in report.data["frameworks"]:
        if not first:
            console.print("")
        first = False
        _render_one(console, item)
    if report.data.get("accepted") is not None:
        console.print("")
        accepted = report.data["accepted"]
        console.print(safe_text("Accepted the field sets of %s (%s): preview and status will name what "
                                "changes." % (", ".join(accepted) or "no framework", report.data["accepted_file"])
                                if accepted else "No field sets to accept: no framework's own code built "
                                "its report here."))


def _render_one(console, item):
    intent = item["intent"]
    native = item.get("native") or {}
    p = lambda text: console.print(safe_text(text))  # noqa: E731
    sending = native.get("sending") if native.get("own_mode") == "on" else None
    # Under a send list, what leaves is some categories: "partly on", never plain on or off.
    partly = "partly on (%s)" % ", ".join(sending) if sending else None
    p("%s: %s" % (item["title"], partly if partly and item["effective"] in ("on", "off") else
                  {"on": "on", "off": "off"}.get(item["effective"], "unknown")))
    level = "" if intent.get("level") in (None, 0) else " (level <= %d)" % intent["level"]
    p("  consent intent: %s%s - %s" % (intent["mode"], level, intent["reason"]))
    p("  %s's own state: %s - %s" % (item["title"], partly or native.get("mode"), native.get("detail")))
    p("  preview based on: %s" % {"consent": "the consent intent",
                                  "native": "%s's own state (no choice in usagectl)" % item["title"],
                                  "consent+native": "both: the consent allows, %s's own state "
                                                    "decides" % item["title"]}[item["based_on"]])
    p("  will send: %s" % _SEND[item["will_send"]])
    if item.get("when"):
        p("  when: %s" % item["when"])
    if item.get("destination"):
        p("  to: %s (%s)" % (item["destination"], item.get("transport")))
    if item.get("session"):
        p("  session: %s" % item["session"]["dir"])
    if item.get("body") is not None or item.get("body_base64") is not None:
        p("  exact: %s" % ("yes, built by %s's own code" % item["title"] if item["exact"]
                           else "no, predicted by usagectl"))
    messages = item.get("messages")
    if messages:
        for message in messages:
            # A message without a level comes from a framework release that has none.
            name = "level %d" % message["level"] if message["level"] is not None else "no levels"
            label = "%s %s message" % (name, message.get("kind", "start"))
            _body_lines(console, message["body"], message["body_base64"], label=label)
            if message["body"] is None and message["body_base64"] is None:
                p("  %s: %s" % (label, message["content"]))
            flagged = [f for f in message.get("fields") or () if f.get("flags")]
            if flagged:
                p("    fields to look at: %s" % ", ".join(_field_words(f) for f in flagged))
    else:
        _body_lines(console, item.get("body"), item.get("body_base64"))
    if item.get("fields"):
        fields = item["fields"]
        if isinstance(fields, dict):
            p("  fields:")
            for name, meaning in fields.items():
                p("    %s: %s" % (name, "null" if meaning is None else meaning))
        else:
            p("  fields Ray will fill: %s" % ", ".join(fields))
    flagged = [f for f in item.get("field_catalogue") or () if f.get("flags")]
    if flagged:
        p("  fields to look at: %s" % ", ".join(_field_words(f) for f in flagged))
    if item.get("settings"):
        p("  every analytics setting (value, what it controls, where it was set):")
        for entry in item["settings"]:
            p("    %s = %s: %s, %s (%s)" % (entry["key"], json.dumps(entry["value"]), entry["controls"],
                                          entry["about"], entry["source"]))
    for entry in item.get("keys") or ():
        state = "unknown" if entry["leaves"] is None else ("data leaves" if entry["leaves"]
                                                           else "nothing leaves")
        if entry.get("category"):
            # The consent category it belongs to, and whether consent lets it through.
            state += " [%s%s]" % (entry["category"], ": consent %s" % (
                "allows it" if entry["consent"] == "allowed" else "holds it back") if entry.get("consent") else "")
        p("  %s = %s: %s (%s; read by %s)" % (entry["key"], json.dumps(entry["value"]), state,
                                              entry["data"], entry["read_by"]))
    posthog = item.get("posthog") or {}
    line = item.get("analytics_line")
    if item.get("events") and line != "posthog":
        p("  events%s (each an OTLP log record; fields from %s):" % (
            " of v1.6-1.7" if line is None else "", item.get("catalogue_source", "?")))
        for event in item["events"]:
            p("    %s, when %s:" % (event["type"], event["when"]))
            p("      %s" % ", ".join(_field_words(field) for field in event["properties"]))
    if posthog.get("events") and line != "otlp":
        p("  events%s (each a PostHog event; fields from %s):" % (
            " of v1.8 and later" if line is None else "", posthog.get("source", "?")))
        p("    every event: distinct_id %s, resource_attributes {%s}, and posthog-go's own %s" % (
            json.dumps(posthog.get("distinct_id")),
            ", ".join(_field_words(f) for f in posthog.get("resource_attribute_fields") or ()),
            ", ".join(f["name"] for f in posthog.get("library_properties") or ())))
        for event in posthog["events"]:
            p("    %s, when %s:" % (event["type"], event["when"]))
            p("      %s" % ", ".join(_field_words(field) for field in event["properties"]))
    if item.get("events") or posthog.get("events"):
        p("  flags: [id] identifying (ids, or hashes of names anyone can recompute), [text] free text; "
          "? may be absent; a name ending in * is one key per value")
    elif item.get("event_types"):
        p("  event types: %s" % ", ".join(item["event_types"]))
    for channel in item.get("side_channels") or ():
        p("  side channel %s -> %s: %s; %s" % (channel["name"], channel["destination"],
                                               "sends" if channel["will_send"] else "stopped",
                                               channel["detail"]))
    for warning in item.get("warnings") or ():
        p("  warning: %s" % warning)
    for note in item["notes"]:
        p("  note: %s" % note)


def _field_words(field):
    marks = "".join(" [%s]" % {"identifying": "id", "free-text": "text", "uncatalogued": "new"}.get(flag, flag)
                    for flag in field.get("flags") or ())
    inner = field.get("fields")
    nested = " {%s}" % ", ".join(_field_words(f) for f in inner) if inner else ""
    return "%s%s%s%s" % (field["name"], "?" if field.get("may_be_absent") else "", marks, nested)
