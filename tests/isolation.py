"""The one way tests start a framework: inside its own network, PID and mount namespaces.

A network namespace alone (without a PID namespace) shares the host's processes, so a
`ray stop --force` (or any pkill) in a test would signal every Ray process on the
machine, other users' too.
With ``--pid --fork --mount-proc`` the command is PID 1 of a namespace of its own: it
sees only the processes it started, and when it ends every process left in the
namespace is killed with it. The network namespace has nothing but loopback, so no
packet can leave the machine.
"""

import shutil
import subprocess

UNSHARE = ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--map-root-user"]

_available = None


def available():
    """(True, "") when isolated namespaces can be made here, else (False, why)."""
    global _available
    if _available is None:
        if not shutil.which("unshare") or not shutil.which("ip"):
            _available = (False, "unshare (util-linux) and ip (iproute2) are needed")
        else:
            proc = subprocess.run(UNSHARE + ["sh", "-c", "ip link set lo up"], capture_output=True,
                                  text=True, timeout=30)
            _available = (proc.returncode == 0, proc.stderr.strip())
    return _available


def require():
    """Skip the calling test, saying why, where isolated namespaces can't be made."""
    import pytest

    ok, why = available()
    if not ok:
        pytest.skip("isolated namespaces are not available here (%s)" % why)


def isolated(argv):
    """``argv`` run inside fresh net + pid + mount namespaces, with loopback up."""
    return UNSHARE + ["sh", "-c", 'ip link set lo up && exec "$0" "$@"', *map(str, argv)]


def isolated_shell(script):
    """A shell ``script`` run the same way."""
    return UNSHARE + ["sh", "-c", "ip link set lo up; " + script]
