"""A framework's own state together with what the runtime hook adds to it.

The engines (status, preview, verify, sync) ask here instead of calling
``native_state`` directly, so that a framework whose only mechanism is the hook
(``Framework.hooked_state``) is judged with the hook's real state in this Python.
"""

from usagectl.hook.installer import hook_installed


def hook_state(env):
    """Is the runtime hook installed in the Python that runs usagectl? (None: can't tell)."""
    try:
        return hook_installed(env)
    except Exception:
        return None


def native_state(env, framework, decision=None, hook=None):
    """``framework.native_state(env)``, never raising, with ``hook`` and ``effective``
    added for frameworks the hook enforces."""
    try:
        native = framework.native_state(env)
    except Exception as exc:  # one framework's odd file must not hide the others
        return {"mode": "unknown", "source": None, "traps": [],
                "detail": "usagectl could not read %s's own settings (%s: %s)"
                          % (framework.title, type(exc).__name__, exc)}
    if decision is not None and native.get("categories"):
        from usagectl.core.categories import judge

        native = judge(native, decision)
    if framework.hook_imports and decision is not None:
        hook = hook if hook is not None else hook_state(env)
        # The hook's state, for the framework's preview to say what the hook stops here.
        native["hook"] = hook
        effective = framework.hooked_state(env, decision, hook or {})
        if effective is not None:
            native["effective"] = effective
    return native
