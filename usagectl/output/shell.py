"""Environment assignments in the syntax of each shell (and of .env files)."""

import re
import shlex

SHELLS = ("sh", "bash", "zsh", "fish", "powershell", "dotenv")
#: Shells whose assignment syntax is POSIX sh's.
POSIX = ("sh", "bash", "zsh")
_PLAIN = re.compile(r"^[A-Za-z0-9_./:,\[\]@%+=-]*$")


def _fish_quote(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _powershell_quote(value):
    return "'" + value.replace("'", "''") + "'"


def _dotenv_value(value):
    # docker --env-file takes values literally (quotes included), so quote only when needed.
    if _PLAIN.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def assignment(shell, name, value):
    if shell in POSIX:
        return "export %s=%s" % (name, shlex.quote(value))
    if shell == "fish":
        return "set -gx %s %s" % (name, _fish_quote(value))
    if shell == "powershell":
        return "$env:%s = %s" % (name, _powershell_quote(value))
    if shell == "dotenv":
        return "%s=%s" % (name, _dotenv_value(value))
    raise ValueError(shell)


def comment(text):
    return "# " + text.replace("\n", " ")
