"""`symposia import PATH...`: bring existing transcripts (Markdown, JSON, exports) into the archive, and report."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import click
from rich.cells import cell_len, set_cell_size
from rich.markup import escape

from symposia.catalog import load_catalog
from symposia.cli.context import Options, echo_json, friendly_errors, out, pass_options
from symposia.importers import ImportReport, ReportEntry, import_paths
from symposia.paths import archive_path

WIDTH = 80
_STYLE = {"imported": "green", "flagged": "yellow", "skipped": "dim", "refused": "cyan", "failed": "bold red"}


def _fit(text: str, width: int) -> str:
    """At most ``width`` terminal columns (wide characters count two), cut with "…"."""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(0, width - 1)) + "…"


def report_line(e: ReportEntry, width: int = WIDTH) -> str:
    """One file, one line of at most ``width`` characters: status, turns, coverage, name, why."""
    turns = f"{e.turns:>4}t" if e.turns else "     "
    cov = f"{e.coverage * 100:>4.0f}%" if e.coverage is not None and e.status not in ("failed", "refused") else "     "
    head = f"{e.status:<8} {turns} {cov}  "
    name = Path(e.path).name
    tail = f" — {e.reason}" if e.reason else ""
    return head + _fit(name + tail, width - len(head))


def report_lines(report: ImportReport, verbose: bool = False, width: int = WIDTH) -> list[str]:
    """The human report: a line per file; with ``verbose`` the flags, sessions and unplaced lines under it."""
    lines = ["Dry run: nothing written."] if report.dry_run else []
    for e in report.entries:
        lines.append(report_line(e, width))
        if not verbose:
            continue
        pad = " " * 6
        if e.format:
            lines.append(_fit(f"{pad}format {e.format}, kind {e.kind}, sessions {', '.join(e.sessions)}", width))
        if e.flags:
            lines.append(_fit(f"{pad}flags: {', '.join(e.flags)}", width))
        if e.details.get("fields_used"):
            used = ", ".join(f"{k}={v}" for k, v in e.details["fields_used"].items())
            lines.append(_fit(f"{pad}fields used: {used}", width))
        if len(report_line(e, 10**6)) > width:  # the reason did not fit on the file's line: all of it
            lines += textwrap.wrap(e.reason, width, initial_indent=pad, subsequent_indent=pad)
        for n, text in e.unplaced[:20]:
            lines.append(_fit(f"{pad}not placed, line {n}: {text.strip()}", width))
        if len(e.unplaced) > 20:
            lines.append(f"{pad}… and {len(e.unplaced) - 20} more lines not placed (--json lists them all)")
    counts = report.counts()
    lines.append(_fit(f"{counts['imported']} imported, {counts['flagged']} with flags, {counts['skipped']} skipped, "
                      f"{counts['refused']} not dialogues, {counts['failed']} failed.", width))
    return lines


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Parse and report, write nothing (not even a new archive file).")
@click.option("--json", "as_json", is_flag=True, help="The full report as JSON (every field, every unplaced line).")
@click.option("-v", "--verbose", is_flag=True, help="Under each file: format, flags, fields used, unplaced lines.")
@pass_options
@friendly_errors
def import_cmd(opts: Options, paths: tuple[Path, ...], dry_run: bool, as_json: bool, verbose: bool) -> None:
    """Import transcripts you already have (files or folders, searched recursively for .md, .txt,
    .json and llm's logs.db); the shapes read are listed in docs/FORMATS.md.

    Each file becomes one session (an account export, one per conversation), with speakers
    attributed, dates and model ids, and the share of its text that landed in turns. Importing
    the same file again changes nothing. Files that cannot be read are reported with the reason,
    files with no speakers as "not a dialogue"; the rest still import. Exit status 1 if any failed.
    """
    catalog = load_catalog(opts.config)
    target = archive_path(opts.archive)
    if dry_run and str(target) != ":memory:" and not target.exists():
        report = import_paths(None, catalog, list(paths), dry_run=True)  # nothing to compare with, nothing created
    else:
        with opts.open_archive() as archive:
            report = import_paths(archive, catalog, list(paths), dry_run=dry_run)
    if as_json:
        echo_json(report.to_dict())
    else:
        for line in report_lines(report, verbose=verbose):
            style = next((s for st, s in _STYLE.items() if line.startswith(st)), None)
            out.print(f"[{style}]{escape(line)}[/]" if style else escape(line))
    if report.failed:
        sys.exit(1)
