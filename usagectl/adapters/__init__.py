"""The registry of framework adapters: the seam where each framework plugs in.

Built-in adapters are listed here by module; third-party ones come from the
``usagectl.adapters`` entry-point group and are loaded only when asked for.
"""

import importlib
import os

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


def _declares_group():
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
                    with open(os.path.join(entry.path, "entry_points.txt"), encoding="utf-8",
                              errors="replace") as handle:
                        if marker in handle.read():
                            return True
                except OSError:
                    continue
    return False


def _third_party():
    global _loaded
    if _loaded is None:
        _loaded = {}
        if not _declares_group():
            return _loaded
        from importlib.metadata import entry_points

        for ep in entry_points(group=_ENTRY_POINT_GROUP):
            try:
                adapter = ep.load()
                adapter = adapter() if isinstance(adapter, type) else adapter
                _loaded[adapter.name] = adapter
            except Exception:  # a broken plug-in must not break usagectl
                continue
    return _loaded
