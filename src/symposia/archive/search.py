"""Search the archive: full text (FTS5), by meaning (chunk embeddings), or both fused.

Query syntax (never an FTS5 syntax error): words are all required; ``"a phrase"`` (straight or
curly quotes) must appear as is; ``word*`` matches a prefix; ``-word`` / ``-"a phrase"`` excludes;
``OR`` between two terms accepts either. Matching ignores case, punctuation and diacritics, and
does not stem: ``mirror`` does not find ``mirrors`` (``mirror*`` does).

By default only answers are searched (what was *said*); ``field="question"`` searches what the
voices were shown, ``field="any"`` both. Every hit says who spoke (voice, role, model), when, in
which session (its title) and, for an imported session, the file it came from.

Honest results:

- **hits are real matches.** In full-text and hybrid mode every hit matches the query's words;
  hybrid only *ranks* those matches by reciprocal-rank fusion (k = 60) of bm25 and meaning. Turns
  found by meaning alone never pad the hits: they come in a separate, labelled block
  (``related``), and not at all when the query asks for an exact ``"phrase"``.
- **below the threshold is nothing.** A semantic hit counts only from a cosine similarity of
  ``SEMANTIC_MIN`` (calibrated with ``bench/calibrate_semantic.py``: above what nonsense and
  unrelated queries reach against real answers), so a query that matches nothing finds nothing.
- **the count counts matches**: ``total`` is the number of turns matching the query's words (exact
  on an archive of up to ``PROBE_ROWS`` turns, else estimated from the newest ones and marked so).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from symposia.archive.filters import SearchFilters, filter_sql, parse_when
from symposia.archive.semantic import (
    Embedder,
    default_embedder,
    embedded_count,
    index_archive,
    pending_count,
    semantic_hits,
)
from symposia.archive.store import Archive
from symposia.errors import ArchiveError, UsageError

__all__ = [
    "RRF_K",
    "SEMANTIC_MIN",
    "Field",
    "Hit",
    "Mode",
    "SearchFilters",
    "SearchResult",
    "build_fts_query",
    "estimate_matches",
    "fts_term",
    "id_range",
    "match_share",
    "filter_sql",
    "parse_when",
    "phrase_query",
    "search",
    "search_fts",
    "turn_info",
]

Mode = Literal["auto", "fts", "semantic", "hybrid"]
Field = Literal["answer", "question", "any"]
RRF_K = 60
#: Cosine similarity (all-MiniLM-L6-v2, sentence vectors) from which a turn is found by meaning.
SEMANTIC_MIN = 0.35
MAX_RANKED = 5_000  # bm25 ranks at most about this many matches (see _fts_ranked_bounded)
PROBE_ROWS = 5_000  # newest turns in which a query's matches are counted, to estimate the total
SNIPPET_TOKENS = 24
_HL_OPEN, _HL_CLOSE = "\x02", "\x03"
# What FTS5's unicode61 tokenizer calls a token: letters and digits (the underscore separates).
TOKEN = re.compile(r"[^\W_]+")
_COLUMNS = {"answer": "answer", "question": "question", "any": "{answer question}"}


@dataclass(frozen=True)
class Hit:
    """One turn found: who said it, where and when, and the matching passage."""

    turn_id: int
    session_id: str
    session_kind: str
    seq: int
    role: str
    voice: str
    voice_name: str
    started_at: str
    field: str  # "answer" or "question": where the passage is
    snippet: str
    highlights: tuple[tuple[int, int], ...]  # [start, end) of matched words in ``snippet``
    score: float
    via: tuple[str, ...]  # "fts", "semantic"
    similarity: float | None = None  # cosine, when found by meaning
    model: str = ""  # the model that spoke (as reported, else as requested)
    session_title: str = ""
    source_file: str | None = None  # the file an imported session came from


@dataclass(frozen=True)
class SearchResult:
    query: str
    mode: str  # what was actually done: "fts", "semantic" or "hybrid"
    hits: tuple[Hit, ...]
    fts_query: str | None = None
    unembedded: int = 0  # turns not yet embedded (a semantic search cannot find them)
    notes: tuple[str, ...] = field(default_factory=tuple)
    total: int = 0  # turns matching the query (by its words; by meaning in semantic mode)
    total_exact: bool = True  # False when ``total`` is estimated from the newest turns
    related: tuple[Hit, ...] = ()  # found by meaning only (hybrid): never mixed into ``hits``


# -- query building ------------------------------------------------------------------------------------

_QUERY_TOKEN = re.compile(
    r'(?P<neg>-)?(?:["\u201c\u201d](?P<phrase>[^"\u201c\u201d]*)["\u201c\u201d]?|(?P<word>[^\s"\u201c\u201d*]+))'
    r"(?P<star>\*)?"
)


def _fts_string(words: Sequence[str]) -> str:
    return '"' + " ".join(w.replace('"', '""') for w in words) + '"'


def phrase_query(text: str, column: Field = "answer") -> str | None:
    """An FTS5 query for ``text`` as one phrase (punctuation and typography ignored), or None if no words."""
    words = TOKEN.findall(text)
    if not words:
        return None
    return f"{_COLUMNS[column]} : {_fts_string(words)}"


Alternatives = list[tuple[list[str], bool]]  # (words of a phrase, prefix?) joined by OR


def _parse(query: str) -> tuple[list[Alternatives], list[str]]:
    """The query's required terms (each a list of OR-ed alternatives) and its excluded FTS5 terms."""
    positive: list[Alternatives] = []
    negative: list[str] = []
    pending_or = False
    for m in _QUERY_TOKEN.finditer(query):
        if m.group("word") == "OR" and not m.group("neg"):
            pending_or = bool(positive)
            continue
        text = m.group("phrase") if m.group("phrase") is not None else m.group("word") or ""
        words = TOKEN.findall(text)
        if not words:
            continue
        prefix = bool(m.group("star"))
        if m.group("neg"):
            negative.append(_fts_string(words) + (" *" if prefix else ""))
        elif pending_or:
            positive[-1].append((words, prefix))
            pending_or = False
        else:
            positive.append([(words, prefix)])
    if not positive:
        raise UsageError(
            f"nothing to search for in {query!r}: give at least one word or \"quoted phrase\" "
            f"(a -word only excludes)"
        )
    return positive, negative


