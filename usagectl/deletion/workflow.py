"""request-deletion from start to end: plan, show, confirm, record, send, receipt.

Order matters for crash safety: a request is written to the ledger (fsynced) before
the first send attempt, and the ledger lock is held through the send, so re-running
after a crash resends the same request (same Message-ID / Idempotency-Key) and never
duplicates one that was sent.
"""

import time

from usagectl import consent
from usagectl import frameworks as registry
from usagectl.core.errors import BadInput, UsagectlError
from usagectl.deletion import channels, identifiers, ledger, messages
from usagectl.deletion.errors import DeliveryError

VIAS = ("email", "http", "file", "mailto")
#: Test-only: seconds to sleep after the pending record is written and before the first
#: send attempt, so a test can SIGKILL the process exactly there. Never set it otherwise.
TEST_PAUSE_VAR = "USAGECTL_TEST_PAUSE_BEFORE_SEND"


def framework_names(raw):
    names = []
    for item in raw:
        name = consent.normalize_name(item)
        if not consent.valid_name(name):
            raise BadInput("%r is not a framework name" % item)
        if name not in names:
            names.append(name)
    return names


def _consent_data(env, report):
    """The deletion settings (settings.toml, or consent.toml in the old layout) and their file."""
    from usagectl.core.settings import legacy_warning

    settings = env.read_settings()
    if settings.problem:
        report.warn_problem(settings.problem, "its [deletion] settings can't be trusted and are ignored")
        return {}, settings.path
    warning = legacy_warning(settings)
    if warning:
        report.warn(warning, settings.legacy_path)
    return settings.data, settings.source_of("deletion")


# ---------------------------------------------------------------------------
# --list-ids


def list_ids(env, report, frameworks):
    data, path = _consent_data(env, report)
    names = framework_names(frameworks) or registry.names()
    found = identifiers.gather(env, names)
    rows = []
    for name in names:
        row = found[name].as_dict()
        try:
            row["channel"] = channels.channel_for(name, data, path).as_dict()
            row["channel"]["public_list"] = channels.is_public_list(name, row["channel"]["email"])
        except UsagectlError as exc:
            report.warn(exc.message, exc.path, exc.line)
            row["channel"] = None
        for problem in found[name].problems:
            report.warn(problem)
        rows.append(row)
    report.data = {"frameworks": rows}


# ---------------------------------------------------------------------------
# --status


def status(env, report, frameworks):
    names = framework_names(frameworks)
    book = ledger.Ledger(env)
    records = [r for r in book.load_all() if not names or r.get("framework") in names]
    for problem in book.problems:
        report.warn(problem)
    report.data = {"ledger": book.directory, "requests": [ledger.summary(r) for r in records]}


# ---------------------------------------------------------------------------
# Sending


class Plan:
    """One request to handle: a new record, or one from the ledger that was not sent."""

    def __init__(self, record, new):
        self.record = record
        self.new = new


def _target(channel, via):
    if via == "http":
        if not channel.url:
            raise BadInput("%s has no HTTPS deletion endpoint; --via http needs [deletion.%s] url = "
                           "\"https://...\" in settings.toml" % (channel.framework, channel.framework))
        return {"url": channel.url}
    if via == "file" and not channel.email:
        return {"url": channel.url}
    if not channel.email:
        raise BadInput("%s has no deletion e-mail address; --via %s needs [deletion.%s] email = \"...\" "
                       "in settings.toml (or use --via http/file)" % (channel.framework, via,
                                                                          channel.framework))
    return {"email": channel.email}


def _default_via(channel, smtp):
    if channel.email:
        return "email" if smtp is not None else "mailto"
    return "http"


def _plan(book, records, name, target, found, again, domain, report):
    # Per framework, not per address: identifiers sent once are not asked for again when
    # the configured channel changes (--again does that on purpose).
    mine = [r for r in records if r.get("framework") == name]
    unsent = [r for r in mine if r.get("status") != ledger.SENT]
    for record in unsent:
        if record.get("target") != target:
            # Resent where the channel now points; same request id, Message-ID and key.
            report.note("%s: request %s now goes to %s" % (name, record["id"],
                                                           target.get("email") or target.get("url")))
            record["target"] = dict(target)
    covered = {(i["kind"], i["value"]) for r in mine for i in r.get("identifiers") or []}
    current = [i.as_dict() for i in found.identifiers]
    fresh = current if again else [i for i in current if (i["kind"], i["value"]) not in covered]
    plans = [Plan(r, new=False) for r in unsent]
    if fresh:
        record = book.new_record(name, target, fresh, messages.subject_for(name),
                                 messages.body_for(name, fresh), domain)
        plans.append(Plan(record, new=True))
    if not plans:
        if current:
            last = max((r for r in mine if r.get("status") == ledger.SENT), key=lambda r: r["updated"])
            report.note("%s: every known identifier was already sent on %s (request %s); nothing "
                        "new to ask. --again sends a new request." % (name, last["updated"], last["id"]))
        else:
            report.note("%s: no identifiers found in local files; nothing to ask for. "
                        "(`usagectl request-deletion --list-ids %s` shows where usagectl looked.)"
                        % (name, name))
    return plans


