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

What it does (facts checked against the installed sources, see ../shared/FRAMEWORKS.md):

- ``ray``: before Ray's package runs, ``RAY_USAGE_STATS_ENABLED=0`` when the consent
  is off or local. Ray's ``usage_lib._usage_stats_enabledness()`` reads that variable
  first, on every call, and ``"0"`` means DISABLED_EXPLICITLY; child processes
  (``ray start``'s dashboard among them) inherit it.
- ``parsl.usage_tracking.usage``: ``UsageTracker.check_tracking_level``, the one gate
  every send passes through (its result becomes ``tracking_level``, which the start
  and end messages test), is wrapped so its result is capped at the consent level.
- ``coiled.analytics``: ``register()`` and ``dask_setup()`` (what distributed's
  preloading calls for ``--preload coiled.analytics``) refuse, with one logged line,
  when the consent is off or local.

And it keeps the record: every report Ray's dashboard POSTs (``UsageReportClient.
report_usage_data``, the disabled ping included) and every message Parsl hands to its
UDP sender go into usagectl's sent ledger with destination, exact body and outcome,
which `usagectl show-last` and `usagectl verify` read.
"""

import os
import sys

#: Attribute that marks our finder and our wrappers, so a second .pth (e.g. a venv
#: with --system-site-packages over a base that has the hook too) never stacks them.
MARK = "_usagectl_hook"
RAY_ENV_VAR = "RAY_USAGE_STATS_ENABLED"
#: Modes under which nothing may be sent.
_NOT_SENDING = ("off", "local")


# ---------------------------------------------------------------------------
# Called by the .pth's finder, for watched names only

_searching = set()


def find_spec(fullname, path=None, target=None):
    """Act on a watched import; returns the real spec (loader wrapped) or None.

    None means "not mine": the import machinery then asks the next finders, so the
    module always loads as it would without usagectl.
    """
    before = BEFORE.get(fullname)
    if before is not None:
        _guarded(before, name="restricting " + fullname)
        return None
    patch = AFTER.get(fullname)
    if patch is None or fullname in _searching:
        return None
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
    """usagectl.consent, wherever it can be found.

    1. Already imported, or importable in this environment (the usual case: the hook
       was installed into the environment usagectl runs in). Its own usagectl is the
       one this environment's user maintains; every version reads the same
       versioned file format.
    2. Otherwise (installed with ``--python`` into an environment without usagectl):
       the usagectl package this very file belongs to, loaded by path under its own
       name. Nothing else of usagectl's environment is put on sys.path, so the host
       program cannot pick up that environment's other packages; only the stdlib-only
       ``usagectl``, ``usagectl._paths`` and ``usagectl.consent`` get loaded.
    """
    module = sys.modules.get("usagectl.consent")
    if module is not None:
        return module
    try:
        import usagectl.consent

        return usagectl.consent
    except ImportError:
        if "usagectl" in sys.modules:
            raise  # a usagectl is there but broken: don't replace it, fail closed
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "usagectl", os.path.join(package_dir, "__init__.py"), submodule_search_locations=[package_dir])
    package = importlib.util.module_from_spec(spec)
    sys.modules["usagectl"] = package
    try:
        spec.loader.exec_module(package)
        import usagectl.consent
    except BaseException:
        sys.modules.pop("usagectl", None)
        raise
    return usagectl.consent


def level_cap(decision):
    """The highest level allowed: 0 when nothing may be sent, None for no cap."""
    if decision.mode in _NOT_SENDING:
        return 0
    return decision.level


# ---------------------------------------------------------------------------
# Ray


def _before_ray():
    decision = decide("ray")
    if decision.mode in _NOT_SENDING:
        # Overrides a user's "1" too: the consent file outranks the framework's switch.
        os.environ[RAY_ENV_VAR] = "0"


def _patch_ray_usage(module):
    """Record every report Ray's dashboard sends (the disabled ping included) in the ledger.

    Both the full report and the "disabled ping" go through
    ``UsageReportClient.report_usage_data`` (usage_stats_head.py), which POSTs
    ``json=asdict(data)``: requests encodes that with json.dumps(allow_nan=False), so
    the recorded body is the exact bytes on the wire.
    """
    client = getattr(module, "UsageReportClient", None)
    original = getattr(client, "report_usage_data", None)
    if original is None or getattr(original, MARK, False):
        return

    def report_usage_data(self, url, data, *args, **kwargs):
        body, identifiers = None, {}
        try:
            import dataclasses
            import json

            body = json.dumps(dataclasses.asdict(data), allow_nan=False).encode("utf-8")
            if getattr(data, "session_id", None):
                identifiers["session_id"] = data.session_id
        except Exception:
            pass
        ping = getattr(data, "session_id", None) is None and getattr(data, "ray_version", None) is None
        try:
            result = original(self, url, data, *args, **kwargs)
        except BaseException as exc:
            _record("ray", url, body, "failed", "%s: %s" % (type(exc).__name__, exc), identifiers)
            raise
        _record("ray", url, body, "disabled-ping" if ping else "sent", None, identifiers)
        return result

    _copy_identity(report_usage_data, original)
    client.report_usage_data = report_usage_data


def _record(framework, destination, body, outcome, reason=None, identifiers=None):
    """Append to usagectl's sent ledger; never raises into the framework."""
    try:
        _consent_reader().record_sent(framework, destination, body, outcome=outcome, reason=reason,
                                      identifiers=identifiers)
    except Exception:
        pass


