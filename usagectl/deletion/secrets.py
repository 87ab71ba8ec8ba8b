"""The SMTP password and the HTTP bearer token: OS keyring first-class, environment as fallback.

Every keyring call runs in a daemon thread with a deadline, so a hung D-Bus / Secret
Service can't hang the CLI; ``keyring`` itself is imported lazily (it is slow). On a
headless machine with no backend we say how to get one and accept the environment
variable instead; no traceback. Secret values are returned to the caller and never
logged, printed or put in an exception message.
"""

import threading

SERVICE = "usagectl"
#: Secret name -> environment variable that can carry it instead of the keyring.
ENV_VARS = {"smtp": "USAGECTL_SMTP_PASSWORD", "http": "USAGECTL_HTTP_TOKEN"}
DESCRIPTIONS = {"smtp": "SMTP password", "http": "HTTP bearer token"}
DEFAULT_TIMEOUT = 5.0
NO_BACKEND_HINT = ("no OS keyring is available (headless machine?). Run a Secret Service "
                   "(e.g. gnome-keyring in a D-Bus session), or `pip install keyrings.alt` for a "
                   "file-based keyring, or set %s in the environment instead")


class KeyringUnavailable(Exception):
    """The keyring can't be used; the message says why and what to do (never a secret)."""


def _timeout(environ):
    return keyring_timeout(environ)[0]


def keyring_timeout(environ):
    """(seconds, problem): USAGECTL_KEYRING_TIMEOUT, or the default with why it was not used."""
    import math

    raw = environ.get("USAGECTL_KEYRING_TIMEOUT")
    if raw is None:
        return DEFAULT_TIMEOUT, None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        return DEFAULT_TIMEOUT, ("USAGECTL_KEYRING_TIMEOUT=%r is not a number of seconds above 0; using %g s"
                                 % (raw, DEFAULT_TIMEOUT))
    return max(0.1, value), None


def _bounded(call, environ, what):
    """Run ``call()`` in a daemon thread; give up after the timeout (the thread is abandoned)."""
    box = {}

    def target():
        try:
            box["value"] = call()
        except BaseException as exc:  # carried back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="usagectl-keyring", daemon=True)
    thread.start()
    timeout = _timeout(environ)
    thread.join(timeout)
    if thread.is_alive():
        raise KeyringUnavailable("the OS keyring did not answer within %g s while %s (a locked or hung "
                                 "Secret Service / D-Bus?)" % (timeout, what))
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _backend(environ):
    """The active keyring backend, or KeyringUnavailable when it is the fail backend."""

    def load():
        import keyring

        return keyring.get_keyring()

    try:
        backend = _bounded(load, environ, "loading the keyring")
    except KeyringUnavailable:
        raise
    except Exception as exc:
        raise KeyringUnavailable("the OS keyring could not be loaded (%s)" % type(exc).__name__)
    from keyring.backends import fail, null

    # fail.Keyring raises on every call; null.Keyring silently forgets what it is given.
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        raise KeyringUnavailable("no OS keyring is available")
    if type(backend).__name__ == "ChainerBackend" and not getattr(backend, "backends", None):
        raise KeyringUnavailable("no OS keyring is available")
    return backend


def backend_name(environ):
    """A human name for the keyring backend in use, or None when there is none."""
    try:
        backend = _backend(environ)
    except KeyringUnavailable:
        return None
    cls = type(backend)
    return "%s.%s" % (cls.__module__, cls.__name__)


def backend_is_plaintext(name):
    return bool(name) and name.endswith("PlaintextKeyring")


def _call(environ, what, fn):
    backend = _backend(environ)
    try:
        return _bounded(lambda: fn(backend), environ, what)
    except KeyringUnavailable:
        raise
    except Exception as exc:
        from keyring.errors import NoKeyringError

        if isinstance(exc, NoKeyringError):
            raise KeyringUnavailable("no OS keyring is available")
        # The exception text of a backend could echo what it was given: name the type only.
        raise KeyringUnavailable("the OS keyring failed while %s (%s)" % (what, type(exc).__name__))


class BadSecret(ValueError):
    """A secret with a control character: it could never be sent as a header or an SMTP
    login, and an error quoting it would print it. Its text never includes the secret."""


def check_secret(name, secret, source):
    """Refuse a secret with a control character (a CRLF env file leaves a CR at the end)."""
    if secret is not None and any(ord(c) < 0x20 or ord(c) == 0x7F for c in secret):
        raise BadSecret("the %s from %s contains a line break or another control character; "
                        "fix it there (a file with Windows line endings leaves a CR at the end)"
                        % (DESCRIPTIONS[name], source))


def store(environ, name, secret):
    check_secret(name, secret, "the input")
    _call(environ, "storing the %s" % DESCRIPTIONS[name], lambda b: b.set_password(SERVICE, name, secret))


def delete(environ, name):
    """True if a stored secret was deleted, False if there was none."""
    from_keyring = _call(environ, "reading the keyring", lambda b: b.get_password(SERVICE, name))
    if from_keyring is None:
        return False
    _call(environ, "deleting the %s" % DESCRIPTIONS[name], lambda b: b.delete_password(SERVICE, name))
    return True


def from_keyring(environ, name):
    return _call(environ, "reading the %s" % DESCRIPTIONS[name], lambda b: b.get_password(SERVICE, name))


def lookup(environ, name):
    """(secret or None, source, problem): the environment variable wins, then the keyring.

    ``source`` is "env:<VAR>" or "keyring"; ``problem`` explains a keyring that could not be
    used (so the caller can say how to fix it), and is never raised as a traceback.
    """
    var = ENV_VARS[name]
    if environ.get(var):
        try:
            check_secret(name, environ[var], var)
        except BadSecret as exc:
            return None, None, str(exc)
        return environ[var], "env:" + var, None
    try:
        secret = from_keyring(environ, name)
        check_secret(name, secret, "the OS keyring")
    except (KeyringUnavailable, BadSecret) as exc:
        return None, None, str(exc)
    if secret:
        return secret, "keyring", None
    return None, None, None


def no_backend_hint(name):
    return NO_BACKEND_HINT % ENV_VARS[name]
