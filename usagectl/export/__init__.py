"""`usagectl export FORMAT`: the consent file's decision in the form a cluster, an image or
a service manager takes, for machines and containers that never run usagectl.

Formats come from two places: the generic ones here (k8s-env, systemd, dockerfile),
built from every framework's own environment variables, and the ones a framework owns
(``Framework.export_formats()``: Ray's cluster launcher YAML and RayCluster manifest,
dask's system config), each in its framework's home. This engine iterates both and
never branches on a framework's name.

Every format only ever tightens: it writes what off and local need, and leaves a file's
own off settings alone when the consent says on (any source that says off wins).
"""

from __future__ import annotations

from usagectl.core.exports import Format, Result  # noqa: F401  (the formats' base, re-exported)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Decisions:
    """Each framework's persistent decision (the consent file and the policy; not this
    shell's DO_NOT_TRACK), and the environment variables that carry them."""

    def __init__(self, env: Any) -> None:
        from usagectl import frameworks as registry
        from usagectl.core.decisions import persistent_decision

        self.consent = env.read_consent()
        self.policy = env.read_policy()
        settings = env.read_settings()
        #: settings.toml [blackhole]: where the user sends what no switch stops (never by
        #: default); only valid URLs, the rest named in ``setting_problems``.
        self.blackholes = settings.blackholes() if not settings.problem else {}
        self.setting_problems = list(settings.warnings)
        self.problems = [p for p in (self.policy.problem, self.consent.problem) if p]
        self.by_name = {}
        self.adapters = registry.all()
        for adapter in self.adapters:
            self.by_name[adapter.name] = persistent_decision(env, adapter.name, self.consent, self.policy)

    def mode(self, name: str) -> str:
        return self.by_name[name].mode

    def restricting(self, name: str) -> bool:
        """off or local: the framework must not send."""
        return self.by_name[name].mode in ("off", "local")

    def framework_variables(self, adapter: Any) -> list[tuple[str, str]]:
        """The framework's own variables for its decision, and, while it may not send, the
        blackhole the user named for what no switch stops."""
        decision = self.by_name[adapter.name]
        pairs = list(adapter.env_vars(decision))
        blackhole = self.blackholes.get(adapter.name)
        if decision.mode in ("off", "local") and blackhole:
            pairs.extend(adapter.blackhole_env(blackhole))
        return pairs

    def global_variables(self) -> list[tuple[str, str]]:
        """DO_NOT_TRACK=1 when every framework is off: it reaches other tools too, so only
        when the user chose off for all."""
        if self.adapters and all(d.mode == "off" for d in self.by_name.values()):
            return [("DO_NOT_TRACK", "1")]
        return []

    def variables(self) -> list[tuple[str, str, str]]:
        """(framework, variable, value) for every framework, then the global ones ("")."""
        from usagectl.core.exports import check_variable

        out = [(adapter.name, name, value) for adapter in self.adapters
               for name, value in self.framework_variables(adapter)]
        out += [("", name, value) for name, value in self.global_variables()]
        for _framework, name, value in out:
            check_variable(name, value)
        return out


def formats() -> dict[str, Format]:
    """Every format, by name: the generic ones and each framework's."""
    from usagectl import frameworks as registry
    from usagectl.export import generic

    found = {f.name: f for f in generic.FORMATS}
    for adapter in registry.all():
        for fmt in adapter.export_formats():
            if fmt.name in found:
                raise ValueError("two export formats are named %r" % fmt.name)
            found[fmt.name] = fmt
    return dict(sorted(found.items()))