# ---------------------------------------------------------------------------
# Parsl


def _patch_parsl(module):
    tracker = module.UsageTracker
    _patch_parsl_send(tracker)
    original = tracker.check_tracking_level
    if getattr(original, MARK, False):
        return

    def check_tracking_level(self):
        level = original(self)  # Parsl's own validation (and ConfigurationError) first
        try:
            cap = level_cap(decide("parsl"))
        except Exception:
            cap = 0
        if cap is None or int(level) <= cap:
            return level
        _log("info", "usagectl: usage tracking level %s capped at %d by the telemetry consent",
             level, cap, logger_name=module.__name__)
        return cap

    check_tracking_level.__doc__ = original.__doc__
    check_tracking_level.__wrapped__ = original
    setattr(check_tracking_level, MARK, True)
    tracker.check_tracking_level = check_tracking_level


def _patch_parsl_send(tracker):
    """Record what Parsl hands to its UDP sender in the ledger.

    Parsl sends from a spawned process and logs failures only there, so usagectl can
    know that a message was handed over ("logged-not-known-sent"), or that the
    hand-over itself failed (in 2026.10.26 it always does: Parsl issue #4038).
    """
    original = getattr(tracker, "send_UDP_message", None)
    if original is None or getattr(original, MARK, False):
        return

    def send_UDP_message(self, message, *args, **kwargs):
        before = len(getattr(self, "procs", None) or ())
        result = original(self, message, *args, **kwargs)
        started = len(getattr(self, "procs", None) or ()) > before
        identifiers = {}
        try:
            import json

            sent = json.loads(bytes(message)[1:])
            for key in ("correlator", "project_name"):
                if sent.get(key):
                    identifiers[key] = sent[key]
        except Exception:
            pass
        destination = "udp://%s:%s" % (getattr(self, "domain_name", "?"), getattr(self, "UDP_PORT", "?"))
        if started:
            _record("parsl", destination, message, "logged-not-known-sent",
                    "handed to Parsl's sender process, which reports no outcome", identifiers)
        else:
            _record("parsl", destination, message, "failed",
                    "Parsl could not start its sender process ('Usage tracking failed' in parsl.log)",
                    identifiers)
        return result

    _copy_identity(send_UDP_message, original)
    tracker.send_UDP_message = send_UDP_message


# ---------------------------------------------------------------------------
# Coiled


def _coiled_refused(what):
    """True (and one line logged) when Coiled analytics may not start."""
    decision = decide("coiled")
    if decision.mode not in _NOT_SENDING:
        return False
    _log("warning", "usagectl: %s refused: telemetry consent for coiled is %s (%s)",
         what, decision.mode, decision.reason, logger_name="coiled.analytics")
    return True


def _patch_coiled(module):
    original_register = module.register
    if getattr(original_register, MARK, False):
        return

    def register(*args, **kwargs):
        if _coiled_refused("coiled.analytics.register()"):
            return None
        return original_register(*args, **kwargs)

    _copy_identity(register, original_register)
    module.register = register

    original_setup = getattr(module, "dask_setup", None)
    if original_setup is not None:

        async def dask_setup(*args, **kwargs):
            # distributed.preloading awaits what dask_setup returns, so stay a coroutine.
            if _coiled_refused("the coiled.analytics scheduler preload"):
                return None
            result = original_setup(*args, **kwargs)
            if hasattr(result, "__await__"):
                result = await result
            return result

        _copy_identity(dask_setup, original_setup)
        module.dask_setup = dask_setup


def _copy_identity(wrapper, original):
    for name in ("__name__", "__qualname__", "__doc__", "__module__"):
        try:
            setattr(wrapper, name, getattr(original, name))
        except Exception:
            pass
    wrapper.__wrapped__ = original
    setattr(wrapper, MARK, True)


# ---------------------------------------------------------------------------
# What is watched

#: Acted on before the module is imported.
BEFORE = {"ray": _before_ray}
#: Patched right after the module has run, before anyone can use it.
AFTER = {"ray._common.usage.usage_lib": _patch_ray_usage, "parsl.usage_tracking.usage": _patch_parsl,
         "coiled.analytics": _patch_coiled}
#: Every name the .pth's finder hands over (the installer embeds this tuple).
WATCHED = tuple(BEFORE) + tuple(AFTER)
