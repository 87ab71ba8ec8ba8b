"""The audit hook that watches one Python process for telemetry traffic, and blocks it.

Loaded by file path (module name ``_usagectl_watch_audit``) from the sitecustomize
that ``usagectl verify --run`` puts first on PYTHONPATH, so it runs inside other
people's programs, in interpreters where usagectl may not be installed. Rules:
stdlib only; almost nothing at start-up (no socket, json or threading import); and
nothing here may raise into the host program except the one deliberate exception
that blocks a call to a listed endpoint.

What it watches (``sys.addaudithook``; the lookup events fire *before* the lookup,
so a raising hook stops it before any packet leaves):

- ``socket.getaddrinfo``, ``socket.gethostbyname``, ``socket.gethostbyname_ex``:
  a DNS lookup of a listed host (or any subdomain of one) is blocked. This is where
  almost every attempt is caught: HTTP clients resolve the name first.
- ``connect``/``connect_ex``, ``sendto``, ``sendmsg`` of ``socket.socket``: the C
  methods resolve a host *name* in the address before raising their audit event, so
  the hook alone would see them only after the DNS query had left. They are wrapped
  (on the first socket created) with a Python check of the address that runs first;
  the audit events ``socket.connect``/``sendto``/``sendmsg`` remain a second check
  for sockets made without the ``socket.socket`` class.
- Because every lookup of a listed name is blocked, this process never learns the
  name's addresses, so there is no name-to-IP map to keep: an address reached some
  other way (a hard-coded IP) is caught only when that IP is itself listed.
- ``subprocess.Popen``, ``os.exec``, ``os.posix_spawn``, ``os.spawn``: a child started
  with an environment that drops the watch, or a Python child run with -I, -E or -S,
  is recorded as an "unwatched-spawn" (not blocked).

What is visible of the payload (the audit events carry the address, not the data):

- ``sendto``/``sendmsg``: the exact bytes, from the wrapper's own frame.
- HTTP bodies of http.client (and so urllib.request), urllib3 and requests (which
  uses urllib3): the request body, taken from the library's own frame on the stack
  at the moment of the blocked lookup or connect (``_KNOWN_BODY_FRAMES``). Headers
  are not captured. A streamed body (file object, generator) is "not visible".
- A framework's own sender, where its home declares one (``Framework.payload_frames``,
  handed over in ``$USAGECTL_WATCH_FRAMES``; Parsl's UDP messenger): the local that
  holds what it would send, at the blocked lookup.
- ``send``/``sendall`` on a connected socket are not wrapped: its connect to a listed
  endpoint was already blocked. Anything else (other HTTP clients' bodies, TLS
  payloads, C extensions such as gRPC doing their own networking, non-Python
  processes): not visible, and C-level networking is not watched at all.

Each blocked attempt is one JSON line appended to ``$USAGECTL_WATCH_LOG`` with a
single ``write`` on an ``O_APPEND`` descriptor (whole lines, even from many
processes at once). Blocking never depends on the log: if it can't be written, the
call is still refused.
"""

import os
import sys

LOG_ENV = "USAGECTL_WATCH_LOG"
ENDPOINTS_ENV = "USAGECTL_WATCH_ENDPOINTS"
#: ``module<TAB>function<TAB>local`` lines: the frameworks' own senders (payload_frames).
FRAMES_ENV = "USAGECTL_WATCH_FRAMES"
#: Name this module is loaded under in watched processes (one hook per process).
MODULE_NAME = "_usagectl_watch_audit"
#: Payloads larger than this are recorded truncated (the size is always exact).
MAX_PAYLOAD = 1 << 20
#: How far up the stack to look for a request body.
_MAX_FRAMES = 48

_LOOKUPS = frozenset(("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"))
_ADDRESSED = frozenset(("socket.connect", "socket.sendto", "socket.sendmsg"))
_SPAWNS = frozenset(("subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn"))
_SERVICES = {"http": 80, "https": 443}

#: (module __name__, function name) -> the local that holds what would be sent.
_KNOWN_BODY_FRAMES = {
    ("http.client", "request"): "body",
    ("http.client", "_send_request"): "body",
    ("urllib3.connection", "request"): "body",
    ("urllib3.connectionpool", "_make_request"): "body",
    ("urllib3.connectionpool", "urlopen"): "body",
}

