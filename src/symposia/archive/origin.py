"""Who said it first, and did they really say it: ``origin`` and ``verify-quote`` over the archive.

Both use the one matcher of :mod:`symposia.text`: a phrase is **verbatim** in an answer when both
are equal as a reader sees them (Markdown rendered, typography and case folded); anything else
close is a **paraphrase** with a score (lexical, plus meaning from the stored embeddings when the
archive is indexed: the query is embedded once, no answer is re-embedded at query time).

Candidates come from the indexes, never from a scan, through the backend's term index
(:mod:`symposia.archive.candidates`: FTS5 on SQLite, ``turns.terms`` on PostgreSQL, the same terms):
verbatim uses from the turns holding every word of the phrase, paraphrases from the turns holding
the most, and the rarest, of the phrase's rarer words and, when the archive has embeddings, from the
vector index. The verdicts are the matcher's, so both backends give the same answers.

Every use carries its exposure (:mod:`symposia.archive.exposure`): echo, quote, character, host or
original. **origin** is the earliest *original* verbatim use (a real voice, not shown the words,
not quoting, not a character); when no use is original, there is no origin and the report says
why. Originals on the same day whose date has no time are **ties**. Close paraphrases are listed
beside, labelled as such.

**verify-quote** answers one of (with its exit code for the CLI):

====================  ====  ==============================================================
``verbatim``           0    the voice said it, as an original use
``not_found``          1    nobody in the archive said it, nor anything close
``echoed``             3    the voice said it verbatim, but only after being shown it
``paraphrase``         4    the voice said something close: the real words and the score
``someone_else``       5    another speaker said it (or the voice only quoted someone)
====================  ====  ==============================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from symposia.archive.candidates import TermIndex, rank_by_rarity, term_index
from symposia.archive.exposure import Exposure, Place, TurnRow, Use, exposure_of, load_turns, place_at
from symposia.archive.search import PROBE_ROWS, TOKEN, id_range
from symposia.archive.semantic import Embedder, default_embedder, embedded_count, search_vectors, turn_vectors
from symposia.archive.store import Archive
from symposia.archive.tokens import answer_terms, phrase_terms
from symposia.errors import ArchiveError, NotFoundError, UsageError
from symposia.text import Comparison, Span, compare, find_all, quotation_around, quotations, unquote

__all__ = [
    "EXIT_CODES",
    "MAX_USES",
    "OriginReport",
    "QuoteStatus",
    "QuoteVerdict",
    "exposure_line",
    "origin",
    "paraphrase_places",
    "verbatim_places",
    "verify_quote",
]

#: Candidates taken from each index (bm25, vectors) when looking for paraphrases.
CANDIDATES = 30
#: Uses examined in detail (exposure) at most; the report gives the total.
MAX_USES = 200
#: Paraphrases listed beside an origin at most.
MAX_PARAPHRASES = 5

QuoteStatus = Literal["verbatim", "echoed", "paraphrase", "someone_else", "not_found"]
EXIT_CODES: dict[str, int] = {"verbatim": 0, "not_found": 1, "echoed": 3, "paraphrase": 4, "someone_else": 5}


@dataclass(frozen=True)
class OriginReport:
    phrase: str
    origin: Use | None  # the earliest original verbatim use by a real voice
    ties: tuple[Use, ...]  # other originals on the same day, where a date has no time
    uses: tuple[Use, ...]  # every other verbatim use, in time order (at most MAX_USES examined)
    paraphrases: tuple[Use, ...]  # close paraphrases by anyone, best first
    total: int  # verbatim uses in the archive
    semantic: bool  # whether meaning (embeddings) was used for paraphrases
    why_none: str | None = None  # when there is no origin: why


@dataclass(frozen=True)
class QuoteVerdict:
    voice: str
    quote: str
    status: QuoteStatus
    mine: tuple[Use, ...]  # where this voice said it verbatim (originals first)
    paraphrase: tuple[Use, ...]  # the closest things this voice really said
    others: tuple[Use, ...]  # other speakers who said it (verbatim, else in other words)
    reversed: Place | None  # a close text of this voice that says the opposite
    semantic: bool

    @property
    def ok(self) -> bool:
        return self.status == "verbatim"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


# -- candidates ------------------------------------------------------------------------------------

def _rare_terms(archive: Archive, index: TermIndex, phrase: str) -> list[str]:
    """The phrase's terms, less those in more than 5 % of the newest answers (unless nothing else is
    left: then its three rarest). On a small archive every term is kept."""
    terms = answer_terms(phrase)
    lo, hi = id_range(archive)
    if hi < 20 * CANDIDATES * 20:
        return terms
    window = max(1, min(PROBE_ROWS, hi - lo + 1))
    share = {t: index.count_since(archive, t, hi - window) / window for t in terms}
    return [t for t in terms if share[t] <= 0.05] or sorted(terms, key=lambda t: (share[t], t))[:3]


def _voice_sql(index: TermIndex, voice: str | None, negate: bool = False) -> tuple[str, list[Any]]:
    if voice is None:
        return "", []
    cond = ("(t.voice = ? COLLATE NOCASE OR t.voice_name = ? COLLATE NOCASE "
            f"OR lower({index.character_sql}) = lower(?))")
    return (f" AND NOT {cond}" if negate else f" AND {cond}"), [voice, voice, voice]


def _chrono(uses: Sequence[Use]) -> list[Use]:
    return sorted(uses, key=lambda u: (u.place.started_at, u.place.turn_id))


def _best_span(row: TurnRow, phrase: str) -> Span | None:
    """The turn's first verbatim span not inside a quotation (else its first span), or None."""
    spans = find_all(phrase, row.fold())
    if not spans:
        return None
    found = quotations(row.answer)
    for s in spans:
        q = quotation_around(row.answer, s.start, s.end, found)
        if q is None or q.attribution == "self":
            return s
    return spans[0]


