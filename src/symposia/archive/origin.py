"""Who said it first, and did they really say it: ``origin`` and ``verify-quote`` over the archive.

Matching goes from strict to loose, and every result says which it used:

1. **verbatim** — the words and their case as recorded; only typography may differ (curly or
   straight quotes, dashes, whitespace, a final period; see :mod:`symposia.dialogue.quotes`).
2. **close** — a span of the answer whose characters match the phrase at a ratio of at least
   ``CLOSE_RATIO`` (0.85, difflib over case-folded, typography-normalised text): a changed case, an
   article or a word ending. Works without embeddings.
3. **paraphrase** — a sentence of the answer whose embedding has a cosine similarity of at least
   ``PARAPHRASE_COSINE`` (0.82, all-MiniLM-L6-v2) with the phrase's. Only when the embedding model
   loads; candidates come from full-text and (when the archive is indexed) semantic search.

Loose matches are only looked for when strict ones find nothing for the speaker in question.
Candidates always come from the full-text index first, so the archive is never scanned whole.

Each later use of a phrase is labelled by what its speaker had been shown: ``quoted by the host``
(a host turn), ``echoed`` (the phrase, or the matched text, is in the messages or system prompt
that turn was sent) or ``no recorded exposure``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from symposia.archive.search import TOKEN, fts_term, id_range, match_share, turn_info
from symposia.archive.store import Archive
from symposia.dialogue.quotes import closest_span, is_verbatim, locate
from symposia.errors import NotFoundError, SymposiaError, UsageError

__all__ = [
    "CLOSE_RATIO",
    "PARAPHRASE_COSINE",
    "OriginReport",
    "Place",
    "QuoteVerdict",
    "Use",
    "exposure_label",
    "origin",
    "sentence_spans",
    "unquote",
    "verify_quote",
    "verbatim_places",
]

CLOSE_RATIO = 0.85
PARAPHRASE_COSINE = 0.82
CANDIDATES = 50

Match = Literal["verbatim", "close", "paraphrase"]
Label = Literal["quoted by the host", "echoed", "no recorded exposure"]


@dataclass(frozen=True)
class Place:
    """Where a phrase (or something close to it) was said: the turn, and the exact recorded text."""

    turn_id: int
    session_id: str
    session_kind: str
    seq: int
    role: str
    voice: str
    voice_name: str
    started_at: str
    text: str  # exactly as recorded
    match: Match
    similarity: float | None = None  # difflib ratio (close) or cosine (paraphrase)


@dataclass(frozen=True)
class Use:
    place: Place
    label: Label
    before_origin: bool = False


@dataclass(frozen=True)
class OriginReport:
    phrase: str
    origin: Place | None
    origin_label: Label | None  # was the first voice to say it shown it? ("echoed" if so)
    uses: tuple[Use, ...]  # every other occurrence, in time order
    semantic: bool  # whether paraphrases by meaning were looked for


@dataclass(frozen=True)
class QuoteVerdict:
    voice: str
    quote: str
    status: Literal["verbatim", "paraphrase", "someone_else", "not_found"]
    verbatim: tuple[Place, ...]  # where this voice said it, word for word
    paraphrase: tuple[Place, ...]  # the closest things this voice really said
    others: tuple[Place, ...]  # other speakers who said it (verbatim, else close)
    semantic: bool

    @property
    def ok(self) -> bool:
        return self.status == "verbatim"


# -- text helpers ----------------------------------------------------------------------------------------

_ELISION_SPLIT = re.compile(r"\[\s*(?:\.\.\.|\u2026)\s*\]|\.\.\.|\u2026")
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]*_]*\s+|\n\s*")
_LEAD = re.compile(r"(?:\s|[-*+>#]+\s|\d+[.)]\s)+")  # used with .match(text, pos)


def sentence_spans(text: str, min_words: int = 3, max_words: int = 40) -> list[tuple[int, int]]:
    """[start, end) of the sentences (and list items, lines) of ``text``, without list/heading markers."""
    out: list[tuple[int, int]] = []
    start = 0
    for m in [*_SENTENCE_END.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        if m is not None:
            # keep closing quotes/brackets/emphasis with the sentence they end
            end = m.start() + len(m.group(0).rstrip())
        a, b = start, end
        lead = _LEAD.match(text, a, b)
        if lead:
            a = lead.end()
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a and min_words <= len(text[a:b].split()) <= max_words:
            out.append((a, b))
        start = m.end() if m is not None else len(text)
    return out


_WRAPPING_QUOTES = "\"'\u201c\u201d\u2018\u2019\u201e\u00ab\u00bb` "


def unquote(text: str) -> str:
    """A phrase as typed on a command line, without the quotation marks around it."""
    return text.strip().strip(_WRAPPING_QUOTES).strip()


def _norm_ci(text: str) -> str:
    return text.casefold()


def _shown(phrase: str, texts: Iterable[str]) -> bool:
    """Whether ``phrase`` appears in any of ``texts``, ignoring case and typography."""
    p = _norm_ci(phrase)
    return any(is_verbatim(p, _norm_ci(t)) for t in texts if t)


def _phrase_fts(phrase: str) -> str | None:
    """An FTS5 query over answers requiring each elided part of ``phrase`` as a phrase."""
    parts = [TOKEN.findall(p) for p in _ELISION_SPLIT.split(phrase)]
    terms = ['"' + " ".join(ws) + '"' for ws in parts if ws]
    return f"answer : ({' AND '.join(terms)})" if terms else None


def _words_fts(archive: Archive, phrase: str) -> str | None:
    """An FTS5 query over answers accepting any of the phrase's rarer words (bm25 ranks the overlap).

    Words in more than 5 % of the newest answers (the, is, of…) are left out unless nothing else is
    left: an OR over them would match, and rank, most of a large archive.
    """
    words = sorted({fts_term(w) for w in TOKEN.findall(phrase)})
    if not words:
        return None
    share = {w: match_share(archive, f'answer : "{w}"')[0] for w in words}
    small = id_range(archive)[1] < 20 * CANDIDATES * 20  # a small archive: rank everything
    rare = [w for w in words if small or share[w] <= 0.05] or sorted(words, key=lambda w: share[w])[:3]
    return f"answer : ({' OR '.join(chr(34) + w + chr(34) for w in rare)})"


def _voice_sql(voice: str | None, negate: bool = False) -> tuple[str, list[Any]]:
    if voice is None:
        return "", []
    cond = "(t.voice = ? COLLATE NOCASE OR t.voice_name = ? COLLATE NOCASE)"
    return (f" AND NOT {cond}" if negate else f" AND {cond}"), [voice, voice]


def _place(info: dict[str, Any], text: str, match: Match, similarity: float | None = None) -> Place:
    return Place(turn_id=int(info["id"]), session_id=str(info["session_id"]), session_kind=str(info["kind"]),
                 seq=int(info["seq"]), role=str(info["role"]), voice=str(info["voice"]),
                 voice_name=str(info["voice_name"]), started_at=str(info["started_at"]), text=text,
                 match=match, similarity=similarity)


def _chrono(places: Iterable[Place]) -> list[Place]:
    return sorted(places, key=lambda p: (p.started_at, p.turn_id))


# -- finding places ---------------------------------------------------------------------------------------


def verbatim_places(archive: Archive, phrase: str, *, voice: str | None = None,
                    exclude_voice: bool = False, roles: Sequence[str] | None = None) -> list[Place]:
    """Every turn whose answer contains ``phrase`` verbatim (typography aside), in time order."""
    fq = _phrase_fts(phrase)
    if fq is None:
        return []
    vsql, vparams = _voice_sql(voice, exclude_voice)
    rsql = f" AND t.role IN ({','.join('?' * len(roles))})" if roles else ""
    rows = archive.query(
        "SELECT t.id, t.answer FROM turns_fts f JOIN turns t ON t.id = f.rowid "
        f"WHERE turns_fts MATCH ? AND t.status != 'error'{vsql}{rsql} ORDER BY t.started_at, t.id",
        (fq, *vparams, *(roles or ())),
    )
    found: dict[int, str] = {}
    for r in rows:
        m = locate(phrase, {int(r["id"]): str(r["answer"])})
        if m is not None:
            found[m.turn_id] = m.span
    info = turn_info(archive, list(found))
    return _chrono(_place(info[i], span, "verbatim") for i, span in found.items() if i in info)


def _candidates(archive: Archive, phrase: str, *, voice: str | None, exclude_voice: bool,
                roles: Sequence[str] | None, embedder: Any) -> dict[int, str]:
    """Turns likely to hold something close to ``phrase`` (id -> answer): best by bm25 and by meaning."""
    vsql, vparams = _voice_sql(voice, exclude_voice)
    rsql = f" AND t.role IN ({','.join('?' * len(roles))})" if roles else ""
    ids: list[int] = []
    wq = _words_fts(archive, phrase)
    if wq is not None:
        rows = archive.query(
            "SELECT t.id FROM turns_fts f JOIN turns t ON t.id = f.rowid "
            f"WHERE turns_fts MATCH ? AND t.status != 'error'{vsql}{rsql} ORDER BY f.rank LIMIT ?",
            (wq, *vparams, *(roles or ()), CANDIDATES),
        )
        ids += [int(r[0]) for r in rows]
    if embedder is not None:
        from symposia.archive.semantic import embedded_count, search_vectors

        if embedded_count(archive) > 0:
            where = f"t.status != 'error'{vsql}{rsql}"
            hits = search_vectors(archive, embedder.embed([phrase])[0], CANDIDATES, where=where,
                                  params=[*vparams, *(roles or ())])
            ids += [h.turn_id for h in hits]
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    rows = archive.query(f"SELECT id, answer FROM turns WHERE id IN ({','.join('?' * len(ids))})", ids)
    return {int(r[0]): str(r[1]) for r in rows}


def _loose_places(archive: Archive, phrase: str, texts: dict[int, str], embedder: Any) -> list[Place]:
    """Close (lexical) and paraphrase (semantic) matches among ``texts``: the best one per turn."""
    best: dict[int, tuple[str, Match, float]] = {}
    for turn_id, text in texts.items():
        near = closest_span(phrase, {turn_id: text}, min_ratio=CLOSE_RATIO)
        if near is not None:
            best[turn_id] = (near[1], "close", near[2])
    if embedder is not None:
        sentences: list[tuple[int, str]] = []
        for turn_id, text in texts.items():
            if turn_id not in best:
                sentences += [(turn_id, text[a:b]) for a, b in sentence_spans(text, min_words=2, max_words=80)]
        if sentences:
            vecs = embedder.embed([phrase] + [s for _, s in sentences])
            sims = vecs[1:] @ vecs[0]
            for (turn_id, sentence), sim in zip(sentences, sims, strict=True):
                if float(sim) >= PARAPHRASE_COSINE and float(sim) > best.get(turn_id, ("", "close", -1.0))[2]:
                    best[turn_id] = (sentence, "paraphrase", round(float(sim), 4))
    info = turn_info(archive, list(best))
    return _chrono(_place(info[i], t, m, s) for i, (t, m, s) in best.items() if i in info)


def _embedder(semantic: bool, embedder: Any) -> Any:
    if not semantic:
        return None
    if embedder is not None:
        return embedder
    from symposia.archive.semantic import default_embedder

    try:
        return default_embedder()
    except SymposiaError:
        return None  # lexical matching only; the report says semantic=False


# -- exposure -------------------------------------------------------------------------------------------


def exposure_label(archive: Archive, place: Place, phrase: str) -> Label:
    """``quoted by the host`` for a host turn; else ``echoed`` if the turn was shown the phrase (or the
    matched text), else ``no recorded exposure``."""
    if place.role == "host":
        return "quoted by the host"
    rows = archive.query("SELECT messages_json, system_prompt FROM turns WHERE id = ?", (place.turn_id,))
    if not rows:
        return "no recorded exposure"
    shown = [str(m.get("content", "")) for m in json.loads(rows[0][0] or "[]") if isinstance(m, dict)]
    if rows[0][1]:
        shown.append(str(rows[0][1]))
    if _shown(phrase, shown) or (place.text and _shown(place.text, shown)):
        return "echoed"
    return "no recorded exposure"


# -- origin ---------------------------------------------------------------------------------------------


def origin(archive: Archive, phrase: str, *, semantic: bool = True, embedder: Any = None) -> OriginReport:
    """The earliest turn where a *voice* (not the host quoting it) said ``phrase``, and every other use.

    Verbatim first; only when no voice said it verbatim, the earliest close or paraphrased voice
    turn (see the module docstring for the thresholds). Uses are verbatim occurrences by anyone,
    plus, for a loose origin, the loose matches too.
    """
    phrase = unquote(phrase)
    if not TOKEN.search(phrase):
        raise UsageError("give a phrase with at least one word")
    emb = None
    exact = verbatim_places(archive, phrase)
    voiced = [p for p in exact if p.role == "voice"]
    places = list(exact)
    if voiced:
        first: Place | None = voiced[0]
    else:
        emb = _embedder(semantic, embedder)
        texts = _candidates(archive, phrase, voice=None, exclude_voice=False, roles=None, embedder=emb)
        loose = [p for p in _loose_places(archive, phrase, texts, emb) if p.turn_id not in {e.turn_id for e in exact}]
        places += loose
        voiced = _chrono(p for p in loose if p.role == "voice")
        first = voiced[0] if voiced else None
    uses: list[Use] = []
    key = (first.started_at, first.turn_id) if first is not None else None
    for p in _chrono(places):
        if first is not None and p.turn_id == first.turn_id:
            continue
        before = key is not None and (p.started_at, p.turn_id) < key
        uses.append(Use(p, exposure_label(archive, p, phrase), before))
    label = exposure_label(archive, first, phrase) if first is not None else None
    return OriginReport(phrase, first, label, tuple(uses), semantic=emb is not None)


# -- verify-quote ---------------------------------------------------------------------------------------


def _known_voice(archive: Archive, voice: str) -> None:
    rows = archive.query(
        "SELECT 1 FROM turns WHERE voice = ? COLLATE NOCASE OR voice_name = ? COLLATE NOCASE LIMIT 1",
        (voice, voice),
    )
    if not rows:
        known = [str(r[0]) for r in archive.query("SELECT DISTINCT voice FROM turns ORDER BY voice LIMIT 30")]
        raise NotFoundError(
            f"no turn by {voice!r} in {archive.path}. Voices in this archive: {', '.join(known) or 'none yet'}"
        )


def verify_quote(archive: Archive, voice: str, quote: str, *, semantic: bool = True,
                 embedder: Any = None) -> QuoteVerdict:
    """Did ``voice`` say ``quote``? verbatim (where), a close paraphrase (the real text), said by
    someone else (who, where) or not found. ``voice`` is a shortcut or display name."""
    quote = unquote(quote)
    if not TOKEN.search(quote):
        raise UsageError("give a quote with at least one word")
    _known_voice(archive, voice)
    mine = verbatim_places(archive, quote, voice=voice)
    others = verbatim_places(archive, quote, voice=voice, exclude_voice=True)
    if mine:
        return QuoteVerdict(voice, quote, "verbatim", tuple(mine), (), tuple(others), semantic=False)
    emb = _embedder(semantic, embedder)
    texts = _candidates(archive, quote, voice=voice, exclude_voice=False, roles=None, embedder=emb)
    close = sorted(_loose_places(archive, quote, texts, emb), key=lambda p: -(p.similarity or 0.0))
    if others:
        return QuoteVerdict(voice, quote, "someone_else", (), tuple(close[:3]), tuple(others), emb is not None)
    if close:
        return QuoteVerdict(voice, quote, "paraphrase", (), tuple(close[:3]), (), emb is not None)
    other_texts = _candidates(archive, quote, voice=voice, exclude_voice=True, roles=None, embedder=emb)
    other_close = sorted(_loose_places(archive, quote, other_texts, emb), key=lambda p: -(p.similarity or 0.0))
    status: Literal["someone_else", "not_found"] = "someone_else" if other_close else "not_found"
    return QuoteVerdict(voice, quote, status, (), (), tuple(other_close[:3]), emb is not None)
