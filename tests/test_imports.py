"""usagectl.consent is imported by frameworks: it must load nothing outside the stdlib."""

import json
import subprocess
import sys

import pytest

PROBE = r"""
import sys, json
before = set(sys.modules)
import usagectl.consent as c
d = c.decide("ray")
allowed = c.allowed("parsl", level=2)
new = sorted(set(sys.modules) - before)
print(json.dumps({"new": new, "mode": d.mode}))
"""


def _loaded(env_overrides=None):
    import os

    env = dict(os.environ)
    env.update(env_overrides or {})
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env,
                         timeout=60, check=True)
    return json.loads(out.stdout)


def _non_stdlib(modules):
    return sorted(m for m in modules
                  if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "usagectl")


@pytest.mark.parametrize("with_file", [False, True])
def test_consent_reader_loads_only_stdlib(consent_file, with_file):
    if with_file:
        consent_file.parent.mkdir(parents=True, exist_ok=True)
        consent_file.write_text('schema = 1\n[default]\nmode = "off"\n')
    result = _loaded()
    assert _non_stdlib(result["new"]) == []
    ours = sorted(m for m in result["new"] if m.split(".")[0] == "usagectl")
    # One module: the reader is one file (it is also published and vendored as such).
    assert ours == ["usagectl", "usagectl.consent"]
    assert result["mode"] == ("off" if with_file else "unset")
    # The usual file needs neither tomllib nor re (they cost more than Python's start).
    assert "tomllib" not in result["new"] and "re" not in result["new"]
    for heavy in ("click", "rich", "tomlkit", "keyring", "platformdirs"):
        assert heavy not in result["new"]


def test_cli_help_does_not_import_rich_or_tomlkit():
    probe = ("import sys, runpy\nsys.argv=['usagectl','status','--json']\n"
             "try:\n    runpy.run_module('usagectl', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "print('MODULES', sorted(m for m in sys.modules if m.split('.')[0] in "
             "('rich','tomlkit','keyring','ray','dask','parsl','coiled')), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    line = [text for text in out.stderr.splitlines() if text.startswith("MODULES")][0]
    assert line == "MODULES []", out.stderr


def _modules_after(argv, env_overrides=None):
    """The usagectl and YAML modules a real `usagectl ARGV` process ends up with."""
    import os

    probe = ("import sys, runpy\nsys.argv=['usagectl'] + %r\n"
             "try:\n    runpy.run_module('usagectl', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "print('MODULES', sorted(m for m in sys.modules if m.split('.')[0] in "
             "('usagectl', 'ruamel', 'yaml')), file=sys.stderr)" % (list(argv),))
    env = dict(os.environ)
    env.update(env_overrides or {})
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env)
    line = [text for text in out.stderr.splitlines() if text.startswith("MODULES")][0]
    return set(json.loads(line[len("MODULES "):].replace("'", '"')))


def test_status_reads_back_what_usagectl_wrote_without_a_yaml_library(cli, isolated_home):
    assert cli("disable").exit_code == 0          # writes ~/.bacalhau/config.yaml
    loaded = _modules_after(["status", "--json"])
    assert not any(m.split(".")[0] in ("ruamel", "yaml") for m in loaded), sorted(loaded)


def test_a_hand_edited_config_gets_the_real_parser(cli, isolated_home):
    assert cli("disable").exit_code == 0
    config = isolated_home / ".bacalhau" / "config.yaml"
    config.write_text(config.read_text() + "# edited by hand\n")
    loaded = _modules_after(["status", "--json"])
    assert "ruamel.yaml" in loaded


def test_a_command_loads_only_its_own_modules():
    loaded = _modules_after(["show-last", "parsl", "--json"])
    for other in ("usagectl.cli.verify", "usagectl.verify", "usagectl.deletion", "usagectl.cli.deletion",
                  "usagectl.watch", "usagectl.preview", "usagectl.cli.hook"):
        assert not any(m == other or m.startswith(other + ".") for m in loaded), (other, sorted(loaded))
    assert "usagectl.cli.show_last" in loaded
