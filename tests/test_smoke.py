def test_disable_then_status_json_all_off(cli):
    assert cli("disable").exit_code == 0
    result = cli("status", "--json")
    assert result.exit_code == 0, result
    rows = {row["framework"]: row for row in result.json()["data"]["frameworks"]}
    assert set(rows) >= {"ray", "parsl", "bacalhau", "coiled"}
    for name in ("ray", "parsl", "bacalhau", "coiled"):
        assert rows[name]["mode"] == "off"
        assert rows[name]["source"] == "consent:default"


def test_bare_usagectl_prints_the_help_not_a_folded_error(cli):
    """#25: `usagectl` alone printed the whole help folded onto one "error:" line, exit 2."""
    bare = cli()
    assert bare.exit_code == 0 and bare.stderr == ""
    assert bare.stdout.startswith("Usage: usagectl [OPTIONS] COMMAND")
    assert "\nCommands:\n" in bare.stdout and "  status " in bare.stdout
