"""The telemetry endpoints `usagectl verify --run` blocks: the one place they are listed.

Two sources: every framework's ``endpoints`` tuple (usagectl.frameworks.all(),
third-party ones included), and the user's own in settings.toml::

    [verify]
    endpoints = ["telemetry.example.com", "collector.example.org:4317", "[2001:db8::1]:443"]

An entry is a host name or IP, optionally with a port; a host also covers its
subdomains. User entries are attributed to the framework ``configured`` (unless an
adapter already lists the same host and port).
"""

import re

from usagectl.core.errors import BadInput

#: Framework name given to endpoints from the consent file's [verify] table.
CONFIGURED = "configured"
_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?)*$")


class Endpoint:
    """A host (and optional port) that one framework sends telemetry to."""

    __slots__ = ("host", "port", "framework", "source")

    def __init__(self, host, port, framework, source):
        self.host = host
        self.port = port
        self.framework = framework
        self.source = source

    def __eq__(self, other):
        if not isinstance(other, Endpoint):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # a mutable value object: not hashable

    def __repr__(self):
        return "Endpoint(%r, %r, %r, %r)" % (self.host, self.port, self.framework, self.source)

    def __str__(self):
        if self.port is None:
            return self.host
        return "[%s]:%d" % (self.host, self.port) if ":" in self.host else "%s:%d" % (self.host, self.port)

    def as_dict(self):
        return {"host": self.host, "port": self.port, "framework": self.framework, "source": self.source}


def parse_entry(text):
    """``host``, ``host:port`` or ``[v6]:port`` -> (host, port or None). Raises ValueError."""
    if not isinstance(text, str):
        raise ValueError("must be a string")
    text = text.strip()
    port = None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError("a bracketed IPv6 address must look like [2001:db8::1] or [2001:db8::1]:443")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, None  # a name, an IPv4 address or a bare IPv6 address
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError("the port must be a number from 1 to 65535")
        port = int(port_text)
    host = host.strip().lower().rstrip(".")
    if not _valid_host(host):
        raise ValueError("not a host name or IP address")
    return host, port


def _valid_host(host):
    if _HOST.match(host):
        return True
    import ipaddress

    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def from_adapters(adapters=None):
    """Endpoints every adapter lists. An adapter's bad entry is skipped with a warning."""
    if adapters is None:
        from usagectl import frameworks

        adapters = frameworks.all()
    from usagectl.consent import valid_name

    found, warnings = [], []
    for adapter in adapters:
        if not valid_name(getattr(adapter, "name", "")):
            warnings.append("adapter %r has an invalid name; its endpoints are not watched" % (adapter,))
            continue
        for entry in getattr(adapter, "endpoints", ()) or ():
            try:
                host, port = parse_entry(entry)
            except ValueError as exc:
                warnings.append("adapter %s lists endpoint %r: %s; not watched" % (adapter.name, entry, exc))
                continue
            found.append(Endpoint(host, port, adapter.name, "adapter:" + adapter.name))
    return found, warnings


def from_consent(env):
    """Endpoints of the settings' ``[verify] endpoints``. Raises BadInput when malformed.

    Returns (endpoints, warnings): a settings file that can't be read at all gives a
    warning, since the user's own endpoints are then unknown.
    """
    settings = env.read_settings()
    warnings = []
    if settings.problem:
        warnings.append("%s; endpoints configured there are not watched" % settings.problem)
        return [], warnings
    if settings.consent_problem and settings.table("verify") is None:
        # An old-layout consent file may hold [verify]; damaged, we can't know what it lists.
        warnings.append("%s; endpoints configured there are not watched" % settings.consent_problem)
    path = settings.source_of("verify")
    table = settings.table("verify")
    if table is None:
        return [], warnings
    if not isinstance(table, dict):
        raise BadInput("%s: [verify] must be a table" % path, path=path, line=_line(path, "", "verify"))
    entries = table.get("endpoints", [])
    if not isinstance(entries, list):
        raise BadInput("%s: [verify] endpoints must be an array of strings like \"host\" or \"host:port\""
                       % path, path=path, line=_line(path, "verify", "endpoints"))
    found = []
    for entry in entries:
        try:
            host, port = parse_entry(entry)
        except ValueError as exc:
            line = _line(path, "verify", "endpoints")
            where = path if line is None else "%s line %d" % (path, line)
            raise BadInput("%s: [verify] endpoints entry %r: %s" % (where, entry, exc), path=path, line=line)
        found.append(Endpoint(host, port, CONFIGURED, "settings:" + path))
    return found, warnings


def _line(path, table, key):
    from usagectl import _files
    from usagectl.consent import _line_of

    try:
        return _line_of(_files.read_regular(path, 1 << 20).decode("utf-8"), table, key)
    except (OSError, UnicodeDecodeError):
        return None


def host_and_port(target):
    """(host, port) of a URL or ``host[:port]``; the URL's port only when it names one."""
    from urllib.parse import urlsplit

    if "://" in target:
        parts = urlsplit(target)
        port = parts.port  # raises ValueError on a bad one
        if not parts.hostname:
            raise ValueError("no host in %r" % target)
        return parse_entry(parts.hostname if port is None else
                           ("[%s]:%d" % (parts.hostname, port) if ":" in parts.hostname
                            else "%s:%d" % (parts.hostname, port)))
    return parse_entry(target)


def from_framework_settings(env, adapters=None):
    """Endpoints the frameworks' own settings point them at (RAY_USAGE_STATS_REPORT_URL,
    coiled.server, ...), resolved the way each framework resolves them."""
    if adapters is None:
        from usagectl import frameworks

        adapters = frameworks.all()
    found, warnings = [], []
    for adapter in adapters:
        try:
            configured = adapter.configured_endpoints(env)
        except Exception as exc:  # one framework's odd settings must not hide the others
            warnings.append("%s: can't read where its settings send (%s)" % (adapter.name, type(exc).__name__))
            continue
        for target, source in configured:
            try:
                host, port = host_and_port(target)
            except ValueError as exc:
                warnings.append("%s: %s = %r is not a URL or host (%s); not watched" % (
                    adapter.name, source, target, exc))
                continue
            found.append(Endpoint(host, port, adapter.name, source))
    return found, warnings


def collect(env, adapters=None):
    """(endpoints, warnings): every framework's default endpoints, those its own settings
    point it at, then the user's [verify] ones, without duplicates."""
    found, warnings = from_adapters(adapters)
    from_settings, more = from_framework_settings(env, adapters)
    warnings.extend(more)
    configured, more = from_consent(env)
    warnings.extend(more)
    configured = from_settings + configured
    seen = {(e.host, e.port) for e in found}
    for endpoint in configured:
        if (endpoint.host, endpoint.port) not in seen:
            seen.add((endpoint.host, endpoint.port))
            found.append(endpoint)
    return tuple(found), warnings


def encode(endpoints):
    """The value of audit.ENDPOINTS_ENV: ``framework<TAB>host<TAB>port`` lines."""
    return "".join("%s\t%s\t%s\n" % (e.framework, e.host, "" if e.port is None else e.port)
                   for e in endpoints)