def build_fts_query(query: str, column: Field = "answer") -> str:
    """Turn the user's query into a safe FTS5 expression (see the module docstring for the syntax)."""
    positive, negative = _parse(query)
    terms = [" OR ".join(_fts_string(ws) + (" *" if pre else "") for ws, pre in alts) for alts in positive]
    expr = " AND ".join(f"({t})" for t in terms)
    for n in negative:
        expr = f"({expr}) NOT {n}"
    return f"{_COLUMNS[column]} : ({expr})"


def fts_term(word: str) -> str:
    """A word as FTS5's unicode61 tokenizer (remove_diacritics 2) indexes it."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def id_range(archive: Archive) -> tuple[int, int]:
    """The lowest and highest turn id (two separate lookups: min and max together scan the table)."""
    row = archive.query("SELECT (SELECT min(id) FROM turns), (SELECT max(id) FROM turns)")[0]
    return int(row[0] or 0), int(row[1] or 0)


def match_share(archive: Archive, fts_query: str) -> tuple[float, int]:
    """The share of the newest ``PROBE_ROWS`` turns that match ``fts_query``, and the id span it applies to."""
    lo, hi = id_range(archive)
    span = hi - lo + 1
    window = max(1, min(PROBE_ROWS, span))
    rows = archive.query("SELECT count(*) FROM turns_fts WHERE turns_fts MATCH ? AND rowid > ?",
                         (fts_query, hi - window))
    return int(rows[0][0]) / window, span


def estimate_matches(archive: Archive, query: str, column: Field = "answer", *,
                     fts_query: str | None = None) -> int:
    """About how many turns the query matches: counted exactly in the newest ``PROBE_ROWS`` turns,
    then extrapolated to the whole id range (exact on an archive smaller than that)."""
    share, span = match_share(archive, fts_query or build_fts_query(query, column))
    return int(round(share * span))


def _plain_words(query: str) -> str:
    """The query without its operators, for embedding."""
    text = re.sub(r"(?<!\w)-(?=\S)", " ", query.replace("*", " "))
    text = re.sub(r"\bOR\b", " ", text)
    return " ".join(TOKEN.findall(text)) or query


# -- turn details -----------------------------------------------------------------------------------


def turn_info(archive: Archive, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Who/where/when of each turn id (no texts), keyed by id: with the model, the session title and
    the file an imported session came from (``source_file``, None otherwise)."""
    out: dict[int, dict[str, Any]] = {}
    for a in range(0, len(ids), 500):
        part = list(ids[a:a + 500])
        rows = archive.query(
            "SELECT t.id, t.session_id, COALESCE(s.kind, '') AS kind, t.seq, t.role, t.voice, t.voice_name, "
            "t.started_at, COALESCE(t.model_reported, t.model_requested, '') AS model, "
            "COALESCE(s.title, '') AS title, COALESCE(s.meta_json, '{}') AS smeta "
            "FROM turns t LEFT JOIN sessions s ON s.id = t.session_id "
            f"WHERE t.id IN ({','.join('?' * len(part))})",
            part,
        )
        for r in rows:
            info = dict(zip(r.keys(), tuple(r), strict=True))
            source = json.loads(info.pop("smeta") or "{}").get("source_path")
            info["source_file"] = str(source) if source else None
            out[int(info["id"])] = info
    return out


