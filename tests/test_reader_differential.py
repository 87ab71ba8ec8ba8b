"""The Python and Go readers on the same damaged and hand-edited files.

The conformance vectors are cases someone thought of; this is the rest: every consent
and policy text of the vectors, mutated at random (bytes flipped, cut, duplicated,
hostile pieces inserted), decided by both readers for five frameworks. Any disagreement
on mode, level, source, since, locked, ceiling or send fails, with the input that caused it.
USAGECTL_DIFFERENTIAL_CASES raises the count (the stress suite's scale).
"""

import json
import os
import random
import shutil
import subprocess
import sys

import docgen
import pytest

sys.path.insert(0, os.path.join(docgen.repository_root(), "conformance"))
import harness  # noqa: E402

from usagectl import consent  # noqa: E402

GO_DIR = os.path.join(docgen.repository_root(), "reader", "go")
FRAMEWORKS = ["ray", "parsl", "bacalhau", "coiled", "my-tool"]
# Read at import: the autouse fixture clears every USAGECTL_* variable before a test runs.
COUNT = int(os.environ.get("USAGECTL_DIFFERENTIAL_CASES", "600"))
HOSTILE = [b"\x00", b"\xff", b"\n", b"[", b"]", b"[[", b"]]", b"{", b"}", b'"', b"'", b'"""', b"\\", b"\\u00",
           b"=", b".", b",", b"#", b"\r", b"\t", b" ", b"\xe2\x80\xa8", b"\xc2\x85", b"99999999999999999999",
           b"-0", b"+1", b"0x1", b"1_0", b"inf", b"nan", b"1e3", b"2026-02-30", b"T", b"Z", b"+25:00", b"true",
           b'mode = "on"', b'ceiling = "off"', b"level = 2", b"[frameworks.ray]", b"[default]", b"schema = 1",
           b"# end of usagectl consent file", b"# usagectl consent file, sealed", b'send = ["metrics"]',
           b'mode = "local"']


VALUES = [b'"off"', b'"on"', b'"local"', b"'on'", b'"""off"""', b'"o\\u006e"', b"1", b"2", b"0", b"-1", b"3_0",
          b"0x2", b"true", b"1.5", b"2026-01-01T00:00:00Z", b"2026-01-01 10:00:00+02:00", b"2026-01-01T00:00:00",
          b"2026-01-01", b'["a"]', b"[]", b"{}", b'{ mode = "off" }', b"9223372036854775807",
          b"9223372036854775808", b'"maybe"', b"inf", b'["metrics", "Code"]', b'["\xe2\x84\xaa"]', b'["a b"]',
          b'[1]', b'["metrics", ["code"]]']
HEADERS = [b"[default]", b"[frameworks.ray]", b"[frameworks.RAY]", b'[frameworks."my-tool"]', b"[frameworks.parsl]",
           b"[frameworks]", b"[search]", b"[[frameworks.x]]", b"[ frameworks . coiled ]", b'[frameworks." ray"]']


def _edit_lines(rng, data):
    """Edits that keep a file's TOML shape more often than byte edits do: lines deleted,
    duplicated or swapped, a value or a header replaced by another."""
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(lines))
        kind = rng.choice(("delete", "dup", "swap", "value", "value", "header"))
        if kind == "delete" and len(lines) > 1:
            del lines[at]
        elif kind == "dup":
            lines.insert(at, lines[at])
        elif kind == "swap":
            other = rng.randrange(len(lines))
            lines[at], lines[other] = lines[other], lines[at]
        elif kind == "value" and b"=" in lines[at]:
            key = lines[at].split(b"=", 1)[0]
            lines[at] = key + b"= " + rng.choice(VALUES)
        elif kind == "header":
            lines.insert(at, rng.choice(HEADERS))
    return b"\n".join(lines)


