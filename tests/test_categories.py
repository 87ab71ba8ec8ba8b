"""Consent per category: `usagectl enable coiled --only metrics,events` and what follows.

The entry it writes is `mode = "local"` plus `send = [...]` (docs/consent-file.md), so a
reader that predates categories sends nothing. Every claim here is checked against
the consent file usagectl writes, against dask's own config resolution in a fresh
interpreter, and against usagectl's own status, verify, env, export and preview.
"""

import json
import os
import subprocess
import sys
import tomllib

import pytest

from usagectl import consent
from usagectl.core.categories import judge, judge_mode
from usagectl.frameworks.coiled import framework as coiled_adapter

CATEGORY_OF = {key: name for name, key, _about in coiled_adapter.CATEGORY_KEYS}
KEYS = [key for key, _ in coiled_adapter.OFF_VALUES]
OFF = dict(coiled_adapter.OFF_VALUES)
MISSING = "<missing>"

_DASK = r"""
import json, sys
import dask.config, coiled
dask.config.refresh()
print(json.dumps({k: dask.config.get(k, "<missing>") for k in json.loads(sys.argv[1])}))
"""


def dask_says(extra_env=None):
    """Every analytics key as dask itself resolves it in a fresh interpreter."""
    environ = dict(os.environ, **(extra_env or {}))
    proc = subprocess.run([sys.executable, "-c", _DASK, json.dumps(KEYS)], env=environ,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def entry(consent_file, name="coiled"):
    return tomllib.loads(consent_file.read_text())["frameworks"][name]


# ---------------------------------------------------------------------------
# Recording the choice


def test_only_writes_local_with_the_categories_sealed(cli, consent_file, env):
    result = cli("enable", "coiled", "--only", "Metrics, events")
    assert result.exit_code == 0, result
    assert entry(consent_file) == {"mode": "local", "send": ["events", "metrics"],
                                   "changed": entry(consent_file)["changed"]}
    text = consent_file.read_text()
    assert text.startswith(consent.SEALED_PREFIX) and text.rstrip().endswith(consent.END_LINE)
    decision = consent.decide("coiled", environ=env.environ)
    assert (decision.mode, decision.send) == ("local", ("events", "metrics"))
    assert "coiled: unset -> local, sending only events, metrics" in result.stdout
    # A reader that knows nothing of categories sees local: it sends nothing.
    assert not consent.allowed("coiled", environ=env.environ)
    assert consent.allowed("coiled", category="metrics", environ=env.environ)
    assert not consent.allowed("coiled", category="code", environ=env.environ)


def test_except_allows_every_category_but_those(cli, consent_file):
    assert cli("enable", "coiled", "--except", "code,profiles").exit_code == 0
    assert entry(consent_file)["send"] == ["client-events", "events", "metrics", "spans"]


def test_the_same_choice_twice_changes_nothing_and_a_new_one_keeps_history(cli, consent_file, env):
    assert cli("enable", "coiled", "--only", "metrics").exit_code == 0
    before = consent_file.read_bytes()
    again = cli("enable", "coiled", "--only", "metrics")
    assert again.exit_code == 0 and consent_file.read_bytes() == before
    assert "Nothing to change" in again.stdout
    assert cli("enable", "coiled", "--only", "metrics,code").exit_code == 0
    assert cli("enable", "coiled").exit_code == 0
    assert "send" not in entry(consent_file)  # plain on: every category, no list
    lines = [json.loads(line) for line in open(env.history_path)]
    assert [(r.get("from_send"), r.get("send")) for r in lines] == [
        (None, ["metrics"]), (["metrics"], ["code", "metrics"]), (["code", "metrics"], None)]
    shown = cli("history").stdout
    assert "local, sending only metrics -> local, sending only code, metrics" in shown


def test_local_and_disable_drop_the_list(cli, consent_file):
    assert cli("enable", "coiled", "--only", "metrics").exit_code == 0
    assert cli("local", "coiled").exit_code == 0
    assert entry(consent_file) == {"mode": "local", "changed": entry(consent_file)["changed"]}
    assert cli("enable", "coiled", "--only", "metrics").exit_code == 0
    assert cli("disable", "coiled").exit_code == 0
    assert "send" not in entry(consent_file)


@pytest.mark.parametrize("argv, words", [
    (["enable", "ray", "--only", "metrics"], "ray has no categories that can be allowed one by one"),
    (["enable", "coiled", "--only", "metrics,bogus"], "coiled has no category 'bogus'"),
    (["enable", "--only", "metrics"], "--only needs a FRAMEWORK"),
    (["enable", "coiled", "--only", "metrics", "--except", "code"], "can't be used together"),
    (["enable", "coiled", "--only", "a b"], "give category names separated by commas"),
    (["enable", "my-tool", "--any-name", "--except", "x"], "--except needs my-tool's categories"),
])
def test_bad_categories_are_one_line_errors_that_write_nothing(cli, consent_file, argv, words):
    result = cli(*argv)
    assert result.exit_code == 2, result
    assert words in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not consent_file.exists()


def test_a_framework_usagectl_does_not_know_takes_its_own_names(cli, consent_file):
    assert cli("enable", "my-tool", "--any-name", "--only", "crash-reports").exit_code == 0
    assert entry(consent_file, "my-tool")["send"] == ["crash-reports"]


# ---------------------------------------------------------------------------
# The system policy


def test_a_policy_list_caps_what_a_user_may_send(cli, policy_file, consent_file):
    policy_file.write_text('schema = 1\n[frameworks.coiled]\nceiling = "local"\nsend = ["metrics", "events"]\n')
    assert cli("enable", "coiled", "--only", "metrics").exit_code == 0
    refused = cli("enable", "coiled", "--only", "metrics,code")
    assert refused.exit_code == 3, refused
    assert "coiled is capped at local, sending only events, metrics" in refused.stderr
    assert "--only events,metrics" in refused.stderr
    assert cli("enable", "coiled").exit_code == 3
    assert entry(consent_file)["send"] == ["metrics"]


def test_system_enable_only_writes_a_policy_list(cli, env):
    from usagectl.core import system

    if os.geteuid() != 0:
        pytest.skip("--system needs root (the test runs in a sandbox root, never /etc)")
    result = cli("--system", "enable", "coiled", "--only", "metrics")
    assert result.exit_code == 0, result
    policy = consent.read_policy(env.policy_path)
    assert policy.problem is None
    assert (policy.frameworks["coiled"].mode, policy.frameworks["coiled"].send) == ("local", ("metrics",))
    assert system.system_path(env, "/etc/dask/zz-usagectl.yaml")


# ---------------------------------------------------------------------------
# Carried into dask's config: asked of dask itself


@pytest.mark.frameworks
def test_dask_itself_holds_back_exactly_what_consent_holds_back(cli):
    assert cli("enable", "coiled", "--only", "metrics,events").exit_code == 0
    values = dask_says()
    for key in KEYS:
        if CATEGORY_OF[key] in ("metrics", "events"):
            assert values[key] != OFF[key], key  # Coiled's own default applies: sent
        else:
            assert values[key] == OFF[key], key
    # Everything held back: the same file as plain local.
    assert cli("enable", "coiled", "--only", "profiles").exit_code == 0
    values = dask_says()
    assert values["coiled.analytics.disabled"] is True  # metrics held back: the plugin sends nothing


@pytest.mark.frameworks
def test_status_and_verify_judge_only_what_consent_holds_back(cli):
    assert cli("enable", "coiled", "--only", "metrics,events").exit_code == 0
    row = cli("status", "coiled", "--json").json()["data"]["frameworks"][0]
    assert (row["mode"], row["send"], row["drift"]) == ("local", ["events", "metrics"], False)
    assert row["native"]["mode"] == "off" and row["native"]["own_mode"] == "on"
    assert row["native"]["sending"] == ["metrics", "events"]
    assert "only metrics, events" in cli("status", "coiled").stdout
    # A category consent allows, turned on by hand: still no drift.
    allowed = cli("status", "coiled", "--json", env={"DASK_COILED__ANALYTICS__EVENTS__ALLOW": '["*"]'})
    assert allowed.json()["data"]["frameworks"][0]["drift"] is False
    # One it holds back: drift, naming the variable and the category.
    leaking = {"DASK_COILED__ANALYTICS__COMPUTATION__CODE__TRANSMIT": "True"}
    status = cli("status", "coiled", env=leaking)
    assert "DRIFT" in status.stdout
    assert "let through code, which consent holds back" in status.stderr
    assert "unset DASK_COILED__ANALYTICS__COMPUTATION__CODE__TRANSMIT" in status.stderr
    verify = cli("verify", "coiled", "--json", env=leaking)
    assert verify.exit_code == 5, verify
    failed = {c["check"] for c in verify.json()["data"]["checks"] if c["status"] == "fail"}
    assert {"settings", "own-code"} <= failed
    assert cli("verify", "coiled").exit_code == 0


def test_env_sets_only_the_held_back_keys(cli):
    assert cli("enable", "coiled", "--only", "metrics,events").exit_code == 0
    out = cli("env", "--shell", "bash").stdout
    assert "DASK_COILED__ANALYTICS__COMPUTATION__CODE__TRANSMIT=False" in out
    assert "DASK_COILED__ANALYTICS__DISABLED" not in out
    assert "DASK_COILED__ANALYTICS__EVENTS__ALLOW" not in out


@pytest.mark.frameworks
def test_export_dask_system_holds_back_the_same_keys(cli, tmp_path):
    assert cli("enable", "coiled", "--only", "metrics").exit_code == 0
    result = cli("export", "dask-system")
    assert result.exit_code == 0, result
    system_dir = tmp_path / "etc-dask"
    system_dir.mkdir()
    (system_dir / "zz-usagectl.yaml").write_text(result.stdout)
    values = dask_says({"DASK_ROOT_CONFIG": str(system_dir), "HOME": str(tmp_path / "nobody")})
    assert values["coiled.analytics.disabled"] is False
    assert all(values[k] == OFF[k] for k in KEYS if CATEGORY_OF[k] != "metrics")


@pytest.mark.frameworks
def test_preview_names_each_key_s_category_and_what_consent_says(cli):
    assert cli("enable", "coiled", "--only", "metrics,events").exit_code == 0
    item = cli("preview", "coiled", "--json").json()["data"]["frameworks"][0]
    by_key = {k["key"]: k for k in item["keys"]}
    assert by_key["coiled.analytics.disabled"]["consent"] == "allowed"
    assert by_key["coiled.analytics.computation.code.transmit"]["consent"] == "held back"
    assert by_key["coiled.analytics.computation.code.transmit"]["leaves"] is False
    assert {c["name"] for c in item["categories"]} == set(CATEGORY_OF.values())
    assert item["effective"] == "on"  # metrics and events leave, as the user allowed
    shown = cli("preview", "coiled").stdout
    assert "[code: consent holds it back]" in shown and "[metrics: consent allows it]" in shown


def test_the_fast_path_reads_every_partial_file_as_yaml_does():
    import itertools

    import yaml

    names = [name for name, _key, _about in coiled_adapter.CATEGORY_KEYS]
    for count in range(len(names)):
        for sending in itertools.combinations(names, count):
            decision = consent.Decision("coiled", "local", None, "x", "y", send=tuple(sorted(sending)))
            held = coiled_adapter.held_keys(decision)
            text = coiled_adapter.file_text(held, coiled_adapter._sending(decision))
            assert coiled_adapter._known_tree(text.encode()) == yaml.safe_load(text), sending
            # An edited value is not what usagectl wrote: parsed, never trusted by its header.
            if held:
                head, _, value = text.rstrip("\n").rpartition(": ")
                edited = "%s: %s\n" % (head, {"true": "false", "false": "true", "[]": '["*"]'}[value])
                assert coiled_adapter._known_tree(edited.encode()) is None


# ---------------------------------------------------------------------------
# The judge every engine uses


def test_judging_a_framework_against_a_send_list():
    narrowed = consent.Decision("coiled", "local", None, "x", "y", send=("metrics",))
    plain = consent.Decision("coiled", "local", None, "x", "y")
    assert judge_mode("on", {"metrics": "on", "code": "off"}, narrowed) == "off"
    assert judge_mode("on", {"metrics": "on", "code": "on"}, narrowed) == "on"
    assert judge_mode("on", {"metrics": "on", "code": "unknown"}, narrowed) == "unknown"
    assert judge_mode("on", {"metrics": "on", "code": "off"}, plain) == "on"  # no list: as it is
    assert judge_mode("on", None, narrowed) == "on"  # can't say per category: on stays on
    native = {"mode": "on", "source": "default", "detail": "d", "categories": {"metrics": "on", "code": "on"},
              "category_sources": {"code": "env:DASK_X"}}
    judged = judge(native, narrowed)
    assert (judged["mode"], judged["source"], judged["own_mode"]) == ("on", "env:DASK_X", "on")
    assert judge({"mode": "unknown", "categories": {"code": "on"}}, narrowed)["mode"] == "unknown"


def test_the_dockerfile_policy_caps_at_the_allowed_categories(cli, tmp_path):
    assert cli("enable", "coiled", "--only", "metrics").exit_code == 0
    result = cli("export", "dockerfile", "--json")
    assert result.exit_code == 0, result
    policy_text = result.json()["data"]["details"]["policy"]
    path = tmp_path / "policy.toml"
    path.write_text(policy_text)
    ceiling = consent.read_policy(str(path)).frameworks["coiled"]
    assert (ceiling.mode, ceiling.send) == ("local", ("metrics",))


def test_system_changes_are_in_the_policy_history_with_who_ran_them(cli, env):
    from usagectl.core import policy_store

    assert cli("--system", "disable", "ray").exit_code == 0
    assert cli("--system", "enable", "coiled", "--only", "metrics").exit_code == 0
    assert cli("--system", "enable", "coiled", "--only", "metrics").exit_code == 0  # no change: no line
    assert cli("--system", "enable", "coiled", "--only", "metrics,code").exit_code == 0
    lines = [json.loads(raw) for raw in open(policy_store.history_path(env))]
    assert [(r["entry"], r["from"], r["to"], r.get("from_send"), r.get("send")) for r in lines] == [
        ("ray", None, "off", None, None), ("coiled", None, "local", None, ["metrics"]),
        ("coiled", "local", "local", ["metrics"], ["code", "metrics"])]
    assert all(r["user"] and r["command"].startswith("usagectl --system ") for r in lines)
    assert oct(os.stat(policy_store.history_path(env)).st_mode & 0o777) == "0o644"  # as readable as the policy
    shown = cli("--system", "history")
    assert shown.exit_code == 0 and "local, sending only metrics -> local, sending only code, metrics" in shown.stdout
    assert "(by " in shown.stdout
    # A user's own history is not the system's.
    assert "coiled" not in cli("history").stdout


@pytest.mark.frameworks
def test_preview_and_verify_say_partly_on_under_a_send_list(cli):
    """#24 case 6: under --only metrics,events Coiled's own state is not "off" while the
    allowed categories flow: preview and verify say "partly on", naming them."""
    assert cli("enable", "coiled", "--only", "metrics,events").exit_code == 0
    first = cli("preview", "coiled").stdout.splitlines()[:3]
    assert first[0] == "Coiled/Dask: partly on (metrics, events)", first
    assert first[2].startswith("  Coiled/Dask's own state: partly on (metrics, events) - "), first
    checks = {c["check"]: c for c in cli("verify", "coiled", "--json").json()["data"]["checks"]}
    assert "partly on: metrics, events" in checks["model-agreement"]["summary"]