def _test_pause(env):
    value = env.environ.get(TEST_PAUSE_VAR)
    if value:
        try:
            time.sleep(min(float(value), 600.0))
        except ValueError:
            pass


class Sender:
    """Everything one run needs to deliver: settings and secrets, read once."""

    def __init__(self, env, via, smtp=None, password=None, http=None, token=None, output_dir=None,
                 echo=None):
        self.env = env
        self.via = via
        self.smtp = smtp
        self.password = password
        self.http = http
        self.token = token
        self.output_dir = output_dir
        self.echo = echo

    def deliver(self, book, record):
        """Record, then send. Returns the updated record. Called under the ledger lock."""
        # Recorded before anything leaves usagectl, --via file included: a crash after the
        # file is written but before its receipt leaves a pending record, and the next run
        # rewrites the same file (named by the request id, same Message-ID), never a second one.
        if self.via in ("email", "http", "file"):
            book.save(record, status=ledger.PENDING, via=self.via,
                      detail="recorded before the first send attempt" if not record["events"]
                      else "resending (same Message-ID / Idempotency-Key)")
            _test_pause(self.env)
        if self.via == "email":
            from usagectl.deletion import deliver_smtp

            book.save(record, attempts=(record.get("attempts") or 0) + 1)
            sender = self.smtp.sender
            try:
                reply = deliver_smtp.send(self.smtp, self.password, messages.email_bytes(record, sender),
                                          record["target"]["email"])
            except DeliveryError as exc:
                return book.save(record, status=ledger.FAILED, via="email", detail=exc.reason,
                                 reason=exc.reason)
            reply["message_id"] = record["message_id"]
            return book.save(record, status=ledger.SENT, via="email", detail=reply["reply"],
                             response=reply, reason=None)
        if self.via == "http":
            from usagectl.deletion import deliver_http

            def on_attempt(number):
                book.save(record, attempts=(record.get("attempts") or 0) + 1)

            try:
                reply = deliver_http.post(record["target"]["url"], messages.json_bytes(record), self.token,
                                          record["idempotency_key"], self.http, on_attempt=on_attempt)
            except DeliveryError as exc:
                return book.save(record, status=ledger.FAILED, via="http", detail=exc.reason,
                                 reason=exc.reason)
            reply["idempotency_key"] = record["idempotency_key"]
            return book.save(record, status=ledger.SENT, via="http", detail="HTTP %d" % reply["status"],
                             response=reply, reason=None)
        if self.via == "file":
            from usagectl.deletion import deliver_file

            path = deliver_file.write(record, self.output_dir, self.smtp.sender if self.smtp else None)
            return book.save(record, status=ledger.WRITTEN, via="file",
                             detail="written to %s for you to send" % path, response={"file": path})
        # mailto: print the URL (in --json, it is in the request's response instead: stdout
        # holds the JSON alone); the user's mail program does the sending.
        url = messages.mailto_url(record)
        if self.echo is not None:
            self.echo(url)
        return book.save(record, status=ledger.SHOWN, via="mailto",
                         detail="mailto: URL printed for you to send", response={"mailto": url})


def _secrets_for(env, report, via, data, path):
    """(smtp settings, password, http settings, token), or a BadInput that says what to do."""
    from usagectl.deletion import secrets

    smtp = channels.smtp_settings(env, data, path)
    if via == "email":
        if smtp is None:
            raise BadInput("--via email needs [deletion.smtp] (host, port, username, from) in %s" % path,
                           hint="see docs/deletion.md, or use --via mailto or --via file")
        password = None
        if smtp.username:
            password, source, problem = secrets.lookup(env.environ, "smtp")
            if password is None:
                if problem:
                    raise UsagectlError("no SMTP password: %s" % problem, hint=secrets.no_backend_hint("smtp"))
                raise BadInput("no SMTP password stored", hint="run `usagectl credentials set smtp`, or set "
                               "USAGECTL_SMTP_PASSWORD")
        return smtp, password, None, None
    if via == "http":
        http = channels.http_settings(env, data, path)
        token, source, problem = secrets.lookup(env.environ, "http")
        if token is None and problem:
            raise UsagectlError("no HTTP token: %s" % problem, hint=secrets.no_backend_hint("http"))
        if token is None:
            report.note("No HTTP token stored (`usagectl credentials set http`): sending without an "
                        "Authorization header.")
        return smtp, None, http, token
    return smtp, None, None, None


