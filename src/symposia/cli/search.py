"""Archive verbs: `search`, `index`, `origin`, `recall`, `verify-quote`, `near-dups` (Markdown or --json)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from symposia.archive import Archive
from symposia.cli.context import Options, echo_json, err, friendly_errors, out, pass_options
from symposia.render.search import (
    near_dups_markdown,
    origin_markdown,
    recall_markdown,
    search_markdown,
    verify_markdown,
)

__all__ = ["index_cmd", "near_dups_cmd", "origin_cmd", "recall_cmd", "search_cmd", "verify_quote_cmd"]


def _emit(text: str) -> None:
    out.print(text, markup=False, highlight=False, end="")


def _open(opts: Options) -> Archive:
    return opts.open_archive()


def _embed_pending(archive: Archive, embedder: Any = None) -> int:
    """Embed the turns that have no embedding yet, with a progress bar on stderr."""
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.archive.semantic import build_vector_index, default_embedder, index_archive, pending_count

    todo = pending_count(archive)
    if todo == 0:
        return 0
    emb = embedder or default_embedder()
    with Progress(TextColumn("embedding turns"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("embed", total=todo)
        progress: Callable[[int, int], None] = lambda done, total: bar.update(task, completed=done)  # noqa: E731
        done = index_archive(archive, emb, progress=progress)
    build_vector_index(archive)  # only does something for a large archive
    return done


def _filters(voice: str | None, role: str | None, since: str | None, until: str | None,
             kind: str | None) -> Any:
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.archive.search import SearchFilters

    return SearchFilters(voice=voice, role=role, since=since, until=until, kind=kind)


_filter_options = [
    click.option("-v", "--voice", help="Only turns of this voice (shortcut or name)."),
    click.option("--role", type=click.Choice(["voice", "host", "chair"]), help="Only turns in this role."),
    click.option("--since", metavar="DATE", help="From this date (YYYY-MM-DD, inclusive) or ISO time."),
    click.option("--until", metavar="DATE", help="Up to this date (inclusive) or ISO time."),
    click.option("--kind", help="Only sessions of this kind (ask, council, symposium, arena, chat, import…)."),
]


def _with_filters(fn: Any) -> Any:
    for option in reversed(_filter_options):
        fn = option(fn)
    return fn


@click.command("search")
@click.argument("query")
@click.option("-n", "count", type=int, default=10, show_default=True, help="How many results.")
@_with_filters
@click.option("--semantic", "mode", flag_value="semantic", help="By meaning only (embeds new turns first).")
@click.option("--fts", "mode", flag_value="fts", help="Full text only.")
@click.option("--in", "field", type=click.Choice(["answer", "question", "any"]), default="answer",
              show_default=True, help="Search what was said (answer), what was shown (question), or both.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of Markdown.")
@pass_options
@friendly_errors
def search_cmd(opts: Options, query: str, count: int, voice: str | None, role: str | None, since: str | None,
               until: str | None, kind: str | None, mode: str | None, field: str, as_json: bool) -> None:
    """Search the archive: words, "exact phrases", word* prefixes, -excluded, OR.

    Hybrid (full text + meaning) when the archive has embeddings (`symposia index`), else full text.
    """
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.archive.search import search

    with _open(opts) as archive:
        if mode == "semantic":
            _embed_pending(archive)
        result = search(archive, query, n=count, filters=_filters(voice, role, since, until, kind),
                        mode=mode or "auto", field=field)  # type: ignore[arg-type]
        if as_json:
            echo_json(result)
        else:
            _emit(search_markdown(result))


@click.command("index")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@pass_options
@friendly_errors
def index_cmd(opts: Options, as_json: bool) -> None:
    """Embed the turns not embedded yet, for search by meaning (resumable; safe to rerun)."""
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.archive.semantic import embedded_count

    with _open(opts) as archive:
        done = _embed_pending(archive)
        chunks = embedded_count(archive)
        if as_json:
            echo_json({"embedded_turns": done, "indexed_chunks": chunks, "archive": str(archive.path)})
        else:
            click.echo(f"embedded {done} turn(s); {chunks} chunk(s) indexed in {archive.path}")


@click.command("origin")
@click.argument("phrase")
@click.option("--no-semantic", is_flag=True, help="Lexical paraphrases only (no embedding model).")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of Markdown.")
@pass_options
@friendly_errors
def origin_cmd(opts: Options, phrase: str, no_semantic: bool, as_json: bool) -> None:
    """The first voice to say PHRASE unprompted, then every use: echo, quote, character, host; and
    close paraphrases. Exit 0 when there is an origin, 1 when there is none (see docs/PROVENANCE.md)."""
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.archive.origin import origin

    with _open(opts) as archive:
        report = origin(archive, phrase, semantic=not no_semantic)
        if as_json:
            echo_json(report)
        else:
            _emit(origin_markdown(report))
    sys.exit(0 if report.origin is not None else 1)


@click.command("recall")
@click.argument("voice")
@click.option("-n", "count", type=int, default=10, show_default=True, help="How many formulations.")
@click.option("--before", metavar="DATE", help="Only what was said before this date.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of Markdown.")
@pass_options
@friendly_errors
def recall_cmd(opts: Options, voice: str, count: int, before: str | None, as_json: bool) -> None:
    """VOICE's most distinctive earlier formulations, verbatim, with date and session."""
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.archive.recall import recall

    with _open(opts) as archive:
        found = recall(archive, voice, count, before=before)
        if as_json:
            echo_json([dataclasses.asdict(f) for f in found])
        else:
            _emit(recall_markdown(voice, found))


