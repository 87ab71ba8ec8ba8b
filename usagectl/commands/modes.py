"""Changing consent: `usagectl enable|disable|local`, with the system policy enforced."""

from usagectl import consent
from usagectl import frameworks as registry
from usagectl.commands import rows, sync
from usagectl.core import decisions, store
from usagectl.core.errors import BadInput, ConsentDamaged, PolicyRefused


def note_moved_settings(report, result, env):
    if result.moved_settings:
        report.note("moved %s from %s to %s (the old file is kept, byte for byte, as %s)"
                    % (", ".join("[%s]" % t for t in result.moved_settings), env.consent_path,
                       env.settings_path, result.split_backup))


def check_known(env, names):
    """Refuse names that are neither a framework usagectl knows nor an entry already in the
    consent or policy file, naming the closest known one. Raises BadInput."""
    if not names:
        return
    known = set(registry.names())
    unknown = [n for n in names if n not in known]
    if unknown and env is not None:
        snapshot = decisions.Snapshot(env)
        recorded = set(snapshot.recorded_names())
        unknown = [n for n in unknown if n not in recorded]
    for name in unknown:
        close = _close_match(name)
        raise BadInput("%r is not a framework usagectl knows%s" % (
            name, "; did you mean %r?" % close if close else " (it knows %s)" % ", ".join(sorted(known))),
            hint="pass --any-name for a framework that reads the consent file itself")


def parse_names(raw_names):
    names = []
    for raw in raw_names:
        name = consent.normalize_name(raw)
        if not consent.valid_name(name):
            raise BadInput("%r is not a framework name (letters, digits, '-', '_' and '.', "
                           "starting with a letter or digit)" % raw)
        if name == "default":
            # [frameworks.default] beside [default] would read as a framework named "default".
            raise BadInput("'default' is the entry for every framework, not a framework's name",
                           hint="leave the name out to change the default entry")
        if name not in names:
            names.append(name)
    return names


def _exceeds(ceiling, mode, level, send=None):
    if ceiling is None:
        return False
    if consent.rank(mode) > consent.rank(ceiling.mode):
        return True
    if mode == "local" and ceiling.mode == "local" and set(send or ()) - set(ceiling.send or ()):
        return True  # a category the ceiling holds back
    return mode != "off" and ceiling.level is not None and (level is None or level > ceiling.level)


def _cap_words(ceiling):
    cap = ceiling.mode if ceiling.level is None or ceiling.mode == "off" else \
        "%s at level %d" % (ceiling.mode, ceiling.level)
    if ceiling.mode == "local":
        cap += ", sending only %s" % ", ".join(ceiling.send) if ceiling.send else " (sending nothing)"
    return cap


def check_policy(policy, targets, mode, level, send=None):
    """Refuse a choice looser than the system policy allows."""
    if mode in ("off", None):
        return  # stricter is always allowed; removing an entry leaves the ceiling in force
    if policy.problem:
        raise ConsentDamaged("the policy file can't be trusted (%s), so only `usagectl disable` is "
                             "possible" % policy.problem,
                             hint="ask your administrator to fix it", path=policy.path,
                             line=policy.problem.line)
    refused = []
    for target in targets:
        ceiling = policy.default if target is None else consent.ceiling_for(policy, target)
        if _exceeds(ceiling, mode, level, (send or {}).get(target)):
            refused.append((target or "all frameworks", ceiling))
    if refused:
        parts = ["%s is capped at %s" % (what, _cap_words(ceiling)) for what, ceiling in refused]
        message = "refused by the system policy %s: %s" % (policy.path, "; ".join(parts))
        hint = next((c.message for _, c in refused if c.message), None)
        if hint is None and refused[0][1].mode == "local" and refused[0][1].send:
            hint = "ask for at most --only %s, or ask your administrator" % ",".join(refused[0][1].send)
        if hint is None and refused[0][1].level is not None and consent.rank(mode) <= consent.rank(refused[0][1].mode):
            hint = "ask for at most --level %d, or ask your administrator" % refused[0][1].level
        raise PolicyRefused(message, hint=hint or "ask your administrator", path=policy.path)


#: TOML integers are 64-bit; a larger level would make the file unreadable to other readers.
_LEVEL_LIMIT = (1 << 63) - 1


