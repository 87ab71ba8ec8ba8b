"""`usagectl preview`: the next report each framework would send. Nothing is sent.

One module per framework builds its preview from the consent intent
(usagectl.consent.decide) and the framework's own state (its adapter's
native_state), asking the framework's own code for the payload where it is
installed (see probes). ``preview(env, name)`` returns the dict described in
usagectl.preview.result.
"""

import importlib

from usagectl import adapters, consent

_MODULES = {name: "usagectl.preview." + name for name in consent.KNOWN_FRAMEWORKS}


def names():
    return tuple(_MODULES)


def native_state(env, name):
    """The adapter's view of the framework's own settings; an adapter bug must not end a preview."""
    adapter = adapters.get(name)
    if adapter is None:
        return {"mode": "unknown", "source": None, "detail": "usagectl has no adapter for %s" % name,
                "traps": []}
    try:
        return adapter.native_state(env)
    except Exception as exc:
        return {"mode": "unknown", "source": None, "traps": [],
                "detail": "usagectl could not read %s's own settings (%s: %s)"
                          % (adapter.title, type(exc).__name__, exc)}


def preview(env, name, level=None, snapshot=None):
    """The preview dict for framework ``name`` under the current consent and native state."""
    from usagectl import decisions
    from usagectl.preview import result

    snapshot = snapshot or decisions.Snapshot(env)
    name = consent.normalize_name(name)
    decision = snapshot.decide(name)
    module = _MODULES.get(name)
    if module is None:
        item = result.new(name, name, decision, native_state(env, name), result.BASED_ON_CONSENT,
                          "off" if result.restricts(decision) else "unknown")
        # will_send stays None: whether this framework reads the consent file is not known.
        item["notes"].append("usagectl has no preview for %s: it doesn't know what %s sends, or "
                             "whether %s reads the consent file" % (name, name, name))
        return item
    return importlib.import_module(module).preview(env, decision, native_state(env, name), level=level)


def preview_many(env, names, level=None, snapshot=None):
    """Previews of several frameworks, in the order given.

    Each preview waits mostly on a probe subprocess (0.5-2 s of framework imports),
    so they run side by side in threads; every probe has its own timeout.
    """
    from concurrent.futures import ThreadPoolExecutor

    from usagectl import decisions

    snapshot = snapshot or decisions.Snapshot(env)
    if len(names) <= 1:
        return [preview(env, name, level=level, snapshot=snapshot) for name in names]
    with ThreadPoolExecutor(max_workers=min(4, len(names))) as pool:
        futures = [pool.submit(preview, env, name, level, snapshot) for name in names]
        return [future.result() for future in futures]
