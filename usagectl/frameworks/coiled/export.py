"""Coiled/Dask's export format: a system dask config file.

dask reads /etc/dask before the user's ~/.config/dask (dask/config.py: paths are
/etc/dask, {sys.prefix}/etc/dask, then the user's), and a later file overrides an
earlier one, so a system file sets the default for every user who has not chosen, and a
user's own file can still turn analytics back on. The runtime hook in the system
interpreter (`usagectl --system`, or the dockerfile format) is what holds users to it.
"""

from __future__ import annotations

from usagectl.core.exports import Format, Result
from usagectl.frameworks.coiled.framework import _sending, file_text, held_keys

SYSTEM_FILE = "/etc/dask/zz-usagectl.yaml"
#: In every system file usagectl writes: only such a file is ever removed.
MARKER = b"# Managed by usagectl"

_HEADER = """\
# Managed by usagectl (`usagectl export dask-system`): Coiled analytics off for every user
# of this machine or image who has not set them on in their own dask config. Save as
# %s; re-export after a change.
""" % SYSTEM_FILE


def system_file_text(decision=None) -> str:
    """The values of the user file usagectl writes for ``decision`` (None: all off),
    under a system header."""
    if decision is None:
        text = file_text()
    else:
        text = file_text(held_keys(decision), _sending(decision))
    return _HEADER + text[text.index("\ncoiled:") + 1:]


class DaskSystem(Format):
    name = "dask-system"
    summary = "a system dask config file (%s) with Coiled analytics off" % SYSTEM_FILE
    destination = SYSTEM_FILE

    def render(self, decisions, text, path):
        decision = decisions.by_name["coiled"]
        mode = decision.mode
        if not held_keys(decision):
            return Result("# usagectl export dask-system: coiled is %s; no system file is needed\n" % mode,
                          changed=False, details={"mode": mode},
                          notes=["coiled is %s: nothing to write (usagectl never turns telemetry on)" % mode])
        return Result(system_file_text(decision), details={"mode": mode, "path": SYSTEM_FILE,
                                                           "send": list(_sending(decision))},
                      notes=["a user's own dask config can still turn analytics on; the runtime hook in "
                             "the system interpreter holds them to it"])


FORMATS = (DaskSystem(),)
