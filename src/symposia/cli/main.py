"""`symposia` — convene dialogues across language models and keep every word.

The group holds the options every verb shares; each verb lives in its own module.
"""

from __future__ import annotations

from pathlib import Path

import click

from symposia.archive.postgres import is_postgres_url
from symposia.cli import (
    analysis,
    annotate,
    archives,
    arena,
    ask,
    batches,
    chat,
    council,
    importing,
    keys,
    publish,
    record,
    search,
    serve,
    sessions,
    symposium,
    templates,
    voices,
)
from symposia.cli.context import Options
from symposia.cli.group import SymposiaGroup
from symposia.version import __version__


@click.group(cls=SymposiaGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="symposia")
@click.option("--archive", envvar="SYMPOSIA_ARCHIVE", metavar="FILE|URL",
              help="SQLite archive file, or a postgresql://user:pass@host/db URL for a shared PostgreSQL "
                   "archive (default: the user data dir; env SYMPOSIA_ARCHIVE).")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
              help="User config TOML extending the voice catalog (default: the user config dir).")
@click.pass_context
def cli(ctx: click.Context, archive: str | None, config: Path | None) -> None:
    """Convene dialogues across language models, record every word, measure what they share.

    \b
    Offline (no API key; the embedded local model, two ways):
      symposia ask local "What is play?"
      symposia council "What persists between two conversations?" --preset offline --rounds 2
    \b
    With a key (OPENROUTER_API_KEY reaches every cloud voice):
      symposia voices                 which voices are usable right now, and why not
      symposia council "..." --preset seven --rounds 2 --chair opus
      symposia symposium plan.toml    the host-led shape: tailored questions, relayed quotes
      symposia annotate ID --host opus  formulations, synthesis, closing after the fact
    \b
    The archive (one SQLite file; --archive or SYMPOSIA_ARCHIVE to choose):
      symposia log / show ID / export SESSION / import PATH / search QUERY / origin PHRASE
      symposia analyze SESSION        convergence against a floor; echo vs unprompted
      symposia serve                  browse it all at http://127.0.0.1:8765
    """
    ctx.obj = Options(archive if archive is None or is_postgres_url(archive) else Path(archive), config)


cli.add_command(ask.ask_cmd)
cli.add_command(record.log_cmd)
cli.add_command(record.show_cmd)
cli.add_command(record.datasette_metadata_cmd)
cli.add_command(sessions.sessions_cmd)
cli.add_command(keys.keys_cmd)
cli.add_command(templates.templates_cmd)
cli.add_command(voices.voices_cmd)
cli.add_command(voices.presets_cmd)
cli.add_command(council.council_cmd)
cli.add_command(council.resume_cmd)
cli.add_command(council.export_cmd)
cli.add_command(symposium.symposium_cmd)
cli.add_command(annotate.annotate_cmd)
cli.add_command(arena.arena_cmd)
cli.add_command(chat.chat_cmd)
cli.add_command(publish.publish_cmd)
cli.add_command(importing.import_cmd)
cli.add_command(analysis.analyze_cmd)
cli.add_command(analysis.study_cmd)
cli.add_command(batches.batches_cmd)
cli.add_command(batches.worker_cmd)
cli.add_command(archives.archive_group)
cli.add_command(serve.serve_cmd)
cli.add_command(search.search_cmd)
cli.add_command(search.index_cmd)
cli.add_command(search.origin_cmd)
cli.add_command(search.recall_cmd)
cli.add_command(search.verify_quote_cmd)
cli.add_command(search.near_dups_cmd)


def main() -> None:
    cli(prog_name="symposia")
