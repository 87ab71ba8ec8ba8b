"""Leave the request in a file (.eml for an e-mail channel, .json for an HTTPS one) for the
user to send themselves; usagectl then records it as "written", never as "sent"."""

import os

from usagectl.core import fsutil
from usagectl.deletion import messages


def write(record, directory, sender=None):
    """Write the request into ``directory``; returns the file's path."""
    if record["target"].get("email"):
        name, data = "eml", messages.email_bytes(record, sender)
    else:
        name, data = "json", messages.json_bytes(record)
    path = os.path.join(os.path.abspath(directory), "usagectl-deletion-%s-%s.%s"
                        % (record["framework"], record["id"], name))
    fsutil.atomic_write(path, data, follow=False)  # a new file of ours: never through a link
    return path
