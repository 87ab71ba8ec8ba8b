"""The shared telemetry consent file: the reader that frameworks import.

One file, stdlib only, and it never raises into the host program: any failure to read
or understand the consent or policy file means "off". The file format is specified in
docs/consent-file.md; this module is the reference reader. It is published on its own
as the ``usage-consent`` distribution (module ``usage_consent``, this file byte for
byte), and a framework may vendor this file as it is: it imports nothing from usagectl.

    import usage_consent as consent        # or: from usagectl import consent
    if consent.allowed("parsl", level=2):
        send_usage_report()

    d = consent.decide("ray")   # Decision(mode, level, source, reason, since, ...)

Sections: where the files are; reading a file without blocking; the TOML subset read
without importing tomllib; reading and validating; deciding; the sent ledger.
"""


from __future__ import annotations

import os
import sys

# Annotations only: importing typing (or collections.abc) here would cost every framework
# that imports this reader; type checkers treat a name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime
    from collections.abc import Mapping

SCHEMA_VERSION = 1
#: Modes, most restrictive first. "local" means collect locally, never send.
MODES = ("off", "local", "on")
_RANK = {mode: rank for rank, mode in enumerate(MODES)}
#: Frameworks usagectl ships adapters for; the file accepts any framework name.
KNOWN_FRAMEWORKS = ("ray", "parsl", "bacalhau", "coiled")

#: Values of DO_NOT_TRACK that do not ask for "off" (https://consoledonottrack.com).
_DNT_NEUTRAL = ("", "0", "false")

# Stable identifiers for the layer that decided a mode (documented in docs/consent-file.md).
SOURCE_POLICY = "policy"
SOURCE_DO_NOT_TRACK = "do-not-track"
SOURCE_FRAMEWORK_ENTRY = "consent:framework"
SOURCE_DEFAULT_ENTRY = "consent:default"
SOURCE_DAMAGED_CONSENT = "damaged:consent"
SOURCE_DAMAGED_POLICY = "damaged:policy"
SOURCE_UNSET = "unset"
SOURCE_ERROR = "error"


class Problem:
    """Why a file could not be trusted: the file, the line when known, and what is wrong."""

    __slots__ = ("path", "line", "message")

    def __init__(self, path, message, line=None):
        self.path = path
        self.message = message
        self.line = line

    def __str__(self):
        where = self.path if self.line is None else "%s line %d" % (self.path, self.line)
        return "%s: %s" % (where, self.message)

    def __repr__(self):
        return "Problem(%r, %r, line=%r)" % (self.path, self.message, self.line)


class Entry:
    """One entry of the consent file (the default, or one framework's).

    ``send`` (a tuple of category names, or None) narrows ``mode = "local"``: those
    categories may still be sent. It is None when the entry has no ``send`` key.
    """

    __slots__ = ("mode", "level", "changed", "send")

    def __init__(self, mode, level=None, changed=None, send=None):
        self.mode = mode
        self.level = level
        self.changed = changed
        self.send = send

    def __repr__(self):
        return "Entry(%r, level=%r, changed=%r, send=%r)" % (self.mode, self.level, self.changed, self.send)


class Ceiling:
    """One ceiling of the system policy: the loosest mode (and level) a user may choose."""

    __slots__ = ("mode", "level", "message", "send")

    def __init__(self, mode, level=None, message=None, send=None):
        self.mode = mode
        self.level = level
        self.message = message
        self.send = send

    def __repr__(self):
        return "Ceiling(%r, level=%r, send=%r)" % (self.mode, self.level, self.send)


class Snapshot:
    """What one read of the consent file (or the policy file) found.

    ``problem`` is set when the file exists but cannot be trusted; callers must then
    treat every framework as off. ``data`` is the parsed document, for sections this
    reader does not interpret (search paths, deletion channels).
    """

    __slots__ = ("path", "exists", "default", "frameworks", "problem", "data")

    def __init__(self, path, exists=False, default=None, frameworks=None, problem=None, data=None):
        self.path = path
        self.exists = exists
        self.default = default
        self.frameworks = frameworks if frameworks is not None else {}
        self.problem = problem
        self.data = data if data is not None else {}

    def __repr__(self):
        return "Snapshot(%r, exists=%r, default=%r, frameworks=%r, problem=%r)" % (
            self.path, self.exists, self.default, self.frameworks, self.problem)


class Decision:
    """The effective consent for one framework, and why.

    mode:    "off", "local", "on", or "unset" (no layer has a say: the framework's own
             default applies).
    level:   the highest level allowed (None: no cap; 0 when off).
    send:    the categories that may still be sent while the mode is "local" (a sorted
             tuple, often empty); () when off; None when the mode is "on" or "unset"
             (no category is held back by consent).
    source:  which layer decided (one of the SOURCE_* strings).
    reason:  one sentence for humans.
    since:   when the deciding entry was last changed (an aware datetime), if known.
    locked:  a system policy ceiling applies; the user cannot choose more than it.
    ceiling: the policy's ceiling mode for this framework, if any.
    problems: tuple of Problem that made the decision fail closed.
    """

    __slots__ = ("framework", "mode", "level", "source", "reason", "since", "locked", "ceiling",
                 "problems", "send")

    def __init__(self, framework: str, mode: str, level: int | None, source: str, reason: str,
                 since: datetime.datetime | None = None, locked: bool = False,
                 ceiling: str | None = None, problems: tuple[Problem, ...] = (),
                 send: tuple[str, ...] | None = None) -> None:
        self.framework = framework
        self.mode = mode
        self.level = level
        self.source = source
        self.reason = reason
        self.since = since
        self.locked = locked
        self.ceiling = ceiling
        self.problems = tuple(problems)
        if send is None and mode in ("off", "local"):
            send = ()  # nothing is sent unless a category is named
        self.send = send

    def __repr__(self):
        return "Decision(%r, mode=%r, level=%r, source=%r, since=%r, locked=%r, send=%r)" % (
            self.framework, self.mode, self.level, self.source, self.since, self.locked, self.send)

    def sends(self, category: str | None = None) -> bool:
        """Does consent let this category (None: everything) be sent? Ignores levels and
        times (see allowed()); "unset" is False: the framework's own default decides."""
        if self.mode == "on":
            return True
        return self.mode == "local" and category is not None and category.lower() in (self.send or ())

    def __eq__(self, other):
        if not isinstance(other, Decision):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # a mutable value object: not hashable

    def as_dict(self):
        return {
            "framework": self.framework,
            "mode": self.mode,
            "level": self.level,
            "source": self.source,
            "reason": self.reason,
            "since": _iso(self.since),
            "locked": self.locked,
            "ceiling": self.ceiling,
            "problems": [str(p) for p in self.problems],
            "send": list(self.send) if self.send is not None else None,
        }


