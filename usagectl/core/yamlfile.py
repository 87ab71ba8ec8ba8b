"""Framework YAML files: round-trip edits that keep comments, checked before they replace anything.

Shared by the Bacalhau adapter (edits the user's ``config.yaml`` in place) and the
Coiled/Dask adapter (writes its own file into the dask config dir). ruamel.yaml is
imported inside functions: the CLI must start fast.

A file we can't parse is never silently replaced (it may hold settings and comments
the user wants); ``--repair`` keeps a byte-identical copy first. And no bytes are
written before they have been parsed back: a bad YAML file in the dask config dir
breaks every ``import dask``.
"""

from usagectl.core.errors import FrameworkFileDamaged

_REPAIR_HINT = "fix it, or rerun with --repair (a copy is kept)"


def _round_trip_yaml(indent=None):
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a user's long lines
    if indent is not None:
        mapping, sequence, offset = indent
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _error_line(exc):
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def _error_text(exc):
    """What is wrong, in the parser's words with every quoted piece of the file removed.

    YAML parsers quote the file: ruamel's duplicate-key error names the key and its
    value, and str(exc) shows the offending line, which may be ``token: <the token>``.
    Error messages about framework files name the file and line, never their content.
    """
    problem = getattr(exc, "problem", None)
    if not isinstance(problem, str) or not problem:
        return "a YAML syntax error"
    if "duplicate key" in problem:
        return "a key appears twice"
    return _unquoted(problem).strip()[:120] or "a YAML syntax error"


def _unquoted(text):
    out, quote = [], None
    for char in text:
        if quote:
            if char == quote:
                out.append("…" + char)
                quote = None
            continue
        if char in "\"'":
            quote = char
        out.append(char)
    return "".join(out)


def error_summary(exc):
    """(line or None, safe words) for any YAML parser's exception (see _error_text)."""
    return _error_line(exc), _error_text(exc)


def load_mapping(data, path):
    """Round-trip parse of bytes that must hold a YAML mapping (empty means an empty one).

    Returns (document, indent) where indent is the (mapping, sequence, offset) style
    detected in the text, so a save keeps the file's look. Raises FrameworkFileDamaged
    naming the file and line.
    """
    from ruamel.yaml.comments import CommentedMap

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FrameworkFileDamaged("%s line %d: not UTF-8 text" % (path, line), path=path, line=line,
                                   hint=_REPAIR_HINT)
    indent = detect_indent(text)
    try:
        doc = _round_trip_yaml(indent).load(text)
    except Exception as exc:  # ruamel raises many YAMLError subclasses, and some plain errors
        line = _error_line(exc)
        where = path if line is None else "%s line %d" % (path, line)
        raise FrameworkFileDamaged("%s: not valid YAML (%s)" % (where, _error_text(exc)), path=path,
                                   line=line, hint=_REPAIR_HINT)
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, dict):
        raise FrameworkFileDamaged("%s line 1: the top level must be a mapping, not %s"
                                   % (path, type(doc).__name__), path=path, line=1, hint=_REPAIR_HINT)
    return doc, indent


def new_mapping():
    from ruamel.yaml.comments import CommentedMap

    return CommentedMap()


def dump(doc, indent=None):
    """Bytes of a round-trip document (UTF-8)."""
    import io

    stream = io.StringIO()
    _round_trip_yaml(indent).dump(doc, stream)
    return stream.getvalue().encode("utf-8")


def detect_indent(text):
    """(mapping, sequence, offset) indentation used by ``text``; None when it has no nesting.

    Go's yaml.v3 (Bacalhau) writes 4-space mappings and indents sequence dashes; PyYAML
    and ruamel write 2 and don't. Keeping the file's own style keeps a diff of our edit
    to the lines we changed.
    """
    mapping = None
    offset = None
    previous_indent = None
    previous_is_key = False
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        current = len(raw) - len(raw.lstrip(" "))
        if previous_is_key and previous_indent is not None and current > previous_indent:
            step = current - previous_indent
            if stripped.startswith("- "):
                if offset is None:
                    offset = step
            elif mapping is None:
                mapping = step
        elif previous_is_key and current == previous_indent and stripped.startswith("- ") and offset is None:
            offset = 0
        previous_indent = current
        previous_is_key = stripped.endswith(":") and not stripped.startswith("- ")
        if mapping is not None and offset is not None:
            break
    if mapping is None and offset is None:
        return None
    mapping = mapping or 2
    offset = 0 if offset is None else offset
    return (mapping, offset + 2, offset)


