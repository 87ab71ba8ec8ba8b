"""Administrator mode (`usagectl --system ...`): where system-wide files are, and the
only way they are read and written.

Every system path is an absolute path such as /etc/dask/zz-usagectl.yaml, resolved
below one root: / for the machine, or USAGECTL_SYSTEM_ROOT (a scratch root for an image
tree or a test). The root moves every system path, the policy and the hook's target
included, so a run under it never touches the host; it is also the only way to run
--system without being root. Every read and write goes through ``tree(env)``
(core/rootfs.py): no link followed below the root, explicit modes, trusted owners.
"""

from __future__ import annotations

import os

from usagectl.core.errors import UsagectlError
from usagectl.core.rootfs import SYSTEM_FILE_MODE, Tree

ROOT_VAR = "USAGECTL_SYSTEM_ROOT"


def root(env) -> str:
    return env.environ.get(ROOT_VAR) or "/"


def scratch(env) -> bool:
    """Is --system acting on a scratch root (never the host)?"""
    return root(env) != "/" and bool(env.environ.get(ROOT_VAR))


def tree(env) -> Tree:
    return Tree(root(env))


def system_path(env, path: str) -> str:
    """``path`` (absolute, e.g. /etc/dask/x.yaml) under the system root, for display."""
    return tree(env).path(path)


def policy_location(env) -> str:
    """The policy as a system path: where every user's reader looks by default
    (/etc/xdg/usagectl/policy.toml on Linux). The caller's own XDG_CONFIG_DIRS and
    USAGECTL_POLICY_FILE move where that caller's readers look, not where the
    administrator's policy lives, so neither is consulted here."""
    from usagectl import consent

    return os.path.abspath(consent.policy_path({}))


def require_admin(env) -> None:
    """--system writes files every user reads: root only, or a scratch root."""
    if scratch(env):
        return
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        raise UsagectlError("--system writes the system policy and system-wide settings: run it as root",
                            hint="or set %s to a scratch root to prepare one" % ROOT_VAR)


def write_shared(env, path: str, data: bytes) -> bool:
    """Write a file every user reads (0644, directories 0755), atomically. -> changed."""
    return tree(env).write(path, data, SYSTEM_FILE_MODE)


def remove_ours(env, path: str, marker: bytes) -> bool:
    """Remove ``path`` if it is a file usagectl wrote (it holds ``marker``). -> removed."""
    return tree(env).remove(path, marker)