def _split_highlights(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    text: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    start: int | None = None
    for ch in marked:
        if ch == _HL_OPEN:
            start = pos
        elif ch == _HL_CLOSE:
            if start is not None:
                spans.append((start, pos))
            start = None
        else:
            text.append(ch)
            pos += 1
    return "".join(text), tuple(spans)


Spans = tuple[tuple[int, int], ...]


def _snippet(archive: Archive, fts_query: str, turn_id: int, column: Field) -> tuple[str, str, Spans]:
    cols = {"answer": (0,), "question": (1,), "any": (0, 1)}[column]
    best: tuple[str, str, Spans] | None = None
    for c in cols:
        rows = archive.query(
            f"SELECT snippet(turns_fts, {c}, ?, ?, '…', {SNIPPET_TOKENS}) FROM turns_fts "
            "WHERE turns_fts MATCH ? AND rowid = ?",
            (_HL_OPEN, _HL_CLOSE, fts_query, turn_id),
        )
        if not rows or rows[0][0] is None:
            continue
        text, spans = _split_highlights(" ".join(str(rows[0][0]).split()))
        name = "answer" if c == 0 else "question"
        if spans:
            return name, text, spans
        best = best or (name, text, spans)
    return best or ("answer", "", ())


def _hit(info: dict[str, Any], *, field: str, snippet: str, highlights: tuple[tuple[int, int], ...],
         score: float, via: tuple[str, ...], similarity: float | None = None) -> Hit:
    return Hit(turn_id=int(info["id"]), session_id=str(info["session_id"]), session_kind=str(info["kind"]),
               seq=int(info["seq"]), role=str(info["role"]), voice=str(info["voice"]),
               voice_name=str(info["voice_name"]), started_at=str(info["started_at"]), field=field,
               snippet=snippet, highlights=highlights, score=score, via=via, similarity=similarity,
               model=str(info.get("model") or ""), session_title=str(info.get("title") or ""),
               source_file=info.get("source_file"))


# -- full text -----------------------------------------------------------------------------------------


def _fts_ranked(archive: Archive, fts_query: str, n: int, filters: SearchFilters | None,
                from_id: int | None = None) -> list[tuple[int, float]]:
    where, params = filter_sql(filters)
    since_id = f" AND {'f.' if where else ''}rowid >= ?" if from_id is not None else ""
    id_params = [from_id] if from_id is not None else []
    try:
        if not where:
            # FTS5 sorts by rank inside the virtual table: no join until the top n are known.
            rows = archive.query(
                f"SELECT rowid, rank FROM turns_fts WHERE turns_fts MATCH ?{since_id} ORDER BY rank LIMIT ?",
                (fts_query, *id_params, n),
            )
        else:
            rows = archive.query(
                "SELECT f.rowid, f.rank FROM turns_fts f JOIN turns t ON t.id = f.rowid "
                "LEFT JOIN sessions s ON s.id = t.session_id "
                f"WHERE turns_fts MATCH ?{since_id} AND {where} ORDER BY f.rank LIMIT ?",
                (fts_query, *id_params, *params, n),
            )
    except ArchiveError as e:
        raise ArchiveError(f"the full-text search failed ({e}); is the archive from an older symposia?") from e
    return [(int(r[0]), float(r[1])) for r in rows]


def _fts_ranked_bounded(archive: Archive, query: str, fts_query: str, n: int, filters: SearchFilters | None,
                        field: Field, notes: list[str] | None) -> list[tuple[int, float]]:
    """bm25 top ``n``; for very common words, ranked among the most recent ~MAX_RANKED matches.

    bm25 has to score every match before it can sort (about 2-4 microseconds each): a query
    matching most of a million turns would take a second. Such a query is ranked within the newest
    part of the archive expected to hold ``MAX_RANKED`` matches, widened until ``n`` are found.
    The number of matches is estimated from their density among the newest turns.
    """
    estimate = estimate_matches(archive, query, field, fts_query=fts_query)
    if estimate <= MAX_RANKED:
        return _fts_ranked(archive, fts_query, n, filters)
    lo, hi = id_range(archive)
    share = MAX_RANKED / estimate
    while share < 1.0:
        from_id = int(hi - (hi - lo + 1) * share)
        ranked = _fts_ranked(archive, fts_query, n, filters, from_id)
        if len(ranked) >= n:
            if notes is not None:
                notes.append(f"very common words (up to {estimate:,} matching turns): ranked by relevance "
                             f"among the most recent turns (from turn {from_id}); add a word or a filter "
                             f"to search them all")
            return ranked
        share *= 4
    return _fts_ranked(archive, fts_query, n, filters)


def search_fts(archive: Archive, query: str, *, n: int = 10, filters: SearchFilters | None = None,
               field: Field = "answer", fts_query: str | None = None, notes: list[str] | None = None) -> list[Hit]:
    """Full-text search: the ``n`` best turns by bm25, each with a highlighted snippet."""
    if archive.dialect == "postgresql":
        # deferred: that module builds on this one (tsvector search with the same hits)
        from symposia.archive.pg_search import search_fts_pg

        return search_fts_pg(archive, query, n=n, filters=filters, field=field)
    fq = fts_query or build_fts_query(query, field)
    ranked = _fts_ranked_bounded(archive, query, fq, n, filters, field, notes)
    info = turn_info(archive, [i for i, _ in ranked])
    hits: list[Hit] = []
    for turn_id, rank in ranked:
        col, snip, spans = _snippet(archive, fq, turn_id, field)
        hits.append(_hit(info[turn_id], field=col, snippet=snip, highlights=spans, score=-rank, via=("fts",)))
    return hits


# -- semantic and hybrid ------------------------------------------------------------------------------


def _passage(text: str, start: int | None, end: int | None, max_words: int = 40) -> str:
    piece = text[start:end] if start is not None and end is not None else text
    words = piece.split()
    return " ".join(words[:max_words]) + (" …" if len(words) > max_words else "")


def _semantic(archive: Archive, query: str, n: int, filters: SearchFilters | None,
              embedder: Embedder) -> list[Hit]:
    """Turns near ``query`` in meaning, at least ``SEMANTIC_MIN`` similar, best first."""
    chunk_hits = [h for h in semantic_hits(archive, _plain_words(query), n, embedder, filters)
                  if h.score >= SEMANTIC_MIN]
    info = turn_info(archive, [h.turn_id for h in chunk_hits])
    texts = {int(r[0]): str(r[1]) for r in archive.query(
        f"SELECT id, answer FROM turns WHERE id IN ({','.join('?' * len(chunk_hits))})",
        [h.turn_id for h in chunk_hits])} if chunk_hits else {}
    return [
        _hit(info[h.turn_id], field="answer", snippet=_passage(texts[h.turn_id], h.start, h.end), highlights=(),
             score=h.score, via=("semantic",), similarity=round(h.score, 4))
        for h in chunk_hits if h.turn_id in info
    ]


def _fuse(rankings: Sequence[Sequence[int]], n: int) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: score = sum over the rankings of 1 / (RRF_K + rank)."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, turn_id in enumerate(ranking, start=1):
            scores[turn_id] = scores.get(turn_id, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])[:n]


