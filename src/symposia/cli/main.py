"""`symposia` — convene dialogues across language models and keep every word.

The group holds the options every verb shares; each verb lives in its own module.
"""

from __future__ import annotations

import atexit
import gc
import importlib
from pathlib import Path

import click

from symposia.cli.collector import own, settle
from symposia.cli.context import Options, redact_terminal
from symposia.cli.group import SymposiaGroup
from symposia.version import __version__

# Every verb, where it lives and its one-line help. A verb's module (and what it imports: the API,
# the analysis stack, the web server, the batch SDKs) is loaded only when that verb runs, so
# `symposia --help` and a quick `symposia log` do not pay for all of them. tests/test_cli_lazy.py
# checks that each line here is the verb's own short help.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "ask": ("ask", "ask_cmd", "Ask VOICE one QUESTION (or read it from stdin); stream the answer and store it."),
    "log": ("record", "log_cmd", "Recent turns, newest first, as Markdown (or --json)."),
    "show": ("record", "show_cmd", "Everything stored about one turn: what the voice saw, params, answer, "
             "reasoning, usage, errors."),
    "datasette-metadata": ("record", "datasette_metadata_cmd", "Metadata for Datasette: `symposia datasette-metadata "
                           "> m.json; datasette ARCHIVE -m m.json`."),
    "sessions": ("sessions", "sessions_cmd", "List sessions, newest first: id, kind, status, calls (failed), voices, "
                 "cost, title."),
    "keys": ("keys", "keys_cmd", "API keys: `keys set NAME` stores one in keys.toml (0600); `keys list` shows which "
             "are set."),
    "templates": ("templates", "templates_cmd", "Templates: a system prompt, a question frame ({input}) and params, "
                  "used with `ask -T NAME`."),
    "voices": ("voices", "voices_cmd", "List voices and whether each is usable now (key present, server "
               "reachable, model installed)."),
    "presets": ("voices", "presets_cmd", "Named councils of voices (use with --preset)."),
    "council": ("council", "council_cmd", "Put one QUESTION to several voices at once; optional rounds, chair "
                "synthesis and ranking."),
    "resume": ("council", "resume_cmd", "Finish an interrupted or incomplete session; calls already stored are not "
               "repeated (nor paid for again)."),
    "export": ("council", "export_cmd", "A session rendered from the record: the Markdown transcript, the full JSON, "
               "a standalone HTML page, or OpenTelemetry spans."),
    "symposium": ("symposium", "symposium_cmd", "Run a host-led dialogue from PLAN_FILE (TOML): tailored "
                  "questions, relayed quotes, synthesis."),
    "annotate": ("annotate", "annotate_cmd", "Add observations, key formulations, a synthesis or a closing to a "
                 "finished SESSION."),
    "arena": ("arena", "arena_cmd", "Let VOICE_A and VOICE_B talk to each other for --turns turns, streamed and "
              "stored."),
    "chat": ("chat", "chat_cmd", "Talk with VOICE, one question per line; every answer is stored as it ends."),
    "publish": ("publish", "publish_cmd", "Publish a session to Moltbook."),
    "import": ("importing", "import_cmd", "Import transcripts you already have (files or folders, searched recursively "
               "for .md, .txt, .json and llm's logs.db); the shapes read are listed in docs/FORMATS.md."),
    "analyze": ("analysis", "analyze_cmd", "Measure what the voices of SESSION_ID share: similarity against a "
                "declared floor, diversity, images labelled ECHO or UNPROMPTED, spans shared between voices, key "
                "formulations, and a verdict in plain words."),
    "study": ("analysis", "study_cmd", "Put each prompt of PROMPTS_FILE to each voice in a fresh context, K "
              "samples, plus a control battery; then intra, inter, floor, lift, permutation tests and bootstrap "
              "CIs per voice pair."),
    "batches": ("batches", "batches_cmd", "The provider batches sent from this archive: status, requests, results "
                "and cost (at the batch price)."),
    "worker": ("batches", "worker_cmd", "Make the calls queued in a shared PostgreSQL archive (by `study --queue` or "
               "`council --queue`), with this machine's voices and keys; stop with Ctrl-C."),
    "archive": ("archives", "archive_group", "Move an archive between SQLite files and PostgreSQL databases, and "
                "compare archives."),
    "serve": ("serve", "serve_cmd", "Browse the archive and watch sessions live in a local web page."),
    "search": ("search", "search_cmd", 'Search the archive: words, "exact phrases", word* prefixes, -excluded, OR.'),
    "index": ("search", "index_cmd", "Embed the turns not embedded yet, for search by meaning (resumable; safe to "
              "rerun)."),
    "origin": ("search", "origin_cmd",
               "The first voice to say PHRASE unprompted, then every use: echo, quote, character, "
               "host; and close paraphrases."),
    "recall": ("search", "recall_cmd", "VOICE's most distinctive earlier formulations, verbatim, with date and "
               "session."),
    "verify-quote": ("search", "verify_quote_cmd",
                     "Did VOICE really say QUOTE? Exit 0 verbatim and original, 1 not found, 3 verbatim "
                     "but echoed, 4 paraphrase, 5 said by someone else (2: usage or archive error)."),
    "near-dups": ("search", "near_dups_cmd",
                  "Spans shared verbatim or nearly by different voices (exact shingles + MinHash/LSH), "
                  "with every place and date, and whether the speaker had been shown it (echo)."),
}

