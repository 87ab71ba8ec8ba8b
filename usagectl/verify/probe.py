"""Ask the frameworks themselves what they will do. Run as a script by the target Python.

    python probe.py [--without-hook] NAME=PROBE_FILE...

Each PROBE_FILE is the ``probe.py`` of a framework's home (usagectl/frameworks/...),
loaded by path, whose ``probe()`` returns a dict. Prints one JSON object. Stdlib plus
the frameworks only: the target Python need not have usagectl installed. With
--without-hook the runtime hook's import finder (if the .pth installed one) is removed
first, so the answer is the framework's own, unaided.
"""

import importlib.util
import json
import sys


def _drop_hook():
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "_usagectl_hook", False)]


def _hook_active():
    return any(getattr(f, "_usagectl_hook", False) for f in sys.meta_path)


def _ask(name, path):
    try:
        spec = importlib.util.spec_from_file_location("_usagectl_probe_" + name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.probe()
    except Exception as exc:  # the probe file itself failed: say so, don't hide the others
        return {"installed": None, "error": "%s: %s" % (type(exc).__name__, exc)}


def main(argv):
    without_hook = "--without-hook" in argv
    pairs = [a.split("=", 1) for a in argv if not a.startswith("--") and "=" in a]
    if without_hook:
        _drop_hook()
    result = {"python": sys.executable, "hook_active": _hook_active(), "frameworks": {}}
    for name, path in pairs:
        result["frameworks"][name] = _ask(name, path)
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    # The script's own directory is first on sys.path; nothing in it may shadow a framework.
    sys.path[:] = [p for p in sys.path[1:]]
    main(sys.argv[1:])