def _iso(when):
    if when is None:
        return None
    text = when.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text

#: This reader's version. The major number is the consent-file schema it implements
#: (SCHEMA_VERSION); a reader never reads a schema it does not know.
__version__ = "1.0.0"


# ---------------------------------------------------------------------------
# Where the files are: what platformdirs gives, computed without importing it

APP = "usagectl"
CONSENT_FILE_NAME = "consent.toml"
POLICY_FILE_NAME = "policy.toml"


def _environ(environ):
    return os.environ if environ is None else environ


def _home(environ):
    # platformdirs treats a relative HOME as unset on POSIX and falls back to pwd.
    home = environ.get("HOME", "")
    if sys.platform != "win32" and os.path.isabs(home):
        return home
    if sys.platform == "win32":
        return os.path.expanduser("~")
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir.rstrip("/") or "/"
    except (ImportError, KeyError):
        return os.path.expanduser("~")


def _xdg(environ, name):
    value = environ.get(name, "")
    # XDG says relative paths are invalid and must be ignored; platformdirs agrees.
    return value if value.startswith("/") else None


def _xdg_first(environ, name):
    for part in environ.get(name, "").split(os.pathsep):
        if part.startswith("/"):
            return part
    return None


def _user_dir(env, override_var, xdg_var, linux_default):
    """One of usagectl's per-user directories, as platformdirs places it: the USAGECTL_*
    override, else the platform's base (an absolute XDG variable wins on Linux and macOS)."""
    override = env.get(override_var)
    if override:
        return override
    if sys.platform == "win32":
        base = env.get("LOCALAPPDATA") or os.path.join(_home(env), "AppData", "Local")
    elif sys.platform == "darwin":
        base = _xdg(env, xdg_var) or os.path.join(_home(env), "Library", "Application Support")
    else:
        base = _xdg(env, xdg_var) or os.path.join(_home(env), *linux_default)
    return os.path.join(base, APP)


def user_config_dir(environ=None):
    return _user_dir(_environ(environ), "USAGECTL_CONFIG_DIR", "XDG_CONFIG_HOME", (".config",))


def site_config_dir(environ=None):
    env = _environ(environ)
    if sys.platform == "win32":
        return os.path.join(env.get("ProgramData", r"C:\ProgramData"), APP)
    if sys.platform == "darwin":
        base = _xdg_first(env, "XDG_CONFIG_DIRS") or "/Library/Application Support"
        return os.path.join(base, APP)
    base = _xdg_first(env, "XDG_CONFIG_DIRS") or "/etc/xdg"
    return os.path.join(base, APP)


def user_state_dir(environ=None):
    return _user_dir(_environ(environ), "USAGECTL_STATE_DIR", "XDG_STATE_HOME", (".local", "state"))


def consent_path(environ=None):
    return os.path.join(user_config_dir(environ), CONSENT_FILE_NAME)


def policy_path(environ=None):
    env = _environ(environ)
    return env.get("USAGECTL_POLICY_FILE") or os.path.join(site_config_dir(env), POLICY_FILE_NAME)


# ---------------------------------------------------------------------------
# Reading a file without ever blocking on it
#
# open() on a FIFO waits for a writer; this reader runs inside other people's programs,
# so anything that is not a regular file is refused before a byte is read, as is a file
# larger than the caller's limit.

class NotRegular(OSError):
    """The path is a FIFO, socket, device or directory: never read."""


class TooLarge(OSError):
    """The file is larger than the caller allows: never read whole."""


def open_regular(path):
    """A binary file object for the regular file at ``path``, opened without blocking.

    Raises FileNotFoundError / NotADirectoryError when it is absent, NotRegular, or
    another OSError when it can't be opened. For readers that seek (files read from
    their end); ``read_regular`` reads a whole small file.
    """
    fd = _open_fd(path)
    try:
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_fd(path):
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        import stat

        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (a FIFO, socket or device)"
            raise NotRegular(0, "%s is %s" % (path, kind), path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path, limit):
    """The bytes of the regular file at ``path`` (at most ``limit``).

    Raises FileNotFoundError / NotADirectoryError when it is absent, NotRegular,
    TooLarge, or another OSError when it can't be read.
    """
    fd = _open_fd(path)
    try:
        info = os.fstat(fd)
        if info.st_size > limit:
            raise TooLarge(0, "%s is %d bytes, more than the %d this file may hold" % (path, info.st_size, limit),
                           path)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 16, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while we read it
                raise TooLarge(0, "%s grew past %d bytes while being read" % (path, limit), path)
        return b"".join(chunks)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# The TOML subset consent files use, read without importing tomllib
