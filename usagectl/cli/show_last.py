"""`usagectl show-last`: exactly what each framework sent (or tried to), newest first."""

import click

from usagectl.cli._common import framework_argument, json_option, parse_since, reporting
from usagectl.core.errors import BadInput
from usagectl.core.exitcodes import ExitCode


def _frameworks(names):
    from usagectl import frameworks
    from usagectl.commands.modes import parse_names

    return parse_names(names) or frameworks.names()


def _render(env, report):
    from usagectl.output import payloads as render_payloads

    render_payloads.show_last(env, report)


@click.command("show-last")
@framework_argument()
@click.option("-n", "--last", "last", type=click.IntRange(min=1), default=1, show_default=True,
              metavar="N", help="Show each framework's N newest payloads.")
@click.option("--since", metavar="TIME", help="Only payloads since TIME (30m, 2h, 7d, or ISO 8601).")
@click.option("--raw", is_flag=True,
              help="Write the newest payload's exact bytes (escaped when stdout is a terminal).")
@click.option("--follow", "-f", is_flag=True, help="Keep watching and print new payloads as they appear.")
@click.option("--path", "paths", multiple=True, type=click.Path(), metavar="P",
              help="Also look here (a Ray temp dir or session dir, a Parsl runinfo or run dir).")
@click.option("--trust", is_flag=True,
              help="Read files owned by another user or writable by group/others.")
@json_option
@reporting("show-last", _render)
def show_last(env, report, frameworks, last, since, raw, follow, paths, trust):
    """Show the last payloads each framework sent: when, where, outcome, and the exact bytes.

    Ray's come from usage_stats.json in its session dirs, Parsl's from parsl.log,
    and any hooked framework's from usagectl's sent ledger. Bacalhau and Coiled keep
    no local record; show-last says what they send.
    """
    from usagectl.records import collect

    ctx = click.get_current_context()
    json_output = ctx.params.get("json_output")
    if raw and json_output:
        raise BadInput("--raw and --json can't be combined: --raw writes bare payload bytes")
    if raw and follow:
        raise BadInput("--raw and --follow can't be combined")
    if raw and last != 1:
        raise BadInput("--raw writes one payload's bytes; use -n 1")
    names = _frameworks(frameworks)
    since_time = parse_since(since, env.now()) if since is not None else None
    _check_paths(paths)
    entries, skipped = collect.collect(env, names, last, since_time, trust, paths)
    for path in paths:
        if not any(p.source_file and _within(p.source_file, path) for e in entries.values() for p in e["payloads"]) \
                and not any(_within(s.path, path) for s in skipped):
            report.warn("no payload of %s found under --path %s" % (", ".join(names), path), path)
    for skip in skipped:
        report.warn("skipped: %s" % skip.reason, skip.path)
    report.view = [dict(framework=name, **entries[name]) for name in names]
    report.data = {
        "frameworks": [{"framework": e["framework"],
                        "payloads": [p.as_dict() for p in e["payloads"]],
                        "notes": e["notes"]} for e in report.view],
        "skipped": [{"file": s.path, "reason": s.reason} for s in skipped],
    }
    if raw:
        _write_raw(env, report)
    elif follow:
        _follow(env, report, names, trust, paths, json_output)


def _check_paths(paths):
    """--path names a place that exists: a mistyped one would look like "nothing sent"."""
    import os

    for path in paths:
        if not os.path.exists(path):
            raise BadInput("--path %s: no such file or directory" % path, path=path)


def _within(source, path):
    import os

    source, path = os.path.abspath(str(source)), os.path.abspath(path)
    return source == path or source.startswith(path.rstrip(os.sep) + os.sep)


def _write_raw(env, report):
    from usagectl.core.sanitize import safe_bytes

    payloads = [p for e in report.view for p in e["payloads"] if p.body is not None]
    if not payloads:
        raise BadInput("no payload with a recorded body to write", exit_code=ExitCode.ERROR)
    payload = max(payloads, key=lambda p: p.sort_key())
    report.data["streamed"] = True
    isatty = getattr(env.stdout, "isatty", lambda: False)()
    if isatty:
        env.stdout.write(safe_bytes(payload.body) + "\n")
        report.note("stdout is a terminal, so control bytes were shown escaped; redirect or pipe "
                    "--raw output to get the exact bytes.")
    else:
        env.stdout.flush()
        stream = getattr(env.stdout, "buffer", None)
        if stream is not None:
            stream.write(payload.body)
            stream.flush()
        else:
            env.stdout.write(payload.body.decode("utf-8", "surrogateescape"))
    report.note("--raw: the %s payload of %s (%d bytes, %s)." % (
        payload.framework, payload.as_dict()["when"] or "unknown time", len(payload.body),
        payload.outcome))


def _follow(env, report, names, trust, paths, json_output):
    """Print what we have, then new payloads as they appear, until Ctrl-C (exit 130)."""
    import json
    import time

    from usagectl import output
    from usagectl.output import payloads as render_payloads
    from usagectl.records import follow as following

    ctx = click.get_current_context()
    seen = [following.body_key(p) for e in report.view for p in e["payloads"]]

    def emit(payload):
        if json_output:
            env.stdout.write(json.dumps({"schema": output.ENVELOPE_SCHEMA, "command": "show-last",
                                         "event": "payload", "payload": payload.as_dict()}) + "\n")
        else:
            env.stdout.write("\n".join(render_payloads.payload_lines(payload)) + "\n")
        env.stdout.flush()

    code = ExitCode.OK
    try:
        follower = following.Follower(env, names, trust, paths, seen)
        old = sorted((p for e in report.view for p in e["payloads"]), key=lambda p: p.sort_key())
        for payload in old:
            emit(payload)
        output.emit_messages(env, report)
        report.warnings = []
        env.stderr.write("usagectl: following %s; Ctrl-C to stop\n" % ", ".join(names))
        env.stderr.flush()
        while True:
            time.sleep(following.POLL_S)
            for payload in follower.poll():
                emit(payload)
            for skip in follower.skipped:
                env.stderr.write(output.format_warning(
                    {"message": "skipped: %s" % skip.reason, "file": skip.path, "line": None}) + "\n")
            follower.skipped = []
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        code = ExitCode.OK
    if json_output:
        # The stream's last line (docs/json-output.md, "show-last --follow --json"): how it
        # ended, so a reader knows the stream is complete and why it stopped.
        try:
            env.stdout.write(json.dumps({"schema": output.ENVELOPE_SCHEMA, "command": "show-last", "event": "end",
                                         "ok": code == ExitCode.OK, "exit_code": int(code),
                                         "reason": "interrupted" if code == ExitCode.INTERRUPTED else "output closed"})
                             + "\n")
            env.stdout.flush()
        except (BrokenPipeError, OSError):
            pass
    ctx.exit(int(code))
