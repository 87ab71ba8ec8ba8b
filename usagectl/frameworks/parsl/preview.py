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


def preview(env, decision, native, level=None, config=None):
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
    item["when"] = "when a workflow's DataFlowKernel starts (parsl.load(config)), and at its cleanup (level 3)"

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
        if config is None:
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
    if config is not None:
        # The user's own Config decides the level; the hook (when installed) caps it.
        hook_cap = (0 if restricted else cap) if hooked else None
        args = ["--config=" + config] + (["--cap=%d" % hook_cap] if hook_cap is not None else [])
        probe = probes.run(env, FRAMEWORK, *args)
    else:
        probe = probes.run(env, FRAMEWORK, *[str(n) for n in levels]) if levels else None
    if probe is not None and probe.ok and probe.data.get("levels") is False:
        _before_levels(item, probe, decision, hooked)
        return item
    item["messages"] = _messages(probe, levels if config is None else [])
    if config is not None:
        _with_config(item, probe, config, decision, hooked)
    if probe is not None and probe.ok and probe.data["messages"]:
        message = [m for m in probe.data["messages"] if m.get("kind", "start") == "start"][-1]
        item["destination"] = "%s:%d" % (message["host"], message["port"])
        item["exact"] = True
        result.set_body(item, base64.b64decode(message["datagram_base64"]))
        item["level"] = message["level"]
        item["notes"].append("Built by Parsl %s's own UsageTracker.construct_start_message() and "
                             "construct_end_message(). The correlator (a new UUID per run) and times "
                             "differ each run%s." % (probe.data.get("version"), "" if config else
                                                     "; \"components\" reflects a default Config() (one "
                                                     "ThreadPoolExecutor): give --config to preview yours"))
        if probe.data.get("version") == "2026.10.26":
            item["notes"].append("This Parsl (2026.10.26) fails to send (it can't pickle its UDP "
                                 "sender, Parsl issue #4038) and logs \"Usage tracking failed\"; "
                                 "a fixed Parsl sends these bytes.")
    else:
        item["destination"] = "tracking.parsl-project.org:50077"
        if probe is not None and not probe.ok:
            item["notes"].append(_probe_problem(probe, config))
            if config is not None and not (probe.missing and probe.missing.split(".")[0] == "parsl"):
                # The user's own Config is bad input (a missing file or module, a syntax
                # error, a file that raises or exits, no such attribute): the command fails.
                item["config_error"] = _probe_problem(probe, config)
    _project_name_warning(item, config)
    _field_sets(item, probe)
    return item


def _field_sets(item, probe):
    """The field names of each message Parsl's own code built (preview.fieldsets compares them)."""
    sets = {}
    for message in item.get("messages") or ():
        if message.get("message") is not None:
            sets[section_name(message.get("kind", "start"), message.get("level"))] = sorted(message["message"])
    if sets and probe is not None and probe.ok:
        item["field_sets"] = sets
        item["framework_version"] = probe.data.get("version")


def section_name(kind, level):
    return "%s message, level %s" % (kind, level if level is not None else "none")


def _probe_problem(probe, config):
    if probe.missing and probe.missing.split(".")[0] == "parsl":
        return "Parsl is not importable here (missing module %s): the content is described, not built" \
            % probe.missing
    if config is not None:
        return ("your Config (%s) could not be loaded by Parsl's own code (%s)"
                % (config, "missing module %s" % probe.missing if probe.missing else probe.error))
    return "Parsl's own code could not build the message (%s)" % (probe.error or probe.missing)


def _with_config(item, probe, config, decision, hooked):
    if probe is None or not probe.ok:
        return
    asked = probe.data.get("config_level")
    item["config"] = {"spec": config, "usage_tracking": asked}
    if not asked:
        item["will_send"] = False
        item["effective"] = "off"
        item["notes"].append("Your Config (%s) sets usage_tracking to 0: Parsl sends nothing." % config)
        return
    sent = [m for m in probe.data["messages"] if m.get("kind") == "start"]
    if not sent:
        item["will_send"] = False
        item["effective"] = "off"
        item["notes"].append("Your Config asks for level %s; the usagectl hook caps it at 0 while the "
                             "consent says %s: nothing is sent." % (asked, decision.mode))
        return
    item["will_send"] = True
    item["effective"] = "on"
    level = sent[0]["level"]
    item["notes"].append("Your Config (%s) asks for tracking level %s%s." % (
        config, asked, "" if level == asked else "; the usagectl hook caps it at %s" % level))