#
# Importing tomllib costs more than Python's own start-up. This parser handles only what
# usagectl writes and what people commonly type by hand (comments, bare and quoted keys,
# [table] headers, basic strings without escapes, 'literal' strings, decimal integers,
# booleans, whole-second offset date-times, one-line arrays of those). Anything else makes
# toml_subset_loads return None and the caller parses with tomllib, which then decides and
# reports errors with their line; tests check that on the subset both agree.

_toml_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_toml_DIGITS = frozenset("0123456789")
_toml_WS = " \t"


class _toml_Unsupported(Exception):
    pass


def toml_subset_loads(text):
    """The parsed document, or None when ``text`` is outside the subset."""
    try:
        return _toml_parse(text)
    except _toml_Unsupported:
        return None


def _toml_parse(text):
    for char in text:
        # Only tab and newline among control characters; CR, NUL, DEL etc. go to tomllib.
        if (char < " " and char not in "\t\n") or char == "\x7f":
            raise _toml_Unsupported
    root = {}
    table = root
    headers = set()
    for raw in text.split("\n"):
        line = raw.strip(_toml_WS)
        if not line or line[0] == "#":
            continue
        if line[0] == "[":
            path = _toml_header(line)
            if path in headers:
                raise _toml_Unsupported
            headers.add(path)
            table = root
            for key in path:
                table = table.setdefault(key, {})
                if type(table) is not dict:
                    raise _toml_Unsupported
            continue
        key, rest = _toml_key(line)
        rest = rest.lstrip(_toml_WS)
        if not rest.startswith("="):
            raise _toml_Unsupported
        value, rest = _toml_value(rest[1:].lstrip(_toml_WS))
        _toml_end(rest)
        if key in table:
            raise _toml_Unsupported
        table[key] = value
    return root


def _toml_header(line):
    if line.startswith("[["):
        raise _toml_Unsupported
    rest = line[1:].lstrip(_toml_WS)
    path = []
    while True:
        key, rest = _toml_key(rest)
        path.append(key)
        rest = rest.lstrip(_toml_WS)
        if rest.startswith("."):
            rest = rest[1:].lstrip(_toml_WS)
            continue
        if rest.startswith("]"):
            _toml_end(rest[1:])
            return tuple(path)
        raise _toml_Unsupported


def _toml_end(rest):
    rest = rest.lstrip(_toml_WS)
    if rest and rest[0] != "#":
        raise _toml_Unsupported


def _toml_key(text):
    if text[:1] in ('"', "'"):
        return _toml_string(text)
    end = 0
    while end < len(text) and text[end] in _toml_BARE_KEY_CHARS:
        end += 1
    if end == 0:
        raise _toml_Unsupported
    return text[:end], text[end:]


def _toml_string(text):
    quote = text[0]
    if text.startswith(quote * 3):
        raise _toml_Unsupported  # multi-line strings
    end = text.find(quote, 1)
    if end == -1:
        raise _toml_Unsupported
    body = text[1:end]
    if quote == '"' and "\\" in body:
        raise _toml_Unsupported  # escapes
    return body, text[end + 1:]


def _toml_value(text):
    if not text:
        raise _toml_Unsupported
    first = text[0]
    if first in ('"', "'"):
        return _toml_string(text)
    if first == "[":
        return _toml_array(text[1:])
    token, rest = _toml_token(text)
    if token == "true":
        return True, rest
    if token == "false":
        return False, rest
    if len(token) >= 20 and token[4:5] == "-":
        return _toml_datetime(token), rest
    return _toml_integer(token), rest


def _toml_token(text):
    end = 0
    while end < len(text) and text[end] not in " \t#,]":
        end += 1
    return text[:end], text[end:]


def _toml_integer(token):
    digits = token[1:] if token[:1] in "+-" else token
    if not digits or not all(c in _toml_DIGITS for c in digits):
        raise _toml_Unsupported
    if len(digits) > 1 and digits[0] == "0":
        raise _toml_Unsupported  # leading zeros are invalid TOML: let tomllib say so
    return int(token)


def _toml_datetime(token):
    # YYYY-MM-DDTHH:MM:SS followed by Z or +HH:MM / -HH:MM; fractions go to tomllib.
    if len(token) not in (20, 25) or token[10] != "T" or token[4] != "-" or token[7] != "-" \
            or token[13] != ":" or token[16] != ":":
        raise _toml_Unsupported
    fields = (token[0:4], token[5:7], token[8:10], token[11:13], token[14:16], token[17:19])
    if not all(len(f) and all(c in _toml_DIGITS for c in f) for f in fields):
        raise _toml_Unsupported
    import datetime

    zone = token[19:]
    if zone == "Z":
        tz = datetime.timezone.utc
    elif len(zone) == 6 and zone[0] in "+-" and zone[3] == ":" \
            and all(c in _toml_DIGITS for c in zone[1:3] + zone[4:6]):
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise _toml_Unsupported
        offset = datetime.timedelta(hours=hours, minutes=minutes)
        tz = datetime.timezone(-offset if zone[0] == "-" else offset)
    else:
        raise _toml_Unsupported
    try:
        return datetime.datetime(*(int(f) for f in fields), tzinfo=tz)
    except ValueError:
        raise _toml_Unsupported


def _toml_array(text):
    items = []
    rest = text.lstrip(_toml_WS)
    while True:
        if rest.startswith("]"):
            return items, rest[1:]
        if not rest or rest[0] in "[{":
            raise _toml_Unsupported  # nested arrays, inline tables, or a value on the next line
        item, rest = _toml_value(rest)
        items.append(item)
        rest = rest.lstrip(_toml_WS)
        if rest.startswith(","):
            rest = rest[1:].lstrip(_toml_WS)
        elif not rest.startswith("]"):
            raise _toml_Unsupported


# ---------------------------------------------------------------------------
# Reading and validating


