"""Where a phrase was used, and what its speaker had been exposed to: the facts behind origin and verify-quote.

A :class:`Place` is one use of a phrase: the turn, who spoke (voice, model, character), when, the
session (title, the file it was imported from) and the exact original words. Its :class:`Exposure`
says whether the use can be an origin:

- **echo** — the speaker had been shown the words: they are in the messages or system prompt the
  turn was sent, or (for an imported session, which records no messages) another speaker used
  them earlier in the same session;
- **quote** — the words sit inside a quotation of the answer (quotation marks or a blockquote),
  attributed to someone (``Qwen said "…"``) or to nobody in particular; a quotation the speaker
  attributes to itself (``as I said, "…"``) is not a quote of someone else;
- **character** — the speaker is a character voiced by a model (``meta["character"]`` of an
  imported heteronyms session): the words are the model's, but not in its own voice;
- **host** — a host's (or chair's) turn, which relays or frames rather than answers.

A use with none of these is **original**. Dates: imported sessions often give a day without a time
(stored as midnight UTC); such a place is ``date_only`` and two originals on the same day are a tie.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from symposia.archive.candidates import term_index
from symposia.archive.store import Archive
from symposia.archive.tokens import phrase_terms
from symposia.text import Folded, Span, contains, fold, quotation_around, quotations

__all__ = ["Exposure", "Label", "Place", "TurnRow", "Use", "exposure_of", "load_turns", "place_at"]

Label = Literal["original", "echo", "quote", "character", "host"]
MatchKind = Literal["verbatim", "paraphrase"]

_MIDNIGHT = "T00:00:00.000000+00:00"


@dataclass(frozen=True)
class Place:
    """One use of a phrase: where, by whom, when, and the exact original words."""

    turn_id: int
    session_id: str
    session_kind: str
    session_title: str
    source_file: str | None  # the file the session was imported from, if it was
    seq: int
    role: str
    voice: str
    voice_name: str
    model: str
    character: str | None  # a character voiced by ``voice``'s model
    started_at: str
    date_only: bool  # the record knows the day, not the time
    text: str  # the original words, exactly as stored
    start: int  # offsets of ``text`` in the turn's answer
    end: int
    match: MatchKind
    score: float = 1.0  # 1.0 verbatim; the paraphrase score otherwise
    meaning: float | None = None  # cosine similarity, when embeddings were used

    @property
    def day(self) -> str:
        return self.started_at[:10]


@dataclass(frozen=True)
class Exposure:
    """What the speaker of a use had been shown, and in what voice it spoke."""

    role: str
    echo: bool
    shown_by: str | None  # "the messages it was sent", or the name of the earlier speaker
    shown_turn: int | None  # the earlier turn that showed it, when known
    quote: bool
    quoting: str | None  # the attribution of the quotation ("Qwen"), None if unnamed
    character: str | None

    @property
    def label(self) -> Label:
        if self.role != "voice":
            return "host"
        if self.character:
            return "character"
        if self.quote:
            return "quote"
        if self.echo:
            return "echo"
        return "original"

    @property
    def original(self) -> bool:
        return self.label == "original"


@dataclass(frozen=True)
class Use:
    place: Place
    exposure: Exposure
    before_origin: bool = False

    @property
    def label(self) -> Label:
        return self.exposure.label


@dataclass
class TurnRow:
    """What a place and its exposure need from the archive about one turn."""

    info: dict[str, Any]
    answer: str
    folded: Folded | None = None

    def fold(self) -> Folded:
        if self.folded is None:
            self.folded = fold(self.answer)
        return self.folded


def load_turns(archive: Archive, ids: Sequence[int]) -> dict[int, TurnRow]:
    """The turns ``ids`` with session details (title, source file, imported?) and their answers."""
    out: dict[int, TurnRow] = {}
    for a in range(0, len(ids), 500):
        part = list(ids[a:a + 500])
        rows = archive.query(
            "SELECT t.id, t.session_id, t.seq, t.role, t.voice, t.voice_name, t.started_at, t.answer, "
            "COALESCE(t.model_reported, t.model_requested, '') AS model, t.meta_json, "
            "COALESCE(s.kind, '') AS kind, COALESCE(s.title, '') AS title, COALESCE(s.meta_json, '{}') AS smeta "
            "FROM turns t LEFT JOIN sessions s ON s.id = t.session_id "
            f"WHERE t.id IN ({','.join('?' * len(part))})",
            part,
        )
        for r in rows:
            info = dict(zip(r.keys(), tuple(r), strict=True))
            answer = str(info.pop("answer"))
            smeta = json.loads(info.pop("smeta") or "{}")
            tmeta = json.loads(info.pop("meta_json") or "{}")
            info["imported"] = bool(smeta.get("imported"))
            info["source_file"] = smeta.get("source_path")
            character = tmeta.get("character")
            info["character"] = str(character) if character else None
            out[int(info["id"])] = TurnRow(info, answer)
    return out


def place_at(row: TurnRow, span: Span, match: MatchKind, score: float = 1.0,
             meaning: float | None = None) -> Place:
    i = row.info
    started = str(i["started_at"])
    return Place(turn_id=int(i["id"]), session_id=str(i["session_id"]), session_kind=str(i["kind"]),
                 session_title=str(i["title"]), source_file=i["source_file"], seq=int(i["seq"]), role=str(i["role"]),
                 voice=str(i["voice"]), voice_name=str(i["voice_name"]), model=str(i["model"]),
                 character=i["character"], started_at=started,
                 date_only=bool(i["imported"]) and started.endswith(_MIDNIGHT),
                 text=span.text, start=span.start, end=span.end, match=match, score=score, meaning=meaning)


def _shown_texts(archive: Archive, turn_id: int) -> list[str]:
    rows = archive.query("SELECT messages_json, system_prompt FROM turns WHERE id = ?", (turn_id,))
    if not rows:
        return []
    shown = [str(m.get("content", "")) for m in json.loads(rows[0][0] or "[]") if isinstance(m, dict)]
    if rows[0][1]:
        shown.append(str(rows[0][1]))
    return [s for s in shown if s]


def _words_in(words: Iterable[str], text: str) -> bool:
    low = text.casefold()
    return all(w in low for w in words)


def _earlier_in_session(archive: Archive, place: Place, phrase: str) -> tuple[str, int] | None:
    """Another speaker's earlier turn of the same session holding ``phrase`` verbatim: (name, turn id)."""
    ids = term_index(archive).holding_all(archive, phrase_terms(phrase),
                                          "t.session_id = ? AND t.seq < ? AND t.status != 'error'",
                                          (place.session_id, place.seq))
    if not ids:
        return None
    rows = archive.query(
        "SELECT t.id, t.answer, t.voice, t.voice_name, t.role, t.meta_json FROM turns t "
        f"WHERE t.id IN ({','.join('?' * len(ids))}) ORDER BY t.seq, t.id", ids,
    )
    for r in rows:
        character = json.loads(r["meta_json"] or "{}").get("character")
        same = r["voice"] == place.voice and r["role"] == place.role and (character or None) == place.character
        if not same and contains(str(r["answer"]), phrase):
            return str(character or r["voice_name"]), int(r["id"])
    return None


def exposure_of(archive: Archive, place: Place, row: TurnRow, phrase: str) -> Exposure:
    """The exposure of one use of ``phrase`` (see the module docstring)."""
    echo, shown_by, shown_turn = False, None, None
    probe = [w for w in fold(phrase, blocks=False).text.split() if w.isalnum()][:6]
    for text in _shown_texts(archive, place.turn_id):
        if _words_in(probe, text) and (contains(text, phrase) or (place.text and contains(text, place.text))):
            echo, shown_by = True, "the messages it was sent"
            break
    if not echo and row.info["imported"]:
        prior = _earlier_in_session(archive, place, phrase if place.match == "verbatim" else place.text)
        if prior is not None:
            echo, (shown_by, shown_turn) = True, prior
    quote, quoting = False, None
    q = quotation_around(row.answer, place.start, place.end, quotations(row.answer))
    if q is not None and q.attribution != "self":
        quote, quoting = True, q.attribution
    return Exposure(role=place.role, echo=echo, shown_by=shown_by, shown_turn=shown_turn, quote=quote,
                    quoting=quoting, character=place.character)
