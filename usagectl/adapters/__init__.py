"""The registry of framework adapters: the seam where each framework plugs in.

Built-in adapters are listed here by module; third-party ones come from the
``usagectl.adapters`` entry-point group and are loaded only when asked for.
"""

import importlib

from usagectl.consent import KNOWN_FRAMEWORKS

_BUILTIN = {name: "usagectl.adapters." + name for name in KNOWN_FRAMEWORKS}
_ENTRY_POINT_GROUP = "usagectl.adapters"


def builtin_names():
    return tuple(_BUILTIN)


def get(name):
    """The adapter for ``name``, or None for a framework usagectl has no adapter for."""
    module = _BUILTIN.get(name)
    if module is not None:
        return importlib.import_module(module).ADAPTER
    return _third_party().get(name)


def all_adapters(include_third_party=True):
    adapters = [get(name) for name in _BUILTIN]
    if include_third_party:
        adapters.extend(a for n, a in sorted(_third_party().items()) if n not in _BUILTIN)
    return adapters


_loaded = None


def _third_party():
    global _loaded
    if _loaded is None:
        _loaded = {}
        from importlib.metadata import entry_points

        for ep in entry_points(group=_ENTRY_POINT_GROUP):
            try:
                adapter = ep.load()
                adapter = adapter() if isinstance(adapter, type) else adapter
                _loaded[adapter.name] = adapter
            except Exception:  # a broken plug-in must not break usagectl
                continue
    return _loaded
