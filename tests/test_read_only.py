"""Read-only commands never write: not the consent file, not the frameworks' files, not caches."""

import os

import pytest

READ_ONLY = [
    ("status",), ("status", "--json"), ("history",), ("env",), ("show-last",), ("show-last", "--json"),
    ("preview", "--json"), ("verify", "--json"), ("request-deletion", "--list-ids"),
    ("request-deletion", "--status"), ("hook", "status"), ("credentials", "status"),
]


def snapshot(*roots):
    found = {}
    for root in roots:
        for directory, _, files in os.walk(root):
            found[directory] = None
            for name in files:
                path = os.path.join(directory, name)
                with open(path, "rb") as handle:
                    found[path] = (os.stat(path).st_mtime_ns, handle.read())
    return found


@pytest.mark.frameworks
@pytest.mark.parametrize("damaged", [False, True], ids=["healthy", "damaged-consent-file"])
def test_read_only_commands_leave_every_file_alone(cli, isolated_home, tmp_path, consent_file, damaged):
    assert cli("disable").exit_code == 0
    if damaged:
        consent_file.write_bytes(b'schema = 1\n[default]\nmode = "of')
    before = snapshot(isolated_home, os.environ["TMPDIR"], tmp_path / "etc")
    for args in READ_ONLY:
        result = cli(*args)
        assert "Traceback" not in result.stderr, (args, result)
    assert snapshot(isolated_home, os.environ["TMPDIR"], tmp_path / "etc") == before
