"""--follow: notice new payloads within a second, by polling sizes and mtimes.

No inotify (not portable, and it misses files on network filesystems): every poll
stats a handful of files. Watched: the sent ledger (appends) and each framework's own follow source
(``Framework.follow_source``: Parsl's logs, Ray's session files, ...).
"""

import hashlib
import time

from usagectl import _ledger as ledger
from usagectl.core import ledger_scan
from usagectl.core import payloads as model
from usagectl.core.appended import AppendedFile

POLL_S = 0.2


def body_key(payload):
    return (payload.framework, hashlib.sha256(payload.body or b"").hexdigest(),
            payload.outcome if payload.body is None else "")


class Follower:
    """Polls the sent ledger and every framework's own follow source."""

    def __init__(self, env, frameworks, trust=False, paths=(), seen=()):
        from usagectl import frameworks as registry

        self.env = env
        self.frameworks = list(frameworks)
        self.trust = trust
        self.paths = list(paths)
        self.seen = set(seen)
        self.warned = set()
        self.skipped = []
        self.ledger = AppendedFile(ledger.ledger_path(env.environ), ledger_scan.size_of(env.environ))
        self.sources = []
        for name in self.frameworks:
            framework = registry.get(name)
            source = framework.follow_source(env, trust, self.paths) if framework else None
            if source is not None:
                self.sources.append(source)

    def _ledger_poll(self):
        lines, skip = self.ledger.read(self.trust)
        self._skip(skip)
        found = []
        for line in lines:
            entry = ledger.decode_entry(line.data)
            if entry is not None and entry["framework"] in self.frameworks:
                found.append(ledger_scan.payload_from_entry(entry, self.ledger.path, line))
        return found

    def _skip(self, skip):
        if skip is not None and skip.path not in self.warned:
            self.warned.add(skip.path)
            self.skipped.append(skip)

    def poll(self):
        """New payloads since the last poll, oldest first (ledger entries first)."""
        now = time.monotonic()
        found = self._ledger_poll()
        for source in self.sources:
            found.extend(source.poll(now))
            for skip in source.skipped:
                self._skip(skip)
            source.skipped.clear()
        fresh = []
        for payload in found:
            key = body_key(payload)
            if key in self.seen:
                continue
            self.seen.add(key)
            fresh.append(payload)
        fresh.sort(key=model.Payload.sort_key)
        return fresh
