"""The runtime hook's actions: what happens when Ray, Parsl or Coiled is imported.

Two pieces run inside other people's programs:

- ``usagectl-hook.pth`` (written by installer.py) runs at *every* interpreter start.
  It only puts a tiny finder at the front of ``sys.meta_path``; that finder answers
  every import with one tuple lookup and hands the names in ``WATCHED`` to this
  module, which it loads by path (module name ``usagectl_hook_runtime``) on first use. The
  finder lives in the .pth line itself so that start-up reads and compiles no other
  file: this module is ~10 KB of source, and where no .pyc can be cached
  (PYTHONDONTWRITEBYTECODE, read-only installs) compiling it would cost ~4 ms.
- This module: stdlib only, and nothing here may raise into the host program. The
  consent file is read only when a watched module is imported. When the consent
  cannot be known, the framework is treated as off ("fail closed"); the import of
  the framework itself must always succeed. Never loosen: when the consent says on,
  or nobody has chosen, the framework's own settings decide, untouched.

What it does is each framework's own: the functions named in its
``Framework.hook_imports``, in the ``hook.py`` of its home under
usagectl/frameworks/. The installer embeds that table (module name -> framework,
phase, file, function) in the .pth as plain data, and ``configure`` hands it here;
this module loads a framework's hook file by path the first time one of its modules
is imported and calls the function with this module as its toolbox (``decide``,
``record``, ``log``, ``copy_identity``, ``level_cap``, ``MARK``, ``NOT_SENDING``).
"""

import os
import sys

#: Attribute that marks our finder and our wrappers, so a second .pth (e.g. a venv
#: with --system-site-packages over a base that has the hook too) never stacks them.
MARK = "_usagectl_hook"
#: Modes under which nothing may be sent.
NOT_SENDING = ("off", "local")
_NOT_SENDING = NOT_SENDING

#: module name -> (framework, "before" | "after", hook file, function name); see configure.
_TABLE: dict = {}
#: hook file path -> its loaded module.
_HOOK_MODULES: dict = {}


def configure(table):
    """Take the watched-module table the .pth embeds (idempotent)."""
    _TABLE.update(table)


def _hook_function(entry):
    framework, _phase, path, function = entry
    module = _HOOK_MODULES.get(path)
    if module is None:
        import importlib.util

        spec = importlib.util.spec_from_file_location("usagectl_hook_" + framework, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _HOOK_MODULES[path] = module
    return getattr(module, function)


def _toolbox():
    """This module, as the hook functions see it."""
    return sys.modules.get(__name__) or sys.modules.get("usagectl_hook_runtime")


# ---------------------------------------------------------------------------
# Called by the .pth's finder, for watched names only

_searching: set = set()


def find_spec(fullname, path=None, target=None):
    """Act on a watched import; returns the real spec (loader wrapped) or None.

    None means "not mine": the import machinery then asks the next finders, so the
    module always loads as it would without usagectl.
    """
    entry = _TABLE.get(fullname)
    if entry is None:
        return None
    if entry[1] == "before":
        _guarded(lambda: _hook_function(entry)(_toolbox()), name="restricting " + fullname)
        return None
    if fullname in _searching:
        return None

    def patch(module):
        _hook_function(entry)(_toolbox(), module)
    _searching.add(fullname)
    try:
        spec = None
        for finder in list(sys.meta_path):
            if getattr(finder, MARK, False):
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
    except Exception:
        # Let the normal machinery find it (and report its own errors).
        return None
    finally:
        _searching.discard(fullname)
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return None
    spec.loader = PatchingLoader(spec.loader, patch, fullname)
    return spec


class PatchingLoader:
    """Wraps a module's real loader: runs it, puts it back, then patches the module.

    Everything but exec_module is delegated, so resource readers and get_source keep
    working; after loading, the module's __loader__ and __spec__.loader are the real
    loader again, so the module looks untouched.
    """

    def __init__(self, loader, patch, name):
        self._loader = loader
        self._patch = patch
        self._name = name

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def exec_module(self, module):
        try:
            self._loader.exec_module(module)
        finally:
            try:
                module.__loader__ = self._loader
                if getattr(module, "__spec__", None) is not None:
                    module.__spec__.loader = self._loader
            except Exception:
                pass
        _guarded(self._patch, module, name="patching " + self._name)


def _guarded(action, *args, name):
    """Run an action; an error is logged as one line, never raised into the host."""
    try:
        action(*args)
    except Exception as exc:
        _log("warning", "usagectl hook: %s failed (%r); its telemetry is not restricted by usagectl",
             name, exc)


def _log(level, message, *args, logger_name="usagectl.hook"):
    try:
        import logging

        # stacklevel: the record names the wrapper that logged, not this helper.
        getattr(logging.getLogger(logger_name), level)(message, *args, stacklevel=2)
    except Exception:
        pass


# ---------------------------------------------------------------------------
# The consent, read only when a framework asks


class _FailedDecision:
    """Stands in for usagectl.consent.Decision when the reader cannot be loaded: off."""

    def __init__(self, framework, why):
        self.framework = framework
        self.mode = "off"
        self.level = 0
        self.source = "error"
        self.reason = "usagectl's consent reader could not be loaded (%s), so telemetry is off" % why


def decide(framework):
    """usagectl.consent.decide(framework) for this process; off on any failure."""
    try:
        return _consent_reader().decide(framework)
    except Exception as exc:
        return _FailedDecision(framework, repr(exc))


def _consent_reader():
    """usagectl.consent, from code the interpreter's owner installed; see _package."""
    return _package().consent


#: The private name the hook's own copy of the reader is loaded under, so that it never
#: shadows a usagectl the host program imports itself.
COPY_PACKAGE = "usagectl_hook_code"


def _package():
    """The usagectl package whose reader decides, loaded from where only the owner of this
    interpreter can write.

    1. A usagectl the program itself already imported: its own choice.
    2. usagectl installed in the same site-packages as this hook (``pip install
       usagectl`` in that environment): as trusted as the hook's own files.
    3. Otherwise the copy ``hook install`` put beside this file (the package this very
       file belongs to), loaded by path under a private name. Nothing on sys.path is
       consulted for it, so a ``usagectl`` planted in the working directory or a user
       site is never run.
    """
    module = sys.modules.get(COPY_PACKAGE)
    if module is not None and hasattr(module, "consent"):
        return module
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    own = sys.modules.get("usagectl")
    if own is None:
        import importlib.util

        try:
            spec = importlib.util.find_spec("usagectl")
        except Exception:
            spec = None
        site = os.path.dirname(os.path.dirname(package_dir))
        locations = list(getattr(spec, "submodule_search_locations", None) or []) if spec else []
        if locations and all(os.path.realpath(os.path.dirname(p)) == os.path.realpath(site) for p in locations):
            import usagectl as own
    if own is not None:
        import importlib

        importlib.import_module("usagectl.consent")
        return own
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        COPY_PACKAGE, os.path.join(package_dir, "__init__.py"), submodule_search_locations=[package_dir])
    package = importlib.util.module_from_spec(spec)
    sys.modules[COPY_PACKAGE] = package
    try:
        spec.loader.exec_module(package)
        import importlib

        importlib.import_module(COPY_PACKAGE + ".consent")
    except BaseException:
        sys.modules.pop(COPY_PACKAGE, None)
        raise
    return package


