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
# before it are ours to replace. Found in linear time: the literal "ray <spaces> start" is
# searched, and the path and assignments before it are read backwards from there (a
# single regular expression for all of it backtracked quadratically on a 200 KB line).
_RAY_START = re.compile(r"ray(?P<gap>[ \t]+)start(?=$|[\s;&|)])")
_PATH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./~-")
_ASSIGNED = (ENV_VAR + "=", REPORT_URL_VAR + "=")
_SEPARATOR = re.compile(r";|&&|\|\||\||\n")


def _starts(command: str):
    """(start, end, ray, gap, assignments) of each `ray start` command word in ``command``:
    ``start`` where its own assignments begin, ``ray`` the binary as written."""
    for match in _RAY_START.finditer(command):
        ray_at = match.start()
        path_at = ray_at
        while path_at > 0 and command[path_at - 1] in _PATH_CHARS:
            path_at -= 1
        if path_at != ray_at and command[ray_at - 1] != "/":
            continue  # "xray start", "my-ray start": another word
        begin = path_at
        assignments = ""
        while True:  # the assignments of our two variables right before it
            probe = begin
            while probe > 0 and command[probe - 1] in " \t":
                probe -= 1
            word_at = probe
            while word_at > 0 and not command[word_at - 1].isspace():
                word_at -= 1
            word = command[word_at:probe]
            if probe == begin or not word.startswith(_ASSIGNED):
                break
            assignments = command[word_at:begin] + assignments
            begin = word_at
        yield begin, match.end(), command[path_at:match.start() + 3], match.group("gap"), assignments


def patch_command(command: str, report_url: str | None = None) -> str:
    """``command`` with every `ray start` in it run with usage stats off, and with its
    reports (the disabled ping) sent to ``report_url`` when one is given."""
    import shlex

    out, last = [], 0
    for begin, end, ray, gap, assignments in _starts(command):
        out.append(command[last:begin])
        rest = command[end:]
        separator = _SEPARATOR.search(rest)
        segment = rest[:separator.start()] if separator else rest
        flag = "" if FLAG in segment.split() else " " + FLAG
        if report_url:
            url = "%s=%s " % (REPORT_URL_VAR, shlex.quote(report_url))
        else:  # the file's own report URL, if it sets one, stays
            own = [w for w in assignments.split() if w.startswith(REPORT_URL_VAR + "=")]
            url = own[-1] + " " if own else ""
        out.append("%s%s=0 %s%sstart%s" % (url, ENV_VAR, ray, gap, flag))
        last = end
    out.append(command[last:])
    return "".join(out)


def runs_ray_start(command: str) -> bool:
    return next(_starts(command), None) is not None


def disables_itself(command: str) -> bool:
    return FLAG in command.split() or bool(re.search(r"\b%s=(0|false)\b" % ENV_VAR, command))


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


def _compose(text, path):
    """The YAML node tree of a cluster file, with the exact position of every scalar
    (libyaml's composer through PyYAML: a 10 MB file in well under a second)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.compose(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # "FILE line N: not valid YAML: ..." (the path and line come from the error's fields).
        raise BadInput("not valid YAML: %s" % (getattr(exc, "problem", None) or exc), path=path,
                       line=mark.line + 1 if mark is not None else None) from None
    except RecursionError:
        raise BadInput("%s nests too deeply to be a cluster file" % path, path=path) from None


_STR = "tag:yaml.org,2002:str"


def _mapping_entries(node, seen=None):
    """key -> value node of a mapping node, merge keys (``<<: *base``) followed as YAML
    says: the mapping's own keys win over merged ones, earlier merges over later ones."""
    import yaml

    seen = seen if seen is not None else set()
    if not isinstance(node, yaml.MappingNode) or id(node) in seen:
        return {}
    seen.add(id(node))
    own, merged = {}, {}
    for key, value in node.value:
        if key.tag == "tag:yaml.org,2002:merge":
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                for name, child in _mapping_entries(source, seen).items():
                    merged.setdefault(name, child)
        elif isinstance(key, yaml.ScalarNode):
            own.setdefault(key.value, value)
    return dict(merged, **own)


