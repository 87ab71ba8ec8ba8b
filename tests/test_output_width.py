"""Human tables fit the terminal they are shown on, and carry no padding when piped."""

import io

import pytest

from usagectl.core.environment import Environment
from usagectl.main import execute


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run(argv, stdout, columns=None):
    import os

    environ = dict(os.environ)
    if columns is not None:
        environ["COLUMNS"] = str(columns)
    err = io.StringIO()
    code = execute(argv, Environment(environ=environ, stdout=stdout, stderr=err, argv=argv))
    assert code == 0, err.getvalue()
    return stdout.getvalue()


@pytest.mark.parametrize("argv", [["status"], ["history"]])
@pytest.mark.parametrize("columns", [40, 80, 120])
def test_tables_fit_the_terminal(argv, columns):
    assert execute(["disable"], Environment(stdout=io.StringIO(), stderr=io.StringIO())) == 0
    text = run(argv, Terminal(), columns)
    assert text.strip()
    for line in text.splitlines():
        assert len(line) <= columns, (columns, line)
        assert line == line.rstrip()


def test_a_pipe_gets_one_line_per_framework_without_padding():
    assert execute(["disable"], Environment(stdout=io.StringIO(), stderr=io.StringIO())) == 0
    text = run(["status"], io.StringIO(), columns=40)   # COLUMNS is for terminals only
    lines = text.splitlines()
    assert lines[0].startswith("FRAMEWORK ") and len(lines) == 5
    assert all(line == line.rstrip() for line in lines)