# Per-process state, set by install().
_log_path = None
_endpoints = ()      # tuple of (host, port or None, framework)
_watched: set = set()     # event names the hook acts on; shrinks once sockets are patched
_blocked_classes: dict = {}


def parse_endpoints(text):
    """``framework<TAB>host<TAB>port`` lines (port empty for any) -> tuple of triples.

    The format of ENDPOINTS_ENV, written by usagectl.watch.endpoints.encode(); kept
    this simple so that start-up needs no json import. Bad lines are skipped.
    """
    found = []
    for line in (text or "").splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or not parts[1]:
            continue
        framework, host, port = parts
        try:
            port = int(port) if port else None
        except ValueError:
            continue
        found.append((normalize_host(host), port, framework))
    return tuple(found)


def normalize_host(host):
    """Lower case, no trailing dot, no brackets, IPv4-mapped IPv6 as plain IPv4."""
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii", "replace")
    if not isinstance(host, str):
        return ""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return host


def normalize_port(port):
    """An int, or None when unknown (an unknown port matches every endpoint: fail closed)."""
    if isinstance(port, int):
        return port
    if isinstance(port, (bytes, bytearray)):
        port = bytes(port).decode("ascii", "replace")
    if isinstance(port, str):
        port = port.strip().lower()
        if port.isdigit():
            return int(port)
        return _SERVICES.get(port)
    return None


def match(host, port, endpoints=None):
    """The (host, port, framework) endpoint that ``host``/``port`` reaches, or None.

    A host matches an endpoint host exactly or as a subdomain of it; an endpoint
    without a port matches every port, and an unknown port matches every endpoint.
    """
    host = normalize_host(host)
    if not host:
        return None
    port = normalize_port(port)
    for endpoint in (_endpoints if endpoints is None else endpoints):
        name, wanted, _ = endpoint
        if host != name and not host.endswith("." + name):
            continue
        if wanted is None or port is None or port == wanted:
            return endpoint
    return None


# ---------------------------------------------------------------------------
# The hook


def _hook(event, args):
    try:
        if event not in _watched:
            return
        found = _inspect(event, args)
    except Exception:
        return  # never break the host program over our own bug (or at interpreter shutdown)
    if found is not None:
        raise found


def _inspect(event, args):
    """The exception that blocks this event, or None."""
    if event in _LOOKUPS:
        port = args[1] if event == "socket.getaddrinfo" else None
        return _check(event, args[0], port, _frame(2))  # 0 us, 1 _hook, 2 the caller
    if event in _ADDRESSED:
        return _check_address(event, args[1], _frame(2))
    if event == "socket.__new__":
        _patch_socket_class()
    elif event in _SPAWNS:
        _check_spawn(event, args)
    return None


def _check_address(event, address, frame):
    if not isinstance(address, tuple) or len(address) < 2:
        return None  # AF_UNIX paths, sendmsg on a connected socket (its connect was checked)
    return _check(event, address[0], address[1], frame)


def _check(event, host, port, frame):
    """Record and return the exception that blocks ``host``/``port``, or None if not listed.

    ``frame`` is the Python frame that made the call; the payload is looked for from there up.
    """
    endpoint = match(host, port)
    if endpoint is None:
        return None
    record = {
        "kind": "attempt",
        "event": event,
        "host": normalize_host(host),
        "port": normalize_port(port),
        "framework": endpoint[2],
        "endpoint": endpoint[0] if endpoint[1] is None else "%s:%d" % (endpoint[0], endpoint[1]),
        "blocked": True,
    }
    try:
        record.update(_payload(frame))
    except Exception:  # the block must not depend on seeing the payload
        record.update(payload_visible=False, payload_note="the payload could not be read")
    _write(record)
    return _blocked(event in _LOOKUPS)(
        13, "usagectl verify --run blocked %s to %s (telemetry endpoint of %s)"
        % (event, record["host"], endpoint[2]))


def _frame(depth):
    """The frame ``depth`` levels above _frame's caller (0: the caller itself), or None
    when the stack is not that deep (code at module level calling a socket function)."""
    try:
        return sys._getframe(depth + 1)
    except ValueError:
        return None


def _blocked(lookup):
    """The exception class to raise: a PermissionError, and for lookups also a gaierror,
    so code that only catches DNS failures handles it the way it handles a dead network."""
    cls = _blocked_classes.get(lookup)
    if cls is None:
        if lookup:
            import _socket

            cls = type("TelemetryLookupBlocked", (_socket.gaierror, PermissionError), {})
        else:
            cls = type("TelemetryConnectionBlocked", (PermissionError,), {})
        cls.__module__ = MODULE_NAME
        _blocked_classes[lookup] = cls
    return cls


