"""`usagectl request-deletion`: ask frameworks to erase the usage data they hold, keep receipts."""

import click

from usagectl.cli._common import framework_argument, json_option, path_option, reporting
from usagectl.core.errors import BadInput
from usagectl.core.sanitize import safe_text

VIAS = ("email", "http", "file", "mailto")


def _render(env, report):
    data = report.data or {}
    if "frameworks" in data:
        _render_ids(env, data)
    elif "requests" in data and "dry_run" not in data:
        _render_status(env, data)
    else:
        _render_sent(env, data)


def _render_ids(env, data):
    lines = []
    for row in data["frameworks"]:
        channel = row.get("channel") or {}
        if channel.get("email") or channel.get("url"):
            where = " and ".join(x for x in (channel.get("email"), channel.get("url")) if x)
            how = "documented" if channel.get("documented") else "configured"
            if channel.get("kind") == "support":
                how = "its support address: %s" % channel.get("note")
            if channel.get("public_list"):
                how += "; a PUBLIC mailing list: a request there publishes the identifiers"
            lines.append("%s: deletion requests go to %s (%s)" % (row["framework"], where, how))
        else:
            lines.append("%s: %s" % (row["framework"], channel.get("note") or "no deletion channel"))
        if not row["identifiers"]:
            lines.append("  no identifiers found in local files")
        for item in row["identifiers"]:
            sources = item["sources"]
            origin = sources[0] + (" (+%d more)" % (len(sources) - 1) if len(sources) > 1 else "")
            lines.append("  %-16s %s  %s" % (item["kind"], item["value"], origin))
            for evidence in item.get("evidence") or ():
                lines.append("    received: %s" % evidence["how"])
        for note in row.get("notes", []):
            lines.append("  " + note)
    env.stdout.write("".join(safe_text(line) + "\n" for line in lines))


def _render_status(env, data):
    if not data["requests"]:
        env.stdout.write(safe_text("No deletion requests recorded (%s)." % data["ledger"]) + "\n")
        return
    lines = []
    for r in data["requests"]:
        target = (r.get("target") or {}).get("email") or (r.get("target") or {}).get("url") or "-"
        lines.append("%s  %-8s %-8s %s via %s -> %s" % (r["updated"], r["framework"], r["status"], r["id"],
                                                       r.get("via") or "-", target))
        ids = ", ".join("%s=%s" % (i["kind"], i["value"]) for i in r.get("identifiers") or [])
        lines.append("    identifiers: %s" % ids)
        if r["status"] == "sent" and r.get("response"):
            reply = r["response"].get("reply") or "HTTP %s" % r["response"].get("status")
            lines.append("    server: %s; Message-ID %s" % (reply, r["message_id"]))
        elif r.get("reason"):
            lines.append("    reason: %s" % r["reason"])
    env.stdout.write("".join(safe_text(line) + "\n" for line in lines))


_SAID = {
    "sent": "sent", "failed": "FAILED", "written": "written to a file (not sent: send it yourself)",
    "shown": "shown as a mailto: URL (not sent: send it from your mail program)",
    "dry-run": "dry run: nothing recorded or sent", "not-confirmed": "not confirmed: nothing sent",
    "no-channel": "no deletion channel",
}


def _render_sent(env, data):
    lines = []
    for entry in data["requests"]:
        request = entry.get("request") or {}
        line = "%s: %s" % (entry["framework"], _SAID.get(entry["status"], entry["status"]))
        if request.get("id"):
            line += " (request %s)" % request["id"]
        if entry["status"] == "sent":
            response = request.get("response") or {}
            line += ": %s" % (response.get("reply") or "HTTP %s" % response.get("status"))
        if entry["status"] == "written":
            line += ": %s" % (request.get("response") or {}).get("file")
        lines.append(line)
    for step in data.get("next_steps", []):
        lines.append("Next: %s  (%s)" % (step["command"], step["why"]))
    if data.get("requests") and not data.get("dry_run"):
        lines.append("Receipts: usagectl request-deletion --status")
    env.stderr.write("".join(safe_text(line) + "\n" for line in lines))