def check_level(names, level):
    """Refuse a --level no reader could store, or one the named framework doesn't have."""
    if level is None:
        return
    if level > _LEVEL_LIMIT:
        raise BadInput("--level %d is beyond the 64-bit integers TOML allows" % level)
    for name in names:
        framework = registry.get(name)
        if framework is None:
            continue  # a framework usagectl has no adapter for: its levels are its own
        if not framework.has_levels:
            with_levels = ["%s: 1-%s" % (f.name, f.max_level or "any") for f in registry.all() if f.has_levels]
            raise BadInput("%s has no telemetry levels, so --level means nothing for it" % name,
                           hint="levels exist for %s" % (", ".join(with_levels) or "no framework"))
        if framework.max_level is not None and level > framework.max_level:
            raise BadInput("%s's levels are 1-%d, not %d" % (name, framework.max_level, level))


def parse_categories(text, option):
    """"metrics, Events" -> ("events", "metrics"); BadInput for a name no reader accepts."""
    names = [part.strip().lower() for part in text.split(",")]
    bad = [n for n in names if not consent.valid_name(n)]
    if bad or not names:
        raise BadInput("%s %r: give category names separated by commas (letters, digits, '-', '_' and "
                       "'.')" % (option, text))
    return tuple(sorted(set(names)))


def categories_to_send(names, only=None, excluded=None):
    """{framework: categories it may send} for `enable --only/--except`, else None."""
    if only is None and excluded is None:
        return None
    if only is not None and excluded is not None:
        raise BadInput("--only and --except can't be used together")
    option = "--only" if only is not None else "--except"
    if not names:
        raise BadInput("%s needs a FRAMEWORK: categories are each framework's own" % option,
                       hint=_categories_hint())
    requested = parse_categories(only if only is not None else excluded, option)
    out = {}
    for name in names:
        framework = registry.get(name)
        known = [c for c, _about in framework.categories] if framework is not None else None
        if known is None:
            if excluded is not None:
                raise BadInput("--except needs %s's categories, which usagectl doesn't know" % name,
                               hint="name the categories it may send with --only")
            out[name] = requested  # a framework that reads the consent file itself: its names
            continue
        if not known:
            raise BadInput("%s has no categories that can be allowed one by one" % name,
                           hint=_categories_hint())
        unknown = [c for c in requested if c not in known]
        if unknown:
            raise BadInput("%s has no category %s (it has %s)" % (
                name, ", ".join(repr(c) for c in unknown), ", ".join(known)))
        out[name] = requested if only is not None else tuple(sorted(c for c in known if c not in requested))
    return out


def _categories_hint():
    having = ["%s: %s" % (f.name, ", ".join(c for c, _ in f.categories)) for f in registry.all() if f.categories]
    return "categories exist for %s" % ("; ".join(having) or "no framework")


def set_mode(env, report, raw_names, mode, level=None, repair=False, apply=True, only=None, excluded=None):
    names = parse_names(raw_names)
    check_level(names, level)
    send = categories_to_send(names, only, excluded)
    if send is not None:
        mode = "local"  # "on" for some categories only: local, plus what may be sent
    targets = names or [store.DEFAULT_ENTRY]
    policy = env.read_policy()
    check_policy(policy, targets, mode, level, send)
    for name in names:
        if registry.get(name) is None and mode is not None:
            close = _close_match(name)
            hint = " Did you mean %r?" % close if close else ""
            report.warn("usagectl has no adapter for %r: the choice is recorded for frameworks "
                        "that read the consent file themselves.%s" % (name, hint))
    result = store.set_modes(env.consent_path, env.history_path, targets, mode, level,
                             env.command_line, repair=repair, now=env.now(),
                             settings_path=env.settings_path, send=send)
    if result.backup:
        report.note("kept the damaged consent file, byte for byte, as %s" % result.backup)
    if result.history_pending:
        report.warn(result.history_pending)
    note_moved_settings(report, result, env)
    snapshot = decisions.Snapshot(env)
    shown = names or rows.shown_names(snapshot)
    effective = [rows.status_row(snapshot, name) for name in shown]
    for row in effective:
        if mode is None:
            if row["mode"] != "unset":
                report.note("%s is now %s: %s." % (row["framework"], row["mode"], row["reason"]))
        elif row["mode"] in consent.MODES and consent.rank(row["mode"]) < consent.rank(mode):
            report.note("%s stays %s: %s (the most restrictive choice wins)."
                        % (row["framework"], row["mode"], row["reason"]))
    # Carry the decision into the frameworks' own settings, so each honours it even
    # where nothing reads the consent file.
    applied = sync.apply_all(env, report, names or None, repair=repair) if apply else []
    report.data = {
        "consent_file": result.path,
        "backup": result.backup,
        "changes": [c.as_dict() for c in result.changes],
        "frameworks": effective,
        "applied": applied,
    }
    return result


def _close_match(name):
    import difflib

    matches = difflib.get_close_matches(name, registry.names(), n=1, cutoff=0.6)
    return matches[0] if matches else None
