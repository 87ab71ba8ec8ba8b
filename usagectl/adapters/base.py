"""The one small interface every framework adapter implements.

An adapter knows one framework's telemetry: where its switch lives, what it will do,
and how to carry a consent decision into its own settings. Later features (sent
payloads, previews, deletion, side channels) hang off the same object, each with a
default that says "nothing known", so a third-party adapter can implement only what
its framework has. Third-party adapters register under the entry-point group
``usagectl.adapters``.
"""


class Adapter:
    #: Name used in the consent file and on the command line (lower case).
    name = ""
    #: Human name.
    title = ""
    #: What the framework does when nobody has chosen: "on" or "off".
    own_default = "off"
    #: One line explaining that default.
    own_default_note = ""
    #: True when the framework has telemetry levels (Parsl's 1-3) that a level cap limits.
    has_levels = False
    #: Hosts the framework sends telemetry to; verify --run blocks them.
    endpoints = ()
    #: The Python package to look for, or the program on PATH (for `installed_here`).
    python_package = None
    program = None

    def detect(self, env):
        """Is the framework installed, and which of its files exist? -> dict."""
        return {"installed": None, "version": None, "files": []}

    def installed_here(self, env):
        """Cheaply: can this Python import the framework (or is its program on PATH)?

        None when the adapter names neither. Cheap enough for `status`, unlike detect().
        """
        if self.python_package:
            import importlib.util

            try:
                return importlib.util.find_spec(self.python_package) is not None
            except (ImportError, ValueError):
                return False
        if self.program:
            import shutil

            return shutil.which(self.program, path=env.environ.get("PATH")) is not None
        return None

    def native_state(self, env):
        """What the framework itself will decide, and which of its sources decided it.

        Returns a dict: mode ("on", "off", "local" or "unknown"), source, detail, and
        traps (env values the framework would misread or crash on).
        """
        return {"mode": "unknown", "source": None, "detail": "usagectl can't read this framework's state",
                "traps": []}

    def apply(self, env, decision, repair=False):
        """Carry ``decision`` into the framework's own settings. -> dict(changed, notes)."""
        return {"changed": [], "notes": []}

    def env_vars(self, decision):
        """The framework's own environment variables for ``decision``: [(name, value)].

        For CI jobs and containers where the consent file isn't shared. Empty when the
        framework has no such variable or the decision is "unset".
        """
        return []

    def side_channels(self, env):
        """Traffic the framework's telemetry switch does not stop.

        A list of {"name", "detail", "how_to_close"}; empty when none is known.
        """
        return []

    def identifier_files(self, env):
        """Files holding identifiers the framework sends (read only; a deletion request names them).

        A list of {"name", "path", "exists", "value"}; empty when none is known.
        """
        return []

    def __repr__(self):
        return "<%s adapter>" % self.name
