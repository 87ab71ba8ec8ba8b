"""Categories: the kinds of data a framework sends that consent may allow one by one.

A consent entry ``mode = "local"`` with ``send = ["metrics", ...]`` lets the named
categories through and holds back the rest (docs/consent-file.md). A framework that has
categories says so (``Framework.categories``) and reports each one's own state
(``native_state()["categories"]``, ``says_categories(probe)``); this module judges those
states against a decision, for every engine alike: with a send list, only what consent
holds back can make a framework "on" against the consent.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from usagectl.consent import Decision


def narrowed(decision: Decision | None) -> bool:
    """Does the decision let some categories through while holding back the rest?"""
    return decision is not None and decision.mode == "local" and bool(getattr(decision, "send", None))


def judge_mode(mode: str | None, categories: dict[str, str] | None, decision: Decision | None) -> str | None:
    """A framework's own on/off as consent sees it. Under a send list, "on" only when a
    category consent holds back can leave; "unknown" when one of them can't be told. A
    framework that can't say per category stays as it is ("on" is then "on")."""
    if not narrowed(decision) or not categories:
        return mode
    assert decision is not None and decision.send is not None
    outside = [state for name, state in categories.items() if name not in decision.send]
    if any(state == "on" for state in outside):
        return "on"
    if any(state not in ("off", "local") for state in outside):
        return "unknown"
    return "off"


def judge(native: dict[str, Any], decision: Decision | None) -> dict[str, Any]:
    """``native`` (a framework's native_state) judged against the decision: a copy whose
    mode and detail speak of what consent holds back, the framework's own in own_mode."""
    categories = native.get("categories")
    if not narrowed(decision) or not categories or native.get("mode") == "unknown":
        return native
    mode = judge_mode(native.get("mode"), categories, decision)
    assert decision is not None and decision.send is not None
    judged = dict(native)
    judged["own_mode"] = native.get("mode")
    sources = native.get("category_sources") or {}
    if mode == "on":
        leaking = [n for n, s in categories.items() if s == "on" and n not in decision.send]
        judged["source"] = sources.get(leaking[0], native.get("source"))
        judged["detail"] = "its settings let through %s, which consent holds back (it allows only %s)" % (
            ", ".join(leaking), ", ".join(decision.send))
    elif mode == "off":
        held = [n for n in categories if n not in decision.send]
        judged["source"] = sources.get(held[0], native.get("source")) if held else native.get("source")
        judged["detail"] = "its settings hold back %s; they let through only what consent allows (%s)" % (
            ", ".join(held), ", ".join(c for c in categories if c in decision.send) or "nothing")
        judged["sending"] = [n for n, s in categories.items() if s == "on" and n in decision.send]
    else:
        judged["detail"] = "can't tell whether its settings hold back %s" % ", ".join(
            n for n in categories if n not in decision.send)
    judged["mode"] = mode
    return judged


def describe(decision: Decision) -> str:
    """The intent in words: "local", or "local, sending only metrics, events"."""
    if narrowed(decision):
        assert decision.send is not None
        return "%s, sending only %s" % (decision.mode, ", ".join(decision.send))
    return decision.mode
