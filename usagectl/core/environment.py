"""Everything a command needs from the outside world, gathered in one object.

Tests build their own Environment instead of patching module globals (httpie's
pattern). Paths are computed when asked for, from ``environ``, so a test that sets
USAGECTL_CONFIG_DIR gets its own files.
"""

import os
import sys

from usagectl import _paths


def expanduser_like_python(environ, path):
    """``os.path.expanduser`` as Ray's process would compute it from ``environ``.

    Ray calls ``os.path.expanduser("~/.ray/config.json")``: HOME is used whenever it is
    set (even empty or relative), the password database only when it is not.
    """
    if not path.startswith("~"):
        return path
    if "HOME" in environ:
        home = environ["HOME"]
    else:
        try:
            import pwd

            home = pwd.getpwuid(os.getuid()).pw_dir
        except (ImportError, KeyError):
            return path
    home = home.rstrip("/")
    return (home + path[1:]) or "/"


class ClosedStream:
    """Stands in for a standard stream the shell closed (``>&-``: Python's sys.stdout is
    None). Writes go nowhere and are remembered, so the command still runs to the end and
    its exit code can say that its output was lost."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, name):
        self.name = name
        self.lost = False

    def write(self, text):
        if text:
            self.lost = True
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def readline(self, *args):
        return ""

    def read(self, *args):
        return ""


class GuardedStream:
    """Standard output that can fail (a full disk, ``> /dev/full``, a closed pipe): the
    first failed write is remembered and every later one dropped, so the command still
    ends with one line saying its output was lost and exit 1, never a traceback."""

    def __init__(self, stream):
        self._stream = stream
        self.lost = False
        self.why = None

    def write(self, text):
        if self.why is not None:
            return len(text)
        try:
            return self._stream.write(text)
        except OSError as exc:
            self.lost, self.why = True, exc.strerror or str(exc)
            return len(text)

    def flush(self):
        if self.why is None:
            try:
                self._stream.flush()
            except OSError as exc:
                self.lost, self.why = True, exc.strerror or str(exc)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class Environment:
    def __init__(self, environ=None, stdout=None, stderr=None, argv=None, now=None, stdin=None):
        self.environ = dict(os.environ if environ is None else environ)
        self.stdin = stdin or sys.stdin or ClosedStream("stdin")
        self.stdout = stdout or (GuardedStream(sys.stdout) if sys.stdout else ClosedStream("stdout"))
        self.stderr = stderr or sys.stderr or ClosedStream("stderr")
        self.argv = list(sys.argv[1:] if argv is None else argv)
        self._now = now
        #: Places given with --path on this command line: searched for every framework's
        #: records, as the settings' [search] globs are.
        self.extra_paths = []
        #: `usagectl --system`: the command acts on the system policy and system-wide settings.
        self.system = False
        #: {"message", "file", "line"}: settings that were bad and what was used instead,
        #: found while the command ran; the runner adds them to the report's warnings.
        self.warnings = []

    def warn_setting(self, message, path=None, line=None):
        item = {"message": message, "file": path, "line": line}
        if item not in self.warnings:
            self.warnings.append(item)

    # Locations -----------------------------------------------------------
    @property
    def home(self):
        return _paths._home(self.environ)

    @property
    def consent_path(self):
        return _paths.consent_path(self.environ)

    @property
    def settings_path(self):
        return _paths.settings_path(self.environ)

    def read_settings(self):
        """usagectl's own settings (usagectl.core.settings.Settings); never writes."""
        from usagectl.core import settings

        return settings.read(self)

    @property
    def policy_path(self):
        """Where the policy is read: under --system, the administrator's own (below the
        system root; see core.system.policy_location), else where this user's readers look."""
        if self.system:
            from usagectl.core import system

            return system.system_path(self, system.policy_location(self))
        return _paths.policy_path(self.environ)

    @property
    def state_dir(self):
        return _paths.user_state_dir(self.environ)

    @property
    def history_path(self):
        return _paths.history_path(self.environ)

    def expand(self, path):
        """``~`` expanded against this environment's HOME, as the frameworks do."""
        if path == "~" or path.startswith("~/"):
            return self.home + path[1:]
        return path

    # Time and identity ---------------------------------------------------
    def now(self):
        if self._now is not None:
            return self._now()
        from usagectl.core.store import utc_now

        return utc_now()

    @property
    def interactive(self):
        """Can we ask the user? Only when standard input is a terminal: a piped or closed
        stdin must never be read as someone's answer."""
        try:
            return bool(self.stdin is not None and self.stdin.isatty())
        except (AttributeError, ValueError, OSError):
            return False

    @property
    def debug(self):
        return self.environ.get("USAGECTL_DEBUG", "").strip().lower() not in ("", "0", "false", "no")

    @property
    def command_line(self):
        import shlex

        return "usagectl " + shlex.join(self.argv) if self.argv else "usagectl"

    def read_consent(self):
        from usagectl import consent

        return consent.read_consent(self.consent_path, self.environ)

    def search_globs(self, framework):
        """Paths matching the settings' ``[search] <framework> = [...]`` globs.

        Where a framework's logs live outside its defaults (e.g. Parsl run dirs). Never
        raises: a damaged settings file means no extra paths.
        """
        import glob

        paths = list(self.extra_paths)
        settings = self.read_settings()
        if settings.problem:
            self.warn_setting("%s; its [search] paths are not used" % settings.problem.message,
                              settings.problem.path, settings.problem.line)
            return paths
        table = settings.table("search")
        if table is not None and not isinstance(table, dict):
            self.warn_setting("[search] must be a table of framework = [globs]; ignored", settings.source_of("search"))
            return paths
        patterns = (table or {}).get(framework)
        if patterns is None:
            return paths
        if isinstance(patterns, str):
            patterns = [patterns]
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            self.warn_setting("[search] %s must be a glob or a list of globs; ignored" % framework,
                              settings.source_of("search"))
            return paths
        for pattern in patterns:
            paths.extend(sorted(glob.glob(self.expand(pattern)))[:1000])
        return paths

    def refuse_foreign_home(self):
        """Root never writes into a home it doesn't own: a user there could have put links
        where usagectl writes (consent.toml, ~/.ray/config.json) and make root write
        through them. Run as that user instead (sudo -u USER, Ansible's become_user)."""
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            return
        from usagectl.core.errors import UsagectlError
        from usagectl.core.rootfs import owner_name

        for where in (self.home, os.path.dirname(self.consent_path), self.state_dir, self.settings_path):
            probe = os.path.abspath(where)
            while not os.path.lexists(probe) and os.path.dirname(probe) != probe:
                probe = os.path.dirname(probe)
            try:
                uid = os.lstat(probe).st_uid
            except OSError:
                continue
            if uid != 0:
                owner = owner_name(uid)
                raise UsagectlError("running as root, but %s belongs to %s: root never writes into another "
                                    "user's files" % (probe, owner),
                                    hint="run it as that user (sudo -u %s usagectl ...), or use "
                                         "`usagectl --system` for what holds every user" % owner.split(" ")[0])

    def read_policy(self):
        from usagectl import consent

        return consent.read_policy(self.policy_path, self.environ)
