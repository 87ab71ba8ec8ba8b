"""One judgment per framework (#24): status, verify, sync and preview never disagree.

Each state below is built in the isolated home; in it, every command's verdict for every
framework is rendered from its own output (status's row, verify's `settings` check,
sync's `not_repaired` and what status says after it, preview's headline) and the
verdicts are compared.
A disagreement is a command judging on its own again.
"""

import json
import os

import pytest


def _later_dask_file(home):
    path = os.path.join(home, ".config", "dask", "zzz-mine.yaml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("coiled:\n  analytics:\n    disabled: false\n")


def _ray_on(home):
    os.makedirs(os.path.join(home, ".ray"), exist_ok=True)
    with open(os.path.join(home, ".ray", "config.json"), "w") as handle:
        json.dump({"usage_stats": True}, handle)


#: name -> (commands run first, a change to the home, extra environment)
STATES = {
    "off-everywhere": (["disable"], None, {}),
    "ray-file-on": (["disable", "--consent-only"], _ray_on, {}),
    "ray-variable-on": (["disable"], None, {"RAY_USAGE_STATS_ENABLED": "1"}),
    "dask-file-after-ours": (["disable"], _later_dask_file, {}),
    "unset": ([], None, {}),
    "on": (["enable"], None, {}),
}


def _status_verdicts(result):
    """framework -> pass | fail | unknown, from status's rows as a script reads them."""
    verdicts = {}
    for row in result.json()["data"]["frameworks"]:
        if row["mode"] not in ("off", "local"):
            verdicts[row["framework"]] = "pass"
        elif row["drift"]:
            verdicts[row["framework"]] = "fail"
        elif row.get("enforced") is False or (row.get("enforced") is None
                                              and (row.get("native") or {}).get("mode") not in ("off", "local")):
            verdicts[row["framework"]] = "unknown"
        else:
            verdicts[row["framework"]] = "pass"
    return verdicts


def _verify_verdicts(result):
    return {c["framework"]: c["status"] for c in result.json()["data"]["checks"] if c["check"] == "settings"}


@pytest.mark.frameworks
@pytest.mark.slow
@pytest.mark.parametrize("state", sorted(STATES))
def test_status_verify_and_sync_render_one_judgment(cli, isolated_home, monkeypatch, state):
    commands, change, extra = STATES[state]
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    if commands:
        assert cli(*commands).exit_code == 0
    if change is not None:
        change(str(isolated_home))
    status = _status_verdicts(cli("status", "--json"))
    verify = _verify_verdicts(cli("verify", "--json"))
    disagreements = {name: (status[name], verify.get(name)) for name in status if status[name] != verify.get(name)}
    assert disagreements == {}, disagreements
    # preview's headline: what status calls drift is what preview says will be sent ("on").
    restricting = {row["framework"] for row in cli("status", "--json").json()["data"]["frameworks"]
                   if row["mode"] in ("off", "local")}
    preview = {item["framework"]: item["effective"] for item in cli("preview", "--json").json()["data"]["frameworks"]}
    headline = {name: (status[name], preview.get(name)) for name in restricting
                if (status[name] == "fail") != (preview.get(name) == "on")}
    assert headline == {}, headline

    synced = cli("sync", "--json")
    after = cli("status", "--json")
    left = {item["framework"] for item in synced.json()["data"]["not_repaired"]}
    still = {row["framework"] for row in after.json()["data"]["frameworks"] if row["drift"]}
    assert left == still, (left, still)
    assert synced.exit_code == (9 if left else 0), synced
    # What sync repaired is what status called drift and sync could reach.
    assert still <= {name for name, verdict in status.items() if verdict == "fail"}


@pytest.mark.frameworks
def test_verify_never_passes_what_status_calls_not_enforced(cli):
    """#24 case 2: without the hook, status says Parsl is NOT ENFORCED (scripts pick their
    level); verify's settings check was a pass. Now it is unknown (exit 7), with the fix."""
    assert cli("disable").exit_code == 0
    (row,) = cli("status", "parsl", "--json").json()["data"]["frameworks"]
    assert row["enforced"] is False
    result = cli("verify", "parsl", "--json")
    (settings,) = [c for c in result.json()["data"]["checks"] if c["check"] == "settings"]
    assert settings["status"] == "unknown" and "not enforced" in settings["summary"]
    assert settings["fix"].startswith("usagectl hook install")
    assert result.exit_code == 7, result
    assert cli("verify", "parsl", "--allow-unknown").exit_code == 0