def normalize_name(name: str) -> str:
    """Framework names compare case-insensitively; the canonical form is lower case."""
    return name.strip().lower()


def valid_name(name: str) -> bool:
    if not isinstance(name, str) or not name or len(name) > 64:
        return False
    if not (name[0].isascii() and name[0].isalnum()):
        return False
    return all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)


def _line_of(text, table, key=None):
    """Best-effort line number of ``key`` inside ``[table]`` (or of the table header).

    tomllib reports positions only for syntax errors; for type errors we look the key
    up ourselves so the warning can still name a line.
    """
    current = ""
    header_line = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("[") and not line.startswith("[["):
            current = line.strip("[] \t").split("#")[0].strip("[] \t").replace('"', "").replace("'", "")
            current = ".".join(part.strip() for part in current.split("."))
            if current == table:
                header_line = number
                if key is None:
                    return number
            continue
        if key is not None and current == table and line.split("=", 1)[0].strip().strip("\"'") == key \
                and "=" in line:
            return number
    return header_line


#: TOML integers are 64-bit (TOML 1.0, and every non-Python reader); tomllib allows more.
_INT64_MAX = (1 << 63) - 1

#: A file whose first line starts with SEALED_PREFIX was written sealed: its last non-blank
#: line must be END_LINE. TOML has no end marker, and some cuts of a valid file are still
#: valid TOML but less restrictive (a framework's "off" entry cut away): the seal makes
#: every truncation detectable. Files without the prefix (written by hand) are not sealed.
SEALED_PREFIX = "# usagectl consent file, sealed"
END_LINE = "# end of usagectl consent file"

#: A consent or policy file is a few hundred bytes; anything far larger is not one, and
#: is refused (fail closed, fast) instead of parsed.
MAX_FILE_BYTES = 1 << 20


def _read_bytes(path):
    """(bytes or None, Problem or None). A missing file is (None, None). Never blocks:
    a FIFO (or socket, device, directory) in the file's place is a Problem, not a read."""
    try:
        return read_regular(path, MAX_FILE_BYTES), None
    except (FileNotFoundError, NotADirectoryError):
        if os.path.islink(path):
            # A link whose target is gone (a dotfiles checkout not mounted): the decision
            # exists somewhere but can't be read, which is not the same as "none recorded".
            return None, Problem(path, "it is a symlink to %s, which does not exist" % os.readlink(path))
        return None, None
    except (NotRegular, TooLarge) as exc:
        return None, Problem(path, exc.strerror.replace(path + " is ", "it is ", 1))
    except OSError as exc:
        return None, Problem(path, "cannot read it (%s)" % (exc.strerror or exc))


def _decode(data, path):
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, Problem(path, "not UTF-8 text (binary or damaged content)", line)


def _load_toml(data, path):
    text, problem = _decode(data, path)
    if problem:
        return None, None, problem
    # The common files parse without importing tomllib (which costs more than Python's
    # own start-up); anything outside that subset, errors included, goes to tomllib.
    doc = toml_subset_loads(text)
    if doc is None:
        import tomllib

        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            return None, text, toml_problem(exc, text, path)
        except RecursionError:  # tomllib recurses per nested array: thousands of "[" exhaust it
            return None, text, Problem(path, "not valid TOML: nested too deeply to be a consent file")
    problem = _beyond_int64(doc, text, path)
    if problem:
        return None, text, problem
    return doc, text, None


def _beyond_int64(doc, text, path):
    """A Problem when any integer in the document is outside TOML's 64-bit range.

    TOML 1.0 lets a parser either keep such an integer or reject the document; tomllib
    keeps it, Go's and most others' reject it. The spec makes it damage everywhere, so
    that every reader decides the same.
    """
    stack = [doc]
    while stack:
        value = stack.pop()
        if type(value) is int:
            if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
                return Problem(path, "not valid TOML: an integer outside TOML's 64-bit range",
                               _line_of_integer(text, value))
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return None


def _line_of_integer(text, value):
    import re  # only on this rare path: re costs more than the reader itself

    for number, line in enumerate(text.splitlines(), 1):
        for token in re.findall(r"[+-]?[0-9][0-9_]*", line.split("#", 1)[0]):
            try:
                if int(token.replace("_", ""), 10) == value:
                    return number
            except ValueError:
                continue
    return None


def toml_problem(exc, text, path):
    """A Problem naming the file and line of a TOMLDecodeError; never the line's text
    (it may hold a secret), only tomllib's own words for what is wrong."""
    message = str(exc)
    line = getattr(exc, "lineno", None)
    if line is None:
        marker = message.rfind("(at line ")
        if marker != -1:
            try:
                line = int(message[marker + 9:].split(",")[0])
            except ValueError:
                line = None
    if line is None and message.endswith("(at end of document)"):
        line = text.count("\n") + 1
    if "(at " in message:
        message = message[:message.rfind("(at ")].strip()
    return Problem(path, "not valid TOML: %s" % message, line)


def _check_schema(doc, text, path):
    if "schema" not in doc:
        return Problem(path, "no 'schema' key (the file may be truncated)", None)
    schema = doc["schema"]
    if type(schema) is not int:
        return Problem(path, "'schema' must be an integer, not %s" % _type_name(schema),
                       _line_of(text, "", "schema"))
    if schema != SCHEMA_VERSION:
        return Problem(path, "schema %d is not one this reader understands (it knows %d)"
                       % (schema, SCHEMA_VERSION), _line_of(text, "", "schema"))
    return None


def _check_seal(text, path):
    if not text.startswith(SEALED_PREFIX):
        return None
    if text.rstrip().rpartition("\n")[2].strip() == END_LINE:
        return None
    return Problem(path, "its last line is not %r: the file was cut short, or edited after that line "
                   "(keep it last)" % END_LINE, text.count("\n") + 1)