def _payload(frame):
    """{"payload_size", "payload_b64", "payload_source"} from the nearest known frame."""
    depth = 0
    while frame is not None and depth < _MAX_FRAMES:
        key = (frame.f_globals.get("__name__"), frame.f_code.co_name)
        local = _KNOWN_BODY_FRAMES.get(key)
        if local is not None and local in frame.f_locals:
            return _describe(frame.f_locals[local], "%s.%s(%s)" % (key[0], key[1], local))
        frame = frame.f_back
        depth += 1
    return {"payload_visible": False, "payload_note": "no payload visible at this call"}


def _describe(value, source):
    if isinstance(value, list) and value and all(isinstance(v, (bytes, bytearray, memoryview))
                                                  for v in value):
        value = b"".join(bytes(v) for v in value)  # sendmsg's buffers
    if isinstance(value, str):
        # http.client encodes str bodies as ISO-8859-1; fall back to UTF-8 where it can't.
        try:
            value = value.encode("iso-8859-1")
        except UnicodeEncodeError:
            value = value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        import binascii

        return {"payload_visible": True, "payload_source": source, "payload_size": len(data),
                "payload_truncated": len(data) > MAX_PAYLOAD,
                "payload_b64": binascii.b2a_base64(data[:MAX_PAYLOAD], newline=False).decode("ascii")}
    if value is None:
        return {"payload_visible": True, "payload_source": source, "payload_size": 0,
                "payload_truncated": False, "payload_b64": ""}
    return {"payload_visible": False, "payload_source": source,
            "payload_note": "the body is a %s (streamed), not captured" % type(value).__name__}


# ---------------------------------------------------------------------------
# Thin wrappers that make UDP payloads visible


def _patch_socket_class():
    """Check addresses in Python before socket.socket's C methods see them.

    Needed, not just tidy: the C ``connect``, ``connect_ex``, ``sendto`` and
    ``sendmsg`` resolve a host *name* in the address before they raise their audit
    event, so by the time the hook sees the event the DNS query has left. The
    wrappers check the address first, and their frames hold the data being sent
    (``sendto``'s ``data``, ``sendmsg``'s ``buffers``), which makes UDP payloads
    visible. Done on the first socket created, not at start-up, so a process that
    never opens a socket never imports the socket module for our sake.
    """
    _watched.discard("socket.__new__")
    module = sys.modules.get("socket")
    if module is None:
        return
    cls = module.socket
    if getattr(cls.connect, "_usagectl_watch", False):
        return
    c_connect, c_connect_ex, c_sendto = cls.connect, cls.connect_ex, cls.sendto
    c_sendmsg = getattr(cls, "sendmsg", None)

    def connect(self, address):
        _raise_if_listed("socket.connect", address)
        return c_connect(self, address)

    def connect_ex(self, address):
        _raise_if_listed("socket.connect", address)
        return c_connect_ex(self, address)

    def sendto(self, data, *args):
        if args:
            _raise_if_listed("socket.sendto", args[-1])
        return c_sendto(self, data, *args)

    wrappers = [(connect, c_connect), (connect_ex, c_connect_ex), (sendto, c_sendto)]
    _KNOWN_BODY_FRAMES[(__name__, "sendto")] = "data"
    if c_sendmsg is not None:
        def sendmsg(self, buffers, *args):
            if len(args) >= 3 and args[2] is not None:
                buffers = list(buffers)  # an iterator can be consumed only once
                _raise_if_listed("socket.sendmsg", args[2])
            return c_sendmsg(self, buffers, *args)

        wrappers.append((sendmsg, c_sendmsg))
        _KNOWN_BODY_FRAMES[(__name__, "sendmsg")] = "buffers"
    for wrapper, original in wrappers:
        wrapper._usagectl_watch = True
        wrapper.__doc__ = original.__doc__
        wrapper.__qualname__ = "socket." + original.__name__
        setattr(cls, original.__name__, wrapper)


def _raise_if_listed(event, address):
    try:
        # Frame 1 is the wrapper itself: the payload (sendto's data) is in it.
        found = _check_address(event, address, _frame(1))
    except Exception:
        return
    if found is not None:
        raise found


# ---------------------------------------------------------------------------
# Children that escape the watch


