"""Shell completion of framework names (click calls this at TAB time)."""


def complete_framework(ctx, param, incomplete):
    from click.shell_completion import CompletionItem

    from usagectl import adapters, consent

    names = list(adapters.builtin_names())
    try:
        names.extend(n for n in consent.read_consent().frameworks if n not in names)
    except Exception:
        pass
    return [CompletionItem(n) for n in names if n.startswith(incomplete.lower())]
