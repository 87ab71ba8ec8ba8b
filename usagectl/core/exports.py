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


def systemd_quote(assignment: str) -> str:
    """One Environment= word: double-quoted, with systemd's escapes and % doubled (a
    specifier character in unit files)."""
    escaped = assignment.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return '"%s"' % escaped
