"""What the runtime hook does to Coiled. Loaded by path by usagectl/hook/runtime.py.

Stdlib only; every function takes the runtime (``rt``) so this file needs nothing
else of usagectl. ``coiled.analytics.register()`` and ``dask_setup()`` (what
distributed's preloading calls for ``--preload coiled.analytics``) refuse, with one
logged line, when the consent is off or local.
"""


#: The consent category of what the scheduler plugin sends (framework.py's CATEGORY_KEYS):
#: a user who lets "metrics" through lets the plugin start, and its other keys (profiles,
#: events) are held back by the dask config usagectl writes.
PLUGIN_CATEGORY = "metrics"


def _refused(rt, what):
    """True (and one line logged) when Coiled analytics may not start."""
    decision = rt.decide("coiled")
    if decision.mode not in rt.NOT_SENDING:
        return False
    if decision.mode == "local" and PLUGIN_CATEGORY in (getattr(decision, "send", None) or ()):
        return False
    rt.log("warning", "usagectl: %s refused: telemetry consent for coiled is %s (%s)",
           what, decision.mode, decision.reason, logger_name="coiled.analytics")
    return True


def patch_analytics(rt, module):
    original_register = module.register
    if getattr(original_register, rt.MARK, False):
        return

    def register(*args, **kwargs):
        if _refused(rt, "coiled.analytics.register()"):
            return None
        return original_register(*args, **kwargs)

    rt.copy_identity(register, original_register)
    module.register = register

    original_setup = getattr(module, "dask_setup", None)
    if original_setup is not None:

        async def dask_setup(*args, **kwargs):
            # distributed.preloading awaits what dask_setup returns, so stay a coroutine.
            if _refused(rt, "the coiled.analytics scheduler preload"):
                return None
            result = original_setup(*args, **kwargs)
            if hasattr(result, "__await__"):
                result = await result
            return result

        rt.copy_identity(dask_setup, original_setup)
        module.dask_setup = dask_setup