def _commands(entries, key, path):
    """The scalar nodes of one start-command list (None when the key is absent)."""
    import yaml

    node = entries.get(key)
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
        return None
    if not isinstance(node, yaml.SequenceNode) or not all(
            isinstance(item, yaml.ScalarNode) and item.tag == _STR for item in node.value):
        raise BadInput("%s: %s must be a list of commands (strings)" % (path, key), path=path,
                       line=node.start_mark.line + 1)
    return node.value


def _provider_type(entries, path):
    import yaml

    provider = entries.get("provider")
    if provider is None:
        return ""
    if not isinstance(provider, yaml.MappingNode):
        raise BadInput("%s: provider must be a mapping (with a type)" % path, path=path,
                       line=provider.start_mark.line + 1)
    kind = _mapping_entries(provider).get("type")
    if kind is not None and not (isinstance(kind, yaml.ScalarNode) and kind.tag == _STR):
        raise BadInput("%s: provider.type must be a string" % path, path=path, line=kind.start_mark.line + 1)
    return kind.value if kind is not None else ""


class _NeedsTree(Exception):
    """The fast event scan met what only the whole node tree can answer (a merge key or an
    alias at the top level, more than one document)."""


def _scan_events(text, path):
    """{key: [(value, begin, end)] or None} for the start-command lists at the top level,
    from libyaml's event stream: constant memory and one pass, whatever the file's size.
    Raises _NeedsTree where merge keys or aliases decide, BadInput for a wrong type."""
    import yaml

    resolver = yaml.resolver.Resolver()
    events = yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    found: dict = {key: None for key in START_KEYS}
    depth, expecting_key, key, documents = 0, True, None, 0
    try:
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _NeedsTree
                continue
            if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
                continue
            if depth == 0:
                if not isinstance(event, yaml.MappingStartEvent):
                    raise BadInput("%s is not a cluster file: its top level is not a mapping" % path, path=path)
                depth = 1
                continue
            if isinstance(event, yaml.MappingEndEvent) and depth == 1:
                depth = 0
                continue
            if expecting_key:
                if not isinstance(event, yaml.ScalarEvent) or event.value == "<<":
                    raise _NeedsTree
                key, expecting_key = event.value, False
                continue
            expecting_key = True
            if isinstance(event, yaml.AliasEvent):
                if key in START_KEYS:
                    raise _NeedsTree
                continue
            if key in START_KEYS:
                found[key] = _scan_commands(event, events, resolver, key, path)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                _skip(events)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BadInput("not valid YAML: %s" % (getattr(exc, "problem", None) or exc), path=path,
                       line=mark.line + 1 if mark is not None else None) from None
    return found


def _skip(events):
    """Consume the rest of a collection whose start event was just read."""
    import yaml

    level = 1
    for event in events:
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            level += 1
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            level -= 1
            if level == 0:
                return


def _scan_commands(first, events, resolver, key, path):
    import yaml

    def wrong(event):
        return BadInput("%s: %s must be a list of commands (strings)" % (path, key), path=path,
                        line=event.start_mark.line + 1)

    if isinstance(first, yaml.ScalarEvent):
        if first.implicit[0] and resolver.resolve(yaml.ScalarNode, first.value, first.implicit) \
                == "tag:yaml.org,2002:null":
            return None
        raise wrong(first)
    if not isinstance(first, yaml.SequenceStartEvent):
        raise wrong(first)
    items = []
    for event in events:
        if isinstance(event, yaml.SequenceEndEvent):
            return items
        if isinstance(event, yaml.AliasEvent):
            raise _NeedsTree
        if not isinstance(event, yaml.ScalarEvent) or event.tag not in (None, "!", _STR) or (
                event.implicit[0] and resolver.resolve(yaml.ScalarNode, event.value, event.implicit) != _STR):
            raise wrong(event)
        items.append((event.value, event.start_mark.index, event.end_mark.index))
    raise wrong(first)


def _locate(text, path):
    """{key: [(value, begin, end)] or None}: the fast scan, or the node tree where merge
    keys or aliases decide what the lists are."""
    try:
        return _scan_events(text, path)
    except _NeedsTree:
        import yaml

        root = _compose(text, path)
        if not isinstance(root, yaml.MappingNode):
            raise BadInput("%s is not a cluster file: its top level is not a mapping" % path, path=path) from None
        entries = _mapping_entries(root)
        return {key: [(n.value, n.start_mark.index, n.end_mark.index) for n in items] if items is not None else None
                for key, items in ((k, _commands(entries, k, path)) for k in START_KEYS)}


