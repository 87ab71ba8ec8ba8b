"""The shape every framework preview returns (documented in docs/json-output.md terms).

One dict per framework: the consent intent (usagectl.consent's decision), the
framework's own ("native") state, which of the two the preview is based on, whether
anything will be sent, where, and the body. ``exact`` is true only when the body was
built by the framework's own code; ``body`` is text, ``body_base64`` is used instead
when the bytes are not UTF-8.
"""

import base64

from usagectl.core.categories import narrowed

BASED_ON_CONSENT = "consent"        # usagectl's choice decides (it is the more restrictive)
BASED_ON_NATIVE = "native"          # nobody chose in usagectl: the framework's own state decides
BASED_ON_BOTH = "consent+native"    # consent allows; the framework's own state decides the rest


def new(framework, title, decision, native, based_on, effective):
    return {
        "framework": framework,
        "title": title,
        "intent": decision.as_dict(),
        "native": native,
        "based_on": based_on,
        "effective": effective,      # "on", "off" or "unknown"
        "will_send": None,
        "when": None,
        "destination": None,
        "transport": None,
        "body": None,
        "body_base64": None,
        "exact": False,
        "notes": [],
    }


def set_body(preview, data):
    """Store ``data`` (bytes or str) as text when it is UTF-8, else as base64."""
    if data is None:
        preview["body"] = preview["body_base64"] = None
        return preview
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        preview["body"] = data.decode("utf-8")
        preview["body_base64"] = None
    except UnicodeDecodeError:
        preview["body"] = None
        preview["body_base64"] = base64.b64encode(data).decode("ascii")
    return preview


def restricts(decision):
    """Does the consent intent stop sending (off, or local: collect locally, never send)?"""
    return decision.mode in ("off", "local")


def combine(decision, native_mode, native_categories=None):
    """(effective, based_on) from the consent intent and the framework's own state.

    The more restrictive wins: an intent of off/local makes the framework off once
    usagectl's settings are applied; an intent of on permits but does not force, so
    the framework's own state decides; "unset" leaves it all to the framework. Under a
    send list (local, with categories that may be sent) the framework's own state of
    those categories decides.
    """
    if narrowed(decision) and native_categories:
        # Some categories may be sent: the framework's own settings decide those.
        allowed = [state for name, state in native_categories.items() if name in decision.send]
        if any(state == "on" for state in allowed):
            return "on", BASED_ON_BOTH
        return ("off" if all(state == "off" for state in allowed) else "unknown"), BASED_ON_BOTH
    if restricts(decision) and native_mode == "on":
        # The one judgment (usagectl.judgment): drift. The framework's own settings still
        # send, so that is what the next report is, until `usagectl sync` or a fix applies.
        return "on", BASED_ON_NATIVE
    if restricts(decision):
        return "off", BASED_ON_CONSENT
    if native_mode not in ("on", "off"):
        # "local" has no meaning to these frameworks; anything else we can't read is unknown.
        native_mode = "unknown"
    based_on = BASED_ON_NATIVE if decision.mode == "unset" else BASED_ON_BOTH
    return native_mode, based_on


def mismatch_note(decision, native, framework_title, apply_hint):
    """When consent says off but the framework's own settings still say on, say so plainly."""
    if restricts(decision) and native.get("mode") == "on":
        return ("%s's own settings still say on (%s), so this is what it sends until the consent is "
                "applied (%s); `usagectl status` calls it DRIFT."
                % (framework_title, native.get("detail") or native.get("source"), apply_hint))
    return None


def start(framework, title, decision, native, apply_hint):
    """The preview item for a framework whose effective state follows combine(), with the
    note that says so when its own settings don't yet honour the consent."""
    effective, based_on = combine(decision, native.get("mode"), native.get("categories"))
    item = new(framework, title, decision, native, based_on, effective)
    note = mismatch_note(decision, native, title, apply_hint)
    if note:
        item["notes"].append(note)
    return item, effective