def verbatim_places(archive: Archive, phrase: str, *, voice: str | None = None,
                    exclude_voice: bool = False, limit: int = MAX_USES) -> tuple[list[Use], int]:
    """Verbatim uses of ``phrase`` (at most ``limit``, earliest first, each with its exposure) and
    how many turns hold it in all."""
    index = term_index(archive)
    vsql, vparams = _voice_sql(index, voice, exclude_voice)
    ids = index.holding_all(archive, phrase_terms(phrase), f"t.status != 'error'{vsql}", vparams)
    places: list[tuple[Place, TurnRow]] = []
    total = 0
    for a in range(0, len(ids), 100):
        batch = load_turns(archive, ids[a:a + 100])
        for i in ids[a:a + 100]:
            row = batch.get(i)
            span = _best_span(row, phrase) if row is not None else None
            if row is None or span is None:
                continue
            total += 1
            if len(places) < limit:
                places.append((place_at(row, span, "verbatim"), row))
    uses = [Use(p, exposure_of(archive, p, row, phrase)) for p, row in places]
    return _chrono(uses), total


def _query_vector(embedder: Embedder | None, archive: Archive, phrase: str) -> Any:
    if embedder is None or embedded_count(archive) == 0:
        return None
    return embedder.embed([phrase])[0]


def paraphrase_places(archive: Archive, phrase: str, *, voice: str | None = None, exclude_voice: bool = False,
                      embedder: Embedder | None = None, skip: Sequence[int] = ()) -> tuple[list[Use], list[Place]]:
    """Close paraphrases of ``phrase`` (best first) and close texts that say the opposite.

    Candidates: the turns holding the most, and the rarest, of the phrase's rarer words, plus the
    nearest stored vectors when the archive has embeddings; each candidate's meaning similarity is the
    best cosine of its stored vectors.
    """
    index = term_index(archive)
    vsql, vparams = _voice_sql(index, voice, exclude_voice)
    where = f"t.status != 'error'{vsql}"
    lists = {t: index.holding(archive, t, where, vparams) for t in _rare_terms(archive, index, phrase)}
    ids: list[int] = rank_by_rarity(lists, CANDIDATES)
    qv = _query_vector(embedder, archive, phrase)
    if qv is not None:
        ids += [h.turn_id for h in search_vectors(archive, qv, CANDIDATES, where=where, params=vparams)]
    ids = [i for i in dict.fromkeys(ids) if i not in set(skip)]
    if not ids:
        return [], []
    sentences: dict[int, Sentences] = {}
    if qv is not None:
        for turn_id, (vecs, spans) in turn_vectors(archive, ids).items():
            sentences[turn_id] = [(float(c), sp) for c, sp in zip(vecs @ qv, spans, strict=True)]
    rows_by_id = load_turns(archive, ids)
    found: list[tuple[Place, TurnRow]] = []
    reversed_: list[Place] = []
    for turn_id in ids:
        row = rows_by_id.get(turn_id)
        if row is None:
            continue
        c = _closest(phrase, row, sentences.get(turn_id))
        if c is None or c.span is None or c.verdict in ("absent", "verbatim"):
            continue
        place = place_at(row, c.span, "paraphrase", c.score, c.meaning)
        if c.verdict == "reversed":
            reversed_.append(place)
        else:
            found.append((place, row))
    found.sort(key=lambda pr: -pr[0].score)
    uses = [Use(p, exposure_of(archive, p, row, p.text)) for p, row in found]
    reversed_.sort(key=lambda p: -p.score)
    return uses, reversed_


