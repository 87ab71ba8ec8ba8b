"""The one interface every framework implements: what usagectl knows about it.

A framework object is the single home of everything usagectl knows about one
framework: where its switch lives, what it does by default, where it sends, what it
records locally, what its next report holds, which identifiers a deletion request
needs, how to ask its own code, and what the runtime hook patches. The engines
(records, preview, verify, watch, hook, deletion) iterate the frameworks and call
these methods; none of them branches on a framework's name.

Every capability has a default that says "nothing known", so a third-party framework
(entry-point group ``usagectl.adapters``) implements only what its framework has.
Declarations the import-light parts read (the runtime hook, ``verify --run``'s audit
hook) are plain data: tuples and dicts of strings.
"""

from __future__ import annotations

import os

# Annotations only (no typing import at run time: `status` loads this module).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from usagectl.consent import Decision
    from usagectl.core.environment import Environment

    #: A native-state answer: mode ("on", "off", "local" or "unknown"), source, detail, traps.
    NativeState = dict[str, Any]


def hook_works(hook: dict[str, Any] | None) -> bool:
    """Is the runtime hook (a hook state dict, usagectl.hook.state) installed, usagectl's
    own, and its code there, in the interpreter it describes?"""
    return bool(hook and hook.get("installed") and hook.get("ours") and hook.get("runtime_exists"))


