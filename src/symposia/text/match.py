"""Verbatim matching: a phrase found in a text when both are equal in the matcher's normal form.

A phrase is *verbatim* in a text when its folded form (:func:`symposia.text.fold.fold`: what a reader
sees, typography and case folded) occurs in the text's folded form on word boundaries. Two
allowances make a quotation typed by a person still a quotation:

- a final ``.``, ``,``, ``;``, ``:``, ``!`` or ``?`` of the phrase may be absent from the text
  (American style puts the sentence's period inside the quotation marks);
- an ellipsis inside the phrase (``...``, ``…``, ``[…]``) marks an elision: each part must appear,
  in order, in the same text.

Every match is reported as a :class:`Span` of the *original* text, so it quotes the record exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from symposia.text.fold import Folded, fold

__all__ = ["QuoteMatch", "Span", "contains", "find", "find_all", "locate", "phrase_parts", "unquote"]

_ELISION = re.compile(r"\s*(?:\[\s*(?:\.\.\.|\u2026)\s*\]|\.\.\.|\u2026)\s*")
_TRAILING_PUNCT = ".,;:!?"
_WRAPPING_QUOTES = "\"'\u201c\u201d\u2018\u2019\u201e\u00ab\u00bb` "


@dataclass(frozen=True)
class Span:
    """Where a match lies in the original text: ``original[start:end] == text``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class QuoteMatch:
    """A phrase found in a corpus: the text (turn) it came from and the exact original span."""

    quote: str
    turn_id: int
    span: str
    start: int
    end: int


def unquote(text: str) -> str:
    """A phrase as typed on a command line, without the quotation marks around it."""
    return text.strip().strip(_WRAPPING_QUOTES).strip()


def _as_folded(text: str | Folded) -> Folded:
    return text if isinstance(text, Folded) else fold(text)


def phrase_parts(phrase: str) -> list[list[str]]:
    """Ways to look a phrase up, strictest first: as is, without its final punctuation, then as
    elided parts (each way a list of folded parts that must appear in order)."""
    q = fold(phrase, blocks=False).text
    out: list[list[str]] = []
    if q:
        out.append([q])
    bare = q.rstrip(_TRAILING_PUNCT).rstrip()
    if bare and bare != q:
        out.append([bare])
    pieces = [fold(p, blocks=False).text for p in _ELISION.split(phrase)]
    pieces = [p for p in pieces if p]
    if len(pieces) > 1:
        out.append(pieces)
        last = pieces[-1].rstrip(_TRAILING_PUNCT).rstrip()
        if last and last != pieces[-1]:
            out.append([*pieces[:-1], last])
    return out


def _bounded(hay: str, k: int, needle: str) -> bool:
    """Whether ``needle`` at ``hay[k:]`` starts and ends on word boundaries."""
    end = k + len(needle)
    if needle[0].isalnum() and k > 0 and hay[k - 1].isalnum():
        return False
    return not (needle[-1].isalnum() and end < len(hay) and hay[end].isalnum())


def _find_part(hay: str, part: str, pos: int) -> int:
    k = hay.find(part, pos)
    while k >= 0 and not _bounded(hay, k, part):
        k = hay.find(part, k + 1)
    return k


def _find_parts(f: Folded, parts: list[str], pos: int = 0) -> tuple[int, int] | None:
    """Folded [start, end) of ``parts`` found in order from ``pos``, or None."""
    first: int | None = None
    for part in parts:
        k = _find_part(f.text, part, pos)
        if k < 0:
            return None
        if first is None:
            first = k
        pos = k + len(part)
    return (first, pos) if first is not None else None


def find_all(phrase: str, text: str | Folded) -> list[Span]:
    """Every verbatim occurrence of ``phrase`` in ``text`` (original spans, in order, not overlapping),
    using the strictest way of :func:`phrase_parts` that finds any."""
    f = _as_folded(text)
    for parts in phrase_parts(phrase):
        spans: list[Span] = []
        pos = 0
        while True:
            hit = _find_parts(f, parts, pos)
            if hit is None:
                break
            a, b = f.source_span(*hit)
            spans.append(Span(a, b, f.original[a:b]))
            pos = hit[1]
        if spans:
            return spans
    return []


def find(phrase: str, text: str | Folded) -> Span | None:
    """The first verbatim occurrence of ``phrase`` in ``text``, or None."""
    f = _as_folded(text)
    for parts in phrase_parts(phrase):
        hit = _find_parts(f, parts)
        if hit is not None:
            a, b = f.source_span(*hit)
            return Span(a, b, f.original[a:b])
    return None


def contains(text: str | Folded, phrase: str) -> bool:
    """Whether ``phrase`` is verbatim in ``text``."""
    return find(phrase, text) is not None


def locate(quote: str, corpus: Mapping[int, str]) -> QuoteMatch | None:
    """Where ``quote`` first occurs in ``corpus`` (id -> text; lowest id first), or None."""
    for turn_id in sorted(corpus):
        span = find(quote, corpus[turn_id])
        if span is not None:
            return QuoteMatch(quote=quote, turn_id=turn_id, span=span.text, start=span.start, end=span.end)
    return None