def _type_name(value):
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


def _entry_from(table, where, text, path, mode_key):
    """Validate one entry table; returns (mode, level, extra) or raises _Invalid."""
    if not isinstance(table, dict):
        parent, _, key = where.rpartition(".")
        raise _Invalid(Problem(path, "[%s] must be a table, not %s" % (where, _type_name(table)),
                               _line_of(text, parent, key)))
    if mode_key not in table:
        raise _Invalid(Problem(path, "[%s] has no '%s'" % (where, mode_key), _line_of(text, where)))
    mode = table[mode_key]
    if not isinstance(mode, str):
        raise _Invalid(Problem(path, "[%s] %s must be a string, not %s" % (where, mode_key, _type_name(mode)),
                               _line_of(text, where, mode_key)))
    if mode not in _RANK:
        raise _Invalid(Problem(path, "[%s] %s = %r is not one of off, local, on" % (where, mode_key, mode),
                               _line_of(text, where, mode_key)))
    level = table.get("level")
    if level is not None and (type(level) is not int or level < 1 or level > _INT64_MAX):
        raise _Invalid(Problem(path, "[%s] level must be a positive integer, not %r" % (where, level),
                               _line_of(text, where, "level")))
    return mode, level, _send_from(table, mode, where, text, path, mode_key)


def _send_from(table, mode, where, text, path, mode_key):
    """The ``send`` list of an entry (sorted, lower case, no repeats), or None."""
    send = table.get("send")
    if send is None:
        return None
    if type(send) is not list or not all(isinstance(c, str) and valid_name(c) for c in send):
        raise _Invalid(Problem(path, "[%s] send must be an array of category names (letters, digits, '-', "
                               "'_' and '.')" % where, _line_of(text, where, "send")))
    if mode == "on":
        # "on" already sends every category: a list here was meant to narrow, and an old
        # reader would ignore it. Fail closed and say how to write it.
        raise _Invalid(Problem(path, "[%s] send only narrows %s = \"local\"; with \"on\" every category "
                               "is sent (write %s = \"local\" to send only these)" % (where, mode_key, mode_key),
                               _line_of(text, where, "send")))
    return tuple(sorted({c.lower() for c in send}))


class _Invalid(Exception):
    def __init__(self, problem):
        Exception.__init__(self, str(problem))
        self.problem = problem


def _parse_entries(doc, text, path, mode_key, make):
    default = None
    frameworks = {}
    if "default" in doc:
        mode, level, send = _entry_from(doc["default"], "default", text, path, mode_key)
        default = make(doc["default"], mode, level, send, "default", path, text)
    section = doc.get("frameworks", {})
    if not isinstance(section, dict):
        raise _Invalid(Problem(path, "'frameworks' must be a table, not %s" % _type_name(section),
                               _line_of(text, "", "frameworks")))
    for raw_name, table in section.items():
        # Lower-cased but never stripped: " ray" is not a valid name (the spec says so).
        name = raw_name.lower() if isinstance(raw_name, str) else raw_name
        if not valid_name(name):
            raise _Invalid(Problem(path, "%r is not a valid framework name" % raw_name,
                                   _line_of(text, "frameworks." + raw_name)))
        if name in frameworks:
            raise _Invalid(Problem(path, "framework %r appears twice" % name,
                                   _line_of(text, "frameworks." + raw_name)))
        where = "frameworks." + raw_name
        mode, level, send = _entry_from(table, where, text, path, mode_key)
        frameworks[name] = make(table, mode, level, send, where, path, text)
    return default, frameworks


def read_consent(path: str | None = None, environ: Mapping[str, str] | None = None) -> Snapshot:
    """Read and validate the consent file. Never raises; see Snapshot.problem."""
    path = path or consent_path(environ)
    try:
        return _read_entries_file(path, "mode", _make_entry)
    except Exception as exc:  # never into the host program
        return Snapshot(path, exists=True, problem=Problem(path, "unexpected error: %r" % (exc,)))


def read_policy(path: str | None = None, environ: Mapping[str, str] | None = None) -> Snapshot:
    """Read and validate the system policy file. Never raises; see Snapshot.problem.

    A policy holds every user, so one that another user could have written is not a
    policy: the file and every directory above it must be owned by root (or by the
    reader itself) and writable by nobody else (a sticky directory such as /tmp
    excepted). Otherwise it is damaged, and every framework is off.
    """
    path = path or policy_path(environ)
    try:
        return _read_entries_file(path, "ceiling", _make_ceiling, _untrusted_policy)
    except Exception as exc:
        return Snapshot(path, exists=True, problem=Problem(path, "unexpected error: %r" % (exc,)))


def _make_entry(table, mode, level, send, where, path, text):
    changed = table.get("changed")
    if changed is not None and not _is_aware_datetime(changed):
        raise _Invalid(Problem(path, "[%s] changed must be a date-time with offset "
                               "(e.g. 2026-01-31T12:00:00Z)" % where,
                               _line_of(text, where, "changed")))
    return Entry(mode, level, changed, send)


def _make_ceiling(table, mode, level, send, where, path, text):
    message = table.get("message")
    if message is not None and not isinstance(message, str):
        raise _Invalid(Problem(path, "[%s] message must be a string" % where,
                               _line_of(text, where, "message")))
    return Ceiling(mode, level, message, send)


def _is_aware_datetime(value):
    return hasattr(value, "utcoffset") and hasattr(value, "hour") and value.utcoffset() is not None


def parse_consent(data, path):
    """Validate consent-file bytes (e.g. before writing them). Returns a Snapshot."""
    return _parse_entries_file(data, path, "mode", _make_entry)


def parse_policy(data, path):
    """Validate policy-file bytes. Returns a Snapshot."""
    return _parse_entries_file(data, path, "ceiling", _make_ceiling)


