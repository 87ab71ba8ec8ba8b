"""`usagectl preview`: the next report each framework would send. Nothing is sent.

Each framework builds its own preview (``Framework.preview``, in its home under
usagectl/frameworks/) from the consent intent (usagectl.consent.decide) and its own
state, asking its own code for the payload where it is installed (usagectl.core.probes).
``preview(env, name)`` returns the dict described in usagectl.core.previews.
"""

from usagectl import consent
from usagectl import frameworks as registry


def names():
    return tuple(registry.names())


def preview(env, name, level=None, snapshot=None):
    """The preview dict for framework ``name`` under the current consent and native state."""
    from usagectl.core import decisions
    from usagectl.core import previews as result
    from usagectl.hook.state import native_state

    snapshot = snapshot or decisions.Snapshot(env)
    name = consent.normalize_name(name)
    decision = snapshot.decide(name)
    framework = registry.get(name)
    item = None
    if framework is not None:
        native = native_state(env, framework, decision)
        item = framework.preview(env, decision, native, level=level)
    if item is None:
        native = native_state(env, framework, decision) if framework is not None else {
            "mode": "unknown", "source": None, "traps": [],
            "detail": "usagectl has no adapter for %s" % name}
        title = framework.title if framework is not None else name
        item = result.new(name, title, decision, native, result.BASED_ON_CONSENT,
                          "off" if result.restricts(decision) else "unknown")
        # will_send stays None: whether this framework reads the consent file is not known.
        item["notes"].append("usagectl has no preview for %s: it doesn't know what %s sends, or "
                             "whether %s reads the consent file" % (name, name, name))
    return item


def preview_many(env, names, level=None, snapshot=None):
    """Previews of several frameworks, in the order given.

    Each preview waits mostly on a probe subprocess (0.5-2 s of framework imports),
    so they run side by side in threads; every probe has its own timeout.
    """
    from concurrent.futures import ThreadPoolExecutor

    from usagectl.core import decisions

    snapshot = snapshot or decisions.Snapshot(env)
    if len(names) <= 1:
        return [preview(env, name, level=level, snapshot=snapshot) for name in names]
    with ThreadPoolExecutor(max_workers=min(4, len(names))) as pool:
        futures = [pool.submit(preview, env, name, level, snapshot) for name in names]
        return [future.result() for future in futures]