@click.command("verify-quote")
@click.argument("voice")
@click.argument("quote")
@click.option("--no-semantic", is_flag=True, help="Lexical paraphrases only (no embedding model).")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of Markdown.")
@pass_options
@friendly_errors
def verify_quote_cmd(opts: Options, voice: str, quote: str, no_semantic: bool, as_json: bool) -> None:
    """Did VOICE really say QUOTE? Exit 0 verbatim and original, 1 not found, 3 verbatim but echoed,
    4 paraphrase, 5 said by someone else (2: usage or archive error). See docs/PROVENANCE.md."""
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.archive.origin import verify_quote

    with _open(opts) as archive:
        verdict = verify_quote(archive, voice, quote, semantic=not no_semantic)
    if as_json:
        echo_json({**dataclasses.asdict(verdict), "ok": verdict.ok, "exit_code": verdict.exit_code})
    else:
        _emit(verify_markdown(verdict))
    sys.exit(verdict.exit_code)


@click.command("near-dups")
@click.option("--min-words", type=click.IntRange(min=3), default=8, show_default=True,
              help="Shortest shared span, in words (3 or more).")
@click.option("-n", "count", type=int, default=50, show_default=True, help="How many spans at most.")
@click.option("--since", metavar="DATE", help="Only answers from this date.")
@click.option("--until", metavar="DATE", help="Only answers up to this date.")
@click.option("--kind", help="Only sessions of this kind.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of Markdown.")
@pass_options
@friendly_errors
def near_dups_cmd(opts: Options, min_words: int, count: int, since: str | None, until: str | None,
                  kind: str | None, as_json: bool) -> None:
    """Spans shared verbatim or nearly by different voices (exact shingles + MinHash/LSH), with every
    place and date, and whether the speaker had been shown it (echo)."""
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.archive.neardups import near_duplicates

    with _open(opts) as archive:
        spans = near_duplicates(archive, min_words=min_words, limit=count,
                                filters=_filters(None, None, since, until, kind))
        if as_json:
            echo_json([{**dataclasses.asdict(s), "voices": list(s.voices)} for s in spans])
        else:
            _emit(near_dups_markdown(spans, min_words))