def _read_entries_file(path, mode_key, make, distrust=None):
    data, problem = _read_bytes(path)
    if problem:
        return Snapshot(path, exists=True, problem=problem)
    if data is None:
        return Snapshot(path, exists=False)
    problem = distrust(path) if distrust is not None else None
    if problem:
        return Snapshot(path, exists=True, problem=problem)
    return _parse_entries_file(data, path, mode_key, make)


def _untrusted_policy(path):
    """A Problem when someone other than root (or the reader) could have written the
    policy at ``path``: its owner, its mode, or a directory above it."""
    if not hasattr(os, "geteuid"):
        return None  # no owners to compare (Windows): ACLs are the administrator's
    owners = (0, os.geteuid())
    # The file itself, every directory above it, and above a link to it (whoever can
    # write a link's directory can point the link elsewhere).
    components = [os.path.realpath(path)]
    for start in (components[0], os.path.abspath(path)):
        probe = start
        while True:
            parent = os.path.dirname(probe)
            if parent == probe:
                break
            if parent not in components:
                components.append(parent)
            probe = parent
    for index, component in enumerate(components):
        try:
            info = os.stat(component)
        except OSError as exc:
            return Problem(path, "cannot check who may write %s (%s)" % (component, exc.strerror or exc))
        mode = info.st_mode & 0o7777
        what = "it" if index == 0 else "its directory %s" % component
        if info.st_uid not in owners:
            return Problem(path, "%s is owned by uid %d, not by root: another user could have written "
                                 "this policy" % (what, info.st_uid))
        if index > 0 and mode & 0o1000:
            continue  # sticky (/tmp): others can't replace what root owns in it
        if mode & 0o022:
            return Problem(path, "%s is writable by %s (mode %04o): another user could have written "
                                 "this policy" % (what, "every user" if mode & 0o002 else "its group", mode))
    return None


def _parse_entries_file(data, path, mode_key, make):
    doc, text, problem = _load_toml(data, path)
    if problem:
        return Snapshot(path, exists=True, problem=problem)
    problem = _check_schema(doc, text, path) or _check_seal(text, path)
    if problem:
        return Snapshot(path, exists=True, problem=problem, data=doc)
    try:
        default, frameworks = _parse_entries(doc, text, path, mode_key, make)
    except _Invalid as exc:
        return Snapshot(path, exists=True, problem=exc.problem, data=doc)
    return Snapshot(path, exists=True, default=default, frameworks=frameworks, data=doc)


# ---------------------------------------------------------------------------
# Deciding


def do_not_track(environ: Mapping[str, str] | None = None) -> bool:
    """True when DO_NOT_TRACK asks for off: any value but empty, 0 or false."""
    env = os.environ if environ is None else environ
    return env.get("DO_NOT_TRACK", "").strip().lower() not in _DNT_NEUTRAL


def ceiling_for(policy, framework):
    """The combined policy ceiling (global and per framework) as a Ceiling, or None."""
    found = [c for c in (policy.default, policy.frameworks.get(framework)) if c is not None]
    if not found:
        return None
    mode = min((c.mode for c in found), key=_RANK.__getitem__)
    levels = [c.level for c in found if c.level is not None]
    messages = [c.message for c in found if c.message]
    send = _meet(_sendable(c.mode, c.send) for c in found) if mode == "local" else None
    return Ceiling(mode, min(levels) if levels else None, messages[-1] if messages else None, send)


def _sendable(mode, send):
    """The categories a layer lets be sent: None for all ("on"), else a set."""
    if mode == "on":
        return None
    return set(send or ()) if mode == "local" else set()


def _meet(allowed):
    """The categories every layer lets be sent, as a sorted tuple (None: all of them)."""
    result = None
    for categories in allowed:
        if categories is not None:
            result = set(categories) if result is None else result & categories
    return tuple(sorted(result)) if result is not None else None


def decide(framework: str, environ: Mapping[str, str] | None = None, consent_path: str | None = None,
           policy_path: str | None = None, consent: Snapshot | None = None,
           policy: Snapshot | None = None) -> Decision:
    """The effective consent for ``framework``. Never raises: an error means off."""
    try:
        env = os.environ if environ is None else environ
        if consent is None:
            consent = read_consent(consent_path, env)
        if policy is None:
            policy = read_policy(policy_path, env)
        return _decide(normalize_name(framework), env, consent, policy)
    except Exception as exc:  # never into the host program
        return Decision(framework, "off", 0, SOURCE_ERROR,
                        "usagectl could not decide (%r), so telemetry is off" % (exc,))


