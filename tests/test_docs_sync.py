"""The committed man pages and completions are exactly what the click app generates.

When a command or a help text changes, regenerate with `python tools/docgen.py --write`
and commit man/ and completions/.
"""

import os
import shutil
import subprocess
import sys

import click
import docgen
import pytest

ROOT = docgen.repository_root()
REGENERATE = "run `python tools/docgen.py --write` and commit man/ and completions/"


def all_commands():
    ctx = docgen.root_context(docgen.root_command())
    return [(sub_ctx.command_path, sub_ctx) for sub_ctx in docgen.walk(ctx)]


def test_committed_files_match_the_click_app():
    rendered = docgen.render_all()
    stale = docgen.stale_files(ROOT, rendered)
    assert not stale, "generated files are stale: %s; %s" % (
        ", ".join("%s (%s)" % item for item in stale), REGENERATE)


def test_every_generated_file_is_committed_byte_for_byte():
    # The same comparison, file by file, so a failure shows which bytes differ.
    for path, data in docgen.render_all().items():
        full = os.path.join(ROOT, path)
        assert os.path.isfile(full), "%s is missing; %s" % (path, REGENERATE)
        with open(full, "rb") as handle:
            assert handle.read() == data, "%s differs; %s" % (path, REGENERATE)


def test_there_are_pages_for_the_group_and_each_command():
    pages = docgen.render_man_pages()
    names = {os.path.basename(p) for p in pages}
    assert "usagectl.1" in names
    commands = all_commands()
    assert len(commands) >= 5  # status, enable, disable, local, history at least
    for path, _ctx in commands:
        assert "-".join(path.split()) + ".1" in names, path


@pytest.mark.parametrize("path,ctx", all_commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_has_help_text_and_a_committed_page(path, ctx):
    assert (ctx.command.help or "").strip(), "%r has no help text (write a docstring)" % path
    assert docgen.short_help(ctx.command), path
    page = os.path.join(ROOT, docgen.MAN_DIR, docgen.page_name(ctx) + ".1")
    assert os.path.isfile(page), "no man page for %r; %s" % (path, REGENERATE)
    with open(page, encoding="utf-8") as handle:
        text = handle.read()
    # Every option the parser accepts is on the page.
    for param in ctx.command.get_params(ctx):
        for opt in getattr(param, "opts", []) if isinstance(param, click.Option) else []:
            assert docgen.escape(opt) in text, (path, opt)


def test_main_page_lists_commands_environment_and_exit_codes():
    from usagectl.core.exitcodes import ExitCode

    text = docgen.render_man_pages()[os.path.join(docgen.MAN_DIR, "usagectl.1")]
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "ENVIRONMENT", "FILES",
                    "EXIT STATUS", "SEE ALSO"):
        assert "\n.SH %s\n" % section in text
    for name in ("USAGECTL_CONFIG_DIR", "USAGECTL_STATE_DIR", "USAGECTL_POLICY_FILE",
                 "USAGECTL_DEBUG", "DO_NOT_TRACK", "NO_COLOR"):
        assert "\\fB%s\\fR" % name in text
    for code in ExitCode:
        assert "\\fB%d\\fR (%s)" % (code, code.name) in text
    for path, _ in all_commands():
        assert "\\fB%s\\fR" % docgen.escape(" ".join(path.split()[1:])) in text


def test_every_exit_code_is_described_by_its_comment():
    # The man page takes each description from the `#:` comment above the member in
    # usagectl/exitcodes.py; a member without one would get a made-up sentence.
    for _value, name, text in docgen.exit_statuses():
        if name != "OK":
            assert text != name.replace("_", " ").capitalize() + ".", (
                "ExitCode.%s has no `#:` comment in usagectl/exitcodes.py" % name)


def test_output_does_not_depend_on_the_environment(monkeypatch, tmp_path):
    before = docgen.render_all()
    monkeypatch.setenv("USAGECTL_CONFIG_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    assert docgen.render_all() == before


# Troff escaping ----------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    (".TH fake", "\\&.TH fake"),
    ("'quote", "\\(aqquote"),  # \(aq is not a control character
    ("back\\slash", "back\\eslash"),
    ("--json -h", "\\-\\-json \\-h"),
    ("`tick`", "\\(gatick\\(ga"),
    ("caf\u00e9 \u2264", "caf\\[u00E9] \\[u2264]"),
    ("bell\x07", "bell"),
])
def test_escape(text, expected):
    assert docgen.escape(text) == expected


def test_inline_sets_code_bold_and_protects_the_line_start():
    assert docgen.inline("see `usagectl status`") == "see \\fBusagectl status\\fR"
    assert docgen.inline(".x `y`").startswith("\\&.x")


def nested_app():
    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    def root():
        """The root.

        \b
        .leading dot stays text
          'and a quote'
        """

    @root.group()
    def hook():
        """Manage the runtime hook."""

    @hook.command("install")
    @click.option("--site", type=click.Path(), help="Where to install: a back\\slash path.")
    @click.argument("framework", type=click.Choice(["ray", "parsl"]))
    def install(site, framework):
        """Install the hook.\f

        Internal notes that must not reach the page.
        """

    @root.command(hidden=True)
    def secret():
        """Not for users."""

    return root