class RayCluster(Format):
    name = "ray-cluster"
    summary = "patch a Ray cluster launcher YAML (`ray up`): head and worker start commands"
    needs_input = True
    destination = "the cluster YAML you pass to `ray up`"

    def render(self, decisions, text, path):
        located = _locate(text, path)
        mode = decisions.mode("ray")
        commands = {key: [v for v, _b, _e in items] if items is not None else None for key, items in located.items()}
        if not decisions.restricting("ray"):
            notes = ["ray is %s: nothing to add (usagectl never turns telemetry on)" % mode]
            if any(disables_itself(c) for value in commands.values() for c in value or ()):
                notes.append("this file's own start commands turn usage stats off; kept")
            return Result(text, changed=False, notes=notes, details={"mode": mode})
        notes: list[str] = []
        url = decisions.blackholes.get("ray") or None
        patched, want = _patch_scalars(text, located, url)
        missing = [k for k in START_KEYS if commands[k] is None]
        if missing:
            import yaml

            root = _compose(text, path)
            defaults = provider_defaults(_provider_type(_mapping_entries(root), path)) or {}
            if not defaults:
                raise BadInput("%s has no %s, and no installed Ray to take the provider's defaults from"
                               % (path, " or ".join(missing)), path=path,
                               hint="add them (Ray's defaults.yaml for your provider has them)")
            del yaml
            block = "".join("%s:\n%s" % (key, "".join("    - %s\n" % json.dumps(patch_command(c, url))
                                                       for c in defaults[key])) for key in missing)
            patched = patched + ("" if patched.endswith("\n") or not patched else "\n") + block
            notes += ["%s: none in the file; Ray's own defaults for this provider, patched" % k for k in missing]
            want.update({key: [patch_command(c, url) for c in defaults[key]] for key in missing})
        # The edit was made on the text, to keep every comment and quote: check that the
        # file now says exactly what was meant, and nothing else moved.
        del located, commands
        check = _locate(patched, path)
        for key in START_KEYS:
            if [v for v, _b, _e in check[key] or ()] != want[key]:
                raise BadInput("%s: %s is written in a way usagectl can't patch in place" % (path, key), path=path,
                               hint="put each command on one line")
            if not any(runs_ray_start(c) for c in want[key]):
                notes.append("%s runs no `ray start`: nothing there to patch" % key)
        if url:
            notes.append("the head's disabled ping (no cluster data) goes to %s, the [blackhole] of "
                         "settings.toml" % url)
        else:
            notes.append("Ray still sends one disabled ping (no cluster data) each time the head starts; "
                         "nothing on this machine records it (a [blackhole] ray URL in settings.toml takes it)")
        return Result(patched, changed=patched != text, notes=notes, details={"mode": mode})


def _patch_scalars(text, located, report_url=None):
    """(``text`` with patch_command applied to the exact characters of each start
    command's scalar (its quotes included), {key: the commands it must now hold}).
    Comments, other lines and other keys are never touched, and a scalar that holds no
    `ray start` is left byte for byte. A plain scalar's characters are its value, so the
    one patch serves both."""
    import io

    spans, want = [], {}
    for key, items in located.items():
        if items is None:
            continue
        want[key] = []
        for value, begin, end in items:
            raw = text[begin:end]
            new = patch_command(raw, report_url) if "ray" in raw else raw
            if new != raw:
                spans.append((begin, end, new))
            want[key].append(new if raw == value else patch_command(value, report_url) if "ray" in value else value)
    out, last = io.StringIO(), 0
    for begin, end, new in sorted(spans):
        if begin < last:
            continue  # an alias repeats a scalar already patched
        out.write(text[last:begin])
        out.write(new)
        last = end
    out.write(text[last:])
    return out.getvalue(), want


# RayCluster, and the cluster specs RayJob and RayService carry.
_CLUSTER_SPECS = {"RayCluster": ("spec",), "RayJob": ("spec", "rayClusterSpec"),
                  "RayService": ("spec", "rayClusterConfig")}


