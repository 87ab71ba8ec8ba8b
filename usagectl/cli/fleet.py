"""`usagectl fleet ENVELOPE...`: many hosts' `verify --json` results as one table."""

import click

from usagectl.cli._common import json_option, reporting
from usagectl.core.errors import BadInput


def _render(env, report):
    from usagectl.core.sanitize import safe_clip
    from usagectl.output.views import plain_table, terminal_width

    rows = []
    for row in report.data["hosts"]:
        detail = "; ".join(row["failing"][:20]) or row["note"] or "; ".join(row["unknown"][:20]) or ""
        code = "-" if row["exit_code"] is None else str(row["exit_code"])
        rows.append([safe_clip(row["host"], 120), safe_clip(row["machine"] or "-", 120), row["verdict"], code,
                     safe_clip(detail) or "-"])
    env.stdout.write(plain_table(["HOST", "MACHINE", "VERDICT", "EXIT", "DETAIL"], rows, terminal_width(env)))
    counts = report.data["counts"]
    env.stdout.write("%d hosts: %s\n" % (len(rows), ", ".join("%d %s" % (n, v) for v, n in counts.items() if n)))


@click.command("fleet")
@click.argument("envelopes", nargs=-1, type=click.Path())
@click.option("--allow-unknown", is_flag=True, help="Exit 0 when no host failed, even if some are unknown.")
@json_option
@reporting("fleet", _render)
def fleet_command(env, report, envelopes, allow_unknown):
    """Gather many hosts' `usagectl verify --json` envelopes into one table.

    ENVELOPES are files or directories of *.json files (one per host, as the Ansible role
    writes them). Exit 5 when a host failed, 7 when one is unknown, damaged or
    unreadable (unless --allow-unknown), else 0. A file that can't be read is a row of
    its own; it never hides the others.
    """
    from usagectl.verify import fleet

    if not envelopes:
        raise BadInput("name the envelopes (files or directories of `usagectl verify --json` output)")
    rows = fleet.read_rows(list(envelopes))
    report.data = {"hosts": rows, "counts": {v: sum(r["verdict"] == v for r in rows) for v in fleet.VERDICTS}}
    from usagectl.core.sanitize import safe_clip

    for row in rows:
        if row["verdict"] == "unreadable":
            report.warn("%s: %s" % (safe_clip(row["source"], 400), safe_clip(row["note"])), row["source"])
    report.exit_code = fleet.exit_code(rows, allow_unknown)
