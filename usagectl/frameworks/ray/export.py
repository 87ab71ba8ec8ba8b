"""Ray's export formats: a cluster launcher YAML (`ray up`) and a KubeRay manifest.

What stops a Ray cluster's usage stats: the head's `ray start` must see
RAY_USAGE_STATS_ENABLED=0 or --disable-usage-stats (only the head reports). `ray up`
already exports RAY_USAGE_STATS_ENABLED on the head's start commands from the machine
that runs it (ray/autoscaler/_private/updater.py: `usage_lib.usage_stats_enabled()` of
the local ~/.ray/config.json and environment), so a cluster launched from a machine where
`usagectl disable` ran is already off; the patched file keeps it off when someone else,
or CI, runs `ray up` with it. The inline assignment before `ray start` comes after the
updater's `export`, so it wins.

Only ever tightening: with consent on or unset the file is returned unchanged.
"""

from __future__ import annotations

import json
import re

from usagectl.core.errors import BadInput
from usagectl.core.exports import Format, Result
from usagectl.frameworks.ray.framework import ENV_VAR, FRAMEWORK

FLAG = "--disable-usage-stats"
START_KEYS = ("head_start_ray_commands", "worker_start_ray_commands")
#: Where Ray sends every report, the disabled ping included (the [blackhole] setting).
REPORT_URL_VAR = FRAMEWORK.blackhole_env("")[0][0]

# `ray start` as a command word: at the start, or after a separator, `sudo`, `env` or
# assignments; the binary may carry a path. Assignments of ENV_VAR and REPORT_URL_VAR right
# before it are ours to replace.
_START = re.compile(r"(?P<assign>(?:\b(?:%s|%s)=\S*\s+)*)(?P<ray>(?<![\w.-])(?:[\w./~-]*/)?ray)(?P<gap>\s+)"
                    r"start(?=$|[\s;&|)])" % (ENV_VAR, REPORT_URL_VAR))
_REPORT_URL = re.compile(r"\b%s=\S*\s+" % REPORT_URL_VAR)
_SEPARATOR = re.compile(r";|&&|\|\||\||\n")


def patch_command(command: str, report_url: str | None = None) -> str:
    """``command`` with every `ray start` in it run with usage stats off, and with its
    reports (the disabled ping) sent to ``report_url`` when one is given."""
    import shlex

    out, last = [], 0
    for match in _START.finditer(command):
        out.append(command[last:match.start()])
        rest = command[match.end():]
        end = _SEPARATOR.search(rest)
        segment = rest[:end.start()] if end else rest
        flag = "" if re.search(r"(?<!\S)%s(?!\S)" % re.escape(FLAG), segment) else " " + FLAG
        if report_url:
            url = "%s=%s " % (REPORT_URL_VAR, shlex.quote(report_url))
        else:  # the file's own report URL, if it sets one, stays
            own = _REPORT_URL.search(match.group("assign"))
            url = own.group(0) if own else ""
        out.append("%s%s=0 %s%sstart%s" % (url, ENV_VAR, match.group("ray"), match.group("gap"), flag))
        last = match.end()
    out.append(command[last:])
    return "".join(out)


def disables_itself(command: str) -> bool:
    return bool(re.search(r"(?<!\S)%s(?!\S)|\b%s=(0|false)\b" % (re.escape(FLAG), ENV_VAR), command))


def provider_defaults(provider_type: str) -> dict | None:
    """The start commands Ray fills in for a provider that the file leaves out, read from
    the installed Ray's own defaults.yaml (never imported: ray is heavy)."""
    import importlib.util
    import os

    try:
        spec = importlib.util.find_spec("ray")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not str(provider_type).isidentifier():
        return None
    path = os.path.join(os.path.dirname(spec.origin), "autoscaler", str(provider_type), "defaults.yaml")
    from usagectl import _files

    try:
        data = _files.read_regular(path, 16 << 20)
    except OSError:
        return None
    from usagectl.core import yamlfile

    doc, _ = yamlfile.load_mapping(data, path)
    return {key: list(doc.get(key) or []) for key in START_KEYS}


