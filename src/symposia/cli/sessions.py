"""`symposia sessions`: the sessions in the archive, newest first, filtered by kind, voice, date, status."""

from __future__ import annotations

from datetime import datetime

import click
from rich.markup import escape
from rich.table import Table

from symposia.cli.context import Options, echo_json, friendly_errors, out, pass_options


@click.command("sessions")
@click.option("-k", "--kind", help="Only this kind: ask, chat, council, symposium, arena, study, import, …")
@click.option("-v", "--voice", help="Only sessions in which this voice spoke.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Started on or after this day (UTC).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Started on or before this day (UTC).")
@click.option("--status", help="Only sessions with this status (complete, running, failed, interrupted, …).")
@click.option("-n", "limit", type=click.IntRange(1), default=30, show_default=True, help="How many.")
@click.option("--json", "as_json", is_flag=True, help="JSON: one object per session.")
@pass_options
@friendly_errors
def sessions_cmd(opts: Options, kind: str | None, voice: str | None, since: datetime | None,
                 until: datetime | None, status: str | None, limit: int, as_json: bool) -> None:
    """List sessions, newest first: id, kind, status, calls (failed), voices, cost, title.

    \b
    Examples:
      symposia sessions -k council --since 2026-11-01
      symposia sessions -v qwen --json | jq -r '.[].id'
    """
    with opts.open() as s:
        rows = s.sessions(kind=kind, voice=voice, since=since.date() if since else None,
                          until=until.date() if until else None, status=status, limit=limit)
        if as_json:
            echo_json([r.to_dict() for r in rows])
            return
        if not rows:
            click.echo(f"No sessions match in {s.archive.path}.")
            return
        table = Table(box=None, pad_edge=False, show_edge=False)
        for col in ("id", "kind", "status", "calls", "voices", "cost", "title"):
            table.add_column(col, no_wrap=col in ("id", "kind", "status", "calls"),
                             overflow="ellipsis", max_width=40 if col == "title" else None)
        for r in rows:
            calls = f"{r.calls}" + (f" ({r.failed} failed)" if r.failed else "")
            cost = f"{r.cost:.4f}" if r.cost else "—"
            table.add_row(r.id, r.kind, r.status, calls, escape(", ".join(r.voices)), cost, escape(r.title))
        out.print(table)