class Framework:
    #: Name used in the consent file and on the command line (lower case).
    name: str = ""
    #: Human name.
    title: str = ""
    #: What the framework does when nobody has chosen: "on" or "off".
    own_default: str = "off"
    #: One line explaining that default.
    own_default_note: str = ""
    #: True when the framework has telemetry levels (Parsl's 1-3) that a level cap limits.
    has_levels: bool = False
    #: The highest level the framework has (Parsl: 3), so `--level` can be checked.
    max_level: int | None = None
    #: The kinds of data it sends that its own settings switch one by one, as (name,
    #: what leaves with it): consent may let some through (`enable --only`) and hold back
    #: the rest. native_state()["categories"] and says_categories() report each one.
    categories: tuple[tuple[str, str], ...] = ()
    #: Hosts the framework sends telemetry to by default; verify --run blocks them (and
    #: whatever ``configured_endpoints`` says the settings point it at instead).
    endpoints: tuple[str, ...] = ()
    #: The Python package to look for, or the program on PATH (for `installed_here`).
    python_package: str | None = None
    program: str | None = None

    # -- Local records ------------------------------------------------------
    #: What to say when the framework keeps no local record of what it sends (first
    #: line: that fact; the rest: what it sends). Empty when it keeps records.
    no_local_record: tuple[str, ...] = ()
    #: Notes shown with every records listing of this framework.
    records_notes: tuple[str, ...] = ()
    #: Its own records keep only the last payload of a run (Ray's usage_stats.json): a
    #: count of them is a lower bound, and is said as "at least".
    records_keep_last_only: bool = False

    # -- Deletion -------------------------------------------------------------
    #: The deletion channel the framework documents: {"email": ..., "source": ...}.
    deletion_channel: dict[str, str] | None = None
    #: What to say when it documents none.
    deletion_note: str = ""
    #: Human labels of the identifier kinds a deletion request names.
    identifier_labels: dict[str, str] = {}
    #: Addresses of public mailing lists among the framework's contacts: a request to one
    #: would publish the identifiers, so it is never sent without --to-public-list.
    public_contacts: tuple[str, ...] = ()
    #: What the vendor holds, as the framework's own documents and code say: named in
    #: the request so it asks for that, not for "data" in general.
    deletion_holds: str = ""

    # -- Runtime hook (plain data: the .pth and runtime.py read it) --------------
    #: module name -> ("before" | "after", function name in ``hook.py`` beside the
    #: framework's module). "before" runs before the module is imported, "after"
    #: patches it right after it ran.
    hook_imports: dict[str, tuple[str, str]] = {}
    #: Environment the .pth sets on an import of that module when runtime.py can't
    #: be loaded (fail closed where no code is needed).
    hook_fallback_env: dict[str, dict[str, str]] = {}

    # -- verify --run (plain data: the audit hook reads it) -----------------------
    #: (module __name__, function name) -> the local that holds what would be sent.
    payload_frames: dict[tuple[str, str], str] = {}

    # -----------------------------------------------------------------------
    # Settings

    def detect(self, env: Environment) -> dict[str, Any]:
        """Is the framework installed, and which of its files exist?"""
        return {"installed": None, "version": None, "files": []}

    def installed_here(self, env: Environment) -> bool | None:
        """Cheaply: can this Python import the framework (or is its program on PATH)?

        None when the framework names neither. Cheap enough for `status`, unlike detect().
        """
        if self.python_package:
            return _importable(self.python_package)
        if self.program:
            return _on_path(self.program, env.environ.get("PATH", os.defpath))
        return None

    def native_state(self, env: Environment) -> NativeState:
        """What the framework itself will decide, and which of its sources decided it.

        Returns a dict: mode ("on", "off", "local" or "unknown"), source, detail, and
        traps (env values the framework would misread or crash on).
        """
        return {"mode": "unknown", "source": None, "detail": "usagectl can't read this framework's state",
                "traps": []}

    def apply(self, env: Environment, decision: Decision, repair: bool = False) -> dict[str, Any]:
        """Carry ``decision`` into the framework's own settings. -> dict(changed, notes)."""
        return {"changed": [], "notes": []}

    def env_vars(self, decision: Decision) -> list[tuple[str, str]]:
        """The framework's own environment variables for ``decision``: [(name, value)].

        For CI jobs and containers where the consent file isn't shared. Empty when the
        framework has no such variable or the decision is "unset".
        """
        return []

    def system_apply(self, env: Environment, decision: Decision) -> dict[str, Any]:
        """`usagectl --system`: carry the policy's decision for a user who never chose into
        system-wide settings (a file every user's framework reads). -> dict(changed, notes)."""
        return {"changed": [], "notes": []}

    def system_state(self, env: Environment) -> list[dict[str, Any]]:
        """The system-wide settings usagectl manages for this framework: [{path, present, detail}]."""
        return []

    def export_formats(self) -> tuple[Any, ...]:
        """This framework's `usagectl export` formats (usagectl.export.Format objects):
        files only this framework reads, e.g. Ray's cluster launcher YAML."""
        return ()

    def configured_endpoints(self, env: Environment) -> list[tuple[str, str]]:
        """Where the framework's own settings send telemetry instead of (or besides) its
        defaults, resolved as the framework resolves them: [(URL or host[:port], source)]."""
        return []

    def blackhole_env(self, url: str) -> list[tuple[str, str]]:
        """The variables that send what no switch stops (Ray's disabled ping) to ``url``
        instead: a blackhole the user names in settings.toml ``[blackhole]``. Empty when the
        framework has no such variable."""
        return []

    def side_channels(self, env: Environment) -> list[dict[str, Any]]:
        """Traffic the framework's telemetry switch does not stop.

        A list of {"name", "detail", "how_to_close"}; empty when none is known.
        """
        return []

    def identifier_files(self, env: Environment) -> list[dict[str, Any]]:
        """Files holding identifiers the framework sends (read only).

        A list of {"name", "path", "exists", "value"}; empty when none is known.
        """
        return []

    def running(self, env: Environment) -> list[dict[str, Any]] | None:
        """Processes of this framework running now that decided at start and keep that
        decision: [{"pid", "started", "what", "reporting": True/False/None, "restart"}].

        Empty when none run; None when usagectl can't tell (an unknown, not a "none").
        Only frameworks whose processes outlive a change of settings implement it.
        """
        return []

    # -----------------------------------------------------------------------
    # Records (show-last, verify, request-deletion)

    def scan_records(self, env: Environment, limit: int | None, since: Any, trust: bool,
                     paths: tuple[str, ...] | list[str]) -> tuple[list, list] | None:
        """Payloads from the framework's own local files -> (payloads, skipped).

        None when the framework keeps no local record usagectl can read.
        """
        return None

    def inferred_sends(self, env: Environment, since: Any) -> list:
        """Payloads no record shows but the framework's own traces prove were attempted
        since ``since`` (Ray: a head that started with stats disabled sent a disabled
        ping), each stated as inferred, with delivery unknown. [] when none can be."""
        return []

    def follow_source(self, env: Environment, trust: bool, paths: list[str]) -> Any:
        """An object whose ``poll(now)`` returns new payloads from the framework's own
        files, with a ``skipped`` list; None when there is nothing to follow."""
        return None

    def display_body(self, payload: Any) -> bytes | None:
        """The bytes to show for a payload, when they differ from ``payload.body``
        (e.g. a transport prefix); None to show the body as it is."""
        return None

    # -----------------------------------------------------------------------
    # Preview

    #: What `preview --config SPEC` means for this framework (its own configuration
    #: object); empty when it has none, and then ``preview`` is never given ``config``.
    preview_config: str = ""

    def preview(self, env: Environment, decision: Decision, native: NativeState,
                level: int | None = None, **options: Any) -> dict[str, Any] | None:
        """The next report (usagectl.core.previews's dict); None when not known.
        ``options``: ``config`` (the `--config` SPEC), only when ``preview_config`` is set."""
        return None

    # -----------------------------------------------------------------------
    # Asking the framework's own code (verify)

    def probe_file(self) -> str | None:
        """A stdlib-plus-framework module with ``probe() -> dict``, run by path in the
        target Python; None when there is nothing to ask."""
        return None

    def says(self, probe: dict[str, Any]) -> str | None:
        """"on"/"off" from the probe's answer (the framework's own verdict), else None."""
        return None

    def says_categories(self, probe: dict[str, Any]) -> dict[str, str] | None:
        """{category: "on" | "off"} from the probe's answer, for a framework with
        categories; None when it can't say per category."""
        return None

    def body_fields(self, payload: Any) -> tuple[str, list[str]] | None:
        """(section, field names) of a sent payload (a records Payload), with sections
        named as the preview's ``field_sets``; None when its body has none."""
        return None

    def field_catalogue(self) -> list[dict[str, Any]]:
        """What the framework can send, in sections (one per message or event): each
        {"title", "source" (where the list comes from: file and version), "fields":
        [{"name", "when" (level, category or ""), "type", "flags", "about"}]}. Rendered
        as docs/what-is-collected.md (tools/docgen.py); [] when not catalogued."""
        return []

    def unenforceable(self, probe: dict[str, Any]) -> str | None:
        """From the probe's answer: what this release of the framework sends that none of
        its settings can stop (a key it never reads), in one sentence; None when its
        settings can stop everything. ``says`` answers "on" whenever this is not None."""
        return None

    def ask_program(self, env: Environment) -> dict[str, Any] | None:
        """For a framework that is a program (not importable Python): its own answer, from
        running it read-only. None when it can't be asked here (not on PATH); else
        {"says": "on"/"off"/None, "asked": argv, "evidence": [...], "error": str|None}."""
        return None

    # -----------------------------------------------------------------------
    # Runtime hook

    def hook_file(self) -> str | None:
        """The stdlib-only module holding the functions named in ``hook_imports``."""
        return None

    def hooked_state(self, env: Environment, decision: Decision,
                     hook: dict[str, Any]) -> dict[str, Any] | None:
        """The effective state once the runtime hook (installed as ``hook`` says) acts,
        for a framework whose only mechanism is the hook; None when the hook adds
        nothing to ``native_state``."""
        return None

    def hook_notes(self, hook: dict[str, Any]) -> list[str]:
        """What `sync` says about this framework given the hook's state."""
        return []

    # -----------------------------------------------------------------------
    # Deletion

    def forgettable(self, env: Environment) -> list[dict[str, Any]]:
        """The local identifiers that link this framework's future reports to past ones:
        [{"kind", "path" (or None), "resettable": bool, "how"}]. `usagectl forget` removes
        the resettable files (the framework makes a new id); the others it says plainly."""
        return []

    def gather_identifiers(self, env: Environment, found: Any) -> None:
        """Add the identifiers of this framework's collected data to ``found``
        (usagectl.deletion.identifiers.Found), from local files only."""
        found.notes.append("usagectl knows no local identifiers for %s" % self.name)

    # -----------------------------------------------------------------------

    def _sibling(self, module_file: str, name: str) -> str:
        """Path of ``name`` next to the module file of a framework package."""
        return os.path.join(os.path.dirname(os.path.abspath(module_file)), name)

    def __repr__(self) -> str:
        return "<%s framework>" % self.name


def _importable(name: str) -> bool:
    """importlib.util.find_spec for a top-level name, without importing importlib.util
    (and contextlib with it): `status` asks this for every framework."""
    import sys

    if name in sys.modules:
        return True
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            if find_spec(name, None) is not None:
                return True
        except (ImportError, ValueError):
            continue
    return False


def _on_path(program: str, path: str) -> bool:
    """shutil.which(program) is not None, without importing shutil."""
    for directory in path.split(os.pathsep):
        candidate = os.path.join(directory or ".", program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return True
    return False


#: The name third-party plug-ins and older code know it by.
Adapter = Framework
