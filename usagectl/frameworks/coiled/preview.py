"""Coiled analytics for Dask: which coiled.analytics keys let data leave, as dask resolves them.

Values come from dask's own config (dask.config.refresh() then get(), in a probe
process with this environment), so every config dir, file order and DASK_* variable
counts exactly as it will in the user's programs. Coiled reads two keys itself
(coiled/spans.py) and coiled.send-client-events (coiled/v2/cluster.py); the others are
read by a scheduler plugin downloaded from Coiled at run time, which we can't inspect.
"""

import json

from usagectl.core import previews as result
from usagectl.core import probes
from usagectl.core.previews import restricts

TITLE = "Coiled/Dask"
DESTINATION = "the Coiled server (coiled.server, default https://cloud.coiled.io)"
PRELOAD_KEY = "distributed.scheduler.preload"

# (key, who reads it, what leaves when it allows sending, how the value is tested, the
# default the reader falls back to when the key is not set at all: Coiled's own
# dask.config.get(key, True) calls; None where the reader is the plugin we can't see).
KEYS = (
    ("coiled.analytics.computation.code.transmit", "coiled (local)",
     "the code of your computations (call stacks) with span data", "truthy", True),
    ("coiled.analytics.client-spans.transmit", "coiled (local)",
     "span timings and names from your client", "truthy", True),
    ("coiled.send-client-events", "coiled (local)",
     "client events of Coiled-managed clusters", "truthy", True),
    ("coiled.analytics.disabled", "scheduler plugin from Coiled",
     "all scheduler analytics (sent unless this is true)", "falsy", None),
    ("coiled.analytics.profile.transmit", "scheduler plugin from Coiled",
     "scheduler profiles", "truthy", None),
    ("coiled.analytics.events.allow", "scheduler plugin from Coiled",
     "scheduler events matching these patterns", "non-empty", None),
)


#: The other coiled.analytics settings: they decide how often and how long, not whether.
OTHER_SETTINGS = {
    "coiled.analytics.computation.interval": ("timing", "how often the scheduler plugin sends computations"),
    "coiled.analytics.profile.interval": ("timing", "how often it sends profiles (when profile.transmit)"),
    "coiled.analytics.events.interval": ("timing", "how often it sends events"),
    "coiled.analytics.idle.timeout": ("cluster lifetime", "with it, Coiled shuts an idle cluster down "
                                                          "after this long"),
}


def settings_of(probe_data):
    """Every analytics setting as dask resolves it, with the layer that set it."""
    described = {key: ("transmission", what) for key, _reader, what, _test, _default in KEYS}
    described.update(OTHER_SETTINGS)
    sources = probe_data.get("sources") or {}
    resolved = dict(probe_data.get("settings") or {})
    for key, _reader, _what, _test, default in KEYS:
        if key not in resolved and default is not None:
            resolved[key] = default
            sources.setdefault(key, "not set in any dask config: Coiled's code default")
    out = []
    for key, value in resolved.items():
        controls, about = described.get(key, ("unknown", "a setting usagectl doesn't know: read Coiled's "
                                                         "documentation for it"))
        out.append({"key": key, "value": value, "source": sources.get(key), "controls": controls,
                    "about": about})
    return out


def leaves(value, test):
    """Does this value let data leave, tested the way the reader tests it?"""
    if test == "truthy":
        # Coiled checks `if not value`: the strings "no", "off" and "false" are truthy here
        # unless dask already parsed them (env values false/none are parsed, no/off are not).
        return bool(value)
    if test == "falsy":
        return not bool(value)
    return bool(value)  # a non-empty allow list