def _asks_exact_phrase(query: str) -> bool:
    return any(m.group("phrase") is not None and not m.group("neg") for m in _QUERY_TOKEN.finditer(query))


def _hybrid(archive: Archive, query: str, fq: str, n: int, filters: SearchFilters | None, field: Field,
            embedder: Embedder, notes: list[str]) -> tuple[list[Hit], list[Hit]]:
    """Full-text matches ranked by fusing bm25 with meaning, and (apart) turns found by meaning only."""
    fetch = max(n * 4, 40)
    fts_ranked = [i for i, _ in _fts_ranked_bounded(archive, query, fq, fetch, filters, field, notes)]
    sem = {h.turn_id: h for h in _semantic(archive, query, fetch, filters, embedder)}
    in_fts = set(fts_ranked)
    fused = _fuse([fts_ranked, [i for i in sem if i in in_fts]], n)
    info = turn_info(archive, [i for i, _ in fused])
    hits: list[Hit] = []
    for turn_id, score in fused:
        s = sem.get(turn_id)
        via = ("fts", "semantic") if s is not None else ("fts",)
        col, snip, spans = _snippet(archive, fq, turn_id, field)
        hits.append(_hit(info[turn_id], field=col, snippet=snip, highlights=spans, score=round(score, 6),
                         via=via, similarity=s.similarity if s is not None else None))
    related: list[Hit] = []
    if not _asks_exact_phrase(query):
        related = [h for i, h in sem.items() if i not in in_fts][:n]
    return hits, related