Sentences = list[tuple[float, tuple[int, int] | None]]  # (cosine with the phrase, span in the answer)


def _closest(phrase: str, row: TurnRow, sentences: Sentences | None) -> Comparison | None:
    """The better of: the closest words of the whole answer (scored with the meaning of the sentence
    that holds them), and the sentence nearest in meaning. Meaning comes from stored vectors only."""
    lexical = compare(phrase, row.fold())
    if not sentences:
        return lexical
    if lexical.span is not None:
        around = [cos for cos, sp in sentences if sp is not None and sp[0] <= lexical.span.start < sp[1]]
        if around:
            lexical = compare(phrase, row.fold(), meaning=max(around))
    cos, span = max(sentences, key=lambda s: s[0])
    if span is None:
        return lexical
    a, b = span
    near = compare(phrase, row.answer[a:b], meaning=cos)
    if near.span is not None:
        near = replace(near, span=Span(near.span.start + a, near.span.end + a, near.span.text))
    rank = {"paraphrase": 2, "reversed": 1, "absent": 0, "verbatim": 3}
    return max((lexical, near), key=lambda c: (rank[c.verdict], c.score))


def _embedder(archive: Archive, semantic: bool, embedder: Embedder | None) -> Embedder | None:
    """The embedder for the query, or None: meaning not asked for, no stored vectors to compare
    with (the model is then not even loaded), or the model unavailable."""
    if not semantic or embedded_count(archive) == 0:
        return None
    if embedder is not None:
        return embedder
    try:
        return default_embedder()
    except ArchiveError:
        return None  # lexical matching only; reports say semantic=False


def _phrase(text: str) -> str:
    phrase = unquote(text)
    if not TOKEN.search(phrase):
        raise UsageError("give a phrase with at least one word")
    return phrase


# -- origin ---------------------------------------------------------------------------------------


_WHY = {"echo": "an echo (the speaker had been shown it)", "quote": "a quote of someone",
        "host": "a host's turn", "character": "a character voiced by a model", "original": "an original"}


def _why_none(uses: Sequence[Use]) -> str:
    if not uses:
        return "nobody in the archive said it verbatim"
    return "every verbatim use is " + " or ".join(_WHY[lb] for lb in sorted({u.label for u in uses}))


def origin(archive: Archive, phrase: str, *, semantic: bool = True, embedder: Embedder | None = None) -> OriginReport:
    """The earliest original use of ``phrase`` by a real voice, ties, every other use, and paraphrases."""
    phrase = _phrase(phrase)
    uses, total = verbatim_places(archive, phrase)
    originals = [u for u in uses if u.exposure.original]
    first = originals[0] if originals else None
    ties: list[Use] = []
    if first is not None:
        ties = [u for u in originals[1:] if u.place.day == first.place.day and u.place.session_id !=
                first.place.session_id and (u.place.date_only or first.place.date_only)]
    key = (first.place.started_at, first.place.turn_id) if first else None
    listed = [Use(u.place, u.exposure, key is not None and (u.place.started_at, u.place.turn_id) < key)
              for u in uses if u is not first and u not in ties]
    emb = _embedder(archive, semantic, embedder)
    paraphrases, _ = paraphrase_places(archive, phrase, embedder=emb, skip=[u.place.turn_id for u in uses])
    return OriginReport(phrase, first, tuple(ties), tuple(listed), tuple(paraphrases[:MAX_PARAPHRASES]),
                        total, emb is not None, None if first else _why_none(uses))