#: The verbs that call voices (or may: `analyze --chooser`): their TLS context is prepared while their
#: modules import (see get_command).
CALLING = frozenset({"ask", "council", "resume", "symposium", "annotate", "arena", "chat", "study", "worker",
                     "analyze"})


def _shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to fit ``limit`` characters, with "..." when cut."""
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 3)].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "..."


class LazyGroup(SymposiaGroup):
    """A group whose commands are imported when used, listed in ``--help`` from :data:`COMMANDS`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        if cmd_name in CALLING:
            # deferred: only the verbs that call voices need it; its CA bundle then loads in a background
            # thread while this one imports the verb's modules (symposia.providers.tls)
            from symposia.providers import tls

            tls.prepare()
        module = importlib.import_module(f"symposia.cli.{entry[0]}")
        settle()  # start-up is over: what it loaded lives until exit (symposia.cli.collector)
        gc.enable()  # (see main)
        cmd = getattr(module, entry[1])
        assert isinstance(cmd, click.Command)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(n) for n in COMMANDS)
        rows = [(name, _shorten(text, limit)) for name, (_, _, text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="symposia")
@click.option("--archive", envvar="SYMPOSIA_ARCHIVE", metavar="FILE|URL",
              help="SQLite archive file, or a postgresql://user:pass@host/db URL for a shared PostgreSQL "
                   "archive (default: the user data dir; env SYMPOSIA_ARCHIVE).")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
              help="User config TOML extending the voice catalog (default: the user config dir).")
@click.option("--force-archive", is_flag=True,
              help="Use an --archive that is another program's SQLite file (symposia adds its tables to it).")
@click.pass_context
def cli(ctx: click.Context, archive: str | None, config: Path | None, force_archive: bool) -> None:
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
    # Imported here, not at the top: the archive package is not needed for `symposia --help`.
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.archive.postgres import is_postgres_url

    path = archive if archive is None or is_postgres_url(archive) else Path(archive)
    ctx.obj = Options(path, config, force_archive)
    ctx.call_on_close(redact_terminal())


def main() -> None:
    # Start-up allocates a great many long-lived objects (modules, classes, pydantic models): no cycle
    # collection while importing them (re-enabled once the verb's modules are in, and those frozen:
    # symposia.cli.collector), and none at exit either, where collecting them all cost 0.6 s after the
    # last line was printed.
    gc.disable()
    own()
    # For the whole process: an uncaught exception's traceback is printed after cli() returns.
    atexit.register(redact_terminal())
    try:
        cli(prog_name="symposia")
    finally:
        gc.freeze()
