"""usagectl's own settings: ``settings.toml`` beside the consent file.

The consent file holds the decision and nothing else, so that no mistake in a setting
(an SMTP host, a search glob) can make every framework fail closed, and a repair of a
damaged consent file never drops a setting. Three tables live here, edited by hand:

- ``[search]``: extra places where framework records are looked for;
- ``[deletion.<framework>]``, ``[deletion.smtp]``, ``[deletion.http]``: deletion channels;
- ``[verify]``: extra endpoints ``verify --run`` blocks.

Older versions kept them in consent.toml. Read-only commands still read them there
(with a warning, and never write); the next command that writes the consent file moves
them here, keeping a byte-identical backup of the old consent.toml.
"""

from __future__ import annotations

from usagectl import _paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The tables that are settings, not decision.
TABLES = ("search", "deletion", "verify")
#: Settings are small; anything bigger is not ours.
MAX_BYTES = 1 << 20


def blackhole_problem(value: Any) -> str | None:
    """Why a ``[blackhole]`` value is not a URL usagectl may put into a unit, a shell line, a
    Dockerfile or YAML, or None. Quoting for each target comes on top; this makes sure no
    value that could break out of it (a line break, a control character, a space) or that
    is no URL at all is ever carried anywhere."""
    from urllib.parse import urlsplit

    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if any(ord(c) < 0x21 or ord(c) == 0x7F or ord(c) > 0x7E for c in value):
        return "must be a URL of printable ASCII, without spaces or control characters"
    if any(c in value for c in "\"'`\\$;<>|&"):
        return "must not contain quotes, backslashes or shell characters ($ ; < > | &)"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host"
    return None


class Settings:
    __slots__ = ("path", "data", "problem", "legacy", "legacy_path", "consent_problem", "warnings")

    path: str
    data: dict[str, Any]
    #: consent.Problem when settings.toml can't be read or parsed.
    problem: Any
    #: Tables still read from the old place (consent.toml), by name.
    legacy: tuple[str, ...]
    legacy_path: str | None
    #: The consent file's problem: tables it may still hold (old layout) are unknown.
    consent_problem: Any

    def __init__(self, path: str) -> None:
        self.path = path
        self.data = {}
        self.problem = None
        self.legacy = ()
        self.legacy_path = None
        self.consent_problem = None
        #: consent.Problem per setting that was ignored (named with its key), for the
        #: commands that use that setting to show.
        self.warnings: list[Any] = []

    def table(self, name: str) -> Any:
        return self.data.get(name)

    def blackholes(self) -> dict[str, str]:
        """``[blackhole]`` framework -> URL, only the valid ones (see ``blackhole_problem``);
        each invalid one is in ``warnings``."""
        from usagectl.consent import Problem

        table = self.table("blackhole")
        if table is None:
            return {}
        if not isinstance(table, dict):
            self._warn(Problem(self.path, "[blackhole] must be a table of framework = URL; ignored"))
            return {}
        valid = {}
        for name, value in table.items():
            why = blackhole_problem(value)
            if why:
                self._warn(Problem(self.path, "[blackhole] %s %s; ignored" % (name, why)))
            else:
                valid[name] = value
        return valid

    def _warn(self, problem: Any) -> None:
        if all(p.message != problem.message for p in self.warnings):
            self.warnings.append(problem)

    def source_of(self, name: str) -> str:
        """The file a table was read from (for error messages)."""
        return self.legacy_path if name in self.legacy and self.legacy_path else self.path


def settings_path(environ) -> str:
    return _paths.settings_path(environ)


def _parse(data: bytes, path: str):
    """(dict, problem) from settings.toml's bytes."""
    import tomllib

    from usagectl.consent import Problem, toml_problem

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {}, Problem(path, "not UTF-8 text")
    try:
        return tomllib.loads(text), None
    except tomllib.TOMLDecodeError as exc:
        return {}, toml_problem(exc, text, path)


def read(env) -> Settings:
    """The settings, from settings.toml, else (old layout) from consent.toml. Never writes."""
    from usagectl import _files
    from usagectl.consent import Problem

    path = settings_path(env.environ)
    settings = Settings(path)
    try:
        settings.data, settings.problem = _parse(_files.read_regular(path, MAX_BYTES), path)
    except (FileNotFoundError, NotADirectoryError):
        pass
    except (_files.NotRegular, _files.TooLarge) as exc:
        settings.problem = Problem(path, str(exc.strerror).replace(path + " is ", "it is ", 1))
    except OSError as exc:
        settings.problem = Problem(path, "can't be read (%s)" % (exc.strerror or exc))
    consent = env.read_consent()
    settings.consent_problem = consent.problem
    if not consent.problem:
        legacy = tuple(t for t in TABLES if t in consent.data and t not in settings.data)
        for name in legacy:
            settings.data[name] = consent.data[name]
        settings.legacy, settings.legacy_path = legacy, consent.path
    return settings


def legacy_warning(settings: Settings) -> str | None:
    if not settings.legacy:
        return None
    return ("%s holds %s, which now belong in %s; they are still read from there, and the next "
            "`usagectl enable`, `disable`, `local` or `sync` moves them (keeping a backup)"
            % (settings.legacy_path, ", ".join("[%s]" % t for t in settings.legacy), settings.path))


def migrate(consent_path: str, target: str, now, doc, original: bytes):
    """Move the settings tables out of consent.toml into settings.toml.

    Call with the consent file's lock held. ``doc`` is consent.toml as a tomlkit
    document and ``original`` the bytes it was parsed from (the backup keeps them).
    Returns (moved table names, backup path or None); the caller writes ``doc`` back.
    settings.toml is written first, so a crash between the two writes leaves the tables in
    both files, never in neither; a table already in settings.toml wins, and the old copy
    survives in the backup.
    """
    import tomlkit

    from usagectl.core import fsutil

    moved = [name for name in TABLES if name in doc]
    if not moved:
        return [], None
    backup = fsutil.backup_copy(consent_path, original, now, why="before-split")
    with fsutil.locked(target):
        from usagectl import _files

        try:
            settings_doc = tomlkit.parse(_files.read_regular(target, 1 << 20).decode("utf-8"))
        except FileNotFoundError:
            settings_doc = tomlkit.document()
            settings_doc.add(tomlkit.comment("usagectl settings: [search], [deletion.*], [verify]. "
                                             "Edited by hand; see `man usagectl`."))
        for name in moved:
            if name not in settings_doc:
                settings_doc[name] = doc[name]
        fsutil.atomic_write(target, tomlkit.dumps(settings_doc).encode("utf-8"))
    for name in moved:
        del doc[name]
    return moved, backup

