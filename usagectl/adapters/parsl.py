"""Parsl: opt-in usage tracking set in code with Config(usage_tracking=0..3).

Parsl has no settings file and no environment variable: each script chooses its
level in its Config, default 0 (off). So there is nothing for `apply` to write; the
runtime hook (usagectl.hook) is Parsl's mechanism, capping the level every
UsageTracker computes at the consent level.
"""

from usagectl.adapters.base import Adapter
from usagectl.hook.installer import hook_installed

__all__ = ["ADAPTER", "ParslAdapter", "hook_installed"]

NATIVE_SOURCE = "code:Config.usage_tracking"  # set in each script; Parsl's default is 0


class ParslAdapter(Adapter):
    name = "parsl"
    title = "Parsl"
    own_default = "off"
    own_default_note = "Parsl tracks usage only when Config(usage_tracking=...) asks for it"
    has_levels = True
    endpoints = ("tracking.parsl-project.org",)
    python_package = "parsl"

    def detect(self, env):
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("parsl")
        except PackageNotFoundError:
            return {"installed": False, "version": None, "files": []}
        return {"installed": True, "version": found, "files": []}

    def native_state(self, env):
        """Parsl's own default, and what the hook makes of it for the current consent.

        ``mode`` is Parsl's own answer without usagectl: off, unless a script sets a
        level (which usagectl cannot see). ``effective`` adds the hook: installed and
        current here, it caps every script at the consent level.
        """
        from usagectl import consent

        hook = hook_installed(env)
        hook_works = hook["installed"] and hook["ours"] and hook["runtime_exists"]
        decision = consent.decide(self.name, environ=env.environ, consent_path=env.consent_path,
                                  policy_path=env.policy_path)
        cap = 0 if decision.mode in ("off", "local") else decision.level
        if hook_works and cap == 0:
            effective = {"mode": "off", "level": 0, "via": "hook",
                         "detail": "the runtime hook caps every Config(usage_tracking=...) at 0"}
        elif hook_works and cap is not None:
            effective = {"mode": "on", "level": cap, "via": "hook",
                         "detail": "scripts choose their level; the runtime hook caps it at %d" % cap}
        elif hook_works:
            effective = {"mode": "unknown", "level": None, "via": "code",
                         "detail": "scripts choose their level; the consent sets no cap"}
        else:
            effective = {"mode": "unknown", "level": None, "via": "code",
                         "detail": "scripts choose their level; without the runtime hook in this "
                                   "environment usagectl cannot cap it"}
        return {
            "mode": "off",
            "source": NATIVE_SOURCE,
            "detail": "off unless a script sets Config(usage_tracking=1..3); Parsl has no file or "
                      "environment variable",
            "traps": [],
            "hook": hook,
            "effective": effective,
        }

    def apply(self, env, decision, repair=False):
        hook = hook_installed(env)
        if hook["installed"] and hook["ours"] and hook["runtime_exists"]:
            note = ("Parsl has no settings file; the runtime hook in %s caps its tracking level "
                    "at run time" % hook["path"])
            if not hook["current"]:
                note += " (the file is not current: run `usagectl hook install`)"
        else:
            note = ("Parsl has no settings file; its mechanism is the runtime hook, which is not "
                    "installed in this environment: run `usagectl hook install` (with --python "
                    "for the environment that runs Parsl)")
        return {"changed": [], "notes": [note]}


ADAPTER = ParslAdapter()