def _project_name_warning(item, config):
    named = [m for m in item.get("messages") or () if (m.get("message") or {}).get("project_name")]
    if named:
        item["warnings"] = item.get("warnings", []) + [
            "project_name %r is sent with every message, at every level: Parsl's own Config "
            "documentation calls it the \"option to deanonymize usage tracking data\" and places it "
            "on its leaderboard"
            % named[0]["message"]["project_name"]]
    elif config is None:
        item["notes"].append("project_name is sent at every level when your Config sets it (it "
                             "identifies you): give --config MODULE:ATTR or a file to check yours.")


def _before_levels(item, probe, decision, hooked):
    """Parsl before levels (2024.3 and older): one switch, one start message (and an end
    message with app counts), whatever level is asked for. Its content is what level 3
    holds, so the hook lets it through only when the consent allows level 3."""
    from usagectl.frameworks.parsl import catalogue

    entries = []
    for message in probe.data["messages"]:
        datagram = base64.b64decode(message["datagram_base64"])
        decoded = json.loads(datagram)
        kind = message.get("kind", "start")
        entry = {"level": None, "kind": kind,
                 "content": "this Parsl has no levels: the uuid of the run, Parsl and Python versions, "
                            "OS and kernel release, start time" if kind == "start" else
                            "at cleanup: the run's uuid, end time, apps run and failed, executors",
                 "body": None, "body_base64": None, "message": decoded, "exact": True,
                 "fields": catalogue.fields_of(kind, list(decoded), legacy=True)}
        result.set_body(entry, datagram)
        entries.append(entry)
    item["messages"] = entries
    _field_sets(item, probe)
    item["destination"] = "tracking.parsl-project.org:50077"
    item["level"] = None
    if entries:
        first = probe.data["messages"][0]
        item["destination"] = "%s:%d" % (first["host"], first["port"])
        item["exact"] = True
        result.set_body(item, base64.b64decode(first["datagram_base64"]))
    elif probe.data.get("config"):
        item["will_send"] = False
        item["notes"].append("Your Config (%s) leaves usage_tracking off: Parsl sends nothing."
                             % probe.data["config"])
    cap = decision.level
    if not result.restricts(decision):
        # The notes so far speak of levels this release doesn't have.
        item["notes"] = ["Sent only if your Config sets usage_tracking=True (this release's default "
                         "is False: nothing) and PARSL_TRACKING is not \"false\"."]
    item["notes"].append("Built by Parsl %s's own UsageTracker.construct_start_message() and "
                         "construct_end_message(). This release has no tracking levels: "
                         "usage_tracking=True sends both whole." % probe.data.get("version"))
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
    """One entry per message: each level's start message (described when Parsl's code
    could not build it), and the end message a level-3 run sends at cleanup."""
    from usagectl.frameworks.parsl import catalogue

    built = probe.data["messages"] if probe is not None and probe.ok else []
    starts = {m["level"] for m in built if m.get("kind", "start") == "start"}
    out = []
    for message in built:
        datagram = base64.b64decode(message["datagram_base64"])
        decoded = json.loads(datagram[1:])  # the protocol byte b"1", then JSON
        kind = message.get("kind", "start")
        entry = {"level": message["level"], "kind": kind,
                 "content": _LEVEL_CONTENT[message["level"]] if kind == "start" else
                 "at cleanup: end time, run time, app counts, the Config's components",
                 "body": None, "body_base64": None, "message": decoded, "exact": True,
                 "fields": catalogue.fields_of(kind, list(decoded))}
        result.set_body(entry, datagram)
        out.append(entry)
    for level in levels:
        if level not in starts:
            out.append({"level": level, "kind": "start", "content": _LEVEL_CONTENT[level], "body": None,
                        "body_base64": None, "message": None, "exact": False, "fields": []})
    return sorted(out, key=lambda e: (e["level"] or 0, e["kind"] != "start"))
