"""`symposia log` and `symposia show`: read the record back (Markdown by default, JSON on request)."""

from __future__ import annotations

import click

from symposia.archive.datasette import datasette_metadata
from symposia.cli.context import Options, echo_json, friendly_errors, out, pass_options
from symposia.codec import turn_to_dict
from symposia.render.turns import turn_detail_markdown, turns_markdown


def _emit_markdown(text: str) -> None:
    # Plain text on purpose: the output is Markdown meant to be piped or pasted.
    out.print(text, markup=False, highlight=False, end="")


@click.command("log")
@click.option("-n", "count", type=int, default=10, show_default=True, help="How many turns.")
@click.option("-v", "--voice", help="Only turns of this voice.")
@click.option("--json", "as_json", is_flag=True, help="JSON (a list of full turn records).")
@pass_options
@friendly_errors
def log_cmd(opts: Options, count: int, voice: str | None, as_json: bool) -> None:
    """Recent turns, newest first, as Markdown (or --json)."""
    with opts.open() as s:
        turns = s.log(count, voice=voice)
        if as_json:
            echo_json([turn_to_dict(t) for t in turns])
        elif not turns:
            click.echo(f"No turns yet in {s.archive.path}. Try: symposia ask local \"What is play?\"")
        else:
            _emit_markdown(turns_markdown(turns))


@click.command("show")
@click.argument("turn_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="The full record as JSON.")
@pass_options
@friendly_errors
def show_cmd(opts: Options, turn_id: int, as_json: bool) -> None:
    """Everything stored about one turn: what the voice saw, params, answer, reasoning, usage, errors."""
    with opts.open() as s:
        turn = s.show(turn_id)
        if as_json:
            echo_json(turn_to_dict(turn))
        else:
            _emit_markdown(turn_detail_markdown(turn))


@click.command("datasette-metadata")
@click.option("--database", help="The database name datasette will use (default: the archive file's stem).")
@pass_options
@friendly_errors
def datasette_metadata_cmd(opts: Options, database: str | None) -> None:
    """Metadata for Datasette: `symposia datasette-metadata > m.json; datasette ARCHIVE -m m.json`."""
    with opts.open() as s:
        name = database or s.archive.path.stem
    echo_json(datasette_metadata(name))
