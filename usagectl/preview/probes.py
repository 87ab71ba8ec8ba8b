"""Ask an installed framework's own code for a payload, in a separate Python process.

Why a subprocess: the frameworks read their settings from the process environment
(os.getenv, ~ expanded from HOME, dask's config dirs), so running them with the
command's Environment as their environment gives their real answer; and importing
Ray, Parsl or Coiled (0.4-1.8 s, plus logging and import-time side effects) stays out
of the usagectl process. The probes only build payloads: none opens a socket.

The child is started with ``-P`` so neither the working directory nor this file's
directory (which holds modules named ray.py and parsl.py) can shadow the frameworks.
"""

import json
import subprocess
import sys

#: A probe builds payloads only; anything slower than this is stuck.
TIMEOUT_S = 60

_BOOT = "from usagectl.preview import probes; probes.main()"


class ProbeResult:
    """What a probe said: ``data`` (a dict) or ``missing`` (module not installed) or ``error``."""

    def __init__(self, data=None, missing=None, error=None):
        self.data = data
        self.missing = missing
        self.error = error

    @property
    def ok(self):
        return self.data is not None


def run(env, name, *args, timeout=TIMEOUT_S):
    """Run probe ``name`` with ``env.environ`` as its environment -> ProbeResult."""
    try:
        proc = subprocess.run([sys.executable, "-P", "-c", _BOOT, name, *map(str, args)],
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
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return ProbeResult(error="the %s probe failed (exit %d): %s" % (name, proc.returncode, tail))


# ---------------------------------------------------------------------------
# The child side. Each probe returns a JSON-able dict; framework imports are here only.


def _ray():
    import dataclasses
    import json as _json

    from ray._common.usage import usage_lib

    disabled = usage_lib.generate_disabled_report_data()
    return {
        # requests' json= encodes with json.dumps (default separators): these are the bytes.
        "disabled_body": _json.dumps(dataclasses.asdict(disabled)),
        "url": usage_lib._usage_stats_report_url(),
        "interval_s": usage_lib._usage_stats_report_interval_s(),
        "fields": [f.name for f in dataclasses.fields(usage_lib.UsageStatsToReport)],
        "version": _version("ray"),
    }


def _parsl(*levels):
    import base64
    import logging
    import types

    logging.getLogger("parsl").addHandler(logging.NullHandler())
    from parsl.config import Config
    from parsl.usage_tracking.usage import UsageTracker

    built = []
    for level in levels:
        config = Config(usage_tracking=int(level))
        # UsageTracker reads only .config and ._config of the DataFlowKernel; a stand-in
        # lets Parsl build its message without starting a workflow.
        dfk = types.SimpleNamespace(config=config, _config=config)
        tracker = UsageTracker(dfk)
        datagram = tracker.construct_start_message()
        built.append({"level": tracker.tracking_level,
                      "datagram_base64": base64.b64encode(datagram).decode("ascii"),
                      "host": tracker.domain_name, "port": tracker.UDP_PORT})
    return {"messages": built, "version": _version("parsl")}


def _dask(*keys):
    import dask.config

    try:  # coiled registers its defaults (coiled.yaml) with dask when imported
        import coiled  # noqa: F401

        coiled_version = _version("coiled")
    except ImportError:
        coiled_version = None
    dask.config.refresh()
    missing = object()
    values = {}
    for key in keys:
        value = dask.config.get(key, missing)
        values[key] = {"set": value is not missing, "value": None if value is missing else _jsonable(value)}
    return {"values": values, "coiled_version": coiled_version, "dask_version": _version("dask"),
            "paths": list(getattr(dask.config, "paths", []))}


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _version(dist):
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


_PROBES = {"ray": _ray, "parsl": _parsl, "dask": _dask}


def main():
    name, args = sys.argv[1], sys.argv[2:]
    try:
        answer = {"data": _PROBES[name](*args)}
    except ImportError as exc:
        answer = {"missing": exc.name or str(exc)}
    except Exception as exc:
        answer = {"error": "%s: %s" % (type(exc).__name__, exc)}
    sys.stdout.write("\n" + json.dumps(answer) + "\n")
