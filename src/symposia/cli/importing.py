"""`symposia import PATH...`: bring existing transcripts (Markdown, JSON) into the archive, and report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from symposia.catalog import load_catalog
from symposia.cli.context import Options, friendly_errors, out, pass_options
from symposia.importers import ImportReport, import_paths

_STYLE = {"imported": "green", "flagged": "yellow", "skipped": "dim", "failed": "bold red"}


def report_table(report: ImportReport) -> Table:
    """One row per file: what happened, as what, and why."""
    title = "Import (dry run: nothing written)" if report.dry_run else "Import"
    table = Table(title=title, show_lines=False)
    for col in ("File", "Result", "Format", "Turns", "Session", "Reason / flags"):
        table.add_column(col, overflow="fold")
    for e in report.entries:
        table.add_row(escape(e.path), f"[{_STYLE[e.status]}]{e.status}[/]", e.format or "",
                      str(e.turns) if e.turns else "", e.session_id or "", escape(e.reason))
    return table


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Parse and report, write nothing.")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
@pass_options
@friendly_errors
def import_cmd(opts: Options, paths: tuple[Path, ...], dry_run: bool, as_json: bool) -> None:
    """Import transcripts you already have (files or folders, searched recursively for .md and .json).

    Each file becomes one session, with speakers attributed (host, voices, one model playing several
    characters), dates and model ids. Importing the same file again changes nothing. Files that
    cannot be read are reported with the reason; the rest still import. Exit status 1 if any failed.
    """
    catalog = load_catalog(opts.config)
    with opts.open_archive() as archive:
        report = import_paths(archive, catalog, list(paths), dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        out.print(report_table(report))
        counts = report.to_dict()["counts"]
        out.print(f"{counts['imported']} imported, {counts['flagged']} imported with flags, "
                  f"{counts['skipped']} skipped, {counts['failed']} failed.")
    if report.failed:
        sys.exit(1)
