"""Where a deletion request goes, and how usagectl's own delivery is configured.

A framework's documented channel comes first in what we say; a channel the user
configured in settings.toml (``[deletion.<framework>]``) is what we use when they
set one. SMTP and HTTP settings live in ``[deletion.smtp]`` and ``[deletion.http]``;
their secrets never do (see usagectl.deletion.secrets). This module only reads.
"""

import os
import re
from urllib.parse import urlsplit

from usagectl.core.errors import BadInput


def _documented(framework):
    """The channel a framework documents ({"email", "source"}), from its home."""
    from usagectl import frameworks

    found = frameworks.get(framework)
    return found.deletion_channel if found is not None else None


def _undocumented_note(framework):
    from usagectl import frameworks

    found = frameworks.get(framework)
    return (found.deletion_note if found is not None else "") or \
        "usagectl knows no deletion channel for %s" % framework


SMTP_DEFAULT_PORT = 587
_EMAIL = re.compile(r"^[^@\s<>\",;:()\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


class Channel:
    """Where one framework's request goes: an address and/or an HTTPS URL."""

    __slots__ = ("framework", "email", "url", "documented", "configured", "note", "kind")

    def __init__(self, framework, email=None, url=None, documented=False, configured=False, note="",
                 kind="deletion"):
        self.framework = framework
        self.email = email
        self.url = url
        self.documented = documented
        self.configured = configured
        self.note = note
        self.kind = kind  # "deletion": a documented deletion channel; "support": a general contact

    @property
    def usable(self):
        return bool(self.email or self.url)

    def as_dict(self):
        return {"framework": self.framework, "email": self.email, "url": self.url,
                "documented": self.documented, "configured": self.configured, "note": self.note,
                "kind": self.kind}


class SmtpSettings:
    __slots__ = ("host", "port", "username", "sender", "cafile", "timeout")

    def __init__(self, host, port, username, sender, cafile, timeout):
        self.host = host
        self.port = port
        self.username = username
        self.sender = sender
        self.cafile = cafile
        self.timeout = timeout

    def as_dict(self):  # no secret here: the password is never part of the settings
        return {"host": self.host, "port": self.port, "username": self.username, "from": self.sender,
                "cafile": self.cafile}


class HttpSettings:
    __slots__ = ("cafile", "timeout")

    def __init__(self, cafile=None, timeout=20.0):
        self.cafile = cafile
        self.timeout = timeout


def _line(path, table, key=None):
    """Line of ``key`` in ``[table]`` of a TOML file, for error messages (best effort)."""
    try:
        from usagectl import _files, consent

        return consent._line_of(_files.read_regular(path, 1 << 20).decode("utf-8"), table, key)
    except (OSError, ValueError, AttributeError):
        return None


def _invalid(path, table, key, message):
    return BadInput("[%s] %s" % (table, message), path=path, line=_line(path, table, key),
                    hint="edit %s by hand" % path)


def _section(data, name, path):
    deletion = data.get("deletion") if isinstance(data, dict) else None
    if deletion is None:
        return {}
    if not isinstance(deletion, dict):
        raise _invalid(path, "deletion", None, "must be a table")
    section = deletion.get(name)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise _invalid(path, "deletion." + name, None, "must be a table")
    return section


def is_public_list(framework, email):
    """Is ``email`` a public mailing list (the framework's own word, or a Google Group)?
    Anything sent there is published, identifiers included."""
    from usagectl import frameworks

    if not isinstance(email, str):
        return False
    found = frameworks.get(framework)
    public = {address.lower() for address in (found.public_contacts if found is not None else ())}
    return email.lower() in public or email.lower().endswith("@googlegroups.com")


def valid_email(value):
    return isinstance(value, str) and len(value) <= 254 and bool(_EMAIL.match(value))


def valid_https_url(value):
    if not isinstance(value, str) or any(c.isspace() or ord(c) < 32 for c in value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname) and not parts.username and not parts.password


def channel_for(framework, data, path):
    """The Channel for ``framework``: configured keys win over the documented channel."""
    table = "deletion." + framework
    section = _section(data, framework, path)
    email = section.get("email")
    url = section.get("url")
    if email is not None and not valid_email(email):
        raise _invalid(path, table, "email", "email = %r is not an e-mail address" % (email,))
    if url is not None and not valid_https_url(url):
        raise _invalid(path, table, "url", "url = %r is not an https:// URL (plain http is refused: "
                                           "the request carries identifiers and a bearer token)" % (url,))
    documented = _documented(framework)
    if email or url:
        note = "configured in %s [%s]" % (path, table)
        if documented:
            note += "; %s documents: %s" % (framework, documented["source"])
        return Channel(framework, email=email, url=url, documented=False, configured=True, note=note)
    if documented:
        return Channel(framework, email=documented["email"], documented=True, note=documented["source"],
                       kind=documented.get("kind", "deletion"))
    plain = _undocumented_note(framework)
    return Channel(framework, note="%s. If you have an address or an HTTPS endpoint for it, add "
                                   "[%s] with email = \"...\" or url = \"https://...\" to %s"
                                   % (plain, table, path))


def _optional_path(section, key, path, table, env):
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _invalid(path, table, key, "%s must be a file path" % key)
    return env.expand(value)


def _timeout(section, path, table, default):
    value = section.get("timeout", default)
    if type(value) not in (int, float) or not 0 < value <= 300:
        raise _invalid(path, table, "timeout", "timeout must be a number of seconds (1-300)")
    return float(value)


def smtp_settings(env, data, path):
    """SmtpSettings from ``[deletion.smtp]``, or None when the table is absent."""
    section = _section(data, "smtp", path)
    if not section:
        return None
    table = "deletion.smtp"
    host = section.get("host")
    if not isinstance(host, str) or not host.strip():
        raise _invalid(path, table, "host", "host must name the SMTP server")
    port = section.get("port", SMTP_DEFAULT_PORT)
    if type(port) is not int or not 0 < port < 65536:
        raise _invalid(path, table, "port", "port must be an integer 1-65535")
    username = section.get("username")
    if username is not None and (not isinstance(username, str) or not username):
        raise _invalid(path, table, "username", "username must be a non-empty string")
    sender = section.get("from")
    if sender is None:
        raise _invalid(path, table, None, "has no 'from' address")
    if not valid_email(sender):
        raise _invalid(path, table, "from", "from = %r is not an e-mail address" % (sender,))
    cafile = _optional_path(section, "cafile", path, table, env)
    if cafile and not os.path.isfile(cafile):
        raise _invalid(path, table, "cafile", "cafile %s does not exist" % cafile)
    return SmtpSettings(host.strip(), port, username, sender, cafile, _timeout(section, path, table, 30.0))


def http_settings(env, data, path):
    section = _section(data, "http", path)
    table = "deletion.http"
    cafile = _optional_path(section, "cafile", path, table, env)
    if cafile and not os.path.isfile(cafile):
        raise _invalid(path, table, "cafile", "cafile %s does not exist" % cafile)
    return HttpSettings(cafile, _timeout(section, path, table, 20.0))
