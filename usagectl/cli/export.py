"""`usagectl export FORMAT [FILE]`: the consent file's decision for clusters, images and services."""

import click

from usagectl.cli._common import json_option, reporting
from usagectl.core.errors import BadInput

#: A cluster YAML or manifest is kilobytes; anything this large is not one.
MAX_INPUT_BYTES = 16 << 20


def _format_names():
    from usagectl import export

    return list(export.formats())


def _render(env, report):
    data = report.data
    if data.get("listing"):
        for item in data["formats"]:
            env.stdout.write("%-12s %s\n" % (item["name"], item["summary"]))
        return
    if data["written"] is None:
        text = data["text"]
        if getattr(env.stdout, "isatty", lambda: False)():
            from usagectl.core.sanitize import safe_text

            # The input file's own text comes back out: on a terminal, nothing in it may
            # drive the terminal. Redirected, the bytes are exact.
            text = safe_text(text, one_line=False)
        env.stdout.write(text)
        return
    verb = "Wrote" if data["changed"] else "Unchanged:"
    env.stdout.write("%s %s\n" % (verb, data["written"]))


@click.command("export")
@click.argument("format_name", metavar="FORMAT", required=False, type=click.Choice(_format_names()))
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--in-place", is_flag=True, help="Patch FILE itself (atomically; comments and keys are kept).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--list", "list_formats", is_flag=True, help="List the formats.")
@json_option
@reporting("export", _render)
def export_command(env, report, format_name, file, in_place, output, list_formats):
    """Write the consent file's decision in the form a cluster, image or service takes.

    For machines and containers that never run usagectl. ray-cluster and kuberay patch
    the YAML you give (a `ray up` cluster config, a RayCluster/RayJob/RayService
    manifest); the others make a new file: k8s-env (a container env: list), systemd (an
    Environment= drop-in), dockerfile (ENV lines, the system policy and the runtime
    hook), dask-system (a system dask config). Exports only ever tighten: with consent
    on, nothing is added. Output goes to stdout unless --in-place or --output.
    """
    from usagectl import export

    available = export.formats()
    if list_formats or format_name is None:
        if format_name is None and not list_formats:
            raise BadInput("name a FORMAT (`usagectl export --list` shows them)")
        report.data = {"listing": True, "formats": [
            {"name": f.name, "summary": f.summary, "needs_input": f.needs_input, "destination": f.destination}
            for f in available.values()]}
        return
    fmt = available[format_name]
    if fmt.needs_input and not file:
        raise BadInput("%s patches a file: name it (`usagectl export %s FILE`)" % (fmt.name, fmt.name))
    if not fmt.needs_input and (file or in_place):
        raise BadInput("%s makes a new file and reads none; use --output PATH to write it" % fmt.name)
    if in_place and output:
        raise BadInput("--in-place and --output can't be combined")
    text, fingerprint = (_read_input(file) if fmt.needs_input else (None, None))

    decisions = export.Decisions(env)
    for problem in decisions.problems:
        report.warn_problem(problem, "exporting every framework as off")
    for problem in decisions.setting_problems:
        report.warn(problem.message, problem.path)
    from usagectl.core.errors import FrameworkFileDamaged

    try:
        result = fmt.render(decisions, text, file)
    except FrameworkFileDamaged as exc:
        # The file is the user's input here, not a framework's settings: bad input, no repair.
        raise BadInput(exc.message, path=exc.path, line=exc.line)
    for note in result.notes:
        report.note(note)

    written = None
    if in_place or output:
        written = file if in_place else output
        if output or result.changed:  # an unchanged file is left as it is, mtime included
            _write(written, result.text, fingerprint if in_place else None, replace_existing=in_place)
    report.data = {"format": fmt.name, "input": file, "written": written, "changed": result.changed,
                   "modes": {name: d.mode for name, d in decisions.by_name.items()},
                   "notes": result.notes, "details": result.details,
                   "text": result.text}
    if decisions.problems:
        from usagectl.core.exitcodes import ExitCode

        report.exit_code = ExitCode.CONSENT_DAMAGED


def _read_input(path):
    from usagectl import _files
    from usagectl.core import fsutil

    # Taken before the read: a change made while we read is then caught at the replace.
    before = fsutil.fingerprint(path)
    try:
        data = _files.read_regular(path, MAX_INPUT_BYTES)
    except (FileNotFoundError, NotADirectoryError):
        raise BadInput("%s does not exist" % path, path=path)
    except OSError as exc:
        raise BadInput("%s: cannot read it (%s)" % (path, exc.strerror or exc), path=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BadInput("%s line %d: not UTF-8 text" % (path, line), path=path, line=line)
    return text, before


def _write(path, text, fingerprint, replace_existing):
    import os

    from usagectl.core import fsutil

    if not replace_existing and os.path.lexists(path) and not os.path.isfile(path):
        raise BadInput("%s exists and is not a regular file" % path, path=path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        # A mistyped -o must not make usagectl create directories (with its private mode).
        raise BadInput("-o %s: the directory %s does not exist" % (path, parent), path=path)
    try:
        # A patched file keeps its mode; a new one is a config others read (0644).
        fsutil.atomic_write(path, text.encode("utf-8"), new_mode=0o644, follow=True,
                            expect=fingerprint if fingerprint is not None else False)
    except fsutil.FileChanged:
        raise BadInput("%s changed while it was being patched; nothing was written (run it again)" % path,
                       path=path, exit_code=1)
