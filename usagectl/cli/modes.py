"""`usagectl enable|disable|local`: record a choice in the consent file."""

import click

from usagectl.cli._common import framework_argument, json_option, reporting
from usagectl.commands import modes
from usagectl.output import views as render

repair_option = click.option(
    "--repair", is_flag=True,
    help="If the consent file is damaged, keep a byte-identical backup and start a fresh one.")


no_sync_option = click.option(
    "--consent-only", is_flag=True,
    help="Only record the choice in the consent file; leave the frameworks' own settings alone.")


def _render(env, report):
    if env.system:
        render.system_changes(env, report)
    else:
        render.changes(env, report)


def _set(env, report, frameworks, mode, level=None, repair=False, apply=True, only=None, excluded=None):
    if env.system:
        from usagectl.commands import system

        system.set_ceiling(env, report, modes.parse_names(frameworks), mode, level, repair=repair,
                           only=only, excluded=excluded)
    else:
        modes.set_mode(env, report, frameworks, mode, level=level, repair=repair, apply=apply,
                       only=only, excluded=excluded)


@click.command("disable")
@framework_argument()
@repair_option
@no_sync_option
@json_option
@reporting("disable", _render)
def disable(env, report, frameworks, repair, consent_only):
    """Turn telemetry off (all frameworks, or the ones named).

    With no FRAMEWORK this sets the default entry, which switches off every
    framework: the most restrictive choice always wins.
    """
    _set(env, report, frameworks, "off", repair=repair, apply=not consent_only)


@click.command("enable")
@framework_argument()
@click.option("--level", type=click.IntRange(min=1), metavar="N",
              help="Highest telemetry level allowed, for frameworks that have levels (Parsl: 1-3).")
@click.option("--only", metavar="CATEGORY,...",
              help="Allow only these categories of the framework's telemetry and hold back the rest "
                   "(Coiled: metrics, code, profiles, events, spans, client-events).")
@click.option("--except", "excluded", metavar="CATEGORY,...",
              help="Allow every category the framework has now except these; one it adds later "
                   "stays held back.")
@repair_option
@no_sync_option
@json_option
@reporting("enable", _render)
def enable(env, report, frameworks, level, only, excluded, repair, consent_only):
    """Allow telemetry (all frameworks, or the ones named).

    A framework stays off while the default entry, DO_NOT_TRACK or the system policy
    says off; usagectl says so when that happens. With --only or --except the entry
    says local plus the categories that may be sent, so a reader that predates
    categories sends nothing.
    """
    _set(env, report, frameworks, "on", level=level, repair=repair, apply=not consent_only,
         only=only, excluded=excluded)


@click.command("local")
@framework_argument()
@click.option("--level", type=click.IntRange(min=1), metavar="N",
              help="Highest level of local collection, for frameworks that have levels.")
@repair_option
@no_sync_option
@json_option
@reporting("local", _render)
def local(env, report, frameworks, level, repair, consent_only):
    """Collect locally only: nothing is ever sent (all frameworks, or the ones named)."""
    _set(env, report, frameworks, "local", level=level, repair=repair, apply=not consent_only)


@click.command("reset")
@framework_argument()
@repair_option
@json_option
@reporting("reset", _render)
def reset(env, report, frameworks, repair):
    """Remove entries from the consent file: back to "no choice recorded".

    With no FRAMEWORK this removes the default entry; a framework's own entry, where
    there is one, still decides for it. The frameworks' own settings files keep what
    usagectl last wrote into them (reset writes nothing there): change them with
    `usagectl enable`/`disable`, or with the framework's own commands.
    """
    if env.system:
        _set(env, report, frameworks, None, repair=repair)
        return
    modes.set_mode(env, report, frameworks, None, repair=repair, apply=False)
    report.note("The frameworks' own settings keep what usagectl last wrote there; `usagectl "
                "status` shows what each will do now.")
