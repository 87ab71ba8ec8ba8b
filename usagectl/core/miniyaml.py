"""A strict, import-free reader for simple YAML configuration files.

Why: `usagectl status` reads Bacalhau's config.yaml, and importing ruamel.yaml
costs about twice Python's own start. Config files are mostly block mappings of
plain scalars, which this reads:

    # comment
    API:
        Host: 0.0.0.0          # comment
        Port: 1234
    disableanalytics: true
    Labels:
        - gpu
        - "quoted"
    Empty: []

Anything else (flow collections, anchors, tags, multi-line or escaped strings,
floats, dates, odd indentation, duplicate keys, documents, tabs, ...) makes
``loads`` return None, and the caller parses with ruamel.yaml, which then decides
and reports errors with their line. Typing follows YAML 1.2's core schema as
ruamel.yaml applies it (true/True/TRUE are booleans, yes/no are strings); tests
check that wherever this reader answers, it returns exactly what ruamel returns.
"""

_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
_SAFE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./@+ ")
_DIGITS = frozenset("0123456789")
_NULLS = ("~", "null", "Null", "NULL")
_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")


class _Unsupported(Exception):
    pass


def loads(text):
    """The parsed mapping, or None when ``text`` is outside the subset."""
    try:
        return _parse(text)
    except _Unsupported:
        return None


def _lines(text):
    """(indent, content) for every line that holds something, comments stripped."""
    for char in text:
        if (char < " " and char != "\n") or char == "\x7f" or char == "\ufeff":
            raise _Unsupported  # tabs, CR, other controls, BOM
    out = []
    for raw in text.split("\n"):
        content = raw.lstrip(" ")
        if not content or content.startswith("#"):
            continue
        if content.startswith(("---", "...", "%")):
            raise _Unsupported
        out.append((len(raw) - len(content), _strip_comment(content)))
    return out


def _strip_comment(content):
    if content[:1] in ("'", '"'):
        return content  # quoted values are checked where they are parsed
    cut = content.find(" #")
    if cut != -1:
        content = content[:cut]
    return content.rstrip(" ")


def _parse(text):
    lines = _lines(text)
    if not lines or lines[0][0] != 0:
        raise _Unsupported
    mapping, index = _mapping(lines, 0, 0)
    if index != len(lines):
        raise _Unsupported
    return mapping


def _mapping(lines, index, indent):
    result = {}
    while index < len(lines):
        line_indent, content = lines[index]
        if line_indent < indent:
            break
        if line_indent > indent or content.startswith("- ") or content == "-":
            raise _Unsupported
        key, rest = _key(content)
        if key in result:
            raise _Unsupported  # ruamel calls duplicate keys an error: let it say so
        index += 1
        if rest:
            result[key] = _scalar(rest)
            continue
        # "key:" alone: a nested mapping, a block sequence, or null.
        if index < len(lines):
            child_indent, child = lines[index]
            if child.startswith("- ") and child_indent >= indent:
                result[key], index = _sequence(lines, index, child_indent)
                continue
            if child_indent > indent:
                result[key], index = _mapping(lines, index, child_indent)
                continue
        result[key] = None
    return result, index


def _sequence(lines, index, indent):
    items = []
    while index < len(lines):
        line_indent, content = lines[index]
        if line_indent != indent or not content.startswith("- "):
            break
        item = content[2:].lstrip(" ")
        if not item or item.startswith("- ") or _looks_like_mapping(item):
            raise _Unsupported  # nested structures under an item
        items.append(_scalar(item))
        index += 1
    if index < len(lines) and lines[index][0] > indent:
        raise _Unsupported
    return items, index


def _looks_like_mapping(text):
    return ": " in text or text.endswith(":")


def _key(content):
    colon = content.find(":")
    if colon <= 0:
        raise _Unsupported
    key = content[:colon]
    if not all(c in _KEY_CHARS for c in key) or key in _NULLS + _TRUE + _FALSE \
            or not (key[0].isalpha() or key[0] == "_"):
        raise _Unsupported  # keys that YAML would type, or that need care
    rest = content[colon + 1:]
    if rest and rest[0] != " ":
        raise _Unsupported  # "a:b" is a plain scalar, not a key
    return key, rest.strip(" ")


def _scalar(text):
    first = text[0]
    if first in ("'", '"'):
        return _quoted(text)
    if text == "[]":
        return []
    if text == "{}":
        return {}
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    digits = text[1:] if first in "+-" else text
    if digits and all(c in _DIGITS for c in digits):
        if len(digits) > 1 and digits[0] == "0":
            raise _Unsupported  # octal-looking
        return int(text)
    if not all(c in _SAFE_CHARS for c in text) or first in "-./@+ ":
        raise _Unsupported
    if first in _DIGITS and not _is_duration(text) and not _is_dotted_numbers(text):
        raise _Unsupported  # floats, dates, hex, versions: let ruamel type them
    # What is left starts with a letter or "_": a string in YAML 1.2 (yes/no/on/off
    # included; ruamel agrees, and the tests check).
    return text


def _is_duration(text):
    """Go durations such as 0s, 24h, 1h30m, 500ms: digits and unit letters, a string to YAML."""
    return text[-1] in "hms" and all(c in _DIGITS or c in "hmsnu" for c in text)


def _is_dotted_numbers(text):
    """0.0.0.0, 1.2.3: two dots or more, so neither a float nor a date to YAML."""
    return text.count(".") >= 2 and all(c in _DIGITS or c == "." for c in text) \
        and ".." not in text and text[-1] != "."


def _quoted(text):
    quote = text[0]
    end = text.find(quote, 1)
    if end == -1:
        raise _Unsupported
    body = text[1:end]
    rest = text[end + 1:].lstrip(" ")
    if rest and not rest.startswith("#"):
        raise _Unsupported
    if quote == '"' and "\\" in body:
        raise _Unsupported
    if quote == "'" and text[end + 1:end + 2] == "'":
        raise _Unsupported  # '' escapes a quote
    return body
