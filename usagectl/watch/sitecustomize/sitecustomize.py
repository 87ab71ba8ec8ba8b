"""usagectl verify --run: watch this Python process for telemetry traffic.

``usagectl verify --run`` puts this directory first on PYTHONPATH, so every Python
process of the watched command (and every child that inherits the environment)
imports this file at start-up through ``site``. It loads ../audit.py by path (this
interpreter may not have usagectl installed), installs the audit hook when
USAGECTL_WATCH_LOG is set, then runs the sitecustomize this one shadows, if the
environment has one, exactly as ``site`` would have. Nothing here may break start-up.
"""


def _watch():
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    if os.environ.get("USAGECTL_WATCH_LOG") and "_usagectl_watch_audit" not in sys.modules:
        try:
            from importlib.machinery import SourceFileLoader

            path = os.path.join(os.path.dirname(here), "audit.py")
            loader = SourceFileLoader("_usagectl_watch_audit", path)
            module = type(sys)("_usagectl_watch_audit")
            module.__file__ = path
            module.__loader__ = loader
            sys.modules["_usagectl_watch_audit"] = module
            loader.exec_module(module)
            module.install_from_environ()
        except Exception as exc:
            sys.modules.pop("_usagectl_watch_audit", None)
            sys.stderr.write("usagectl verify --run: this process is NOT watched (%r)\n" % (exc,))
    return here


def _chain(here):
    """Run the sitecustomize that comes after this one on sys.path, as site would."""
    import os
    import sys
    from importlib.machinery import PathFinder

    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    import importlib.util

    module = importlib.util.module_from_spec(spec)
    # The import system hands back whatever sys.modules holds when this file ends, so
    # `import sitecustomize` later gives the user's module, as without usagectl.
    sys.modules["sitecustomize"] = module
    # An error propagates to site, which reports it as it would for the original.
    spec.loader.exec_module(module)


_chain(_watch())
del _watch, _chain
