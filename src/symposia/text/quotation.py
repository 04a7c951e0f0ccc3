"""Quotations inside a text: spans in quotation marks or blockquotes, and whom they are attributed to.

:func:`quotations` lists the quoted spans of a text: ``'…'``, ``"…"``, ``“…”``, ``‘…’``, ``«…»``
(apostrophes inside words — I'm, you'd, Qwen's — never open or close a quote; a quote never crosses
a blank line) and Markdown blockquotes (``> …`` lines). Each says whom the text attributes it to,
when it does: ``Qwen said "…"``, ``as DeepSeek put it, '…'``, ``in Kimi's words: “…”``,
``"…", said GLM``, ``"…" — Claude``, a blockquote introduced by ``Grok wrote:`` or closed by
``— Grok``. ``I said``/``as I put it`` is attributed to ``"self"``.

:func:`check_quotes` checks every quotation of a question (three words or more) against a corpus
(id -> text): found verbatim (:mod:`symposia.text.match`), else a misquote with the closest real
words (:func:`symposia.text.similarity.best_window`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from symposia.text.fold import fold
from symposia.text.match import QuoteMatch, locate
from symposia.text.similarity import best_window

__all__ = [
    "CLOSEST_MIN_RATIO",
    "MIN_WORDS",
    "Misquote",
    "QuoteCheck",
    "Quotation",
    "check_quotes",
    "closest_span",
    "find_quotes",
    "quotation_around",
    "quotations",
]

MIN_WORDS = 3
#: A misquote's closest span is offered for a redraft only when its characters are at least this similar.
CLOSEST_MIN_RATIO = 0.6

_PAIRS = (("'", "'"), ('"', '"'), ("\u201c", "\u201d"), ("\u2018", "\u2019"), ("\u00ab", "\u00bb"),
          ("\u201e", "\u201c"))
_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")


def _pattern(open_: str, close: str) -> re.Pattern[str]:
    o, c = re.escape(open_), re.escape(close)
    return re.compile(rf"(?<![\w{o}{c}]){o}(?=\S)((?:(?!\n[ \t]*\n).)+?)(?<=\S){c}(?!\w)", re.DOTALL)


_QUOTE_RES = tuple(_pattern(o, c) for o, c in _PAIRS)

_PART = r"[\w\-]*(?:\.\w+)*"
_NAME = rf"(?P<name>(?:[A-Z]{_PART}|\d{_PART})(?:[ \t]+[A-Z0-9]{_PART})*|I|you|they|he|she)"
_VERB = (r"(?:said|says|say|wrote|writes|write|put it|puts it|called it|calls it|asked|answered|replied|"
         r"responded|noted|observed|told (?:me|us)|offered|declared|argued|claimed|suggested|insisted)")
_BEFORE = (
    re.compile(rf"\b[Aa]s {_NAME} {_VERB}\b[^\"'\u201c\u2018\u00ab\n]{{0,24}}$"),
    re.compile(rf"\b[Ii]n {_NAME}['\u2019]s (?:own )?words\b[^\"'\u201c\u2018\u00ab\n]{{0,12}}$"),
    re.compile(rf"\b{_NAME}['\u2019]s (?:phrase|words|line|formulation|image|metaphor|answer|reply)\b"
               rf"[^\"'\u201c\u2018\u00ab\n]{{0,12}}$"),
    re.compile(rf"\b[Aa]ccording to {_NAME}\b[^\"'\u201c\u2018\u00ab\n]{{0,12}}$"),
    re.compile(rf"(?<![\w.])(?:(?:When|when|And|and|Then|then|But|but) )?{_NAME} "
               rf"(?:(?:had |has |once |just |already |then |also )?){_VERB}\b[^\"'\u201c\u2018\u00ab\n]{{0,40}}$"),
    re.compile(rf"(?:^|\n|[.!?]\s+){_NAME}:\s*$"),
)
_AFTER = (
    re.compile(rf"^[\"'\u201d\u2019\u00bb]?\s*,?\s*(?:{_VERB}) {_NAME}\b"),
    re.compile(rf"^\s*(?:,\s*)?(?:[\u2014\u2013]|--?)\s*{_NAME}\b"),
)
_BLOCK_LINE = re.compile(r"^[ \t]{0,3}>", re.MULTILINE)


@dataclass(frozen=True)
class Quotation:
    """A quoted span: its inner text as written, where it lies, and whom the text attributes it to."""

    text: str
    start: int
    end: int
    kind: Literal["marks", "blockquote"]
    attribution: str | None  # a name as written, "self" for I/me, None when the text names nobody


def _who(name: str) -> str:
    return "self" if name in ("I",) else name


def _attribution_before(text: str, start: int) -> str | None:
    head = text[max(0, start - 120):start]
    for pattern in _BEFORE:
        m = pattern.search(head)
        if m:
            return _who(m.group("name"))
    return None


def _attribution_after(text: str, end: int) -> str | None:
    tail = text[end:end + 60]
    for pattern in _AFTER:
        m = pattern.match(tail)
        if m:
            return _who(m.group("name"))
    return None


def _blockquotes(text: str) -> list[Quotation]:
    out: list[Quotation] = []
    lines = text.split("\n")
    offsets = []
    pos = 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    i = 0
    while i < len(lines):
        if not _BLOCK_LINE.match(lines[i]):
            i += 1
            continue
        j = i
        while j < len(lines) and _BLOCK_LINE.match(lines[j]):
            j += 1
        a, b = offsets[i], offsets[j - 1] + len(lines[j - 1])
        body = [re.sub(r"^[ \t]{0,3}>[ \t]?", "", ln) for ln in lines[i:j]]
        who = None
        last = body[-1].strip() if body else ""
        sig = re.match(rf"^(?:[\u2014\u2013]|--?)\s*{_NAME}", last)
        if sig:
            who = _who(sig.group("name"))
        elif j < len(lines):
            after = re.match(rf"^\s*(?:[\u2014\u2013]|--?)\s*{_NAME}", lines[j])
            if after:
                who = _who(after.group("name"))
        if who is None and i > 0:
            prev = lines[i - 1] if lines[i - 1].strip() else (lines[i - 2] if i > 1 else "")
            who = _attribution_before(prev.rstrip() + " ", len(prev.rstrip()) + 1) if prev.strip() else None
            if who is None and prev.strip():
                m = re.search(rf"\b{_NAME}(?: {_VERB})?:\s*$", prev.strip())
                if m:
                    who = _who(m.group("name"))
        out.append(Quotation(text[a:b], a, b, "blockquote", who))
        i = j
    return out


def quotations(text: str) -> list[Quotation]:
    """Every quoted span of ``text`` (any length), in order of where it starts."""
    found: dict[tuple[int, int], Quotation] = {}
    for pattern in _QUOTE_RES:
        for m in pattern.finditer(text):
            a, b = m.start(1), m.end(1)
            inner = text[a:b]
            lead = len(inner) - len(inner.lstrip())
            trail = len(inner) - len(inner.rstrip())
            a, b = a + lead, b - trail
            who = _attribution_before(text, m.start()) or _attribution_after(text, m.end())
            found.setdefault((a, b), Quotation(text[a:b], a, b, "marks", who))
    for q in _blockquotes(text):
        found.setdefault((q.start, q.end), q)
    return [found[k] for k in sorted(found)]


def quotation_around(text: str, start: int, end: int,
                     found: list[Quotation] | None = None) -> Quotation | None:
    """The innermost quotation of ``text`` that holds the span [start, end), or None."""
    best: Quotation | None = None
    for q in found if found is not None else quotations(text):
        if q.start <= start and end <= q.end and (best is None or q.end - q.start < best.end - best.start):
            best = q
    return best


def find_quotes(text: str) -> list[str]:
    """The quoted spans in quotation marks of ``text`` with at least ``MIN_WORDS`` words, in order,
    without duplicates (what a host's question must not misquote)."""
    out: list[str] = []
    for q in quotations(text):
        if q.kind == "marks" and len(_WORD.findall(q.text)) >= MIN_WORDS and q.text not in out:
            out.append(q.text)
    return out


@dataclass(frozen=True)
class Misquote:
    """A quote found nowhere in the corpus; ``closest`` is the nearest real span, if any is close."""

    quote: str
    closest: str | None
    turn_id: int | None
    ratio: float  # difflib ratio of the folded quote and the folded closest span


@dataclass(frozen=True)
class QuoteCheck:
    quotes: tuple[str, ...]
    found: tuple[QuoteMatch, ...]
    misquotes: tuple[Misquote, ...]

    @property
    def ok(self) -> bool:
        return not self.misquotes

    def sources(self) -> dict[str, int]:
        """quote -> id of the text it was found in."""
        return {m.quote: m.turn_id for m in self.found}


def closest_span(quote: str, corpus: Mapping[int, str],
                 min_ratio: float = CLOSEST_MIN_RATIO) -> tuple[int, str, float] | None:
    """The real span most like ``quote`` (id, exact original text, character ratio of the folded
    forms), or None below ``min_ratio``. Only the eight texts sharing most words are scanned."""
    target = fold(quote, blocks=False).text
    qwords = set(_WORD.findall(target))
    if not qwords:
        return None
    ranked = sorted(corpus, key=lambda t: (-len(qwords & set(_WORD.findall(corpus[t].casefold()))), t))
    best: tuple[float, int, str] | None = None
    for turn_id in ranked[:8]:
        w = best_window(quote, corpus[turn_id])
        if w is None:
            continue
        ratio = difflib.SequenceMatcher(None, target, fold(w.span.text, blocks=False).text, autojunk=False).ratio()
        if best is None or ratio > best[0]:
            best = (ratio, turn_id, w.span.text)
    if best is None or best[0] < min_ratio:
        return None
    ratio, turn_id, span = best
    return turn_id, span, round(ratio, 3)


def check_quotes(question: str, corpus: Mapping[int, str]) -> QuoteCheck:
    """Check every quote in ``question`` against ``corpus`` (id -> text): found, or misquoted."""
    quotes = find_quotes(question)
    found: list[QuoteMatch] = []
    misquotes: list[Misquote] = []
    for q in quotes:
        match = locate(q, corpus)
        if match is not None:
            found.append(match)
            continue
        near = closest_span(q, corpus)
        if near is None:
            misquotes.append(Misquote(quote=q, closest=None, turn_id=None, ratio=0.0))
        else:
            turn_id, span, ratio = near
            misquotes.append(Misquote(quote=q, closest=span, turn_id=turn_id, ratio=ratio))
    return QuoteCheck(quotes=tuple(quotes), found=tuple(found), misquotes=tuple(misquotes))