class RayCluster(Format):
    name = "ray-cluster"
    summary = "patch a Ray cluster launcher YAML (`ray up`): head and worker start commands"
    needs_input = True
    destination = "the cluster YAML you pass to `ray up`"

    def render(self, decisions, text, path):
        from usagectl.core import yamlfile

        doc, _ = yamlfile.load_mapping(text.encode("utf-8"), path)
        mode = decisions.mode("ray")
        commands = {key: doc.get(key) for key in START_KEYS}
        for key, value in commands.items():
            if value is not None and (not isinstance(value, list) or not all(isinstance(c, str) for c in value)):
                raise BadInput("%s: %s must be a list of commands" % (path, key), path=path)
        if not decisions.restricting("ray"):
            notes = ["ray is %s: nothing to add (usagectl never turns telemetry on)" % mode]
            if any(disables_itself(c) for value in commands.values() for c in value or ()):
                notes.append("this file's own start commands turn usage stats off; kept")
            return Result(text, changed=False, notes=notes, details={"mode": mode})
        notes: list[str] = []
        blackhole = decisions.blackholes.get("ray")
        url = blackhole if isinstance(blackhole, str) and blackhole else None
        patched = _patch_lines(text, doc, [k for k in START_KEYS if commands[k] is not None], url)
        missing = [k for k in START_KEYS if commands[k] is None]
        defaults: dict = {}
        if missing:
            defaults = provider_defaults((doc.get("provider") or {}).get("type", "")) or {}
            if not defaults:
                raise BadInput("%s has no %s, and no installed Ray to take the provider's defaults from"
                               % (path, " or ".join(missing)), path=path,
                               hint="add them (Ray's defaults.yaml for your provider has them)")
            block = "".join("%s:\n%s" % (key, "".join("    - %s\n" % json.dumps(patch_command(c, url))
                                                       for c in defaults[key])) for key in missing)
            patched = patched + ("" if patched.endswith("\n") or not patched else "\n") + block
            notes += ["%s: none in the file; Ray's own defaults for this provider, patched" % k for k in missing]
        # The edit was made on the text, to keep every comment and quote: check that the
        # file now says exactly what was meant, and nothing else moved.
        check, _ = yamlfile.load_mapping(patched.encode("utf-8"), path)
        for key in START_KEYS:
            source = commands[key] if commands[key] is not None else defaults[key]
            want = [patch_command(c, url) for c in source]
            if list(check.get(key) or []) != want:
                raise BadInput("%s: %s is written in a way usagectl can't patch in place" % (path, key), path=path,
                               hint="put each command on one line")
            if not any(_START.search(c) for c in want):
                notes.append("%s runs no `ray start`: nothing there to patch" % key)
        if url:
            notes.append("the head's disabled ping (no cluster data) goes to %s, the [blackhole] of "
                         "settings.toml" % url)
        else:
            notes.append("Ray still sends one disabled ping (no cluster data) each time the head starts; "
                         "`usagectl status` names it (a [blackhole] ray URL in settings.toml takes it)")
        return Result(patched, changed=patched != text, notes=notes, details={"mode": mode})


def _patch_lines(text, doc, keys, report_url=None):
    """``text`` with patch_command applied to the lines that hold the items of ``keys``."""
    lines = text.splitlines(keepends=True)
    for key in keys:
        sequence = doc[key]
        if not sequence:
            continue
        first = sequence.lc.item(0)[0]
        # The sequence ends where the next top-level key starts (or the file does).
        following = [doc.lc.key(k)[0] for k in doc if doc.lc.key(k)[0] > first]
        end = min(following) if following else len(lines)
        for number in range(first, end):
            lines[number] = patch_command(lines[number], report_url)
    return "".join(lines)


# RayCluster, and the cluster specs RayJob and RayService carry.
_CLUSTER_SPECS = {"RayCluster": ("spec",), "RayJob": ("spec", "rayClusterSpec"),
                  "RayService": ("spec", "rayClusterConfig")}


def _groups(spec):
    head = spec.get("headGroupSpec")
    if isinstance(head, dict):
        yield "headGroupSpec", head
    for index, group in enumerate(spec.get("workerGroupSpecs") or []):
        if isinstance(group, dict):
            yield "workerGroupSpecs[%d]" % index, group


def _patch_group(group, where, notes):
    from usagectl.core import yamlfile

    params = group.get("rayStartParams")
    if params is None:
        params = group["rayStartParams"] = yamlfile.new_mapping()
    # KubeRay turns "true" into a bare --flag (pod.go convertParamMap).
    params["disable-usage-stats"] = "true"
    containers = (((group.get("template") or {}).get("spec") or {}).get("containers")) or []
    if not containers or not isinstance(containers[0], dict):
        notes.append("%s has no containers: only rayStartParams patched" % where)
        return
    # KubeRay runs Ray in the first container.
    env = containers[0].get("env")
    if env is None:
        env = containers[0]["env"] = []
    for entry in env:
        if isinstance(entry, dict) and entry.get("name") == ENV_VAR:
            if "valueFrom" in entry:
                del entry["valueFrom"]
                notes.append("%s: %s came from valueFrom; set to 0" % (where, ENV_VAR))
            entry["value"] = "0"
            return
    item = yamlfile.new_mapping()
    item["name"] = ENV_VAR
    item["value"] = "0"
    env.append(item)


class KubeRay(Format):
    name = "kuberay"
    summary = "patch a RayCluster (or RayJob, RayService) manifest: rayStartParams and container env"
    needs_input = True
    destination = "the manifest you `kubectl apply`"

    def render(self, decisions, text, path):
        from usagectl.core import yamlfile

        documents, indent = yamlfile.load_documents(text.encode("utf-8"), path)
        mode = decisions.mode("ray")
        clusters = 0
        notes: list[str] = []
        for number, doc in enumerate(documents, 1):
            if not isinstance(doc, dict) or not str(doc.get("apiVersion", "")).startswith("ray.io/"):
                continue
            keys = _CLUSTER_SPECS.get(doc.get("kind"))
            spec = doc
            for key in keys or ():
                spec = spec.get(key) if isinstance(spec, dict) else None
            if not isinstance(spec, dict):
                continue
            clusters += 1
            if decisions.restricting("ray"):
                for where, group in _groups(spec):
                    _patch_group(group, "document %d %s" % (number, where), notes)
        if not clusters:
            raise BadInput("%s holds no RayCluster, RayJob or RayService" % path, path=path)
        if not decisions.restricting("ray"):
            return Result(text, changed=False, details={"mode": mode, "clusters": clusters},
                          notes=["ray is %s: nothing to add (usagectl never turns telemetry on)" % mode])
        patched = yamlfile.dump_documents(documents, indent).decode("utf-8")
        return Result(patched, changed=patched != text, notes=notes, details={"mode": mode, "clusters": clusters})


FORMATS = (RayCluster(), KubeRay())
