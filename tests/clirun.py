"""Run the real `usagectl` entry point in a subprocess, as a user would.

Shared by the `cli` fixture (conftest.py) and test helpers: a subprocess, not
CliRunner, so exit codes, stdout/stderr separation and error handling are exactly
what a user sees. The environment is the test's isolated os.environ plus ``env``
(a value of None removes a variable).
"""

import json
import os
import subprocess
import sys


class CLIResult:
    def __init__(self, proc):
        self.exit_code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def json(self):
        return json.loads(self.stdout)

    def __repr__(self):
        return "CLIResult(exit=%d, stdout=%r, stderr=%r)" % (self.exit_code, self.stdout[-3000:],
                                                              self.stderr[-3000:])


def environment(extra=None):
    environ = dict(os.environ)
    for key, value in (extra or {}).items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return environ


def command(*args):
    return [sys.executable, "-m", "usagectl", *args]


def run_usagectl(*args, env=None, input=None, timeout=90):
    proc = subprocess.run(command(*args), capture_output=True, text=True, env=environment(env),
                          input=input, timeout=timeout)
    return CLIResult(proc)


def run_in_terminal(*args, answers="", env=None, timeout=90, on_prompt=False):
    """Run usagectl with a pseudo-terminal as its stdin and controlling terminal, as a
    person at a keyboard would; ``answers`` are the lines they type. stdout and stderr
    stay pipes, so they can be read apart.

    With ``on_prompt`` each line is typed only once a prompt (text ending in ": ") has
    appeared on the terminal: hidden-input prompts (getpass) flush what was typed ahead.
    """
    import fcntl
    import select
    import termios
    import time

    master, slave = os.openpty()

    def take_terminal():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(command(*args), stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=environment(env), text=True,
                            preexec_fn=take_terminal)
    os.close(slave)
    try:
        if on_prompt:
            deadline = time.monotonic() + timeout
            for line in answers.splitlines(keepends=True):
                seen = b""
                while not seen.rstrip(b" ").endswith(b":") and time.monotonic() < deadline:
                    ready, _, _ = select.select([master], [], [], 0.1)
                    if ready:
                        try:
                            seen += os.read(master, 4096)
                        except OSError:
                            break
                time.sleep(0.05)  # let the prompt switch echo off before the line arrives
                os.write(master, line.encode())
        else:
            os.write(master, answers.encode())
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return CLIResult(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))


def run_in_process(*args, env=None, stdin="", input=None, timeout=None):
    """The whole command line in this process (usagectl.main.execute), with its own
    Environment: fast, and the streams are read exactly as a user's terminal gets them.

    ``env`` changes os.environ for the duration too (a value of None removes a
    variable), since libraries usagectl calls (keyring) read it directly; ``input`` is
    standard input's text, as for run_usagectl. ``timeout`` is accepted for the same
    signature and not enforced.
    """
    import io

    from usagectl.core.environment import Environment
    from usagectl.main import execute

    text = stdin if input is None else input
    saved = {key: os.environ.get(key) for key in (env or {})}
    saved_stdin = sys.stdin
    try:
        for key, value in (env or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        out, err = io.StringIO(), io.StringIO()
        sys.stdin = io.StringIO(text)
        code = execute(list(args), Environment(environ=dict(os.environ), stdout=out, stderr=err,
                                               stdin=sys.stdin, argv=list(args)))
    finally:
        sys.stdin = saved_stdin
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return CLIResult(subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue()))
