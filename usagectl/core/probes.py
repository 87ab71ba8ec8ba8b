"""Ask an installed framework's own code for a payload, in a separate Python process.

Why a subprocess: the frameworks read their settings from the process environment
(os.getenv, ~ expanded from HOME, dask's config dirs), so running them with the
command's Environment as their environment gives their real answer; and importing
Ray, Parsl or Coiled (0.4-1.8 s, plus logging and import-time side effects) stays out
of the usagectl process. The probes only build payloads: none opens a socket.

Each framework's probe is ``preview_probe(*args)`` in the ``probe.py`` of its own home
(``Framework.probe_file()``), stdlib plus the framework only; the child loads it by
path and is started with ``-P`` so the working directory can't shadow the frameworks.
"""

import json
import subprocess
import sys

#: A probe builds payloads only; anything slower than this is stuck.
TIMEOUT_S = 60

# The child: load the probe file by path, call preview_probe, print one JSON line.
_BOOT = """\
import importlib.util, json, sys
path, args = sys.argv[1], sys.argv[2:]
try:
    spec = importlib.util.spec_from_file_location("_usagectl_probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    answer = {"data": module.preview_probe(*args)}
except ImportError as exc:
    answer = {"missing": exc.name or str(exc)}
except Exception as exc:
    # The type, and a YAML/TOML/JSON error's line; never the message: parsers quote the
    # settings file there, and the quoted line may hold a token.
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if getattr(mark, "line", None) is not None else getattr(exc, "lineno", None)
    where = getattr(mark, "name", None) or getattr(exc, "filename", None)
    answer = {"error": type(exc).__name__ + (" in %s" % where if where else "")
              + (" line %s" % line if line else "")}
sys.stdout.write("\\n" + json.dumps(answer) + "\\n")
"""


class ProbeResult:
    """What a probe said: ``data`` (a dict) or ``missing`` (module not installed) or ``error``."""

    def __init__(self, data=None, missing=None, error=None):
        self.data = data
        self.missing = missing
        self.error = error

    @property
    def ok(self):
        return self.data is not None


def run(env, framework, *args, timeout=TIMEOUT_S):
    """Run ``framework``'s preview probe with ``env.environ`` as its environment -> ProbeResult."""
    name = framework.name
    probe_file = framework.probe_file()
    if probe_file is None:
        return ProbeResult(error="usagectl has no probe for %s" % name)
    try:
        proc = subprocess.run([sys.executable, "-P", "-c", _BOOT, probe_file, *map(str, args)],
                              env=dict(env.environ), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return ProbeResult(error="the %s probe took more than %d s" % (name, timeout))
    except OSError as exc:
        return ProbeResult(error="could not start %s: %s" % (sys.executable, exc.strerror or exc))
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            if "missing" in answer:
                return ProbeResult(missing=answer["missing"])
            if "error" in answer:
                return ProbeResult(error=answer["error"])
            return ProbeResult(data=answer["data"])
    return ProbeResult(error="the %s probe failed (exit %d): %s" % (name, proc.returncode,
                                                                   _exception_name(proc.stderr)))


def _exception_name(stderr):
    """The exception a crashed probe died of, by name only: its message and the lines after
    it can quote a framework's settings file (a YAML error shows the line holding a token)."""
    for line in reversed(stderr.splitlines()):
        if line and not line[0].isspace():
            head = line.split(":", 1)[0].strip()
            if head and all(part.isidentifier() for part in head.split(".")):
                return head
    return "no readable error (set USAGECTL_DEBUG=1 and run the framework's import yourself)"


