"""The registry of frameworks: the one place that lists them.

Each built-in framework is one package under ``usagectl/frameworks/`` whose
``FRAMEWORK`` object (a usagectl.frameworks.base.Framework) holds everything usagectl
knows about it; adding one is that package plus one line in ``BUILTIN``. Third-party
frameworks come from the ``usagectl.adapters`` entry-point group and are loaded only
when asked for.
"""

from __future__ import annotations

import importlib
import os

TYPE_CHECKING = False  # no typing import at run time
if TYPE_CHECKING:
    from usagectl.frameworks.base import Framework

#: name -> module holding FRAMEWORK. The order is the order commands show them in.
BUILTIN: dict[str, str] = {
    "ray": "usagectl.frameworks.ray",
    "parsl": "usagectl.frameworks.parsl",
    "bacalhau": "usagectl.frameworks.bacalhau",
    "coiled": "usagectl.frameworks.coiled",
}
_ENTRY_POINT_GROUP = "usagectl.adapters"


def builtin_names() -> tuple[str, ...]:
    return tuple(BUILTIN)


def get(name: str) -> Framework | None:
    """The framework called ``name``, or None for one usagectl knows nothing about."""
    module = BUILTIN.get(name)
    if module is not None:
        return importlib.import_module(module).FRAMEWORK
    return _third_party().get(name)


def all(include_third_party: bool = True) -> list[Framework]:  # noqa: A001 (registry verb)
    found = [importlib.import_module(module).FRAMEWORK for module in BUILTIN.values()]
    if include_third_party:
        found.extend(f for n, f in sorted(_third_party().items()) if n not in BUILTIN)
    return found


def names(include_third_party: bool = True) -> list[str]:
    """Every framework's name: the built-in ones in order, then plug-ins."""
    found = list(BUILTIN)
    if include_third_party:
        found.extend(n for n in sorted(_third_party()) if n not in BUILTIN)
    return found


def with_capability(capability: str) -> list[Framework]:
    """The frameworks that implement ``capability`` (a method or declaration of Framework)."""
    return [f for f in all() if has(f, capability)]


def has(framework: Framework, capability: str) -> bool:
    from usagectl.frameworks.base import Framework

    return getattr(type(framework), capability, None) is not getattr(Framework, capability)


_loaded: dict[str, Framework] | None = None


def _declares_group() -> bool:
    """Does any installed distribution declare our entry-point group?

    importlib.metadata.entry_points() costs ~25 ms (it parses every distribution's
    metadata); this grep of entry_points.txt files costs a few and lets `status`
    skip the real lookup when, as usual, no plug-in is installed.
    """
    import sys

    marker = "[" + _ENTRY_POINT_GROUP + "]"
    for directory in sys.path:
        try:
            entries = os.scandir(directory or ".")
        except OSError:
            continue
        with entries:
            for entry in entries:
                if not entry.name.endswith((".dist-info", ".egg-info")):
                    continue
                try:
                    from usagectl import _files

                    with _files.open_regular(os.path.join(entry.path, "entry_points.txt")) as handle:
                        if marker in handle.read().decode("utf-8", "replace"):
                            return True
                except OSError:
                    continue
    return False


def _third_party() -> dict[str, Framework]:
    global _loaded
    if _loaded is None:
        _loaded = {}
        if not _declares_group():
            return _loaded
        from importlib.metadata import entry_points

        for ep in entry_points(group=_ENTRY_POINT_GROUP):
            try:
                plugin = ep.load()
                plugin = plugin() if isinstance(plugin, type) else plugin
                _loaded[plugin.name] = plugin
            except Exception:  # a broken plug-in must not break usagectl
                continue
    return _loaded
