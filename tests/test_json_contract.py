"""--json is a contract: every command, and every way it can fail (click's usage errors
included), prints exactly one envelope on stdout whose exit_code is the exit status."""

import json

import pytest
from clirun import run_in_process, run_usagectl

ENVELOPE_KEYS = {"schema", "tool", "version", "command", "ok", "exit_code", "data", "warnings", "error"}

# (argv, expected exit status)
SUCCEEDING = [
    (["status"], 0),
    (["status", "ray"], 0),
    (["disable"], 0),
    (["enable", "parsl", "--level", "2"], 0),
    (["local", "bacalhau"], 0),
    (["sync"], 0),
    (["env"], 0),
    (["env", "--shell", "zsh"], 0),
    (["env", "--shell", "bash"], 0),
    (["show-last"], 0),
    (["show-last", "ray", "-n", "3"], 0),
    (["verify", "bacalhau"], None),   # its verdict depends on the machine; the contract doesn't
    (["hook", "status"], 0),
    (["request-deletion", "ray", "--list-ids"], 0),
    (["request-deletion", "--status"], 0),
    (["history"], 0),
    (["history", "-n", "1"], 0),
    (["completion", "bash"], 0),
    (["export", "k8s-env"], 0),
    (["export", "--list"], 0),
    (["--system", "disable", "ray"], 0),
    (["--system", "status"], 0),
]

FAILING = [
    (["enable", "--level", "0"], 2),             # click's IntRange
    (["env", "--shell", "csh"], 2),              # click's Choice
    (["status", "--bogus"], 2),                  # unknown option
    (["frobnicate"], 2),                         # unknown command
    (["hook", "install", "--json", "--python"], 2),  # option without its value
    (["credentials", "set"], 2),                 # missing argument
    (["show-last", "--since", "nonsense"], 2),   # our own BadInput
    (["request-deletion"], 2),                   # no framework named
    (["completion", "tcsh"], 2),
    (["export", "ray-cluster"], 2),              # a patching format without its file
    (["fleet"], 2),                              # no envelopes named
    (["--system", "show-last"], 2),              # no administrator form
    (["--system", "history"], 0),                # the policy's history (none yet)
]


def check_envelope(result, argv, expected):
    try:
        envelope = json.loads(result.stdout)  # the whole of stdout: one document, nothing else
    except ValueError:
        pytest.fail("stdout of %s is not one JSON document: %r" % (argv, result.stdout[:500]))
    assert set(envelope) == ENVELOPE_KEYS, envelope
    assert envelope["exit_code"] == result.exit_code, (argv, envelope, result.stderr)
    assert envelope["ok"] == (result.exit_code == 0)
    assert envelope["tool"] == "usagectl"
    if expected is not None:
        assert result.exit_code == expected, (argv, result)
    assert "Traceback" not in result.stderr
    if envelope["error"] is not None:
        assert envelope["error"]["code"] == result.exit_code
        # Humans still get exactly one line that names the problem.
        assert len([line for line in result.stderr.splitlines()
                    if line.startswith("usagectl: error: ")]) == 1, result.stderr
    elif result.exit_code != 0:
        # A command that ran but found something wrong (a damaged file) says what, as warnings.
        assert envelope["warnings"], envelope
    return envelope


@pytest.mark.parametrize("argv, expected", SUCCEEDING + FAILING, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else str(v))
def test_every_command_prints_exactly_one_envelope(argv, expected):
    argv = argv if "--json" in argv else argv + ["--json"]
    check_envelope(run_in_process(*argv), argv, expected)


def test_usage_errors_name_the_command_and_say_where_help_is():
    envelope = check_envelope(run_in_process("enable", "--level", "0", "--json"), [], 2)
    assert envelope["command"] == "enable"
    assert envelope["error"]["kind"] == "usage"
    assert "--level" in envelope["error"]["message"]
    assert envelope["error"]["hint"] == "see `usagectl enable --help`"


def test_without_json_a_usage_error_is_one_line_on_stderr():
    result = run_in_process("env", "--shell", "csh")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "usagectl: error: Invalid value for '--shell': 'csh' is not one of 'sh', 'bash', 'zsh', "
        "'fish', 'powershell', 'dotenv'. (see `usagectl env --help`)"]


def test_damaged_consent_file_gives_its_code_in_the_envelope(consent_file):
    consent_file.parent.mkdir(parents=True, exist_ok=True)
    consent_file.write_bytes(b"\x00\xff not toml [[[")
    envelope = check_envelope(run_in_process("status", "--json"), [], 4)
    assert envelope["warnings"] and envelope["warnings"][0]["file"] == str(consent_file)


@pytest.mark.parametrize("argv", [["status", "--json"], ["enable", "--level", "0", "--json"],
                                  ["frobnicate", "--json"]])
def test_a_real_process_keeps_the_contract(argv):
    """A few end to end: the console entry point's exit status is the envelope's."""
    check_envelope(run_usagectl(*argv), argv, None)