def request(env, report, frameworks, via=None, output_dir=None, yes=False, dry_run=False, again=False,
            confirm=None, echo=None, show=None, to_public_list=False):
    """Plan, show, confirm and deliver deletion requests for the named frameworks.

    ``confirm(question) -> bool``, ``echo(text)`` (stdout) and ``show(text)`` (the
    message preview) come from the CLI layer, so this module needs no click.
    """
    names = framework_names(frameworks)
    if not names:
        raise BadInput("name the frameworks to ask, e.g. `usagectl request-deletion ray`",
                       hint="`usagectl request-deletion --list-ids` shows what usagectl found")
    if via == "file" and not output_dir:
        raise BadInput("--via file needs --output DIR")
    data, path = _consent_data(env, report)
    smtp_for_domain = None
    try:
        smtp_for_domain = channels.smtp_settings(env, data, path)
    except UsagectlError:
        if via == "email":
            raise
    found = identifiers.gather(env, names)
    book = ledger.Ledger(env)
    records = book.load_all()
    for problem in book.problems:
        report.warn(problem)
    domain = smtp_for_domain.sender.rsplit("@", 1)[1] if smtp_for_domain else "usagectl.localhost"

    work = []   # (name, via, plans)
    results = []
    unhandled = []
    for name in names:
        for problem in found[name].problems:
            report.warn(problem)
        channel = channels.channel_for(name, data, path)
        if not channel.usable:
            report.warn("%s: %s" % (name, channel.note))
            unhandled.append(name)
            results.append({"framework": name, "status": "no-channel", "note": channel.note})
            continue
        chosen = via or _default_via(channel, smtp_for_domain)
        if channels.is_public_list(name, channel.email) and chosen in ("email", "mailto"):
            # --yes is not enough: publishing identifiers needs its own explicit yes.
            warning = ("%s: %s is a PUBLIC mailing list: whatever is sent there is published, "
                       "with the identifiers" % (name, channel.email))
            if not to_public_list and not dry_run:
                report.warn(warning + "; nothing was sent or recorded (pass --to-public-list to send "
                            "it anyway)")
                results.append({"framework": name, "status": "public-list-refused", "note": warning})
                unhandled.append(name)
                continue
            report.warn(warning)
        if chosen == "mailto" and not via:
            report.note("%s: no [deletion.smtp] configured, so the request is shown as a mailto: URL; "
                        "configure SMTP (docs/deletion.md) to send it from here." % name)
        target = _target(channel, chosen)
        if channel.documented:
            report.note("%s: documented channel: %s" % (name, channel.note))
        plans = _plan(book, records, name, target, found[name], again, domain, report)
        if plans:
            work.append((name, chosen, plans))

    vias = {chosen for _, chosen, _ in work}
    senders = {}
    if not dry_run:
        for chosen in vias:
            smtp, password, http, token = _secrets_for(env, report, chosen, data, path)
            senders[chosen] = Sender(env, chosen, smtp, password, http, token, output_dir, echo)

    handled = []
    for name, chosen, plans in work:
        for plan in plans:
            record = plan.record
            sender_address = smtp_for_domain.sender if smtp_for_domain else None
            preview = messages.preview(record, chosen, sender_address)
            entry = {"framework": name, "via": chosen, "new": plan.new, "request": ledger.summary(record),
                     "message": preview}
            if show:
                show(name, chosen, plan.new, record, preview)
            if dry_run:
                entry["status"] = "dry-run"
                results.append(entry)
                continue
            leaves_machine = chosen in ("email", "http")
            if leaves_machine and not yes and not (confirm and confirm(
                    "Send this request to %s?" % (record["target"].get("email") or record["target"]["url"]))):
                entry["status"] = "not-confirmed"
                report.note("%s: not confirmed; nothing was sent or recorded." % name)
                results.append(entry)
                continue
            with book.lock():
                current = book.get(record["id"]) if not plan.new else None
                if current is not None and current.get("status") == ledger.SENT:
                    report.note("%s: request %s was sent meanwhile by another run; not resent."
                                % (name, record["id"]))
                    record = current
                else:
                    if current is not None:
                        current["target"] = record["target"]  # where the channel points now
                        record = current
                    record = senders[chosen].deliver(book, record)
            entry["request"] = ledger.summary(record)
            entry["status"] = record["status"]
            results.append(entry)
            if record["status"] == ledger.FAILED:
                unhandled.append(name)
                report.warn("%s: request %s failed: %s (run the same command again to resend it with "
                            "the same Message-ID / Idempotency-Key)" % (name, record["id"], record["reason"]))
            else:
                handled.append(name)
    report.data = {"dry_run": dry_run, "ledger": book.directory, "requests": results,
                   "next_steps": next_steps(env, handled) if not dry_run else []}
    if unhandled:
        report.exit_code = 1
    return handled


def next_steps(env, handled):
    """What reduces future linkage: switch off frameworks still on, then verify."""
    steps = []
    for name in dict.fromkeys(handled):
        decision = consent.decide(name, environ=env.environ)
        if decision.mode != "off":
            state = "on by its own default" if decision.mode == "unset" else decision.mode
            steps.append({"framework": name, "mode": decision.mode,
                          "command": "usagectl disable %s" % name,
                          "why": "%s telemetry is still %s: new reports would link new data to you"
                                 % (messages.title(name), state)})
    if handled:
        steps.append({"framework": None, "mode": None, "command": "usagectl verify",
                      "why": "check that nothing is being sent any more"})
    return steps
