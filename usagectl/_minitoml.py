"""A strict, import-free reader for the small TOML subset consent files use.

Why: frameworks call the consent reader at start-up, and importing tomllib costs
more than Python's own start (it pulls in re, typing, string and enum). This reader
handles only what usagectl writes and what people commonly type by hand:

    # comments
    schema = 1
    [frameworks."my-tool"]
    mode = "off"             # basic strings without escapes, 'literal' strings
    level = 2                # decimal integers, true/false
    changed = 2026-11-24T00:06:53Z     # offset date-times, whole seconds
    parsl = ["~/work/*", "/scratch"]   # one-line arrays of those

Anything else (escapes, floats, inline tables, dotted keys, multi-line values, array
tables, duplicate keys or tables, stray control characters, ...) makes ``loads``
return None, and the caller parses with tomllib, which is then the one that decides
and reports errors with their line. So this reader never has to be right about
anything but the subset, and tests check that on the subset it returns exactly what
tomllib returns.
"""

_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_DIGITS = frozenset("0123456789")
_WS = " \t"


class _Unsupported(Exception):
    pass


def loads(text):
    """The parsed document, or None when ``text`` is outside the subset."""
    try:
        return _parse(text)
    except _Unsupported:
        return None


def _parse(text):
    for char in text:
        # Only tab and newline among control characters; CR, NUL, DEL etc. go to tomllib.
        if (char < " " and char not in "\t\n") or char == "\x7f":
            raise _Unsupported
    root = {}
    table = root
    headers = set()
    for raw in text.split("\n"):
        line = raw.strip(_WS)
        if not line or line[0] == "#":
            continue
        if line[0] == "[":
            path = _header(line)
            if path in headers:
                raise _Unsupported
            headers.add(path)
            table = root
            for key in path:
                table = table.setdefault(key, {})
                if type(table) is not dict:
                    raise _Unsupported
            continue
        key, rest = _key(line)
        rest = rest.lstrip(_WS)
        if not rest.startswith("="):
            raise _Unsupported
        value, rest = _value(rest[1:].lstrip(_WS))
        _end(rest)
        if key in table:
            raise _Unsupported
        table[key] = value
    return root


def _header(line):
    if line.startswith("[["):
        raise _Unsupported
    rest = line[1:].lstrip(_WS)
    path = []
    while True:
        key, rest = _key(rest)
        path.append(key)
        rest = rest.lstrip(_WS)
        if rest.startswith("."):
            rest = rest[1:].lstrip(_WS)
            continue
        if rest.startswith("]"):
            _end(rest[1:])
            return tuple(path)
        raise _Unsupported


def _end(rest):
    rest = rest.lstrip(_WS)
    if rest and rest[0] != "#":
        raise _Unsupported


def _key(text):
    if text[:1] in ('"', "'"):
        return _string(text)
    end = 0
    while end < len(text) and text[end] in _BARE_KEY_CHARS:
        end += 1
    if end == 0:
        raise _Unsupported
    return text[:end], text[end:]


def _string(text):
    quote = text[0]
    if text.startswith(quote * 3):
        raise _Unsupported  # multi-line strings
    end = text.find(quote, 1)
    if end == -1:
        raise _Unsupported
    body = text[1:end]
    if quote == '"' and "\\" in body:
        raise _Unsupported  # escapes
    return body, text[end + 1:]


def _value(text):
    if not text:
        raise _Unsupported
    first = text[0]
    if first in ('"', "'"):
        return _string(text)
    if first == "[":
        return _array(text[1:])
    token, rest = _token(text)
    if token == "true":
        return True, rest
    if token == "false":
        return False, rest
    if len(token) >= 20 and token[4:5] == "-":
        return _datetime(token), rest
    return _integer(token), rest


def _token(text):
    end = 0
    while end < len(text) and text[end] not in " \t#,]":
        end += 1
    return text[:end], text[end:]


def _integer(token):
    digits = token[1:] if token[:1] in "+-" else token
    if not digits or not all(c in _DIGITS for c in digits):
        raise _Unsupported
    if len(digits) > 1 and digits[0] == "0":
        raise _Unsupported  # leading zeros are invalid TOML: let tomllib say so
    return int(token)


def _datetime(token):
    # YYYY-MM-DDTHH:MM:SS followed by Z or +HH:MM / -HH:MM; fractions go to tomllib.
    if len(token) not in (20, 25) or token[10] != "T" or token[4] != "-" or token[7] != "-" \
            or token[13] != ":" or token[16] != ":":
        raise _Unsupported
    fields = (token[0:4], token[5:7], token[8:10], token[11:13], token[14:16], token[17:19])
    if not all(len(f) and all(c in _DIGITS for c in f) for f in fields):
        raise _Unsupported
    import datetime

    zone = token[19:]
    if zone == "Z":
        tz = datetime.timezone.utc
    elif len(zone) == 6 and zone[0] in "+-" and zone[3] == ":" \
            and all(c in _DIGITS for c in zone[1:3] + zone[4:6]):
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise _Unsupported
        offset = datetime.timedelta(hours=hours, minutes=minutes)
        tz = datetime.timezone(-offset if zone[0] == "-" else offset)
    else:
        raise _Unsupported
    try:
        return datetime.datetime(*(int(f) for f in fields), tzinfo=tz)
    except ValueError:
        raise _Unsupported


def _array(text):
    items = []
    rest = text.lstrip(_WS)
    while True:
        if rest.startswith("]"):
            return items, rest[1:]
        if not rest or rest[0] in "[{":
            raise _Unsupported  # nested arrays, inline tables, or a value on the next line
        item, rest = _value(rest)
        items.append(item)
        rest = rest.lstrip(_WS)
        if rest.startswith(","):
            rest = rest[1:].lstrip(_WS)
        elif not rest.startswith("]"):
            raise _Unsupported
