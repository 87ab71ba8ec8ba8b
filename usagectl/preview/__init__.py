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


def preview(env, name, level=None, snapshot=None, config=None, known=None):
    """The preview dict for framework ``name`` under the current consent and native state;
    ``config`` (the user's configuration object, `--config`) goes to frameworks that
    declare ``preview_config``; the CLI refuses it for the others."""
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
        if config is not None and framework.preview_config:
            item = framework.preview(env, decision, native, level=level, config=config)
        else:
            item = framework.preview(env, decision, native, level=level)
    if item is not None and framework is not None and result.restricts(decision) \
            and item.get("effective") == "off":
        # The one judgment (usagectl.judgment): a process that decided at start and still
        # reports (a Ray head started while on) sends, whatever the settings say now.
        from usagectl.records import running

        sending, _unknown = running.against(env, framework, decision)
        if sending:
            item["effective"], item["based_on"] = "on", result.BASED_ON_NATIVE
            item["notes"].insert(0, "%s keeps reporting until it is restarted (%s): that is what leaves now; "
                                 "the rest of this preview is the next start's" % (
                                     running.describe(sending[0]), sending[0].get("restart")))
    if item is not None and framework is not None and item.get("field_sets"):
        from usagectl.preview import fieldsets

        if known is None:
            known, _problem = fieldsets.read(env)
        item["field_changes"] = fieldsets.changes(framework, item["field_sets"],
                                                  item.get("framework_version"), known)
        if item["field_changes"]:
            item["warnings"] = item.get("warnings", []) + [
                fieldsets.describe(item["field_changes"], item["title"])]
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


def preview_many(env, names, level=None, snapshot=None, config=None, known=None):
    """Previews of several frameworks, in the order given.

    Each preview waits mostly on a probe subprocess (0.5-2 s of framework imports),
    so they run side by side in threads; every probe has its own timeout.
    """
    from concurrent.futures import ThreadPoolExecutor

    from usagectl.core import decisions

    snapshot = snapshot or decisions.Snapshot(env)
    if len(names) <= 1:
        return [preview(env, name, level=level, snapshot=snapshot, config=config, known=known)
                for name in names]
    with ThreadPoolExecutor(max_workers=min(4, len(names))) as pool:
        futures = [pool.submit(preview, env, name, level, snapshot, config, known) for name in names]
        return [future.result() for future in futures]
