"""Nothing usagectl reads may hang it, or a program the runtime hook runs in: a FIFO in
place of the consent file, the policy file or a framework's settings file is refused
before a byte is read (and the consent then means off)."""

import os
import subprocess
import sys

import pytest
from clirun import run_in_process


def fifo(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("which", ["consent", "policy"])
def test_a_fifo_consent_or_policy_file_is_off_at_once(env, which):
    from pathlib import Path

    path = fifo(Path(env.consent_path if which == "consent" else env.policy_path))
    code = ("import usagectl.consent as c; d = c.decide('ray'); print(d.mode, d.source)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20,
                          env=dict(os.environ))
    assert proc.stdout.split() == ["off", "damaged:%s" % which], proc
    result = run_in_process("status", "--json")
    assert result.exit_code == 4
    assert any("regular file" in w["message"] and w["file"] == str(path) for w in result.json()["warnings"])


def test_a_fifo_settings_file_is_refused_not_waited_on(isolated_home):
    assert run_in_process("disable").exit_code == 0
    config = isolated_home / ".bacalhau" / "config.yaml"
    config.unlink()
    fifo(config)
    result = run_in_process("sync", "bacalhau")
    assert result.exit_code == 6, result
    assert "not a regular" in result.stderr
    ray_config = isolated_home / ".ray" / "config.json"
    ray_config.unlink()
    fifo(ray_config)
    (row,) = run_in_process("status", "ray", "--json").json()["data"]["frameworks"]
    assert row["native"]["mode"] == "unknown"


def test_a_huge_consent_file_is_refused_fast(consent_file):
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    with open(consent_file, "wb") as handle:
        handle.write(b"schema = 1\n" + b"# padding\n" * 200_000)
    result = run_in_process("status", "--json")
    assert result.exit_code == 4
    assert any("more than" in w["message"] for w in result.json()["warnings"])


@pytest.mark.parametrize("name", ["settings.toml", "written.json", "places.jsonl"])
def test_the_files_usagectl_keeps_for_itself_never_block_either(env, isolated_home, name):
    """settings.toml (read by show-last, deletion, verify --run and the hook), written.json
    (read by every status) and places.jsonl (read for Parsl's logs): a FIFO is skipped."""
    from pathlib import Path

    assert run_in_process("disable").exit_code == 0
    directory = Path(env.settings_path).parent if name == "settings.toml" else Path(env.state_dir)
    target = directory / name
    if target.exists():
        target.unlink()
    fifo(target)
    for argv in (["status", "--json"], ["show-last", "parsl", "--json"], ["env"]):
        result = run_in_process(*argv)
        assert result.exit_code in (0, 4), (argv, result)
    # The hook's settings read, as Ray's import would trigger it.
    code = ("from usagectl.hook import runtime\nprint(runtime.setting('blackhole', 'ray'))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20,
                          env=dict(os.environ))
    assert proc.stdout.strip() == "None", proc
