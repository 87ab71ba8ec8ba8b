"""`usagectl --system`: the administrator's policy and system-wide settings.

The end-to-end test runs in a mount namespace whose /etc is a scratch copy (bind
mounted over the real one, so nothing of the machine's /etc changes), with a scratch
"system interpreter": root runs `usagectl --system disable` and `--system sync --python`,
then a user who never ran usagectl (a fresh HOME, no consent file, nothing of usagectl in
the environment) gets off from Ray's own code, from dask's own config and from the
hooked Parsl.
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile

import isolation
import pytest
from test_hook import make_venv

from usagectl import consent

USAGECTL = os.path.join(os.path.dirname(sys.executable), "usagectl")

USER_PROBE = """
import json, os
from types import SimpleNamespace
from ray._common.usage import usage_lib
import dask
from parsl.usage_tracking.usage import UsageTracker
level = UsageTracker.check_tracking_level(SimpleNamespace(config=SimpleNamespace(usage_tracking=3)))
print(json.dumps({"ray": usage_lib.usage_stats_enabled(), "parsl": level,
                  "dask": dask.config.get("coiled.analytics.disabled", None),
                  "consent_file": os.path.exists(os.path.expanduser("~/.config/usagectl/consent.toml"))}))
"""


@pytest.mark.frameworks
@pytest.mark.netns
@pytest.mark.slow
def test_a_user_who_never_ran_usagectl_gets_off_from_the_system_settings(tmp_path):
    isolation.require()
    scratch = tmp_path / "etc"
    # A copy of the machine's /etc to bind over it: the frameworks still find passwd,
    # hosts and the rest, and every write lands in the copy.
    subprocess.run(["cp", "-a", "/etc/.", str(scratch)], check=False, timeout=120)
    assert (scratch / "passwd").exists()
    system_python, _ = make_venv(tmp_path / "sys")
    admin, user = tmp_path / "root-home", tmp_path / "user-home"
    admin.mkdir()
    user.mkdir()
    temp = tempfile.mkdtemp(prefix="us-", dir="/tmp")
    probe = tmp_path / "probe.py"
    probe.write_text(USER_PROBE)
    base = "env -i PATH=/usr/bin:/bin TMPDIR=%s" % shlex.quote(temp)
    script = " && ".join([
        "mount --bind %s /etc" % shlex.quote(str(scratch)),
        "%s HOME=%s %s --system disable > %s 2>&1" % (base, shlex.quote(str(admin)), USAGECTL,
                                                      shlex.quote(str(tmp_path / "disable.out"))),
        "%s HOME=%s %s --system sync --python %s --json > %s" % (
            base, shlex.quote(str(admin)), USAGECTL, shlex.quote(system_python),
            shlex.quote(str(tmp_path / "sync.json"))),
        "%s HOME=%s %s --system status --json > %s" % (base, shlex.quote(str(admin)), USAGECTL,
                                                      shlex.quote(str(tmp_path / "status.json"))),
        "%s HOME=%s %s %s > %s" % (base, shlex.quote(str(user)), shlex.quote(system_python), shlex.quote(str(probe)),
                                   shlex.quote(str(tmp_path / "user.json"))),
        # The user may tighten, never loosen: enable is refused by the policy (exit 3).
        "(%s HOME=%s %s enable ray > /dev/null 2>&1; echo $? > %s)" % (base, shlex.quote(str(user)), USAGECTL,
                                                                     shlex.quote(str(tmp_path / "enable.rc"))),
    ])
    try:
        proc = subprocess.run(isolation.isolated_shell(script), capture_output=True, text=True, timeout=600)
    finally:
        import shutil

        shutil.rmtree(temp, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-3000:] + (tmp_path / "disable.out").read_text()[-2000:]
    got = json.loads((tmp_path / "user.json").read_text())
    assert got == {"ray": False, "parsl": 0, "dask": True, "consent_file": False}, got
    assert (tmp_path / "enable.rc").read_text().strip() == "3"
    # What landed, in the scratch /etc only.
    policy = consent.read_policy(str(scratch / "xdg" / "usagectl" / "policy.toml"))
    assert policy.problem is None and policy.default.mode == "off"
    assert (scratch / "dask" / "zz-usagectl.yaml").exists()
    assert not os.path.exists("/etc/dask/zz-usagectl.yaml")  # the machine's own /etc: untouched
    assert not os.path.exists("/etc/xdg/usagectl/policy.toml")
    rows = {r["framework"]: r for r in json.loads((tmp_path / "status.json").read_text())["data"]["frameworks"]}
    assert {n: r["everyone"] for n, r in rows.items()} == {"ray": "off", "parsl": "off", "bacalhau": "off",
                                                           "coiled": "off"}
    hooks = [item["hook"] for item in json.loads((tmp_path / "sync.json").read_text())["data"]["applied"]
             if "hook" in item]
    assert hooks and hooks[0]["active"] is True


def test_system_mode_writes_only_under_the_system_root(cli, env, tmp_path):
    root = env.environ["USAGECTL_SYSTEM_ROOT"]
    units = os.path.join(root, "lib", "systemd", "system")
    os.makedirs(units)
    with open(os.path.join(units, "bacalhau-node.service"), "w") as handle:
        handle.write("[Unit]\nDescription=x\n[Service]\nExecStart=/usr/local/bin/bacalhau serve --orchestrator\n")
    with open(os.path.join(units, "other.service"), "w") as handle:
        handle.write("[Service]\nExecStart=/usr/bin/true\n")
    result = cli("--system", "disable", "--json")
    assert result.exit_code == 0, result
    dropin = os.path.join(root, "etc", "systemd", "system", "bacalhau-node.service.d", "usagectl.conf")
    text = open(dropin).read()
    assert 'Environment="BACALHAU_DISABLEANALYTICS=true"' in text
    assert not os.path.exists(os.path.join(root, "etc", "systemd", "system", "other.service.d"))
    dask_file = os.path.join(root, "etc", "dask", "zz-usagectl.yaml")
    assert os.stat(dask_file).st_mode & 0o777 == 0o644
    policy_path = env.environ["USAGECTL_POLICY_FILE"]
    assert os.stat(policy_path).st_mode & 0o777 == 0o644
    assert consent.read_policy(policy_path).default.mode == "off"
    # The user's own consent file is not touched by --system.
    assert not os.path.exists(env.consent_path)

    # Back on: the policy's ceiling goes, and so do the files usagectl wrote, only those.
    with open(os.path.join(root, "etc", "dask", "mine.yaml"), "w") as handle:
        handle.write("coiled: {analytics: {disabled: true}}\n")
    reset = cli("--system", "reset")
    assert reset.exit_code == 0
    # What it removed is said as removed, never as written (#21).
    assert "Removed %s (coiled)" % dask_file in reset.stdout and "Wrote" not in reset.stdout, reset.stdout
    assert not os.path.exists(dask_file) and not os.path.exists(dropin)
    assert os.path.exists(os.path.join(root, "etc", "dask", "mine.yaml"))
    assert consent.read_policy(policy_path).default is None


def test_status_system_shows_the_ceilings_and_users_can_only_tighten(cli, env):
    assert cli("--system", "local", "ray").exit_code == 0
    assert cli("--system", "enable", "parsl", "--level", "1").exit_code == 0
    rows = {r["framework"]: r for r in cli("--system", "status", "--json").json()["data"]["frameworks"]}
    assert (rows["ray"]["ceiling"], rows["ray"]["everyone"]) == ("local", "local")
    assert (rows["parsl"]["ceiling"], rows["parsl"]["level"]) == ("on", 1)
    assert cli("enable", "ray").exit_code == 3            # above the ceiling: refused
    assert cli("enable", "parsl", "--level", "2").exit_code == 3
    assert cli("disable", "ray").exit_code == 0           # tightening is always allowed
    human = cli("--system", "status").stdout
    assert "A NEW USER GETS" in human and "local" in human


def test_system_refuses_commands_it_has_no_form_for_and_a_damaged_policy(cli, env):
    wrong = cli("--system", "show-last")
    assert wrong.exit_code == 2 and "--system works with" in wrong.stderr
    with open(env.environ["USAGECTL_POLICY_FILE"], "w") as handle:
        handle.write("schema = 1\n[default]\nceiling = 'sometimes'\n")
    damaged = cli("--system", "disable", "ray")
    assert damaged.exit_code == 4 and "Traceback" not in damaged.stderr
    assert cli("--system", "disable", "ray", "--repair").exit_code == 0
    policy = consent.read_policy(env.environ["USAGECTL_POLICY_FILE"])
    assert policy.default.mode == "off" and policy.frameworks["ray"].mode == "off"
    assert cli("--system", "status").exit_code == 0


def test_without_root_and_without_a_scratch_root_system_mode_refuses(cli, env, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = cli("--system", "disable", env={"USAGECTL_SYSTEM_ROOT": None})
    assert result.exit_code == 1 and "run it as root" in result.stderr