def preview(env, decision, native, level=None):
    from usagectl.frameworks.coiled.framework import CATEGORY_KEYS, FRAMEWORK

    item, effective = result.start(FRAMEWORK.name, TITLE, decision, native,
                                   "`usagectl disable coiled` writes zz-usagectl.yaml in the dask "
                                   "config dir")
    item["transport"] = "https"
    item["destination"] = DESTINATION
    item["kind"] = "config-keys"
    item["when"] = "while a Coiled-managed cluster runs, or a self-managed one registered with " \
                   "coiled.analytics (register() or a scheduler preload)"
    probe = probes.run(env, FRAMEWORK, *([key[0] for key in KEYS] + [PRELOAD_KEY]))
    if not probe.ok:
        item["notes"].append("dask is not importable here (missing module %s)" % probe.missing
                             if probe.missing else "dask could not resolve its config (%s)" % probe.error)
        return item
    values = probe.data["values"]
    read_locally = probe.data.get("read_locally")
    keys = []
    unread = []
    for key, reader, what, test, default in KEYS:
        found = values[key]
        value = found["value"] if found["set"] else default
        known = found["set"] or default is not None
        entry = {"key": key, "set": found["set"], "value": value, "read_by": reader,
                 "data": what, "leaves": leaves(value, test) if known else None,
                 "verified": reader.endswith("(local)")}
        if reader.endswith("(local)") and read_locally is not None and \
                key.replace("_", "-") not in read_locally:
            # This release never asks for the key: what it names is sent whatever it says.
            entry.update(read_by="nothing in coiled %s" % probe.data.get("coiled_version"),
                         leaves=True, read_by_this_release=False)
            unread.append(key)
        if not found["set"]:
            entry["note"] = ("not set in any dask config: Coiled's code defaults to %s"
                             % json.dumps(default) if default is not None else
                             "not set in any dask config: the plugin's default applies")
        keys.append(entry)
    _mark_categories(keys, decision)
    item["keys"] = keys
    item["categories"] = [{"name": name, "key": key, "about": about,
                           "consent": _consent_for(name, decision),
                           "leaves": next((k["leaves"] for k in keys if k["key"] == key), None)}
                          for name, key, about in CATEGORY_KEYS]
    item["settings"] = settings_of(probe.data)
    preload = values[PRELOAD_KEY]["value"] or []
    if isinstance(preload, str):
        preload = [preload]
    item["scheduler_preload_registers"] = "coiled.analytics" in preload
    item["coiled_version"] = probe.data.get("coiled_version")
    item["config_paths"] = probe.data.get("paths")
    # What leaves although consent holds it back (a category consent allows may leave).
    transmitting = [k["key"] for k in keys if k["leaves"] and k["key"] not in unread
                    and k.get("consent") != "allowed"]
    if unread:
        item["notes"].append("coiled %s never reads %s: with a Coiled-managed cluster, %s leave "
                             "whatever the key or the consent says; no setting of this release "
                             "stops it (a newer Coiled reads the key)."
                             % (probe.data.get("coiled_version"), ", ".join(unread),
                                " and ".join(k["data"] for k in keys if k["key"] in unread)))
    # Whether anything goes depends on the clusters the user runs: not knowable here.
    item["will_send"] = None
    if restricts(decision) and transmitting:
        from usagectl.core.categories import describe

        item["notes"].append("The consent says %s, but dask's config still lets these keys send: %s. "
                             "`usagectl sync` sets them (a DASK_* variable that sets one must be unset)."
                             % (describe(decision), ", ".join(transmitting)))
    item["notes"].append("Values as dask resolves them now (dask %s%s). Keys read by the scheduler "
                         "plugin are Coiled's to honour; usagectl can't verify them."
                         % (probe.data.get("dask_version"),
                            ", coiled %s" % item["coiled_version"] if item["coiled_version"] else ""))
    if item["scheduler_preload_registers"]:
        from usagectl.frameworks.base import hook_works
        from usagectl.frameworks.coiled.hook import PLUGIN_CATEGORY

        hook = native.get("hook")
        if restricts(decision) and not decision.sends(PLUGIN_CATEGORY) and hook_works(hook):
            item["notes"].append(
                "%s includes coiled.analytics, but the runtime hook in %s refuses that registration while "
                "the consent holds %s back: a scheduler started from this Python registers nothing; one "
                "started by a Python without the hook registers (`usagectl hook install --python PATH`)."
                % (PRELOAD_KEY, hook.get("python") or "this Python", PLUGIN_CATEGORY))
        else:
            item["notes"].append("%s includes coiled.analytics: every scheduler started with this config "
                                 "registers with Coiled analytics%s." % (
                                     PRELOAD_KEY, "" if not restricts(decision) else
                                     " (the runtime hook would refuse it: it is not installed in this Python)"))
    item["notes"].append("Coiled-managed clusters receive your whole local dask config, analytics "
                         "keys and token included.")
    return item


def _consent_for(category, decision):
    """"allowed", "held back", or None when consent holds nothing back (on, unset)."""
    if not restricts(decision):
        return None
    return "allowed" if decision.sends(category) else "held back"


def _mark_categories(keys, decision):
    from usagectl.frameworks.coiled.framework import _CATEGORY_OF_KEY

    for entry in keys:
        category = _CATEGORY_OF_KEY.get(entry["key"])
        entry["category"] = category
        entry["consent"] = _consent_for(category, decision) if category else None


def local_keys():
    """The keys Coiled's own client code reads (the rest are the scheduler plugin's)."""
    return [key for key, reader, *_rest in KEYS if reader.endswith("(local)")]