def test_nested_groups_and_hidden_commands():
    pages = docgen.render_man_pages(nested_app())
    names = sorted(os.path.basename(p) for p in pages)
    assert names == ["usagectl-hook-install.1", "usagectl-hook.1", "usagectl.1"]
    install = pages[os.path.join(docgen.MAN_DIR, "usagectl-hook-install.1")]
    assert "\\fBusagectl hook install\\fR [OPTIONS] {ray|parsl}" in install
    assert "\\fB\\-\\-site PATH\\fR" in install and "\\fB\\-h, \\-\\-help\\fR" in install
    assert "back\\eslash" in install
    assert "Internal notes" not in install
    assert "one of: ray, parsl" in install
    root = pages[os.path.join(docgen.MAN_DIR, "usagectl.1")]
    assert "\\&.leading dot stays text" in root and "\\fBhook install\\fR" in root


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff not installed")
@pytest.mark.parametrize("app", ["real", "nested"])
def test_pages_render_without_troff_warnings(app):
    pages = docgen.render_man_pages(nested_app() if app == "nested" else None)
    for path, text in pages.items():
        proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=text.encode(),
                              capture_output=True, timeout=30)
        assert proc.returncode == 0 and proc.stderr == b"", (path, proc.stderr)


# The command line of docgen itself -------------------------------------------------

def run_docgen(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "docgen.py"), *args], capture_output=True,
                          text=True, timeout=60)


def test_check_and_write_in_a_fresh_tree(tmp_path):
    proc = run_docgen("--check", "--root", str(tmp_path))
    assert proc.returncode == 1
    assert "stale: man/man1/usagectl.1 (missing)" in proc.stderr
    assert "python tools/docgen.py --write" in proc.stderr

    obsolete = tmp_path / "man" / "man1" / "usagectl-gone.1"
    obsolete.parent.mkdir(parents=True)
    obsolete.write_text("old\n")
    assert run_docgen("--write", "--root", str(tmp_path)).returncode == 0
    assert not obsolete.exists()
    proc = run_docgen("--check", "--root", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    for path, data in docgen.render_all().items():
        assert (tmp_path / path).read_bytes() == data

    (tmp_path / "completions" / "_usagectl").write_text("#compdef usagectl\n")
    proc = run_docgen("--check", "--root", str(tmp_path))
    assert proc.returncode == 1 and "completions/_usagectl (differs)" in proc.stderr


# Completions ------------------------------------------------------------------------

def test_completions_are_clicks_own_scripts():
    files = docgen.render_completions()
    assert "_USAGECTL_COMPLETE=bash_complete" in files["completions/usagectl.bash"]
    assert files["completions/_usagectl"].startswith("#compdef usagectl\n")
    assert "_USAGECTL_COMPLETE=fish_complete" in files["completions/usagectl.fish"]


@pytest.fixture
def usagectl_on_path(tmp_path):
    """A `usagectl` on PATH that runs this checkout's code with this interpreter."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "usagectl"
    script.write_text('#!/bin/sh\nexec "%s" -m usagectl "$@"\n' % sys.executable)
    script.chmod(0o755)
    return str(bindir) + os.pathsep + os.environ.get("PATH", "")


def bash_complete(path_env, *words):
    """COMPREPLY of the committed bash completion for `usagectl WORDS<TAB>`."""
    completion = os.path.join(ROOT, docgen.COMPLETION_FILES["bash"])
    words_array = " ".join("'%s'" % w for w in ("usagectl",) + words)
    script = ('source "%s"\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n'
              '_usagectl_completion usagectl\nprintf "%%s\\n" "${COMPREPLY[@]}"\n'
              % (completion, words_array, len(words)))
    env = dict(os.environ, PATH=path_env)
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


bash_required = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")


@bash_required
def test_bash_completes_a_command_name(usagectl_on_path):
    assert bash_complete(usagectl_on_path, "sta") == ["status"]
    assert set(bash_complete(usagectl_on_path, "")) >= {"status", "enable", "disable", "local",
                                                       "history"}


@bash_required
def test_bash_completes_options_and_framework_names(usagectl_on_path):
    assert bash_complete(usagectl_on_path, "status", "--js") == ["--json"]
    assert bash_complete(usagectl_on_path, "enable", "pa") == ["parsl"]


def test_every_test_the_statement_of_record_cites_exists():
    """docs/truth.md links each claim to its test: the links must not rot."""
    import re

    text = open(os.path.join(ROOT, "docs", "truth.md"), encoding="utf-8").read()
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?", text)
    assert len(cited) > 20
    missing = []
    for path, name in cited:
        full = os.path.join(ROOT, path)
        if not os.path.isfile(full):
            missing.append(path)
        elif name and not re.search(r"^def %s\(" % re.escape(name), open(full, encoding="utf-8").read(), re.M):
            missing.append("%s::%s" % (path, name))
    assert missing == []
