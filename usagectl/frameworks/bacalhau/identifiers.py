"""Bacalhau's installation_id and instance_id, from the files it keeps them in."""

import re

from usagectl.core.identifiers import read_text
from usagectl.frameworks.bacalhau.framework import installation_id_path, system_metadata_path

_INSTANCE_LINE = re.compile(r"^\s*[\"']?instanceid[\"']?\s*:\s*[\"']?([^\"'#\s]+)", re.I | re.M)


def gather(env, found):
    path = installation_id_path(env)
    text = read_text(path, found, limit=4096)
    if text is not None:
        found.add("installation_id", text.strip().splitlines()[0] if text.strip() else "", path)
    path = system_metadata_path(env)
    text = read_text(path, found, limit=1 << 16)
    if text is not None:
        match = _INSTANCE_LINE.search(text)
        if match:
            found.add("instance_id", match.group(1), path)
    if not found.identifiers:
        found.notes.append("Bacalhau keeps no local record of what it sent; its IDs live in %s and "
                           "%s" % (installation_id_path(env),
                                   system_metadata_path(env)))
