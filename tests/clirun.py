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
