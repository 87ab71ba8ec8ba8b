"""The Python and Go readers on the same damaged and hand-edited files.

The conformance vectors are cases someone thought of; this is the rest: every consent
and policy text of the vectors, mutated at random (bytes flipped, cut, duplicated,
hostile pieces inserted), decided by both readers for five frameworks. Any disagreement
on mode, level, source, since, locked or ceiling fails, with the input that caused it.
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
HOSTILE = [b"\x00", b"\xff", b"\n", b"[", b"]", b"[[", b"]]", b"{", b"}", b'"', b"'", b'"""', b"\\", b"\\u00",
           b"=", b".", b",", b"#", b"\r", b"\t", b" ", b"\xe2\x80\xa8", b"\xc2\x85", b"99999999999999999999",
           b"-0", b"+1", b"0x1", b"1_0", b"inf", b"nan", b"1e3", b"2026-02-30", b"T", b"Z", b"+25:00", b"true",
           b'mode = "on"', b'ceiling = "off"', b"level = 2", b"[frameworks.ray]", b"[default]", b"schema = 1",
           b"# end of usagectl consent file", b"# usagectl consent file, sealed"]


def _mutate(rng, data):
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
    texts = set()
    for case in harness.load():
        for spec in (case.consent, case.policy):
            content = harness.content(spec) if spec else None
            if content and len(content) < 4096:
                texts.add(content)
    return sorted(texts)


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
    seeds = _seeds()
    count = int(os.environ.get("USAGECTL_DIFFERENTIAL_CASES", "600"))
    dirs = []
    for index in range(count):
        directory = tmp_path / str(index)
        directory.mkdir()
        consent_text = _mutate(rng, rng.choice(seeds))
        (directory / "consent.toml").write_bytes(consent_text)
        if rng.random() < 0.3:
            (directory / "policy.toml").write_bytes(_mutate(rng, rng.choice(seeds)).replace(b"mode", b"ceiling"))
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
            for key in ("mode", "level", "source", "locked", "ceiling"):
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
