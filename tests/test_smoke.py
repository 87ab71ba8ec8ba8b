def test_disable_then_status_json_all_off(cli):
    assert cli("disable").exit_code == 0
    result = cli("status", "--json")
    assert result.exit_code == 0, result
    rows = {row["framework"]: row for row in result.json()["data"]["frameworks"]}
    assert set(rows) >= {"ray", "parsl", "bacalhau", "coiled"}
    for name in ("ray", "parsl", "bacalhau", "coiled"):
        assert rows[name]["mode"] == "off"
        assert rows[name]["source"] == "consent:default"
