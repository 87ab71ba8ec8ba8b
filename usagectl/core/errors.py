"""Errors that end a command with one line and a documented exit code."""

from usagectl.core.exitcodes import ExitCode


class UsagectlError(Exception):
    """An error the user can act on: printed as one line, never as a traceback."""

    exit_code = ExitCode.ERROR

    def __init__(self, message, hint=None, exit_code=None, path=None, line=None):
        Exception.__init__(self, message)
        self.message = message
        self.hint = hint
        self.path = path
        self.line = line
        if exit_code is not None:
            self.exit_code = exit_code

    def as_dict(self):
        return {"code": int(self.exit_code), "kind": self.exit_code.name.lower(),
                "message": self.message, "hint": self.hint, "file": self.path, "line": self.line}


class BadInput(UsagectlError):
    exit_code = ExitCode.USAGE


class PolicyRefused(UsagectlError):
    exit_code = ExitCode.POLICY_REFUSED


class ConsentDamaged(UsagectlError):
    exit_code = ExitCode.CONSENT_DAMAGED


class FrameworkFileDamaged(UsagectlError):
    exit_code = ExitCode.FRAMEWORK_FILE_DAMAGED
