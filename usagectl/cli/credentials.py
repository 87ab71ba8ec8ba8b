"""`usagectl credentials set|delete|status smtp|http`: the secrets request-deletion needs.

Secrets go into the OS keyring (service "usagectl", names "smtp" and "http"); they are
read with hidden input or from stdin, and never printed, logged or written by usagectl.
Where no keyring exists, USAGECTL_SMTP_PASSWORD / USAGECTL_HTTP_TOKEN are used instead.
"""


import click

from usagectl.cli._common import json_option, reporting
from usagectl.core.errors import BadInput, UsagectlError
from usagectl.core.sanitize import safe_text

NAMES = ("smtp", "http")
name_argument = click.argument("name", metavar="smtp|http", type=click.Choice(NAMES))


def _secrets():
    from usagectl.deletion import secrets

    return secrets


def _unavailable(exc, name):
    secrets = _secrets()
    return UsagectlError("cannot use the OS keyring: %s" % exc, hint=secrets.no_backend_hint(name))


def _render_status(env, report):
    lines = []
    data = report.data
    if data["backend"]:
        lines.append("Keyring backend: %s" % data["backend"])
    else:
        lines.append("Keyring backend: none (%s)" % data["backend_problem"])
    for row in data["credentials"]:
        if row["source"]:
            where = "the keyring" if row["source"] == "keyring" else row["source"].replace("env:", "$")
            state = "available from %s" % where
        else:
            state = "not set"
        lines.append("%s (%s): %s" % (row["name"], row["description"], state))
    env.stdout.write("".join(safe_text(line) + "\n" for line in lines))


def _render_changed(env, report):
    env.stdout.write(safe_text(report.data["message"]) + "\n")


@click.group("credentials")
def credentials():
    """Store the SMTP password and HTTP token that request-deletion uses (OS keyring)."""


@credentials.command("set")
@name_argument
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Read the secret from the first line of standard input instead of prompting.")
@json_option
@reporting("credentials set", _render_changed)
def set_secret(env, report, name, from_stdin):
    """Store a secret in the OS keyring (asked for with hidden input)."""
    secrets = _secrets()
    if from_stdin:
        from usagectl.core.environment import ClosedStream

        if isinstance(env.stdin, ClosedStream):
            raise BadInput("standard input is closed: there is no secret to read",
                           hint="pipe the secret in, e.g. `pass show smtp | usagectl credentials set smtp --stdin`")
        secret = env.stdin.readline().rstrip("\r\n")
    elif not env.interactive:
        raise BadInput("standard input is not a terminal, so the secret can't be asked for",
                       hint="pass --stdin to read it from the first line of standard input")
    else:
        secret = click.prompt("%s" % secrets.DESCRIPTIONS[name].capitalize(), hide_input=True,
                              confirmation_prompt=True, err=True, default="", show_default=False)
    if not secret:
        raise BadInput("empty %s: nothing stored" % secrets.DESCRIPTIONS[name])
    try:
        secrets.store(env.environ, name, secret)
    except secrets.KeyringUnavailable as exc:
        raise _unavailable(exc, name)
    except secrets.BadSecret as exc:
        raise BadInput(str(exc))
    del secret
    backend = secrets.backend_name(env.environ)
    report.data = {"name": name, "stored": True, "backend": backend,
                   "message": "%s stored in the keyring (%s)." % (secrets.DESCRIPTIONS[name].capitalize(),
                                                                   backend)}
    if secrets.backend_is_plaintext(backend):
        report.warn("this keyring backend keeps secrets unencrypted in a file under your data directory")
    if env.environ.get(secrets.ENV_VARS[name]):
        report.warn("%s is set in the environment and takes precedence over the keyring"
                    % secrets.ENV_VARS[name])


@credentials.command("delete")
@name_argument
@json_option
@reporting("credentials delete", _render_changed)
def delete_secret(env, report, name):
    """Remove a stored secret from the OS keyring."""
    secrets = _secrets()
    try:
        deleted = secrets.delete(env.environ, name)
    except secrets.KeyringUnavailable as exc:
        raise _unavailable(exc, name)
    what = secrets.DESCRIPTIONS[name].capitalize()
    report.data = {"name": name, "deleted": deleted,
                   "message": "%s deleted from the keyring." % what if deleted
                   else "No %s was stored in the keyring." % secrets.DESCRIPTIONS[name]}


@credentials.command("status")
@json_option
@reporting("credentials status", _render_status)
def status(env, report):
    """Say where each secret would come from (never its value)."""
    secrets = _secrets()
    backend = secrets.backend_name(env.environ)
    backend_problem = None
    rows = []
    for name in NAMES:
        # Only where the secret would come from is reported, never the value.
        _secret, source, problem = secrets.lookup(env.environ, name)
        backend_problem = backend_problem or problem
        rows.append({"name": name, "description": secrets.DESCRIPTIONS[name], "source": source,
                     "env_var": secrets.ENV_VARS[name]})
    if backend is None and backend_problem is None:
        backend_problem = "no OS keyring is available"
    if backend is None:
        report.warn("%s; %s" % (backend_problem, secrets.NO_BACKEND_HINT % "USAGECTL_SMTP_PASSWORD / "
                                                                          "USAGECTL_HTTP_TOKEN"))
    elif secrets.backend_is_plaintext(backend):
        report.warn("the keyring backend %s keeps secrets unencrypted in a file" % backend)
    report.data = {"backend": backend, "backend_problem": backend_problem, "credentials": rows}
