"""The project frame: README's two commands and CI running exactly the test one."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_starts_with_exactly_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[0] == "```sh" and lines[3] == "```"
    install, test = lines[1], lines[2]
    assert "pip install ." in install and install.endswith("usagectl status")
    assert "[test]" in test and "pytest" in test


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "sed -n '3p' README.md" in ci and 'eval "$test_command"' in ci