def _submodule(name):
    import importlib

    return importlib.import_module(_package().__name__ + "." + name)


def level_cap(decision):
    """The highest level allowed: 0 when nothing may be sent, None for no cap."""
    if decision.mode in _NOT_SENDING:
        return 0
    return decision.level


# ---------------------------------------------------------------------------
# The toolbox hook functions use


def _record(framework, destination, body, outcome, reason=None, identifiers=None, delivery=None,
            http_status=None):
    """Append to usagectl's sent ledger; never raises into the framework."""
    reader = None
    try:
        reader = _consent_reader()
        if not reader.record_sent(framework, destination, body, outcome=outcome, reason=reason,
                                  identifiers=identifiers, delivery=delivery, http_status=http_status):
            # The send happened; only its record is missing: say why, once per failure.
            _log("warning", "usagectl hook: a %s payload to %s was not recorded in the sent ledger: %s",
                 framework, destination, getattr(reader, "last_record_error", None) or "unknown error")
    except TypeError:
        # An older usagectl's reader (installed in this environment) without the delivery
        # arguments: record what it can.
        try:
            if reader is not None:
                reader.record_sent(framework, destination, body, outcome=outcome, reason=reason,
                                   identifiers=identifiers)
        except Exception:
            pass
    except Exception:
        pass


def _copy_identity(wrapper, original):
    for name in ("__name__", "__qualname__", "__doc__", "__module__"):
        try:
            setattr(wrapper, name, getattr(original, name))
        except Exception:
            pass
    wrapper.__wrapped__ = original
    setattr(wrapper, MARK, True)


def setting(table, key):
    """A value from usagectl's settings.toml (``[table] key``), or None. Never raises; read
    only when a framework that needs it is imported."""
    try:
        import tomllib

        paths = _submodule("_paths")
        # Never blocks (this runs inside the user's program): a FIFO is refused.
        data = tomllib.loads(_consent_reader().read_regular(paths.settings_path(), 1 << 20).decode("utf-8"))
        section = data.get(table)
        return section.get(key) if isinstance(section, dict) else None
    except Exception:
        return None


def record_place(framework, kind, path):
    """Note where a framework keeps its own records (usagectl._ledger.record_place)."""
    try:
        _submodule("_ledger").record_place(framework, kind, path)
    except Exception:
        pass


record = _record
log = _log
copy_identity = _copy_identity
