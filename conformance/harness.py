"""Load the conformance vectors and set up each case's files (for the Python runners).

The vectors (conformance/vectors/*.json, described in conformance/README.md) are the
cases every consent reader must agree on: usagectl's Python reader
(tests/test_conformance.py), the CLI's `status --json` (same test file), the Go reader
(reader/go/consent, `go test`) and the stress suite's corruption matrix
(stress/corruption.py), which takes its damages from corruption.json.

Stdlib only.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

VECTORS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors")
FIELDS = ("mode", "level", "source", "since", "locked", "ceiling", "send")


@dataclass
class Case:
    name: str
    about: str
    frameworks: list[str]
    consent: dict[str, Any] | None
    policy: dict[str, Any] | None
    env: dict[str, str]
    expect: dict[str, dict[str, Any]]
    allowed: list[dict[str, Any]] = field(default_factory=list)

    def expected(self, framework: str) -> dict[str, Any]:
        return self.expect.get(framework, self.expect.get("*", {}))


def load(directory: str = VECTORS_DIR) -> list[Case]:
    """Every case of every vector file, cuts expanded (one case per cut)."""
    cases = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as handle:
            doc = json.load(handle)
        if doc.get("kind") == "locations":
            continue  # see locations()
        for raw in doc["cases"]:
            cases.extend(_expand(name[:-5], doc["frameworks"], raw))
    return cases


def _expand(group: str, frameworks: list[str], raw: dict[str, Any]) -> Iterator[Case]:
    def make(suffix: str, consent: dict | None, policy: dict | None) -> Case:
        return Case("%s/%s%s" % (group, raw["name"], suffix), raw["about"], frameworks, consent, policy,
                    raw.get("env", {}), raw["expect"], raw.get("allowed", []))

    for role in ("consent", "policy"):
        spec = raw.get(role)
        if spec is not None and spec.get("cuts"):
            # Every prefix that loses at least one byte of the text before its trailing
            # whitespace: for a sealed file, each one cuts into the end line or before it.
            text = spec["text"].encode("utf-8")
            for length in range(len(text.rstrip())):
                cut = {"base64": base64.b64encode(text[:length]).decode("ascii")}
                other = raw.get("policy" if role == "consent" else "consent")
                yield make("@%d" % length, cut if role == "consent" else other, cut if role == "policy" else other)
            return
    yield make("", raw.get("consent"), raw.get("policy"))


def content(spec: dict[str, Any]) -> bytes | None:
    """The bytes a file spec describes, or None for a special file."""
    if "text" in spec:
        return spec["text"].encode("utf-8")
    if "base64" in spec:
        return base64.b64decode(spec["base64"])
    if "repeat" in spec:
        r = spec["repeat"]
        return (r["head"] + r["line"] * r["count"] + r["tail"]).encode("utf-8")
    return None


def place(path: str, spec: dict[str, Any] | None) -> bool:
    """Create the file ``spec`` describes at ``path``; False when this runner can't (the
    unreadable case as root)."""
    if spec is None:
        return True
    os.makedirs(os.path.dirname(path), exist_ok=True)
    special = spec.get("special")
    if special is None:
        with open(path, "wb") as handle:
            handle.write(content(spec) or b"")
        return True
    if special == "directory":
        os.mkdir(path)
    elif special == "fifo":
        os.mkfifo(path)
    elif special == "symlink-loop":
        os.symlink(path, path)
    elif special == "dangling-link":
        os.symlink("/nonexistent/usagectl-conformance/x.toml", path)
    elif special == "unreadable":
        if os.geteuid() == 0:
            return False
        with open(path, "wb") as handle:
            handle.write(b'schema = 1\n[default]\nmode = "on"\n')
        os.chmod(path, 0)
    else:
        raise ValueError("unknown special file %r" % special)
    return True


def environment(root: str, case: Case) -> dict[str, str]:
    """The environment a runner reads the case with: the files under ``root``, nothing
    from the real machine."""
    env = {
        "HOME": os.path.join(root, "home"),
        "USAGECTL_CONFIG_DIR": os.path.join(root, "config"),
        "USAGECTL_STATE_DIR": os.path.join(root, "state"),
        "USAGECTL_POLICY_FILE": os.path.join(root, "policy.toml"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    env.update(case.env)
    return env


def set_up(root: str, case: Case) -> dict[str, str] | None:
    """Place the case's files under ``root``; its environment, or None to skip it."""
    env = environment(root, case)
    if not place(os.path.join(env["USAGECTL_CONFIG_DIR"], "consent.toml"), case.consent):
        return None
    if not place(env["USAGECTL_POLICY_FILE"], case.policy):
        return None
    return env


def instant(text: str | None) -> datetime.datetime | None:
    """An RFC 3339 time as an aware datetime (vectors compare instants, not spellings)."""
    if text is None:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))


def differences(case: Case, framework: str, got: dict[str, Any]) -> list[str]:
    """What a reader's decision (a dict of FIELDS, since as RFC 3339 or None) gets wrong."""
    want = case.expected(framework)
    wrong = []
    for key in FIELDS:
        a, b = want.get(key), got.get(key)
        if key == "since":
            a, b = instant(a), instant(b)
        if a != b:
            wrong.append("%s %s: want %r, got %r" % (framework, key, want.get(key), got.get(key)))
    return wrong


def locations(directory: str = VECTORS_DIR) -> list[dict[str, Any]]:
    """The location cases (vectors/locations.json): an environment and the paths it gives."""
    with open(os.path.join(directory, "locations.json"), encoding="utf-8") as handle:
        return json.load(handle)["cases"]


def fill(text: str, root: str) -> str:
    return text.replace("{root}", root)
