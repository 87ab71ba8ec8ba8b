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
