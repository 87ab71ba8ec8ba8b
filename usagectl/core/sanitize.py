"""Make untrusted text (log lines, payloads, file names) safe to print on a terminal.

Nothing from a payload may drive the terminal: C0/C1 control characters (ESC, CSI
0x9b, OSC), DEL and Unicode bidi/format overrides are shown as visible escapes.
Rich markup is never interpreted (our consoles run with markup=False), so brackets
are left as they are.
"""

import re

# C0 controls except tab/newline (handled per call), DEL, C1 controls, and the
# bidi and zero-width format characters that can reorder or hide text.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)
_UNSAFE_ONE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)


def _escape(match):
    char = match.group(0)
    code = ord(char)
    if char == "\t":
        return "\\t"
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if code <= 0xFF:
        return "\\x%02x" % code
    return "\\u%04x" % code


def safe_text(text, one_line=True):
    """Return ``text`` with every terminal-active character shown as an escape.

    With ``one_line`` (the default) newlines and tabs are escaped too, so a value can't
    forge extra output lines.
    """
    if not isinstance(text, str):
        text = str(text)
    pattern = _UNSAFE_ONE_LINE if one_line else _UNSAFE
    return pattern.sub(_escape, text)


def safe_bytes(data):
    """Decode bytes for display: invalid UTF-8 as \\xNN escapes, then safe_text."""
    return safe_text(data.decode("utf-8", "backslashreplace"), one_line=False)
