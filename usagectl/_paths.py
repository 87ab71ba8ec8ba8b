"""Where usagectl keeps its files: stdlib only, cheap, and in step with platformdirs.

The consent reader is imported by frameworks at run time, so it cannot import
platformdirs. These functions compute what ``platformdirs.user_config_dir("usagectl",
appauthor=False)`` and friends return on this platform; tests check that they agree.
Every location can be moved with a ``USAGECTL_*`` environment variable.
"""

import os
import sys

APP = "usagectl"
CONSENT_FILE_NAME = "consent.toml"
POLICY_FILE_NAME = "policy.toml"
#: usagectl's own settings ([search], [deletion.*], [verify]): never part of the decision.
SETTINGS_FILE_NAME = "settings.toml"
HISTORY_FILE_NAME = "history.jsonl"


def _environ(environ):
    return os.environ if environ is None else environ


def _home(environ):
    # platformdirs treats a relative HOME as unset on POSIX and falls back to pwd.
    home = environ.get("HOME", "")
    if sys.platform != "win32" and os.path.isabs(home):
        return home
    if sys.platform == "win32":
        return os.path.expanduser("~")
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir.rstrip("/") or "/"
    except (ImportError, KeyError):
        return os.path.expanduser("~")


def _xdg(environ, name):
    value = environ.get(name, "")
    # XDG says relative paths are invalid and must be ignored; platformdirs agrees.
    return value if value.startswith("/") else None


def _xdg_first(environ, name):
    for part in environ.get(name, "").split(os.pathsep):
        if part.startswith("/"):
            return part
    return None


def user_config_dir(environ=None):
    env = _environ(environ)
    override = env.get("USAGECTL_CONFIG_DIR")
    if override:
        return override
    if sys.platform == "win32":
        base = env.get("LOCALAPPDATA") or os.path.join(_home(env), "AppData", "Local")
        return os.path.join(base, APP)
    if sys.platform == "darwin":
        base = _xdg(env, "XDG_CONFIG_HOME") or os.path.join(_home(env), "Library", "Application Support")
        return os.path.join(base, APP)
    base = _xdg(env, "XDG_CONFIG_HOME") or os.path.join(_home(env), ".config")
    return os.path.join(base, APP)


def site_config_dir(environ=None):
    env = _environ(environ)
    if sys.platform == "win32":
        return os.path.join(env.get("ProgramData", r"C:\ProgramData"), APP)
    if sys.platform == "darwin":
        base = _xdg_first(env, "XDG_CONFIG_DIRS") or "/Library/Application Support"
        return os.path.join(base, APP)
    base = _xdg_first(env, "XDG_CONFIG_DIRS") or "/etc/xdg"
    return os.path.join(base, APP)


def user_state_dir(environ=None):
    env = _environ(environ)
    override = env.get("USAGECTL_STATE_DIR")
    if override:
        return override
    if sys.platform == "win32":
        base = env.get("LOCALAPPDATA") or os.path.join(_home(env), "AppData", "Local")
        return os.path.join(base, APP)
    if sys.platform == "darwin":
        base = _xdg(env, "XDG_STATE_HOME") or os.path.join(_home(env), "Library", "Application Support")
        return os.path.join(base, APP)
    base = _xdg(env, "XDG_STATE_HOME") or os.path.join(_home(env), ".local", "state")
    return os.path.join(base, APP)


def consent_path(environ=None):
    return os.path.join(user_config_dir(environ), CONSENT_FILE_NAME)


def settings_path(environ=None):
    return os.path.join(user_config_dir(environ), SETTINGS_FILE_NAME)


def policy_path(environ=None):
    env = _environ(environ)
    return env.get("USAGECTL_POLICY_FILE") or os.path.join(site_config_dir(env), POLICY_FILE_NAME)


def history_path(environ=None):
    return os.path.join(user_state_dir(environ), HISTORY_FILE_NAME)