# -- verify-quote ---------------------------------------------------------------------------------


def _known_voice(archive: Archive, voice: str) -> None:
    rows = archive.query(
        "SELECT 1 FROM turns t WHERE t.voice = ? COLLATE NOCASE OR t.voice_name = ? COLLATE NOCASE LIMIT 1",
        (voice, voice),
    )
    if not rows:
        rows = archive.query(f"SELECT 1 FROM turns t WHERE lower({term_index(archive).character_sql}) = lower(?) "
                             "LIMIT 1", (voice,))
    if not rows:
        known = [str(r[0]) for r in archive.query("SELECT DISTINCT voice FROM turns ORDER BY voice LIMIT 30")]
        raise NotFoundError(
            f"no turn by {voice!r} in {archive.path}. Voices in this archive: {', '.join(known) or 'none yet'}"
        )


def _own(u: Use) -> bool:
    """A use in the voice's own words: not a quote of someone else."""
    return not u.exposure.quote


def verify_quote(archive: Archive, voice: str, quote: str, *, semantic: bool = True,
                 embedder: Embedder | None = None) -> QuoteVerdict:
    """Did ``voice`` (a shortcut, display name or character) say ``quote``? See the module docstring."""
    quote = _phrase(quote)
    _known_voice(archive, voice)
    mine, _ = verbatim_places(archive, quote, voice=voice)
    others, _ = verbatim_places(archive, quote, voice=voice, exclude_voice=True)
    own = [u for u in mine if _own(u)]
    emb = _embedder(archive, semantic, embedder)
    originals = [u for u in own if u.exposure.original
                 or (u.exposure.label in ("character", "host") and not u.exposure.echo)]
    if originals:
        ordered = tuple(originals + [u for u in mine if u not in originals])
        return QuoteVerdict(voice, quote, "verbatim", ordered, (), tuple(others), None, emb is not None)
    if own:
        return QuoteVerdict(voice, quote, "echoed", tuple(own + [u for u in mine if u not in own]), (),
                            tuple(others), None, emb is not None)
    close, reversed_ = paraphrase_places(archive, quote, voice=voice, embedder=emb,
                                         skip=[u.place.turn_id for u in mine])
    if mine or others:  # only quoting someone, or never said by this voice
        return QuoteVerdict(voice, quote, "someone_else", tuple(mine), tuple(close[:3]), tuple(others),
                            reversed_[0] if reversed_ else None, emb is not None)
    if close:
        return QuoteVerdict(voice, quote, "paraphrase", (), tuple(close[:3]), (),
                            reversed_[0] if reversed_ else None, emb is not None)
    if reversed_:  # the voice said the opposite: not found, and the opposite is shown
        return QuoteVerdict(voice, quote, "not_found", (), (), (), reversed_[0], emb is not None)
    other_close, _ = paraphrase_places(archive, quote, voice=voice, exclude_voice=True, embedder=emb)
    status: QuoteStatus = "someone_else" if other_close else "not_found"
    return QuoteVerdict(voice, quote, status, (), (), tuple(other_close[:3]),
                        reversed_[0] if reversed_ else None, emb is not None)


def exposure_line(e: Exposure) -> str:
    """A short description of an exposure, for views: the label, whom a quotation names, who showed it."""
    parts = {"original": "original", "host": "host's turn", "character": f"character {e.character}",
             "quote": "quote", "echo": "echo"}
    out = parts[e.label]
    if e.quote:
        who = {"you": "the one it addresses", "they": "someone named before", "he": "someone named before",
               "she": "someone named before"}.get(e.quoting or "", e.quoting)
        out += f", quoting {who}" if who else ", in quotation marks"
    if e.echo:
        if e.label != "echo":
            out += ", echo"
        out += (f" (said earlier in this session by {e.shown_by}, turn {e.shown_turn})" if e.shown_turn
                else " (it was in the messages it was sent)")
    return out
