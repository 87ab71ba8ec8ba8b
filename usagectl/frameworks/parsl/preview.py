"""Parsl's start message: what a workflow sends at DataFlowKernel start for its tracking level.

Parsl tracks usage only when the user's code asks, with Config(usage_tracking=1..3),
so the level actually used is in code we can't see: we preview every level the
consent allows (or the one given with --level). Each datagram is built by Parsl's own
UsageTracker.construct_start_message(): b"1" + JSON, sent over UDP to
tracking.parsl-project.org:50077. The usagectl runtime hook caps the level Parsl uses
at the consent's level (0 when off), so without the hook the consent file can't stop it.
"""

import base64
import json

from usagectl.core import previews as result
from usagectl.core import probes

TITLE = "Parsl"
MAX_LEVEL = 3
_LEVEL_CONTENT = {1: "Parsl and Python versions and the platform",
                  2: "level 1 plus the components of your Config (executors, providers, ...)",
                  3: "level 2 plus the start time (and an end message with app counts)"}


def preview(env, decision, native, level=None):
    from usagectl.frameworks.parsl.framework import FRAMEWORK, hook_works

    # The engine passes the runtime hook's state in ``native["hook"]`` (usagectl.hook).
    hook = native.get("hook") or {}
    hooked = hook_works(hook)
    hook_file = hook.get("path") or "usagectl-hook.pth"
    restricted = result.restricts(decision)
    cap = decision.level
    if restricted:
        effective, based_on = "off", result.BASED_ON_CONSENT
    else:
        # Parsl's switch is Config(usage_tracking=...) in the user's code: nobody outside knows it.
        effective, based_on = "unknown", (result.BASED_ON_NATIVE if decision.mode == "unset"
                                          else result.BASED_ON_BOTH)
    item = result.new(FRAMEWORK.name, TITLE, decision, native, based_on, effective)
    item["transport"] = "udp"
    item["kind"] = "start"
    item["hook_installed"] = hooked
    item["when"] = "when a workflow's DataFlowKernel starts (parsl.load(config))"

    if restricted and hooked:
        item["will_send"] = False
        item["notes"].append("Nothing would be sent: the usagectl hook makes Parsl use tracking "
                             "level 0 while the consent says %s. Shown below: what Parsl would send "
                             "without the hook, if your Config asks for it." % decision.mode)
        levels = _levels(level, MAX_LEVEL)
    elif restricted:
        item["will_send"] = None
        item["notes"].append("The consent says %s, but the usagectl hook is not installed in this "
                             "Python (%s not found), and Parsl doesn't read the consent file: if "
                             "your Config sets usage_tracking, Parsl sends the message below. "
                             "Run `usagectl hook install`." % (decision.mode, hook_file))
        levels = _levels(level, MAX_LEVEL)
    else:
        item["will_send"] = None
        top = MAX_LEVEL if cap is None else min(cap, MAX_LEVEL)
        item["notes"].append("Sent only if your Config sets usage_tracking (Parsl's default is 0: "
                             "nothing). Shown: levels 1-%d%s." % (
                                 top, "" if cap is None else ", the consent's cap"))
        if cap is not None and not hooked:
            item["notes"].append("Without the usagectl hook (%s not found) Parsl doesn't apply the "
                                 "level cap: a Config asking for more sends more." % hook_file)
        levels = _levels(level, top)
        if level is not None and level > top:
            item["notes"].append("Level %d is above the cap; %s Parsl sends level %d instead."
                                 % (level, "with the hook" if hooked else "only with the hook", top))
    probe = probes.run(env, FRAMEWORK, *levels) if levels else None
    if probe is not None and probe.ok and probe.data.get("levels") is False:
        _before_levels(item, probe, decision, hooked)
        return item
    item["messages"] = _messages(probe, levels)
    if probe is not None and probe.ok:
        message = probe.data["messages"][-1]
        item["destination"] = "%s:%d" % (message["host"], message["port"])
        item["exact"] = True
        result.set_body(item, base64.b64decode(message["datagram_base64"]))
        item["level"] = message["level"]
        item["notes"].append("Built by Parsl %s's own UsageTracker.construct_start_message(). The "
                             "correlator (a new UUID per run) and start time differ each run; "
                             "\"components\" reflects a default Config() (one ThreadPoolExecutor): "
                             "yours lists your own executors and providers; project_name appears "
                             "when your Config sets it." % probe.data.get("version"))
        if probe.data.get("version") == "2026.10.26":
            item["notes"].append("This Parsl (2026.10.26) fails to send (it can't pickle its UDP "
                                 "sender, Parsl issue #4038) and logs \"Usage tracking failed\"; "
                                 "a fixed Parsl sends these bytes.")
    else:
        item["destination"] = "tracking.parsl-project.org:50077"
        if probe is not None:
            item["notes"].append("Parsl is not importable here (missing module %s): the content is "
                                 "described, not built" % probe.missing if probe.missing else
                                 "Parsl's own code could not build the message (%s)" % probe.error)
    return item


def _before_levels(item, probe, decision, hooked):
    """Parsl before levels (2024.3 and older): one switch, one start message (and an end
    message with app counts), whatever level is asked for. Its content is what level 3
    holds, so the hook lets it through only when the consent allows level 3."""
    [message] = probe.data["messages"]
    datagram = base64.b64decode(message["datagram_base64"])
    entry = {"level": None, "content": "this Parsl has no levels: the uuid of the run, Parsl and Python "
             "versions, OS and kernel release, start time (and an end message with app counts)",
             "body": None, "body_base64": None, "message": json.loads(datagram), "exact": True}
    result.set_body(entry, datagram)
    item["messages"] = [entry]
    item["destination"] = "%s:%d" % (message["host"], message["port"])
    item["exact"] = True
    result.set_body(item, datagram)
    item["level"] = None
    cap = decision.level
    if not result.restricts(decision):
        # The notes so far speak of levels this release doesn't have.
        item["notes"] = ["Sent only if your Config sets usage_tracking=True (this release's default "
                         "is False: nothing) and PARSL_TRACKING is not \"false\"."]
    item["notes"].append("Built by Parsl %s's own UsageTracker.construct_start_message(). This "
                         "release has no tracking levels: usage_tracking=True sends this whole "
                         "message." % probe.data.get("version"))
    if not result.restricts(decision) and cap is not None and cap < MAX_LEVEL:
        item["notes"].append("The consent caps Parsl at level %d; this release can only send all of "
                             "it, so %s." % (cap, "the usagectl hook turns its tracking off"
                                             if hooked else "only the usagectl hook can stop it "
                                             "(run `usagectl hook install`)"))
        if hooked:
            item["will_send"] = False
            item["effective"] = "off"


def _levels(requested, top):
    if requested is not None:
        return [min(requested, top)] if top >= 1 else []
    return list(range(1, top + 1))


def _messages(probe, levels):
    out = []
    built = {m["level"]: m for m in probe.data["messages"]} if probe is not None and probe.ok else {}
    for level in levels:
        entry = {"level": level, "content": _LEVEL_CONTENT[level], "body": None, "body_base64": None,
                 "message": None, "exact": level in built}
        if level in built:
            datagram = base64.b64decode(built[level]["datagram_base64"])
            result.set_body(entry, datagram)
            # The datagram is the protocol byte b"1" followed by the JSON message.
            entry["message"] = json.loads(datagram[1:])
        out.append(entry)
    return out
