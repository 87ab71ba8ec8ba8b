"""Reading the sent ledger back as Payload records, newest first, from its end."""

import datetime
import os

from usagectl import _ledger as ledger
from usagectl.core import payloads as model
from usagectl.core import tail
from usagectl.core.safefiles import open_checked

#: The ledger is ours and small, but a years-old one must not slow show-last down.
BUDGET = 64 * 1024 * 1024


def parse_time(text):
    if not isinstance(text, str):
        return None
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def payload_from_entry(entry, path, line):
    from usagectl.core import delivery as deliveries

    identifiers = entry.get("identifiers") if isinstance(entry.get("identifiers"), dict) else {}
    delivery, status = entry.get("delivery"), entry.get("http_status")
    if not isinstance(status, int) or isinstance(status, bool):
        status = None
    if delivery not in deliveries.STATES:
        # Older lines say only sent/failed: what the outcome and the error text prove.
        if entry["outcome"] == model.SENT or (entry["outcome"] == model.DISABLED_PING
                                              and not entry.get("reason")):
            delivery = deliveries.DELIVERED
        elif entry["outcome"] in (model.FAILED, model.DISABLED_PING):
            delivery, status, _url = deliveries.classify_http_error(entry.get("reason"))
        else:
            delivery = deliveries.UNKNOWN
    return model.Payload(
        entry["framework"], parse_time(entry.get("time")), entry.get("destination"),
        entry["outcome"], entry["body"], reason=entry.get("reason"),
        kind="disabled-ping" if entry["outcome"] == model.DISABLED_PING else entry.get("kind"),
        transport=entry.get("transport"), origin="ledger", source_file=path,
        source_line=line.number, source_offset=line.offset, identifiers=identifiers,
        notes=["recorded by the usagectl runtime hook when the framework sent it"],
        delivery=delivery, http_status=status)


#: Line numbers cost keeping a file's lines until its start is reached: only for small files.
_NUMBERED_UP_TO = 1 << 20


def entries_backward(handle, size, budget=BUDGET):
    for line in tail.lines_backward(handle, size, budget, numbered=size <= _NUMBERED_UP_TO):
        entry = ledger.decode_entry(line.data)
        if entry is not None:
            yield entry, line


def scan(environ, frameworks, limit=1, since=None, trust=False, path=None):
    """Newest ledger payloads per framework -> ({framework: [payloads]}, skipped).

    Reads from the end: the current ledger, then its rotated files, newest first, until
    every framework has ``limit`` payloads or BUDGET bytes were read; a budget that ran
    out is said in ``skipped`` (older records are kept, not shown).
    """
    path = path or ledger.ledger_path(environ)
    result = {name: [] for name in frameworks}
    skipped = []
    budget = BUDGET
    files = [path] + list(reversed(ledger.rotated_paths(path)))
    for index, current in enumerate(files):
        handle, info = open_checked(current, trust)
        if handle is None:
            if info:
                skipped.append(info)
            continue
        with handle:
            for entry, line in entries_backward(handle, info.st_size, budget):
                name = entry["framework"]
                if name not in result:
                    continue
                payload = payload_from_entry(entry, current, line)
                if since is not None and (payload.when is None or payload.when < since):
                    continue
                if limit is None or len(result[name]) < limit:
                    result[name].append(payload)
                if limit is not None and all(len(v) >= limit for v in result.values()):
                    return result, skipped
        budget -= min(budget, info.st_size)
        if budget <= 0 and index + 1 < len(files):
            skipped.append(model.Skipped(files[index + 1], "older sent-ledger files were not read (the "
                                         "newest %d MiB were); they are kept" % (BUDGET >> 20)))
            break
    return result, skipped


def size_of(environ):
    try:
        return os.stat(ledger.ledger_path(environ)).st_size
    except OSError:
        return 0
