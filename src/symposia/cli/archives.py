"""`symposia archive copy` (an archive moved between SQLite and PostgreSQL, losslessly) and
`symposia archive dump` (its rows as sorted JSON lines, the same for either backend)."""

from __future__ import annotations

import click

from symposia.cli.context import err, friendly_errors


@click.group("archive")
def archive_group() -> None:
    """Move an archive between SQLite files and PostgreSQL databases, and compare archives.

    \b
    Examples:
      symposia archive copy ~/archive.db postgresql://me@dbhost/symposia
      symposia archive copy postgresql://me@dbhost/symposia back.db
      symposia archive dump back.db > back.jsonl
    """


@archive_group.command("copy")
@click.argument("src")
@click.argument("dst")
@friendly_errors
def copy_cmd(src: str, dst: str) -> None:
    """Copy every session, turn, embedding, publication and batch of SRC into the new archive DST (a file
    or a postgresql:// URL); ids are kept, so `archive dump` of both is identical."""
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.archive import Archive
    from symposia.archive.transfer import copy_archive

    with Archive.open(src) as a, Archive.open(dst) as b:
        counts = copy_archive(a, b)
        err.print(", ".join(f"{n} {t}" for t, n in counts.items()) + f" copied into {b.path}")


@archive_group.command("dump")
@click.argument("archive")
@friendly_errors
def dump_cmd(archive: str) -> None:
    """Print every row of ARCHIVE as sorted JSON lines (to compare two archives with diff)."""
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.archive import Archive
    from symposia.archive.transfer import dump_archive

    with Archive.open(archive) as a:
        for line in dump_archive(a):
            click.echo(line)
