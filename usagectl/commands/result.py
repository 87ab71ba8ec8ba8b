"""What a command produced, as one typed object: the renderers and the JSON envelope
read it, nothing else. Command bodies fill it and never write to a stream."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Report:
    """A command's outcome: its data, warnings, notes, error, and the exit code it ends with."""

    command: str
    data: Any = None
    #: {"message", "file", "line"} dicts, each shown once.
    warnings: list[dict[str, Any]] = field(default_factory=list)
    #: Plain strings for human output (stderr); not part of the JSON envelope.
    notes: list[str] = field(default_factory=list)
    #: UsagectlError.as_dict() when the command failed.
    error: dict[str, Any] | None = None
    exit_code: int = 0

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
