"""`usagectl hook install|uninstall|status`: the runtime hook in a Python environment."""

import click

from usagectl.cli._common import json_option, reporting
from usagectl.core.exitcodes import ExitCode
from usagectl.core.sanitize import safe_text

python_option = click.option(
    "--python", "python", metavar="PATH",
    help="The Python interpreter (or venv directory) of the environment to act on "
         "(default: the one running usagectl).")


@click.group("hook")
@click.pass_context
def hook(ctx):
    """Make Ray, Parsl and Coiled honour the consent file at run time.

    The hook is one .pth file in an environment's site-packages. At every
    interpreter start it only adds an import watcher; when ray, parsl or
    coiled.analytics is imported it reads the consent file and, when telemetry is
    off or local, turns Ray's usage stats off, caps Parsl's tracking level, and
    refuses Coiled analytics registration. It never loosens a framework's own
    settings.
    """
    if ctx.obj is None:  # invoked on its own (tests, `python -c`), not under `usagectl`
        from usagectl.core.environment import Environment

        ctx.obj = Environment()


def _lines(env, lines):
    env.stdout.write("".join(safe_text(line) + "\n" for line in lines))


def _missing_frameworks_note(report, data):
    frameworks = data.get("frameworks") or {}
    if frameworks and not any(frameworks.values()):
        report.note("None of %s is installed for %s: install the hook where they are, with "
                    "--python PATH." % (", ".join(frameworks), data["python"]))


def _old_python_warning(report, data):
    if tuple(data.get("version") or ()) < (3, 11):
        report.warn("%s is Python %s, which has no tomllib: the hook cannot read the consent file "
                    "there and treats every framework as off" % (
                        data["python"], ".".join(str(n) for n in data["version"])))


def _render_install(env, report):
    data = report.data
    if data["changed"]:
        verb = "Updated" if data["was_installed"] else "Installed"
        _lines(env, ["%s the runtime hook: %s" % (verb, data["path"])])
    else:
        _lines(env, ["The runtime hook is already installed and current: %s" % data["path"]])
    _lines(env, ["Python: %s" % data["python"]])


@hook.command("install")
@python_option
@json_option
@reporting("hook install", _render_install)
def install(env, report, python):
    """Install (or update) the hook's .pth file in an environment."""
    from usagectl.hook import installer

    data = installer.install(python)
    report.data = data
    if not data["active"]:
        report.warn("the file is in place but %s did not load it at start-up (are site-packages "
                    ".pth files processed there?)" % data["python"], data["path"])
        report.exit_code = ExitCode.ERROR
    _old_python_warning(report, data)
    _missing_frameworks_note(report, data)


def _render_uninstall(env, report):
    data = report.data
    if data["removed"]:
        _lines(env, ["Removed the runtime hook: %s" % data["path"]])
    else:
        _lines(env, ["The runtime hook is not installed (%s does not exist)." % data["path"]])


@hook.command("uninstall")
@python_option
@json_option
@reporting("hook uninstall", _render_uninstall)
def uninstall(env, report, python):
    """Remove the hook's .pth file (only that file) from an environment."""
    from usagectl.hook import installer

    report.data = installer.uninstall(python)


def _render_status(env, report):
    data = report.data
    if not data["installed"]:
        state = "not installed"
    elif not data["ours"]:
        state = "a file of that name exists, but usagectl did not write it"
    elif data["current"]:
        state = "installed, current"
    else:
        state = "installed, NOT current (run `usagectl hook install` to update it)"
    lines = ["Runtime hook: %s" % state, "File: %s" % data["path"], "Python: %s" % data["python"]]
    if data["installed"] and data["ours"]:
        lines.append("Runtime: %s%s" % (data["runtime"], "" if data["runtime_exists"] else " (MISSING)"))
        lines.append("Loaded at start-up: %s" % ("yes" if data["active"] else "no"))
    _lines(env, lines)


@hook.command("status")
@python_option
@json_option
@reporting("hook status", _render_status)
def status(env, report, python):
    """Say whether the hook is installed in an environment, and current."""
    from usagectl.hook import installer

    data = installer.status(python)
    report.data = data
    if data["installed"] and data["ours"]:
        if not data["runtime_exists"]:
            report.warn("the hook's runtime %s is missing (usagectl moved or removed): Ray is "
                        "forced off, Parsl and Coiled are not restricted; run `usagectl hook "
                        "install` again" % data["runtime"], data["path"])
        elif not data["current"]:
            report.warn("the hook file is not the one this usagectl writes; run `usagectl hook "
                        "install` to update it", data["path"])
        elif not data["active"]:
            report.warn("the hook file is in place but the interpreter did not load it "
                        "(site-packages .pth files not processed?)", data["path"])
        _old_python_warning(report, data)
    _missing_frameworks_note(report, data)