def _groups(spec, where):
    head = spec.get("headGroupSpec")
    if head is not None and not isinstance(head, dict):
        raise BadInput("%s.headGroupSpec must be a mapping" % where)
    if isinstance(head, dict):
        yield "headGroupSpec", head
    workers = spec.get("workerGroupSpecs")
    if workers is not None and not isinstance(workers, list):
        raise BadInput("%s.workerGroupSpecs must be a list" % where)
    for index, group in enumerate(workers or []):
        if not isinstance(group, dict):
            raise BadInput("%s.workerGroupSpecs[%d] must be a mapping" % (where, index))
        yield "workerGroupSpecs[%d]" % index, group


def _typed(value, kind, where, what):
    """``value`` when it is None or a ``kind``; a wrong type is bad input naming the field."""
    if value is not None and not isinstance(value, kind):
        raise BadInput("%s must be %s" % (where, what))
    return value


def _patch_group(group, where, notes):
    from usagectl.core import yamlfile

    params = _typed(group.get("rayStartParams"), dict, where + ".rayStartParams", "a mapping")
    if params is None:
        params = group["rayStartParams"] = yamlfile.new_mapping()
    # KubeRay turns "true" into a bare --flag (pod.go convertParamMap).
    params["disable-usage-stats"] = "true"
    template = _typed(group.get("template"), dict, where + ".template", "a mapping") or {}
    pod = _typed(template.get("spec"), dict, where + ".template.spec", "a mapping") or {}
    containers = _typed(pod.get("containers"), list, where + ".template.spec.containers", "a list") or []
    if not containers or not isinstance(containers[0], dict):
        notes.append("%s has no containers: only rayStartParams patched" % where)
        return
    # KubeRay runs Ray in the first container.
    env = _typed(containers[0].get("env"), list, where + ".template.spec.containers[0].env", "a list")
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


#: A line that separates documents or carries a directive: kept byte for byte, as are the
#: documents nothing was patched in (so %YAML, `...` and empty documents survive).
_DOCUMENT_LINE = re.compile(r"^(?:(?:---|\.\.\.)[ \t]*(?:#[^\n]*)?|%[^\n]*)(?:\n|$)", re.M)


def _document_chunks(text):
    """The stream as [("doc", text), ("sep", line), ("doc", text), ...]: each document's
    text between its separator and directive lines. None when a `---` line carries
    content (``--- {a: 1}``): then the stream is handled whole."""
    if re.search(r"^---[ \t]+[^#\s]", text, re.M):
        return None
    pieces, last = [], 0
    for match in _DOCUMENT_LINE.finditer(text):
        pieces.append(("doc", text[last:match.start()]))
        pieces.append(("sep", match.group(0)))
        last = match.end()
    pieces.append(("doc", text[last:]))
    return pieces


class KubeRay(Format):
    name = "kuberay"
    summary = "patch a RayCluster (or RayJob, RayService) manifest: rayStartParams and container env"
    needs_input = True
    destination = "the manifest you `kubectl apply`"

    def render(self, decisions, text, path):
        from usagectl.core import yamlfile

        mode = decisions.mode("ray")
        chunks = _document_chunks(text)
        if chunks is None:
            chunks = [("doc", text)]
        indent = yamlfile.detect_indent(text)
        clusters, notes, out, number = 0, [], [], 0
        for kind, chunk in chunks:
            if kind == "sep" or not chunk.strip() or all(
                    not line.strip() or line.lstrip().startswith("#") for line in chunk.splitlines()):
                out.append(chunk)  # separators, directives and empty documents: as they were
                continue
            documents, _ = yamlfile.load_documents(chunk.encode("utf-8"), path)
            patched_any = False
            for doc in documents:
                number += 1
                where = "%s document %d" % (path, number)
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
                    for group_where, group in _groups(spec, where + " " + ".".join(keys or ())):
                        _patch_group(group, "%s %s" % (where, group_where), notes)
                    patched_any = True
            out.append(yamlfile.dump_documents(documents, indent).decode("utf-8") if patched_any else chunk)
        if not clusters:
            raise BadInput("%s holds no RayCluster, RayJob or RayService" % path, path=path)
        if not decisions.restricting("ray"):
            return Result(text, changed=False, details={"mode": mode, "clusters": clusters},
                          notes=["ray is %s: nothing to add (usagectl never turns telemetry on)" % mode])
        patched = "".join(out)
        return Result(patched, changed=patched != text, notes=notes, details={"mode": mode, "clusters": clusters})


FORMATS = (RayCluster(), KubeRay())