def _show(env):
    def show(framework, via, new, record, preview):
        head = "----- %s request %s (%s, %s) -----" % (
            framework, record["id"], "new" if new else "resend of a recorded request", via)
        env.stdout.write(safe_text(head) + "\n" + safe_text(preview, one_line=False).rstrip("\n")
                         + "\n" + "-" * min(len(head), 78) + "\n")
        env.stdout.flush()
    return show


def _confirm(question, env=None):
    if env is not None and not env.interactive:
        # A pipe or a closed stdin is no one's answer: refuse, before anything is sent.
        raise BadInput("standard input is not a terminal, so there is no one to ask: %s" % question,
                       hint="pass --yes to send without asking, or --dry-run to only show the "
                            "messages")
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:  # end of input: the answer is no
        return False


@click.command("request-deletion")
@framework_argument()
@click.option("--list-ids", is_flag=True,
              help="Show the identifiers found in local files, and where each request would go.")
@click.option("--status", "show_status", is_flag=True, help="List recorded requests (the receipts).")
@click.option("--via", type=click.Choice(VIAS),
              help="email: through [deletion.smtp]; http: POST to the configured HTTPS URL; file: write "
                   ".eml/.json into --output; mailto: print a mailto: URL. Default: email when SMTP is "
                   "configured, else mailto (http for URL-only channels).")
@click.option("--output", "output_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Directory for --via file.")
@click.option("--yes", "-y", is_flag=True, help="Send without asking (for scripts).")
@click.option("--dry-run", is_flag=True, help="Only show the messages; record and send nothing.")
@click.option("--again", is_flag=True, help="Make a new request even for identifiers already sent.")
@click.option("--to-public-list", is_flag=True,
              help="Allow a request to a public mailing list (Parsl's only contact), which publishes "
                   "the identifiers; never implied by --yes.")
@path_option
@json_option
@reporting("request-deletion", _render)
def request_deletion(env, report, frameworks, list_ids, show_status, via, output_dir, yes, dry_run, again,
                     to_public_list):
    """Ask frameworks to delete the usage data they hold, and keep the receipts.

    Identifiers come from local files only (--list-ids shows them). Ray documents a
    channel (e-mail usage_stats@ray.io with the session ids); Parsl, Bacalhau and
    Coiled document none: configure one in settings.toml (beside the consent file) under
    [deletion.FRAMEWORK] (email = "..." or url = "https://..."). Each request is
    shown and confirmed, recorded in the ledger before it is sent, and a re-run
    resends an unsent one with the same Message-ID / Idempotency-Key. When standard
    input is not a terminal nothing is asked: pass --yes (or --dry-run).
    """
    from usagectl.deletion import workflow

    json_output = click.get_current_context().params.get("json_output", False)
    given = [flag for flag, on in (("--list-ids", list_ids), ("--status", show_status)) if on]
    sending = [flag for flag, on in (("--via", via), ("--output-dir", output_dir), ("--yes", yes),
                                     ("--dry-run", dry_run), ("--again", again),
                                     ("--to-public-list", to_public_list)) if on]
    if len(given) > 1 or (given and sending):
        # Each of these shows something else: refused together, never one silently dropped.
        raise BadInput("%s can't be combined" % " and ".join(given + sending),
                       hint="--list-ids shows identifiers, --status the receipts; the rest send a request")
    if list_ids:
        return workflow.list_ids(env, report, frameworks)
    if show_status:
        return workflow.status(env, report, frameworks)

    def echo(text):
        env.stdout.write(safe_text(text) + "\n")

    handled = workflow.request(env, report, frameworks, via=via, output_dir=output_dir, yes=yes,
                               dry_run=dry_run, again=again,
                               confirm=None if yes else (lambda q: _confirm(q, env)),
                               echo=None if json_output else echo, show=None if json_output else _show(env),
                               to_public_list=to_public_list)
    if handled and not yes and not json_output:
        _offer_disable(env, report)


