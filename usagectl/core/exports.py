"""What an export format is and returns (usagectl.export is the engine; frameworks
define their own formats on these)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Result:
    """One export: the text to write, whether it differs from the input, and notes."""

    def __init__(self, text: str, changed: bool = True, notes: list[str] | None = None,
                 details: dict[str, Any] | None = None) -> None:
        self.text = text
        self.changed = changed
        self.notes = list(notes or [])
        self.details = dict(details or {})


class Format:
    """An export format. ``needs_input``: it patches a file the user gives (a cluster
    YAML); otherwise it makes a new one."""

    name = ""
    summary = ""
    needs_input = False
    #: Where the output usually goes, for the human view's last line.
    destination = ""

    def render(self, decisions: Any, text: str | None, path: str | None) -> Result:
        """``decisions``: usagectl.export.Decisions (each framework's decision, and the
        variables that carry them); ``text``/``path``: the input file, for needs_input."""
        raise NotImplementedError


def check_variable(name: str, value: str) -> None:
    """Refuse a variable no export may carry: a name that is not a plain identifier, or a
    value with a control character (a line break would start a new unit directive, a new
    Dockerfile instruction or a new shell command). Values come from usagectl and from
    settings validated when read (``core.settings.blackhole_problem``); this is the last
    gate before any of them is written for another program."""
    import re

    from usagectl.core.errors import BadInput

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise BadInput("refusing to export the variable name %r" % name)
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        raise BadInput("refusing to export %s: its value has a control character" % name)


def systemd_quote(assignment: str) -> str:
    """One Environment= word: double-quoted, with systemd's escapes and % doubled (a
    specifier character in unit files). A control character is refused, never quoted:
    systemd would read a line break as the end of the directive."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in assignment):
        raise ValueError("a systemd Environment= value can't hold a control character")
    escaped = assignment.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return '"%s"' % escaped