def find_keys(mapping, name):
    """Keys of ``mapping`` equal to ``name`` ignoring case (Bacalhau's keys are case-insensitive)."""
    wanted = name.lower()
    return [key for key in mapping if isinstance(key, str) and key.lower() == wanted]


def safe_load_checked(data, path):
    """Parse ``data`` as the frameworks will: with PyYAML's safe_load (what dask uses) when
    it is installed, and with ruamel's safe loader. Raises ValueError if either refuses."""
    text = data.decode("utf-8")
    results = []
    try:
        import yaml as pyyaml
    except ImportError:
        pyyaml = None
    if pyyaml is not None:
        try:
            results.append(pyyaml.safe_load(text))
        except Exception as exc:
            line, words = error_summary(exc)
            raise ValueError("%s%s would not parse with PyYAML: %s" % (
                path, "" if line is None else " line %d" % line, words)) from None
    from ruamel.yaml import YAML

    try:
        results.append(YAML(typ="safe", pure=True).load(text))
    except Exception as exc:
        line, words = error_summary(exc)
        raise ValueError("%s%s would not parse with ruamel.yaml: %s" % (
            path, "" if line is None else " line %d" % line, words)) from None
    return results[0]


def write_checked(path, data, expect=None, unchanged=False):
    """Atomically replace ``path`` with ``data`` after proving the bytes parse.

    ``expect``, when given, is a function that must return True for the parsed value;
    ``unchanged`` is the fingerprint of the version read (see fsutil.atomic_write).
    """
    parsed = safe_load_checked(data, path)
    if expect is not None and not expect(parsed):
        raise ValueError("refusing to write %s: the new content does not say what it should" % path)
    from usagectl.core import fsutil

    return fsutil.atomic_write(path, data, expect=unchanged)


_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0,
                 "m": 60.0, "h": 3600.0}
# Longest first, so "ms" is not read as "m" followed by "s".
_UNITS_BY_LENGTH = sorted(_UNIT_SECONDS, key=len, reverse=True)


def go_duration_seconds(text):
    """Seconds of a Go ``time.ParseDuration`` string ("0", "0s", "1h30m", "-5m"); None if invalid.

    Hand-parsed rather than with a regex: this runs in `usagectl status`, where
    importing re is a measurable share of the start-up budget.
    """
    text = text.strip()
    if text in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    rest = text[1:] if text[:1] in "+-" else text
    if not rest:
        return None
    total = 0.0
    while rest:
        end = 0
        while end < len(rest) and (rest[end].isascii() and rest[end].isdigit() or rest[end] == "."):
            end += 1
        number = rest[:end]
        if not number or number == "." or number.count(".") > 1:
            return None
        unit = next((u for u in _UNITS_BY_LENGTH if rest.startswith(u, end)), None)
        if unit is None:
            return None
        total += float(number) * _UNIT_SECONDS[unit]
        rest = rest[end + len(unit):]
    return sign * total


def load_documents(data, path):
    """Round-trip parse of a multi-document YAML stream (Kubernetes manifests) ->
    (documents, indent). Raises FrameworkFileDamaged naming the file and line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FrameworkFileDamaged("%s line %d: not UTF-8 text" % (path, line), path=path, line=line)
    indent = detect_indent(text)
    try:
        documents = list(_round_trip_yaml(indent).load_all(text))
    except Exception as exc:
        line = _error_line(exc)
        where = path if line is None else "%s line %d" % (path, line)
        raise FrameworkFileDamaged("%s: not valid YAML (%s)" % (where, _error_text(exc)), path=path, line=line)
    return documents, indent


def dump_documents(documents, indent=None):
    """Bytes of a round-trip multi-document stream (UTF-8)."""
    import io

    stream = io.StringIO()
    _round_trip_yaml(indent).dump_all(documents, stream)
    return stream.getvalue().encode("utf-8")
