"""Credentials through a real keyring backend (keyrings.alt), the fail backend, and a hung one."""

import email
import json
import os
import subprocess
import sys
import time
from email import policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "deletion"))
from servers import CertAuthority, SmtpServer, install_ray_session  # noqa: E402
from support import cli_env, ledger_text, run_cli, smtp_consent, write_settings  # noqa: E402

FIXTURE_DIR = str(Path(__file__).resolve().parent / "fixtures" / "deletion")
PLAINTEXT = {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
FAIL = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
SECRET = "kr-pw-5a1d0e!x"


def _keyring_get(name):
    """Ask the keyring package itself, in a fresh process with the same isolated home."""
    code = "import keyring; print(keyring.get_password('usagectl', %r))" % name
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=cli_env(PLAINTEXT))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_smtp_password_stored_and_used_through_a_real_keyring_and_never_shown(tmp_path):
    stored = run_cli("credentials", "set", "smtp", "--stdin", input=SECRET + "\n", env=PLAINTEXT)
    assert stored.exit_code == 0, stored
    assert _keyring_get("smtp") == SECRET
    keyring_file = Path(os.environ["XDG_DATA_HOME"]) / "python_keyring" / "keyring_pass.cfg"
    assert keyring_file.is_file()  # inside the isolated home, nowhere else

    status = run_cli("credentials", "status", "--json", env=PLAINTEXT)
    assert status.exit_code == 0, status
    rows = {row["name"]: row for row in status.json()["data"]["credentials"]}
    assert rows["smtp"]["source"] == "keyring"
    assert rows["http"]["source"] is None
    assert status.json()["data"]["backend"] == "keyrings.alt.file.PlaintextKeyring"

    install_ray_session(os.environ["TMPDIR"])
    ca = CertAuthority(str(tmp_path))
    with SmtpServer(tls_cert=ca.server_cert, password=SECRET) as server:
        write_settings(smtp_consent(server.port, ca.cafile))
        sent = run_cli("request-deletion", "ray", "--via", "email", "--yes", "--json", env=PLAINTEXT)
        assert sent.exit_code == 0, sent
        assert server.recorder.logins == [("alice", SECRET)]  # read back from the keyring
        message = email.message_from_bytes(server.recorder.messages[0], policy=policy.default)
    assert SECRET not in message.as_string()
    listed = run_cli("request-deletion", "--status", "--json", env=PLAINTEXT)
    for result in (stored, status, sent, listed):
        assert SECRET not in result.stdout
        assert SECRET not in result.stderr
    assert json.loads(sent.stdout)["data"]["requests"][0]["status"] == "sent"
    assert SECRET not in ledger_text()

    deleted = run_cli("credentials", "delete", "smtp", env=PLAINTEXT)
    assert deleted.exit_code == 0, deleted
    assert _keyring_get("smtp") == "None"


def test_prompt_reads_hidden_input_twice(tmp_path):
    from clirun import run_in_terminal

    piped = run_cli("credentials", "set", "http", input="tok-1\ntok-1\n", env=PLAINTEXT)
    assert piped.exit_code == 2 and "--stdin" in piped.stderr, piped
    assert _keyring_get("http") == "None"
    result = run_in_terminal("credentials", "set", "http", answers="tok-1\ntok-1\n", env=PLAINTEXT,
                             on_prompt=True, timeout=30)
    assert result.exit_code == 0, result
    assert "tok-1" not in result.stdout + result.stderr
    assert _keyring_get("http") == "tok-1"


def test_headless_fail_backend_explains_and_accepts_the_env_var(tmp_path):
    result = run_cli("credentials", "set", "smtp", "--stdin", input=SECRET + "\n", env=FAIL)
    assert result.exit_code == 1, result
    assert "Traceback" not in result.stderr
    assert "no OS keyring is available" in result.stderr
    assert "keyrings.alt" in result.stderr and "USAGECTL_SMTP_PASSWORD" in result.stderr
    assert SECRET not in result.stdout + result.stderr

    status = run_cli("credentials", "status", "--json", env=dict(FAIL, USAGECTL_SMTP_PASSWORD=SECRET))
    assert status.exit_code == 0, status
    data = status.json()["data"]
    assert data["backend"] is None
    rows = {row["name"]: row for row in data["credentials"]}
    assert rows["smtp"]["source"] == "env:USAGECTL_SMTP_PASSWORD"
    assert SECRET not in status.stdout + status.stderr

    install_ray_session(os.environ["TMPDIR"])
    ca = CertAuthority(str(tmp_path))
    with SmtpServer(tls_cert=ca.server_cert, password=SECRET) as server:
        write_settings(smtp_consent(server.port, ca.cafile))
        missing = run_cli("request-deletion", "ray", "--via", "email", "--yes", env=FAIL)
        assert missing.exit_code == 1, missing
        assert "Traceback" not in missing.stderr
        assert "no OS keyring is available" in missing.stderr
        assert "USAGECTL_SMTP_PASSWORD" in missing.stderr
        assert server.recorder.auth_attempts == 0 and server.recorder.messages == []

        fallback = run_cli("request-deletion", "ray", "--via", "email", "--yes",
                           env=dict(FAIL, USAGECTL_SMTP_PASSWORD=SECRET))
        assert fallback.exit_code == 0, fallback
        assert server.recorder.logins == [("alice", SECRET)]
        assert len(server.recorder.messages) == 1
    assert SECRET not in fallback.stdout + fallback.stderr + ledger_text()


def test_hung_keyring_is_abandoned_after_the_timeout():
    env = {"PYTHON_KEYRING_BACKEND": "hung_keyring.HungKeyring", "PYTHONPATH": FIXTURE_DIR,
           "USAGECTL_KEYRING_TIMEOUT": "1"}
    start = time.monotonic()
    result = run_cli("credentials", "set", "smtp", "--stdin", input="x\n", env=env, timeout=30)
    elapsed = time.monotonic() - start
    assert result.exit_code == 1, result
    assert "did not answer within 1 s" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 15
