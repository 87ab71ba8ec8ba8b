"""Shell completion of framework names (click calls this at TAB time)."""


def complete_framework(ctx, param, incomplete):
    from click.shell_completion import CompletionItem

    from usagectl import consent
    from usagectl import frameworks as registry

    names = list(registry.names())
    try:
        names.extend(n for n in consent.read_consent().frameworks if n not in names)
    except Exception:
        pass
    return [CompletionItem(n) for n in names if n.startswith(incomplete.lower())]


# ---------------------------------------------------------------------------
# `usagectl completion SHELL`

import click  # noqa: E402  (complete_framework above must stay importable without click)

from usagectl.cli._common import json_option, reporting  # noqa: E402

SHELLS = ("bash", "zsh", "fish")
#: The variable click's completion scripts set when they ask usagectl for candidates.
COMPLETE_VAR = "_USAGECTL_COMPLETE"


def script(shell):
    """The completion script for ``shell``: click's own, asking the real parser at TAB time."""
    from click.shell_completion import BashComplete, FishComplete, ShellComplete, ZshComplete

    from usagectl.cli.app import main

    classes = {"bash": BashComplete, "zsh": ZshComplete, "fish": FishComplete}
    completer = classes[shell](main, {}, "usagectl", COMPLETE_VAR)
    # ShellComplete.source, not BashComplete.source: the latter also runs `bash` to
    # check its version and prints to stderr, which says nothing about the script.
    return ShellComplete.source(completer)


def _render(env, report):
    env.stdout.write(report.data["script"])
    if not report.data["script"].endswith("\n"):
        env.stdout.write("\n")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@json_option
@reporting("completion", _render)
def completion(env, report, shell):
    """Print the shell completion script for SHELL (bash, zsh or fish).

    \b
    bash:  eval "$(usagectl completion bash)"          (in ~/.bashrc)
    zsh:   eval "$(usagectl completion zsh)"           (in ~/.zshrc)
    fish:  usagectl completion fish | source           (in ~/.config/fish/config.fish)

    The wheel also installs the same scripts where bash-completion, zsh and fish
    look for them; under a venv or pipx those places are often not searched, which is
    what this command is for.
    """
    report.data = {"shell": shell, "script": script(shell)}