def _offer_disable(env, report):
    """Offer `usagectl disable FRAMEWORK` for frameworks still on (only when asked interactively)."""
    from usagectl import output
    from usagectl.commands import modes

    for step in list(report.data.get("next_steps", [])):
        if not step["framework"]:
            continue
        if not _confirm("%s. Run `%s` now?" % (step["why"], step["command"])):
            continue
        inner = output.Report("disable")
        modes.set_mode(env, inner, [step["framework"]], "off")
        for item in inner.warnings:
            report.warn(item["message"], item["file"], item["line"])
        for note in inner.notes:
            report.note(note)
        report.note("%s: telemetry switched off (consent file %s)." % (step["framework"],
                                                                        inner.data["consent_file"]))
        report.data["next_steps"].remove(step)


def _show_forget(env):
    from usagectl.deletion import forget as forgetting

    def show(plans):
        lines = []
        for item in plans:
            lines.append("%s:" % item["framework"])
            for entry in item["remove"]:
                lines.append("  remove %s: %s (%s)" % (entry["kind"], entry["path"], entry["how"]))
            for label, count in (("sent-ledger lines", item["ledger_lines"]),
                                 ("places lines", item["place_lines"]),
                                 ("captured identifiers", item.get("captured_lines", 0))):
                if count:
                    lines.append("  remove %d %s (usagectl's own copies)" % (count, label))
            if item["known_fields"]:
                lines.append("  remove the accepted field sets (preview --accept)")
            for entry in item["kept"]:
                lines.append("  can't reset %s: %s" % (entry["kind"], entry["how"]))
            if not forgetting.has_work(item):
                lines.append("  nothing local to forget")
            for entry in item["unrequested"]:
                lines.append("  not yet in a deletion request: %s %s" % (entry["kind"], entry["value"]))
        lines.append("Deletion receipts are kept: they show what was asked, and when.")
        env.stderr.write("".join(safe_text(line) + "\n" for line in lines))

    return show


def _render_forget(env, report):
    done = report.data.get("forgotten")
    if done:
        env.stdout.write(safe_text("Forgot %s." % ", ".join(done)) + "\n")
    elif report.data.get("dry_run"):
        env.stdout.write("Dry run: nothing was removed.\n")


@click.command("forget")
@framework_argument()
@click.option("--dry-run", is_flag=True, help="Only show what would be removed.")
@click.option("--yes", "-y", is_flag=True, help="Forget without asking (for scripts).")
@click.option("--force", is_flag=True,
              help="Forget even identifiers no recorded deletion request names (they can't be asked "
                   "for afterwards).")
@json_option
@reporting("forget", _render_forget)
def forget(env, report, frameworks, dry_run, yes, force):
    """Remove local identifiers that link future reports to past ones, after a deletion request.

    Removes each framework's resettable identifier files (Bacalhau's installation_id;
    Bacalhau makes a new one) and usagectl's own copies for it (sent-ledger and places
    lines, accepted field sets), so a later opt-in starts fresh. Says plainly what can't
    be reset (Bacalhau's instance id, derived from the machine id; a Coiled account).
    Shows everything first; refuses while an identifier is in no recorded deletion
    request (--force overrides). Deletion receipts are kept.
    """
    from usagectl.deletion import forget as forgetting
    from usagectl.deletion.workflow import framework_names

    json_output = click.get_current_context().params.get("json_output", False)
    forgetting.run(env, report, framework_names(frameworks), dry_run=dry_run, yes=yes, force=force,
                   confirm=None if yes else (lambda q: _confirm(q, env)),
                   show=None if json_output else _show_forget(env))