def search(archive: Archive, query: str, *, n: int = 10, filters: SearchFilters | None = None,
           mode: Mode = "auto", field: Field = "answer", embedder: Embedder | None = None,
           index_pending: bool = False) -> SearchResult:
    """Search the archive (see the module docstring); ``mode="auto"`` is hybrid when embeddings exist.

    ``embedder`` is a :class:`symposia.archive.semantic.Embedder` (default: ``symposia.embed``);
    ``index_pending`` embeds the turns not yet embedded before a semantic or hybrid search.
    """
    if n <= 0:
        raise UsageError("the number of results must be at least 1")
    notes: list[str] = []
    fq = build_fts_query(query, field) if mode != "semantic" else None
    if mode in ("auto", "semantic", "hybrid"):
        if mode == "auto" and embedded_count(archive) == 0:
            mode = "fts"
        else:
            try:
                emb = embedder or default_embedder()
            except ArchiveError as e:
                if mode != "auto":
                    raise
                notes.append(f"full-text only: {e}")
                mode = "fts"
            else:
                if index_pending:
                    index_archive(archive, emb)
                if field != "answer":
                    notes.append("semantic search covers answers only")
                pending = pending_count(archive)
                if mode == "semantic":
                    hits = _semantic(archive, query, n, filters, emb)
                    return SearchResult(query, "semantic", tuple(hits), None, pending, tuple(notes),
                                        total=len(hits))
                assert fq is not None
                total, exact = _count(archive, query, fq, field, filters)
                fused, related = _hybrid(archive, query, fq, n, filters, field, emb, notes)
                return SearchResult(query, "hybrid", tuple(fused), fq, pending, tuple(notes), total=total,
                                    total_exact=exact, related=tuple(related))
    assert fq is not None
    hits = search_fts(archive, query, n=n, filters=filters, field=field, fts_query=fq, notes=notes)
    total, exact = _count(archive, query, fq, field, filters)
    return SearchResult(query, "fts", tuple(hits), fq, 0, tuple(notes), total=total, total_exact=exact)


def _count(archive: Archive, query: str, fq: str, field: Field, filters: SearchFilters | None) -> tuple[int, bool]:
    """How many turns match (exactly when the archive is small or a filter applies, else estimated)."""
    where, params = filter_sql(filters)
    if archive.dialect == "postgresql":
        # deferred: that module builds on this one (tsvector search with the same hits)
        from symposia.archive.pg_search import count_fts_pg

        return count_fts_pg(archive, query, filters=filters, field=field), True
    lo, hi = id_range(archive)
    if where or hi - lo + 1 <= PROBE_ROWS:
        rows = archive.query(
            "SELECT count(*) FROM turns_fts f JOIN turns t ON t.id = f.rowid "
            "LEFT JOIN sessions s ON s.id = t.session_id "
            f"WHERE turns_fts MATCH ?{' AND ' + where if where else ''}", (fq, *params))
        return int(rows[0][0]), True
    return estimate_matches(archive, query, field, fts_query=fq), False
