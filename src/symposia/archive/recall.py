"""``symposia recall VOICE``: a voice's most distinctive earlier formulations, verbatim.

Candidates are the short quotable sentences (4–30 words) and the **bold** spans of the voice's
answers, always exact substrings of a recorded answer. A candidate is *distinctive* when it is
made of words the rest of the archive rarely uses: its score is the mean inverse document
frequency of its distinct words over the answers of every other speaker,
``idf(w) = ln((N_rest + 1) / (df_rest(w) + 1))``, where document frequencies come from the
backend's term index (FTS5's ``turns_fts_vocab`` on SQLite, ``turns.terms`` on PostgreSQL: the same
terms, :mod:`symposia.archive.candidates`) minus the voice's own turns. Bold spans (the voice stressed
them) get a 20 % bonus. A formulation the voice repeated is shown once, at its first use, with
the number of turns it appears in; one that contains another already listed is left out.
Tf-idf was chosen over distance from an embedding centroid because it needs no embeddings, is
exact and explainable, and favours concrete rare images over generic on-topic sentences.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from symposia.archive.candidates import term_index
from symposia.archive.search import TOKEN, parse_when
from symposia.archive.store import Archive
from symposia.archive.tokens import answer_terms, index_term, tokens
from symposia.errors import NotFoundError, UsageError
from symposia.text import sentence_spans

__all__ = ["BOLD_BONUS", "Formulation", "recall"]

BOLD_BONUS = 1.2
MAX_TURNS = 5000
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.DOTALL)


@dataclass(frozen=True)
class Formulation:
    """A verbatim formulation (``text`` is a substring of the answer of ``turn_id``)."""

    text: str
    kind: str  # "bold" or "sentence"
    score: float
    turn_id: int
    session_id: str
    session_kind: str
    started_at: str
    voice: str
    voice_name: str
    times: int  # how many of the voice's turns contain it


def _terms(text: str) -> set[str]:
    return set(answer_terms(text))


def recall(archive: Archive, voice: str, n: int = 10, *, before: str | None = None, min_words: int = 4,
           max_words: int = 30) -> list[Formulation]:
    """The ``n`` most distinctive formulations of ``voice`` (shortcut or display name), best first.

    Reads at most the voice's latest ``MAX_TURNS`` answers (before ``before``, a date or ISO time).
    """
    if n <= 0:
        raise UsageError("the number of formulations must be at least 1")
    params: list[object] = [voice, voice]
    cond = ""
    if before:
        cond = " AND t.started_at < ?"
        params.append(parse_when(before))
    rows = archive.query(
        "SELECT t.id, t.answer, t.session_id, COALESCE(s.kind, '') AS kind, t.started_at, t.voice, t.voice_name "
        "FROM turns t LEFT JOIN sessions s ON s.id = t.session_id "
        "WHERE (t.voice = ? COLLATE NOCASE OR t.voice_name = ? COLLATE NOCASE) AND t.role != 'host' "
        f"AND t.status != 'error' AND t.answer != ''{cond} ORDER BY t.started_at DESC, t.id DESC LIMIT ?",
        (*params, MAX_TURNS),
    )
    if not rows:
        raise NotFoundError(f"no answer by {voice!r} in {archive.path}" + (f" before {before}" if before else ""))
    rows = list(reversed(rows))  # oldest first: a repeated formulation is credited to its first use

    own_df: dict[str, int] = {}
    turn_terms: list[set[str]] = []
    for r in rows:
        ts = _terms(str(r["answer"]))
        turn_terms.append(ts)
        for t in ts:
            own_df[t] = own_df.get(t, 0) + 1
    total = int(archive.query("SELECT count(*) FROM turns WHERE answer != ''")[0][0])
    own_total = int(archive.query(
        "SELECT count(*) FROM turns WHERE (voice = ? COLLATE NOCASE OR voice_name = ? COLLATE NOCASE) "
        "AND answer != ''", (voice, voice))[0][0])
    n_rest = max(0, total - own_total)
    all_df = term_index(archive).document_counts(archive, sorted(own_df))

    def idf(term: str) -> float:
        # own_df counts only the turns read here; never let the rest go negative.
        rest = max(0, all_df.get(term, 0) - own_df.get(term, 0))
        return math.log((n_rest + 1) / (rest + 1))

    best: dict[str, Formulation] = {}
    counts: dict[str, set[int]] = {}
    for r in rows:
        text = str(r["answer"])
        spans = [(m.start(2), m.end(2), "bold") for m in _BOLD.finditer(text)]
        spans += [(a, b, "sentence") for a, b in sentence_spans(text, min_words, max_words)]
        for a, b, kind in spans:
            piece = text[a:b]
            words = TOKEN.findall(piece)
            if not (min_words <= len(words) <= max_words) and not (kind == "bold" and len(words) >= 2):
                continue
            key = " ".join(index_term(w) for w in tokens(piece))
            counts.setdefault(key, set()).add(int(r["id"]))
            if key in best:
                continue
            distinct = set(answer_terms(piece))
            if not distinct:
                continue
            score = sum(idf(t) for t in distinct) / len(distinct)
            if kind == "bold":
                score *= BOLD_BONUS
            best[key] = Formulation(text=piece, kind=kind, score=round(score, 4), turn_id=int(r["id"]),
                                    session_id=str(r["session_id"]), session_kind=str(r["kind"]),
                                    started_at=str(r["started_at"]), voice=str(r["voice"]),
                                    voice_name=str(r["voice_name"]), times=0)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1].score, kv[1].started_at, kv[1].turn_id))
    out: list[Formulation] = []
    taken: list[str] = []
    for key, f in ranked:
        if len(out) >= n:
            break
        # one formulation once: skip one that contains, or is contained in, one already chosen
        if any(f" {key} " in f" {k} " or f" {k} " in f" {key} " for k in taken):
            continue
        taken.append(key)
        out.append(Formulation(**{**f.__dict__, "times": len(counts[key])}))
    return out