def _mutate(rng, data):
    if rng.random() < 0.15:
        return data  # unchanged: with a random policy beside it, still a new case
    if rng.random() < 0.6:
        return _edit_lines(rng, data)
    data = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        at = rng.randint(0, len(data))
        kind = rng.choice(("flip", "cut", "dup", "insert", "insert"))
        if kind == "flip" and data:
            data[min(at, len(data) - 1)] ^= 1 << rng.randint(0, 7)
        elif kind == "cut":
            del data[at:at + rng.randint(1, 12)]
        elif kind == "dup":
            data[at:at] = data[at:at + rng.randint(1, 24)]
        else:
            data[at:at] = rng.choice(HOSTILE)
    return bytes(data)


def _seeds():
    """(every text of the vectors, the texts of the vectors that are not damage)."""
    texts, valid = set(), set()
    for case in harness.load():
        damaged = any(case.expected(f)["source"].startswith("damaged:") for f in case.frameworks)
        for spec in (case.consent, case.policy):
            content = harness.content(spec) if spec else None
            if content and len(content) < 4096:
                texts.add(content)
                if not damaged:
                    valid.add(content)
    return sorted(texts), sorted(valid)


@pytest.fixture(scope="module")
def go_reader(tmp_path_factory):
    if shutil.which("go") is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs a Go toolchain for the Go reader")
        pytest.skip("no Go toolchain here")
    out = str(tmp_path_factory.mktemp("go") / "usage-consent")
    built = subprocess.run(["go", "build", "-o", out, "./cmd/usage-consent"], cwd=GO_DIR, capture_output=True,
                           text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    return out


def test_both_readers_agree_on_mutated_files(go_reader, tmp_path):
    rng = random.Random(20261202)
    seeds, valid_seeds = _seeds()
    count = COUNT
    dirs = []
    for index in range(count):
        directory = tmp_path / str(index)
        directory.mkdir()
        # Mostly edits of valid files, so that many stay valid and the decisions are compared too.
        consent_text = _mutate(rng, rng.choice(valid_seeds if rng.random() < 0.8 else seeds))
        (directory / "consent.toml").write_bytes(consent_text)
        if rng.random() < 0.3:
            policy_seed = rng.choice(valid_seeds if rng.random() < 0.8 else seeds)
            (directory / "policy.toml").write_bytes(_mutate(rng, policy_seed).replace(b"mode", b"ceiling"))
        dirs.append(str(directory))
    listing = tmp_path / "cases.txt"
    listing.write_text("\n".join(dirs) + "\n")
    proc = subprocess.run([go_reader, "-cases", str(listing), *FRAMEWORKS], capture_output=True, text=True,
                          timeout=600, env={"PATH": os.environ.get("PATH", "")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    go_rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(go_rows) == count
    disagreements = []
    damaged = 0
    empty = {}
    for directory, go in zip(dirs, go_rows):
        assert go["dir"] == directory
        consent_path, policy_path = os.path.join(directory, "consent.toml"), os.path.join(directory, "policy.toml")
        snapshot, policy = consent.read_consent(consent_path), consent.read_policy(policy_path)
        damaged += bool(snapshot.problem or policy.problem)
        for name, theirs in zip(FRAMEWORKS, go["decisions"]):
            ours = consent.decide(name, environ=empty, consent=snapshot, policy=policy).as_dict()
            for key in ("mode", "level", "source", "locked", "ceiling", "send"):
                if ours[key] != theirs[key]:
                    disagreements.append((directory, name, key, ours[key], theirs[key]))
            if harness.instant(ours["since"]) != harness.instant(theirs["since"]):
                disagreements.append((directory, name, "since", ours["since"], theirs["since"]))
    if disagreements:
        where = disagreements[0][0]
        pytest.fail("%d disagreements, first %r; consent.toml: %r" % (
            len(disagreements), disagreements[0], open(os.path.join(where, "consent.toml"), "rb").read()))
    # The mutations reach both sides of the line: some damage, some still valid.
    assert 0 < damaged < count, damaged
    print("differential: %d files, %d damaged, %d valid, 0 disagreements" % (count, damaged, count - damaged))
