"""Bacalhau's identifiers, from the files it keeps them in, each with what shows it left.

- installation_id and instance_id ride on every update check (get.bacalhau.org) and, as
  headers, on every API call, whatever DisableAnalytics says; LastUpdateCheck in
  system_metadata.yaml shows an update check went out.
- node_id_hash (a SHA-256 of NodeName) rides on every analytics event.
- Job and execution ids are in the orchestrator's job store ($DataDir/orchestrator/
  state_boltdb.db); its analytics events carry them raw, if analytics were on when the
  job ran, which no local file records: said as such, with each job's creation time.
"""

import datetime
import hashlib
import json
import os
import re

from usagectl.core.identifiers import read_text
from usagectl.frameworks.bacalhau.framework import data_dir, installation_id_path, system_metadata_path

_META_LINE = re.compile(r"^\s*[\"']?(instanceid|nodename|lastupdatecheck)[\"']?\s*:\s*[\"']?([^\"'#\s]+)",
                        re.I | re.M)
#: A job record in the BoltDB store: Bacalhau keeps each job as JSON.
_JOB_RECORD = re.compile(rb'\{"ID":"(j-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"')
_EXECUTION_ID = re.compile(rb'"ID":"(e-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"')
_STORE_LIMIT = 256 << 20  # a node's job store; beyond this, only its start is read


def gather(env, found):
    meta = {}
    path = system_metadata_path(env)
    text = read_text(path, found, limit=1 << 16)
    if text is not None:
        meta = {key.lower(): value for key, value in _META_LINE.findall(text)}
    checked = meta.get("lastupdatecheck")
    channel = ("sent with every update check (system_metadata.yaml records one at %s) and API call"
               % checked if checked else "sent with every update check and API call, whatever "
               "DisableAnalytics says (no update check recorded yet)")
    install = installation_id_path(env)
    text = read_text(install, found, limit=4096)
    if text is not None and text.strip():
        found.add("installation_id", text.strip().splitlines()[0], install, channel)
    if meta.get("instanceid"):
        found.add("instance_id", meta["instanceid"], path, channel)
    if meta.get("nodename"):
        found.add("node_id_hash", hashlib.sha256(meta["nodename"].encode()).hexdigest(), path,
                  "sent with every analytics event (a SHA-256 of NodeName %s), if analytics were ever on"
                  % meta["nodename"])
    _jobs(env, os.path.join(data_dir(env), "orchestrator", "state_boltdb.db"), found)
    if not found.identifiers:
        found.notes.append("Bacalhau keeps no local record of what it sent; its IDs live in %s and "
                           "%s" % (install, path))


def _jobs(env, store_path, found):
    from usagectl import _files

    try:
        with _files.open_regular(store_path) as handle:
            data = handle.read(_STORE_LIMIT)
    except FileNotFoundError:
        return
    except OSError as exc:
        found.problems.append("%s: can't read it (%s); skipped" % (store_path, exc.strerror or exc))
        return
    decoder = json.JSONDecoder()
    seen = set()
    off_at = _consent_off_at(env)
    left_out = 0
    for match in _JOB_RECORD.finditer(data):
        job_id = match.group(1).decode("ascii")
        if job_id in seen:
            continue  # BoltDB keeps older copies of a record in free pages
        try:
            record, _end = decoder.raw_decode(data[match.start():match.start() + (1 << 20)].decode("utf-8", "replace"))
        except ValueError:
            continue
        seen.add(job_id)
        created = record.get("CreateTime")
        if isinstance(created, int) and off_at(created / 1e9):
            left_out += 1  # made while usagectl had Bacalhau's analytics off: never sent
            continue
        found.add("job_id", job_id, store_path,
                  "in the orchestrator's job store (created %s); its analytics events carry it if "
                  "analytics were on then" % _iso_ns(created))
    if left_out:
        found.notes.append("%d Bacalhau job(s) left out: created while your consent for bacalhau was "
                           "off or local (usagectl's history), so their analytics events were not sent"
                           % left_out)
    for match in _EXECUTION_ID.finditer(data):
        found.add("execution_id", match.group(1).decode("ascii"), store_path,
                  "in the orchestrator's store; its analytics events carry it if analytics were on")


def _consent_off_at(env):
    """(seconds -> bool): did usagectl's own history have Bacalhau off or local then? The
    history records every consent change this user made (usagectl history)."""
    from usagectl.core import store

    records, _problems = store.read_history(env.history_path)
    changes = []
    for record in records:
        if record.get("event", "change") != "change" or record.get("entry") not in ("bacalhau", "default"):
            continue
        try:
            at = datetime.datetime.strptime(record["time"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except (KeyError, TypeError, ValueError):
            continue
        changes.append((at, record["entry"], record.get("to")))
    changes.sort(key=lambda change: change[0])

    def off_at(seconds):
        state = {}
        for at, entry, mode in changes:
            if at > seconds:
                break
            state[entry] = mode
        return any(mode in ("off", "local") for mode in state.values())

    return off_at


def _iso_ns(value):
    if not isinstance(value, int) or value <= 0:
        return "at an unknown time"
    try:
        return datetime.datetime.fromtimestamp(value / 1e9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return "at an unknown time"