def _skipping_flag(options):
    """The interpreter flag among ``options`` that drops the watch (I, E or S), or None."""
    skip_next = False
    for option in options:
        if skip_next:
            skip_next = False
            continue
        if option in ("-", "--") or not option.startswith("-") or option.startswith("--"):
            return None  # the script, or the end of the interpreter's options
        for position, flag in enumerate(option[1:], 1):
            if flag in "IES":
                return flag
            if flag in "cm":
                return None  # -c CODE / -m MODULE end the options
            if flag in "WX":  # takes an argument: the rest of this word, or the next one
                skip_next = position == len(option) - 1
                break
    return None


def _check_spawn(event, args):
    """Record a child started with an environment, or flags, that drop the watch."""
    if event == "subprocess.Popen":
        executable, argv, env = args[0], args[1], args[3]
    elif event == "os.spawn":
        executable, argv, env = args[1], args[2], args[3]
    else:
        executable, argv, env = args[0], args[1], args[2]
    argv = _as_list(argv)
    reason = None
    try:
        env = os.environ if env is None else env
        if _env_get(env, LOG_ENV) != _log_path:
            reason = "its environment does not carry %s" % LOG_ENV
        elif _here() not in (_env_get(env, "PYTHONPATH") or "").split(os.pathsep):
            reason = "its PYTHONPATH does not include the watch"
    except Exception:
        reason = "its environment could not be inspected"
    if reason is None and argv and os.path.basename(_text(executable or argv[0])).startswith("python"):
        flag = _skipping_flag([_text(a) for a in argv[1:]])
        if flag:
            reason = "python -%s skips PYTHONPATH or site" % flag
    if reason is not None:
        _write({"kind": "unwatched-spawn", "event": event,
                "child": _text(argv[0] if argv else executable), "reason": reason})


def _as_list(argv):
    if isinstance(argv, (str, bytes, os.PathLike)):
        return [argv]
    try:
        return list(argv)
    except TypeError:
        return []


def _text(value):
    try:
        value = os.fspath(value)
    except TypeError:
        return repr(value)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _env_get(env, name):
    value = env.get(name)
    if value is None:
        value = env.get(name.encode())
    return _text(value) if value is not None else None


def _here():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "sitecustomize")


# ---------------------------------------------------------------------------
# The log


def _argv0():
    argv = getattr(sys, "argv", None) or [""]
    return argv[0] or sys.executable


def _write(record):
    """Append one JSON line; never raises."""
    try:
        import time  # built in: no file to read

        record = dict(record, time=time.time(), pid=os.getpid(), ppid=os.getppid(), argv0=_argv0())
        line = _encode(record).encode("utf-8", "backslashreplace") + b"\n"
        fd = os.open(_log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                     0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except Exception:
        pass


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _encode(value):
    """JSON for the flat records above (str, int, float, bool, None, and dicts of them).

    Not the json module: importing it (and re, enum) at every watched start-up would
    cost more than everything else here together.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else "null"
    if isinstance(value, dict):
        return "{" + ",".join(_encode(str(k)) + ":" + _encode(v) for k, v in value.items()) + "}"
    if not isinstance(value, str):
        value = repr(value)
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return '"' + value + '"'  # base64 payloads, host names: nothing to escape
    return '"' + "".join(_ESCAPES.get(c) or (c if c >= " " else "\\u%04x" % ord(c)) for c in value) + '"'


def install(log_path, endpoints):
    """Watch this process: ``endpoints`` as parse_endpoints() returns them. Idempotent."""
    global _log_path, _endpoints
    if _log_path is not None:
        return False
    _log_path = log_path
    _endpoints = tuple(endpoints)
    _watched.update(_LOOKUPS | _ADDRESSED | _SPAWNS | {"socket.__new__"})
    if "socket" in sys.modules:
        _patch_socket_class()
    sys.addaudithook(_hook)
    _write({"kind": "start", "executable": sys.executable})
    return True


def install_from_environ(environ=None):
    """What the sitecustomize calls. Does nothing when the watch's variables are absent."""
    environ = os.environ if environ is None else environ
    log_path = environ.get(LOG_ENV)
    if not log_path:
        return False
    for line in (environ.get(FRAMES_ENV) or "").splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and all(parts):
            _KNOWN_BODY_FRAMES.setdefault((parts[0], parts[1]), parts[2])
    return install(log_path, parse_endpoints(environ.get(ENDPOINTS_ENV, "")))