def _decide(name, env, consent, policy):
    if policy.problem:
        return Decision(name, "off", 0, SOURCE_DAMAGED_POLICY,
                        "the policy file can't be trusted, so every framework is off",
                        locked=True, ceiling="off", problems=(policy.problem,))
    if consent.problem:
        return Decision(name, "off", 0, SOURCE_DAMAGED_CONSENT,
                        "the consent file can't be trusted, so every framework is off",
                        problems=(consent.problem,))

    ceiling = ceiling_for(policy, name)
    locked = ceiling is not None and (ceiling.mode != "on" or ceiling.level is not None)
    ceiling_mode = ceiling.mode if ceiling else None

    # Layers in order of authority: when several agree on the most restrictive mode,
    # the first one is named as the source.
    # Each layer: (mode, level cap, source, changed, reason, send list).
    layers = []
    if ceiling is not None:
        layers.append((ceiling.mode, ceiling.level, SOURCE_POLICY, None,
                       "the system policy %s caps %s at %s" % (policy.path, name, ceiling.mode), ceiling.send))
    if do_not_track(env):
        layers.append(("off", None, SOURCE_DO_NOT_TRACK, None,
                       "DO_NOT_TRACK=%s is set in the environment" % env.get("DO_NOT_TRACK"), None))
    user_layers = []
    entry = consent.frameworks.get(name)
    if entry is not None:
        user_layers.append((entry.mode, entry.level, SOURCE_FRAMEWORK_ENTRY, entry.changed,
                            "the consent file's entry for %s says %s" % (name, entry.mode), entry.send))
    if consent.default is not None:
        d = consent.default
        user_layers.append((d.mode, d.level, SOURCE_DEFAULT_ENTRY, d.changed,
                            "the consent file's default entry says %s" % d.mode, d.send))
    layers.extend(user_layers)

    restricting = [layer for layer in layers if layer[0] != "on"]
    if not user_layers and not restricting:
        # Nobody has chosen: the framework's own default applies, under any level cap.
        level = ceiling.level if ceiling is not None else None
        return Decision(name, "unset", level, SOURCE_UNSET,
                        "no choice recorded; %s's own default applies" % name,
                        locked=locked, ceiling=ceiling_mode)

    mode = min((layer[0] for layer in layers), key=_RANK.__getitem__)
    deciding = next(layer for layer in layers if layer[0] == mode)
    send = None
    if mode == "local":
        # Only the categories every layer lets through, and only those a consent entry
        # names: a policy's list caps what a user may send, it never opts anyone in.
        send = _meet(_sendable(layer[0], layer[5]) for layer in layers) if user_layers else ()
    if mode == "off":
        level = 0
        since = deciding[3]
    else:
        caps = [layer[1] for layer in layers if layer[1] is not None]
        level = min(caps) if caps else None
        # Data collected before the latest opt-in must not be sent: report that moment.
        times = [layer[3] for layer in user_layers if layer[3] is not None]
        since = max(times) if times else None
    reason = deciding[4]
    if send:
        reason += "; of its categories only %s may be sent" % ", ".join(send)
    return Decision(name, mode, level, deciding[2], reason, since=since, locked=locked,
                    ceiling=ceiling_mode, send=send)


def allowed(framework: str, level: int = 1, collected_at: datetime.datetime | None = None,
            default: bool = False, environ: Mapping[str, str] | None = None,
            category: str | None = None) -> bool:
    """May ``framework`` send a report of this ``level`` (and ``category``) now?

    ``collected_at`` (an aware datetime) is when the data was collected: data from
    before the latest opt-in is never allowed. ``default`` is the answer when no one
    has chosen (the framework's own default). ``category`` names what the report is
    (e.g. "metrics"): a user may allow some categories only (mode "local" with a
    ``send`` list), and a report without a category is then refused. Never raises;
    errors mean False.
    """
    try:
        decision = decide(framework, environ=environ)
        if decision.level is not None and level > decision.level:
            return False
        if decision.mode == "unset":
            return bool(default)
        if not decision.sends(category):
            return False
        if collected_at is not None and decision.since is not None and collected_at < decision.since:
            return False
        return True
    except Exception:
        return False


def record_sent(framework: str, destination: str, body: bytes | str | None, outcome: str = "sent",
                reason: str | None = None, when: datetime.datetime | None = None,
                identifiers: dict[str, str] | None = None, delivery: str | None = None,
                http_status: int | None = None) -> bool:
    """Record a payload your framework sent in usagectl's sent ledger (stdlib only).

    ``body`` is the exact bytes that went on the wire; ``outcome`` is "sent" or
    "failed" (with ``reason``). ``delivery`` says whether the server received them:
    "delivered" (any HTTP response, ``http_status`` with it), "not-delivered" (it
    failed before the request was written) or "unknown". `usagectl show-last` and
    `usagectl verify` read the ledger. Returns True when recorded; never raises.
    """
    return _ledger_record(framework, destination, body, outcome=outcome, reason=reason, when=when,
                          identifiers=identifiers, delivery=delivery, http_status=http_status)


def rank(mode: str) -> int:
    """Order of restrictiveness: off 0 < local 1 < on 2."""
    return _RANK[mode]


# ---------------------------------------------------------------------------
# The sent ledger: one JSON line per payload a framework sent (format in docs/json-output.md)

LEDGER_FILE_NAME = "sent.jsonl"
LEDGER_VERSION = 1
#: Outcomes a ledger line may carry (the same words as usagectl.core.payloads).
OUTCOMES = ("sent", "failed", "logged-not-known-sent", "disabled-ping")
#: How long an append waits for the ledger's lock. Holders keep it for milliseconds (a
#: `forget` rewriting 8 MiB, a fraction of a second), so a line is dropped only when
#: something is really wrong: a lost line is a send nobody can show.
_LOCK_WAIT_S = 60.0
#: Why the last record_sent in this process returned False (None after a success), so
#: the caller (the runtime hook) can say it.
last_record_error: str | None = None


def ledger_path(environ=None):
    return os.path.join(user_state_dir(environ), LEDGER_FILE_NAME)


#: Whether the server received the bytes (usagectl.core.delivery's words).
DELIVERY_STATES = ("delivered", "not-delivered", "unknown")


