"""Small builders the adapter tests share."""

from clirun import environment

from usagectl.consent import Decision
from usagectl.core.environment import Environment


def make_env(home, **extra):
    """An Environment like the isolated one, with HOME moved and ``extra`` applied (None removes)."""
    return Environment(environ=environment(dict(extra, HOME=str(home))), argv=[])


def decision_for(framework, mode):
    """A consent Decision as the consent file's framework entry would give it."""
    return Decision(framework, mode, 0 if mode == "off" else None, "consent:framework", "test")
