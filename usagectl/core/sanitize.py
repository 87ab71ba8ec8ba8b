"""Make untrusted text (log lines, payloads, file names) safe to print on a terminal.

Nothing from a payload may drive the terminal or hide text: every character that is not
printable is shown as a visible escape. That is C0/C1 controls (ESC, CSI 0x9b, OSC),
DEL, and every Unicode format character (category Cf: bidi overrides and isolates,
zero-width joiners, U+00AD, U+180E, the tag characters U+E0000-E007F, the interlinear
annotations U+FFF9-FFFB), private-use (Co), unassigned (Cn), lone surrogates (Cs), the
line and paragraph separators, and U+034F. Rich markup is never interpreted (our
consoles run with markup=False), so brackets are left as they are.

``str.isprintable`` (C speed) is false for exactly those categories (and for spaces
other than U+0020, which are kept), so clean text costs one scan.
"""

import re

#: Runs of characters outside printable ASCII: only these are looked at one by one.
_CANDIDATES = re.compile("[^\x20-\x7e]+")
#: Printable by Python's rule but still invisible and able to hide text.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u3164\uffa0")
_SPACES = frozenset("\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
                    "\u200a\u202f\u205f\u3000")


def _unsafe(char, one_line):
    if char in "\t\n":
        return one_line
    if char in _SPACES:
        return False
    return not char.isprintable() or char in _INVISIBLE


def _escape_run(match, one_line):
    run = match.group(0)
    if run.isprintable() and not _INVISIBLE.intersection(run):
        return run
    return "".join(_escape_char(c) if _unsafe(c, one_line) else c for c in run)


def _escape_char(char):
    code = ord(char)
    if char == "\t":
        return "\\t"
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if code <= 0xFF:
        return "\\x%02x" % code
    if code <= 0xFFFF:
        return "\\u%04x" % code
    return "\\U%08x" % code


def safe_text(text, one_line=True):
    """Return ``text`` with every terminal-active or invisible character shown as an escape.

    With ``one_line`` (the default) newlines and tabs are escaped too, so a value can't
    forge extra output lines.
    """
    if not isinstance(text, str):
        text = str(text)
    if text.isascii() and text.isprintable():
        return text
    return _CANDIDATES.sub(lambda m: _escape_run(m, one_line), text)


def safe_bytes(data):
    """Decode bytes for display: invalid UTF-8 as \\xNN escapes, then safe_text."""
    return safe_text(data.decode("utf-8", "backslashreplace"), one_line=False)


def safe_clip(text, limit=300):
    """``safe_text`` of at most ``limit`` characters of ``text``, saying how much was left
    out: a field from another host's file can be megabytes, and a terminal table of it
    would cost time superlinear in its size."""
    if not isinstance(text, str):
        text = str(text)
    if len(text) <= limit:
        return safe_text(text)
    return safe_text(text[:limit]) + "... (%d more characters)" % (len(text) - limit)
