"""The shared conformance vectors (conformance/vectors), read by usagectl's reader and
by `usagectl status --json`. The Go reader runs the same vectors (reader/go, `go test`);
a reader that disagrees with a vector fails CI."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conformance"))
import harness  # noqa: E402

from usagectl import consent  # noqa: E402

CASES = harness.load()


def test_the_vectors_cover_every_group_and_both_files():
    groups = {case.name.split("/")[0] for case in CASES}
    assert groups == {"categories", "corruption", "decisions", "environment", "policy", "toml"}
    assert len(harness.locations()) >= 8
    assert sum(1 for c in CASES if c.name.startswith("corruption/consent-cut@")) > 300
    assert any(c.policy for c in CASES if c.name.startswith("corruption/policy-"))
    # Every expectation names every field: a vector can't pass by leaving one out.
    for case in CASES:
        for want in case.expect.values():
            assert set(want) == set(harness.FIELDS), case.name


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reader_agrees_with_the_vector(case, tmp_path):
    env = harness.set_up(str(tmp_path), case)
    if env is None:
        pytest.skip("this runner can't set up the case (root reads every file)")
    wrong = []
    for framework in case.frameworks:
        got = consent.decide(framework, environ=env).as_dict()
        wrong += harness.differences(case, framework, got)
    for check in case.allowed:
        answer = consent.allowed(check["framework"], level=check["level"],
                                 collected_at=harness.instant(check["collected_at"]),
                                 default=check["default"], environ=env, category=check.get("category"))
        if answer != check["expect"]:
            wrong.append("allowed(%r, level=%r, collected_at=%r, default=%r, category=%r) is %r" % (
                check["framework"], check["level"], check["collected_at"], check["default"],
                check.get("category"), answer))
    assert not wrong, "%s (%s)" % (case.name, case.about)


def _sampled_for_the_cli():
    """Every case but most cuts (each cut already runs through the reader above; the CLI
    reads through the same reader, so a sample of cuts shows it keeps their verdict)."""
    return [c for c in CASES if "@" not in c.name or int(c.name.rsplit("@", 1)[1]) % 37 == 0]


CLI_CASES = _sampled_for_the_cli()


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
def test_status_json_agrees_with_the_vector(case, tmp_path, cli):
    env = harness.set_up(str(tmp_path), case)
    if env is None:
        pytest.skip("this runner can't set up the case (root reads every file)")
    result = cli("status", "--json", env=env)
    rows = {row["framework"]: row for row in result.json()["data"]["frameworks"]}
    wrong = []
    for framework in case.frameworks:
        if framework in rows:  # status lists the frameworks it knows, and those with entries
            wrong += harness.differences(case, framework, rows[framework])
    assert set(rows) >= {"ray", "parsl", "bacalhau", "coiled"}
    assert not wrong, "%s (%s)" % (case.name, case.about)
    damaged = all(case.expected(f)["source"].startswith("damaged:") for f in case.frameworks)
    if damaged:
        assert result.exit_code == 4, result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the location vectors are Linux's")
@pytest.mark.parametrize("case", harness.locations(), ids=lambda c: c["name"])
def test_reader_finds_the_files_where_the_vector_says(case, tmp_path):
    root = str(tmp_path)
    env = {k: harness.fill(v, root) for k, v in case["env"].items()}
    got = (consent.consent_path(env), consent.policy_path(env), consent.ledger_path(env))
    want = tuple(harness.fill(case[k], root) for k in ("consent_path", "policy_path", "ledger_path"))
    assert got == want, case["about"]
