"""The Ansible role (ansible/roles/usagectl) run by real ansible-core against a sandbox:
two local "hosts", each with its own user HOME and a scratch root for the policy path.
The policy lands, sync and verify run, the envelopes come back to the controller, a
drifted host makes an audit play fail, and `usagectl fleet` lists each host's verdict."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PLAYBOOK = """\
- hosts: all
  gather_facts: false
  roles:
    - role: usagectl
"""

pytestmark = pytest.mark.slow


def _ansible_playbook():
    found = shutil.which("ansible-playbook", path=os.path.dirname(sys.executable))
    if not found:
        pytest.fail("ansible-core is in the test extra: ansible-playbook should be next to %s" % sys.executable)
    return found


@pytest.fixture
def sandbox(tmp_path):
    hosts = {}
    for host, user in (("alpha", "alice"), ("beta", "bob")):
        root = tmp_path / host
        home = root / "home" / user
        home.mkdir(parents=True)
        hosts[host] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "usagectl_install": False,
            "usagectl_bin": os.path.join(os.path.dirname(sys.executable), "usagectl"),
            # The role always runs a user's tasks as that user (become_user). These users
            # are root with a sandbox home root owns, reached with su (no sudo here).
            "ansible_become_method": "su",
            # The sandbox's interpreter has Parsl but not the runtime hook, so verify says
            # Parsl is unknown (not enforced), never a pass: the play allows that here.
            "usagectl_allow_unknown": True,
            "usagectl_users": [{"name": "root", "home": str(home), "label": user}],
            "usagectl_policy_path": str(root / "etc" / "xdg" / "usagectl" / "policy.toml"),
            "usagectl_envelopes_dir": str(tmp_path / "envelopes"),
        }
        (root / "etc" / "xdg" / "usagectl").mkdir(parents=True)
    (tmp_path / "envelopes").mkdir()
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    controller = tmp_path / "controller"
    controller.mkdir()
    # The playbook's own environment: nothing of the test's usagectl dirs (each user's
    # HOME decides), Ansible's files under the sandbox.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("USAGECTL_", "XDG_"))}
    env.update({"HOME": str(controller), "ANSIBLE_ROLES_PATH": str(ROOT / "ansible" / "roles"),
                "ANSIBLE_LOCAL_TEMP": str(controller / "tmp"), "ANSIBLE_REMOTE_TEMP": str(controller / "rtmp"),
                "ANSIBLE_HOME": str(controller / "ansible"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_LOCALHOST_WARNING": "0"})

    def play(*extra):
        return subprocess.run([_ansible_playbook(), "-i", str(inventory), str(playbook), *extra],
                              capture_output=True, text=True, env=env, timeout=600)

    return {"play": play, "hosts": hosts, "tmp": tmp_path, "env": env}


def _fleet(sandbox):
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "usagectl"), "fleet", "--json",
                           str(sandbox["tmp"] / "envelopes")], capture_output=True, text=True,
                          env=sandbox["env"], timeout=120)
    return proc.returncode, {r["host"]: r for r in json.loads(proc.stdout)["data"]["hosts"]}


def test_the_role_places_the_policy_syncs_verifies_and_a_drifted_host_fails(sandbox):
    from usagectl import consent

    first = sandbox["play"]()
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    for host, hostvars in sandbox["hosts"].items():
        policy = consent.read_policy(hostvars["usagectl_policy_path"])
        assert policy.problem is None and policy.default.mode == "off", host
        home = pathlib.Path(hostvars["usagectl_users"][0]["home"])
        # The user never ran usagectl: the role's sync wrote Ray's own switch off.
        assert json.loads((home / ".ray" / "config.json").read_text())["usage_stats"] is False
    code, rows = _fleet(sandbox)
    assert code == 7, rows  # unknown (Parsl not enforced) is never a pass
    assert {h: r["verdict"] for h, r in rows.items()} == {"alpha-root": "unknown", "beta-root": "unknown"}, rows
    assert all(r["unknown"] == ["parsl settings"] for r in rows.values()), rows

    # beta drifts: Ray's own file flipped back on by hand. An audit play (no sync) fails there.
    beta_home = pathlib.Path(sandbox["hosts"]["beta"]["usagectl_users"][0]["home"])
    (beta_home / ".ray" / "config.json").write_text('{"usage_stats": true}')
    audit = sandbox["play"]("-e", "usagectl_enforce=false")
    assert audit.returncode != 0, audit.stdout[-4000:]
    assert "usagectl verify for root on beta exited 5" in audit.stdout, audit.stdout[-4000:]
    recap = {line.split()[0]: line for line in audit.stdout.splitlines() if "ok=" in line and "failed=" in line}
    assert "failed=0" in recap["alpha"] and "failed=1" in recap["beta"], recap
    code, rows = _fleet(sandbox)
    assert code == 5
    assert {h: r["verdict"] for h, r in rows.items()} == {"alpha-root": "unknown", "beta-root": "fail"}
    assert any("ray" in item for item in rows["beta-root"]["failing"]), rows["beta-root"]

    # The enforcing play repairs the drift and passes again.
    again = sandbox["play"]()
    assert again.returncode == 0, again.stdout[-4000:]
    assert _fleet(sandbox)[0] == 7
