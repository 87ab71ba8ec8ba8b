"""What a command produced, as one typed object: the renderers and the JSON envelope
read it, nothing else. Command bodies fill it and never write to a stream.

A plain class with annotated slots rather than a dataclass: ``dataclasses`` pulls in
``inspect`` and ``typing`` (~9 ms), which `usagectl status` can't afford.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Report:
    """A command's outcome: its data, warnings, notes, error, and the exit code it ends with."""

    __slots__ = ("command", "data", "warnings", "notes", "error", "exit_code", "view")

    command: str
    data: Any
    #: {"message", "file", "line"} dicts, each shown once.
    warnings: list[dict[str, Any]]
    #: Plain strings for human output (stderr); not part of the JSON envelope.
    notes: list[str]
    #: UsagectlError.as_dict() when the command failed.
    error: dict[str, Any] | None
    exit_code: int
    #: Richer objects for the human renderer only (show-last's Payload objects); never
    #: part of the JSON envelope, whose ``data`` is the JSON form of the same result.
    view: Any

    def __init__(self, command: str, data: Any = None) -> None:
        self.command = command
        self.data = data
        self.warnings = []
        self.notes = []
        self.error = None
        self.exit_code = 0
        self.view = None

    def __repr__(self) -> str:
        return "Report(%r, exit_code=%d, error=%r)" % (self.command, self.exit_code, self.error)

    def warn(self, message: str, path: str | None = None, line: int | None = None) -> None:
        item = {"message": message, "file": path, "line": line}
        if item not in self.warnings:
            self.warnings.append(item)

    def warn_problem(self, problem: Any, consequence: str) -> None:
        self.warn("%s: %s" % (problem.message, consequence), problem.path, problem.line)

    def note(self, message: str) -> None:
        self.notes.append(message)

    def fail(self, error: Any) -> None:
        """Record ``error`` (a UsagectlError) as the outcome: the one place an error's exit
        code becomes the command's."""
        self.error = error.as_dict()
        self.exit_code = int(error.exit_code)


class Stream:
    """A list in a Report's data that is produced while it is written, never held whole
    (`usagectl history` of a million entries): the JSON envelope writes its items as they
    come, the human view in chunks. It can be consumed once."""

    __slots__ = ("items",)

    def __init__(self, items: Any) -> None:
        self.items = items

    def __iter__(self) -> Any:
        return iter(self.items)
