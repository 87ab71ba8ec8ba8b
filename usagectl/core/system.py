"""Administrator mode (`usagectl --system ...`): where system-wide files are.

Every system path goes through ``system_path``, which puts it under
USAGECTL_SYSTEM_ROOT when that is set (a scratch root: tests, image builds) and under /
otherwise. The policy file has its own variable (USAGECTL_POLICY_FILE) and location
rules (consent.policy_path).
"""

from __future__ import annotations

import os

from usagectl.core.errors import UsagectlError

ROOT_VAR = "USAGECTL_SYSTEM_ROOT"


def root(env) -> str:
    return env.environ.get(ROOT_VAR) or "/"


def system_path(env, path: str) -> str:
    """``path`` (absolute, e.g. /etc/dask/x.yaml) under the system root."""
    return os.path.join(root(env), path.lstrip("/"))


def require_admin(env) -> None:
    """--system writes files every user reads: root only (or a scratch root)."""
    if env.environ.get(ROOT_VAR):
        return
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        raise UsagectlError("--system writes the system policy and system-wide settings: run it as root",
                            hint="or set %s to a scratch root to prepare one" % ROOT_VAR)


def write_shared(path: str, data: bytes) -> bool:
    """Write a file every user reads (0644, directories 0755), atomically. -> changed."""
    from usagectl.core import fsutil

    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                return False
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    fsutil.atomic_write(path, data, new_mode=0o644)
    return True


def remove_ours(path: str, marker: bytes) -> bool:
    """Remove ``path`` if it is a file usagectl wrote (it holds ``marker``). -> removed."""
    try:
        with open(path, "rb") as handle:
            if marker not in handle.read(4096):
                return False
        os.unlink(path)
        return True
    except OSError:
        return False