def encode_entry(framework, destination, body, outcome, reason=None, when=None, identifiers=None,
                 delivery=None, http_status=None):
    """The ledger line (bytes, no newline) for one payload."""
    import base64
    import datetime
    import json

    if isinstance(body, str):
        body = body.encode("utf-8")
    if body is not None and not isinstance(body, (bytes, bytearray)):
        raise TypeError("body must be bytes")
    if outcome not in OUTCOMES:
        raise ValueError("outcome must be one of %s" % ", ".join(OUTCOMES))
    when = when or datetime.datetime.now(datetime.timezone.utc)
    text = b64 = None
    if body is not None:
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            b64 = base64.b64encode(bytes(body)).decode("ascii")
    stamp = when.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    entry = {"v": LEDGER_VERSION, "time": stamp, "framework": str(framework),
             "destination": None if destination is None else str(destination),
             "outcome": outcome, "reason": None if reason is None else str(reason),
             "body": text, "body_base64": b64,
             "identifiers": {str(k): str(v) for k, v in (identifiers or {}).items()},
             "pid": os.getpid()}
    if delivery is not None:
        if delivery not in DELIVERY_STATES:
            raise ValueError("delivery must be one of %s" % ", ".join(DELIVERY_STATES))
        entry["delivery"] = delivery
    if http_status is not None:
        entry["http_status"] = int(http_status)
    return json.dumps(entry, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _ledger_record(framework, destination, body, outcome="sent", reason=None, when=None,
                identifiers=None, environ=None, path=None, delivery=None, http_status=None):
    """Append one payload to the sent ledger. Returns True when it was recorded.

    ``body`` is the exact bytes sent (str is encoded as UTF-8). Never raises: a
    telemetry log must not break the program that sends.
    """
    global last_record_error
    try:
        line = encode_entry(framework, destination, body, outcome, reason, when, identifiers,
                            delivery, http_status)
        target = path or ledger_path(environ)
        _append_locked(target, line + b"\n")
        last_record_error = None
        return True
    except Exception as exc:
        last_record_error = "%s%s" % (exc.strerror if isinstance(exc, OSError) and exc.strerror else exc,
                                      " (%s)" % exc.filename if isinstance(exc, OSError) and exc.filename else "")
        return False


def _ensure_dir(directory):
    if os.path.isdir(directory):
        return
    parent = os.path.dirname(directory)
    if parent and parent != directory:
        _ensure_dir(parent)
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass


#: sent.jsonl is rotated above this size: renamed sent-000001.jsonl, sent-000002.jsonl, ...
#: (oldest first) by the appender that finds it full. Nothing is deleted; readers read
#: the current file first, then the rotated ones, newest first.
ROTATE_BYTES = 8 << 20


def rotated_paths(path):
    """The rotated files of the append-only file ``path``, oldest first."""
    directory, name = os.path.split(os.path.abspath(path))
    stem, dot, ext = name.rpartition(".")
    prefix, suffix = (stem if dot else name) + "-", ("." + ext) if dot else ""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    found = sorted(n for n in names if n.startswith(prefix) and n.endswith(suffix)
                   and n[len(prefix):len(n) - len(suffix)].isdigit())
    return [os.path.join(directory, n) for n in found]


def next_rotated_number(path):
    """The number the next rotation of ``path`` takes: one past the highest there."""
    existing = rotated_paths(path)
    if not existing:
        return 1
    name = os.path.basename(existing[-1])
    return int(name.rsplit("-", 1)[1].split(".")[0]) + 1


def rotated_name(path, number):
    """``sent.jsonl`` -> ``sent-000001.jsonl`` (oldest first by name)."""
    stem, dot, ext = os.path.abspath(path).rpartition(".")
    return "%s-%06d.%s" % (stem, number, ext) if dot else "%s-%06d" % (os.path.abspath(path), number)


def _rotate(path, fd):
    """Rename a full ``path`` (whose lock ``fd`` holds) to the next rotated name.

    Only the current inode is ever rotated (a process that waited on the lock of a file
    someone else already rotated appends to the new current file instead), and the new
    name is claimed with link(), which never overwrites.
    """
    try:
        if os.stat(path).st_ino != os.fstat(fd).st_ino:
            return False
    except OSError:
        return False
    number = next_rotated_number(path)
    for attempt in range(number, number + 100):
        target = rotated_name(path, attempt)
        try:
            os.link(path, target)
        except FileExistsError:
            continue
        except OSError:
            return False  # no hard links here (some network filesystems): keep appending
        os.unlink(path)
        return True
    return False


def _append_locked(path, data, rotate=True, attempts=100):
    """Append ``data`` to ``path`` under its flock. A file replaced while this waited
    (rotated, or rewritten by `usagectl forget`) is never written: the append moves to
    the file there now, and after ``attempts`` replacements in a row it raises instead of
    writing where no reader looks (record_sent then says False)."""
    _ensure_dir(os.path.dirname(os.path.abspath(path)))
    # Never through a symlink, never blocking on a FIFO in the ledger's place.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
                 | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0), 0o600)
    outcome = "written"
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(22, "not a regular file", path)
        locked = _lock(fd, path)
        try:
            if locked and _replaced(path, fd):
                # Rotated or rewritten (`usagectl forget`) while this append waited on the
                # old file's lock: append to the file that is there now.
                if attempts <= 1:
                    raise OSError(11, "the file kept being replaced: not appended", path)
                outcome = "retry"
            elif rotate and locked and os.fstat(fd).st_size > ROTATE_BYTES and _rotate(path, fd):
                outcome = "rotated"
            else:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
        finally:
            if locked:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    if outcome == "retry":
        _append_locked(path, data, rotate=rotate, attempts=attempts - 1)
    elif outcome == "rotated":
        # The line starts the new file, where a `show-last --follow` reading the current
        # file from its start will see it.
        _append_locked(path, data, rotate=False)


def _replaced(path, fd):
    try:
        return os.stat(path).st_ino != os.fstat(fd).st_ino
    except OSError:
        return True



def _lock(fd, path=None):
    """Take the flock with a bounded wait; without fcntl (Windows) append unlocked. A
    wait that runs out raises an OSError naming the file and how long it waited."""
    try:
        import fcntl
    except ImportError:
        return False
    import time

    deadline = time.monotonic() + _LOCK_WAIT_S
    delay = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise OSError(11, "another process held the lock on %s for %.0f s" % (path or "the ledger",
                                                                                    _LOCK_WAIT_S), path) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
