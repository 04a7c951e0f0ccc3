"""Quote checking: every span a host puts in quotation marks must be something a voice really said.

``find_quotes`` lists the quoted spans of a text ('…', "…", “…”, ‘…’ of at least three words;
apostrophes inside words — I'm, you'd, Qwen's — never open or close a quote). ``check_quotes``
looks each one up in a corpus (turn id -> text: the session so far, later the archive) and says
which turn it came from, or that it is a misquote, with the closest real span for a redraft.

Matching is exact in words and case. Only typography may differ between quote and record:

- quotation marks and apostrophes: curly, straight, low-9 and primes are the same character;
- dashes: hyphen, en dash, em dash, minus, ``--`` are the same, with or without spaces around;
- whitespace: any run of spaces, tabs and newlines is one space; ``…`` is ``...``;
- a final ``.``, ``,``, ``;``, ``:``, ``!`` or ``?`` inside the quote may be absent from the record
  (American style puts the sentence's period inside the quotation marks);
- an ellipsis inside a quote (``...``, ``…``, ``[…]``) marks an elision: each part must appear, in
  order, in the same turn.

Markdown emphasis is *not* typography here: the record ``burns not *on* the altar`` is not quoted
by ``burns not ON the altar`` nor by ``burns not on the altar``. Quote the record as it is.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from symposia.records import TurnRecord

__all__ = [
    "Misquote",
    "QuoteCheck",
    "QuoteMatch",
    "attribute_formulations",
    "check_quotes",
    "closest_span",
    "find_quote_spans",
    "find_quotes",
    "is_verbatim",
    "locate",
    "normalize_typography",
]

MIN_WORDS = 3
# A misquote's closest span is offered for the redraft only when it is at least this similar.
CLOSEST_MIN_RATIO = 0.6

_QUOTE_PAIRS = (("'", "'"), ('"', '"'), ("\u201c", "\u201d"), ("\u2018", "\u2019"))
_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")


def _quote_pattern(open_: str, close: str) -> re.Pattern[str]:
    o, c = re.escape(open_), re.escape(close)
    # Opening mark: not glued to a word on its left (so the ' of "I'm" never opens), text right after.
    # Closing mark: text right before, no word right after (so the ' of "you'd" never closes).
    # A quote never crosses a blank line.
    return re.compile(
        rf"(?<![\w{o}{c}]){o}(?=\S)((?:(?!\n[ \t]*\n).)+?)(?<=\S){c}(?!\w)",
        re.DOTALL,
    )


_QUOTE_RES = tuple(_quote_pattern(o, c) for o, c in _QUOTE_PAIRS)


def find_quote_spans(text: str) -> list[tuple[int, int, str]]:
    """Every quoted span of ``text`` (at least three words) as (start, end, inner text), in order;
    ``start``/``end`` delimit the inner text (the marks are at start - 1 and end)."""
    found: list[tuple[int, int, str]] = []
    for pattern in _QUOTE_RES:
        for m in pattern.finditer(text):
            inner = m.group(1).strip()
            if len(_WORD.findall(inner)) >= MIN_WORDS:
                found.append((m.start(1), m.end(1), inner))
    found.sort()
    # a quote nested in a longer one ('…' inside "…") is part of it, not a second quote
    out: list[tuple[int, int, str]] = []
    for a, b, q in found:
        if out and a < out[-1][1]:
            continue
        out.append((a, b, q))
    return out


def find_quotes(text: str) -> list[str]:
    """The quoted spans of ``text`` (at least three words), in order of appearance, without duplicates."""
    found: list[tuple[int, str]] = []
    for pattern in _QUOTE_RES:
        for m in pattern.finditer(text):
            inner = m.group(1).strip()
            if len(_WORD.findall(inner)) >= MIN_WORDS:
                found.append((m.start(1), inner))
    out: list[str] = []
    for _, q in sorted(found):
        if q not in out:
            out.append(q)
    return out


# -- typography ------------------------------------------------------------------------------------

_QUOTE_CHARS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
}
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212")


def _normalize_with_map(text: str) -> tuple[str, list[int], list[int]]:
    """Typography-normalised text plus, per output char, the [start, end) of its source in ``text``."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def emit(s: str, a: int, b: int) -> None:
        for ch in s:
            out.append(ch)
            starts.append(a)
            ends.append(b)

    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace() or ch in _DASHES:
            j = i
            while j < n and (text[j].isspace() or text[j] in _DASHES):
                j += 1
            run = text[i:j]
            if any(c in _DASHES for c in run):
                # spaces around a dash are typography: "real — it" == "real—it" == "real-it"
                emit("-", i, j)
            else:
                emit(" ", i, j)
            i = j
            continue
        if ch == "\u2026":
            emit("...", i, i + 1)
        elif ch in _QUOTE_CHARS:
            emit(_QUOTE_CHARS[ch], i, i + 1)
        else:
            emit(ch, i, i + 1)
        i += 1
    return "".join(out), starts, ends


def normalize_typography(text: str) -> str:
    """``text`` with quote marks, dashes, ellipses and whitespace runs in one canonical form."""
    return _normalize_with_map(text)[0].strip()


_ELISION = re.compile(r"\s*(?:\[\s*(?:\.\.\.|\u2026)\s*\]|\.\.\.|\u2026)\s*")
_TRAILING_PUNCT = ".,;:!?"


def _variants(quote: str) -> list[list[str]]:
    """Ways to look a quote up: as is, without its final punctuation, then as elided parts."""
    q = normalize_typography(quote)
    out: list[list[str]] = [[q]]
    bare = q.rstrip(_TRAILING_PUNCT).rstrip()
    if bare and bare != q:
        out.append([bare])
    parts = [normalize_typography(p) for p in _ELISION.split(quote)]
    parts = [p for p in parts if p]
    if len(parts) > 1:
        out.append(parts)
        bare_parts = [*parts[:-1], parts[-1].rstrip(_TRAILING_PUNCT).rstrip()]
        if bare_parts[-1] and bare_parts != parts:
            out.append(bare_parts)
    return out


@dataclass(frozen=True)
class QuoteMatch:
    """A quote found in the record: the turn it came from and the exact recorded span it matched."""

    quote: str
    turn_id: int
    span: str
    start: int
    end: int


@dataclass(frozen=True)
class Misquote:
    """A quote found nowhere in the corpus; ``closest`` is the nearest real span, if any is close."""

    quote: str
    closest: str | None
    turn_id: int | None
    ratio: float


@dataclass(frozen=True)
class QuoteCheck:
    quotes: tuple[str, ...]
    found: tuple[QuoteMatch, ...]
    misquotes: tuple[Misquote, ...]

    @property
    def ok(self) -> bool:
        return not self.misquotes

    def sources(self) -> dict[str, int]:
        """quote -> id of the turn it was found in."""
        return {m.quote: m.turn_id for m in self.found}


def _find_in(parts: list[str], text: str) -> tuple[int, int] | None:
    norm, starts, ends = _normalize_with_map(text)
    pos = 0
    first: int | None = None
    last = 0
    for part in parts:
        k = norm.find(part, pos)
        if k < 0:
            return None
        if first is None:
            first = k
        pos = k + len(part)
        last = pos
    assert first is not None
    return starts[first], ends[last - 1]


def locate(quote: str, record_texts: Mapping[int, str]) -> QuoteMatch | None:
    """Where ``quote`` first occurs (lowest turn id), matching typography only; None if nowhere."""
    for variant in _variants(quote):
        if not variant or not variant[0]:
            continue
        for turn_id in sorted(record_texts):
            text = record_texts[turn_id]
            hit = _find_in(variant, text)
            if hit is not None:
                a, b = hit
                return QuoteMatch(quote=quote, turn_id=turn_id, span=text[a:b], start=a, end=b)
    return None


def is_verbatim(quote: str, text: str) -> bool:
    """True when ``quote`` occurs in ``text`` (same words and case; typography may differ)."""
    return locate(quote, {0: text}) is not None


_EDGE_JUNK = "*_ \t\n\"'\u201c\u201d\u2018\u2019([{"


def closest_span(quote: str, record_texts: Mapping[int, str],
                 min_ratio: float = CLOSEST_MIN_RATIO) -> tuple[int, str, float] | None:
    """The real span most like ``quote`` (turn id, exact text, similarity), or None below ``min_ratio``.

    Compares windows of about the quote's length in words, ignoring case and typography, so that a
    capitalised or re-punctuated misquote still finds its source.
    """
    target = normalize_typography(quote).casefold()
    k = len(target.split())
    if k == 0:
        return None
    qwords = set(_WORD.findall(target))
    # Only the texts sharing the most words with the quote are scanned window by window.
    ranked = sorted(record_texts,
                    key=lambda t: (-len(qwords & set(_WORD.findall(record_texts[t].casefold()))), t))
    best: tuple[float, int, str] | None = None
    for turn_id in ranked[:8]:
        text = record_texts[turn_id]
        tokens = list(re.finditer(r"\S+", text))
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(target)
        for size in range(max(1, k - 2), k + 3):
            for i in range(0, max(0, len(tokens) - size) + 1):
                window = tokens[i:i + size]
                if not window:
                    continue
                raw = text[window[0].start():window[-1].end()]
                matcher.set_seq1(normalize_typography(raw).casefold())
                if matcher.real_quick_ratio() < min_ratio or matcher.quick_ratio() < min_ratio:
                    continue
                r = matcher.ratio()
                if best is None or r > best[0]:
                    best = (r, turn_id, raw)
    if best is None or best[0] < min_ratio:
        return None
    ratio, turn_id, raw = best
    span = raw.strip(_EDGE_JUNK).rstrip("*_\"'\u201d\u2019)]}")
    return turn_id, span, round(ratio, 3)


def check_quotes(question: str, record_texts: Mapping[int, str]) -> QuoteCheck:
    """Check every quote in ``question`` against the corpus (turn id -> recorded text)."""
    quotes = find_quotes(question)
    found: list[QuoteMatch] = []
    misquotes: list[Misquote] = []
    for q in quotes:
        match = locate(q, record_texts)
        if match is not None:
            found.append(match)
            continue
        near = closest_span(q, record_texts)
        if near is None:
            misquotes.append(Misquote(quote=q, closest=None, turn_id=None, ratio=0.0))
        else:
            turn_id, span, ratio = near
            misquotes.append(Misquote(quote=q, closest=span, turn_id=turn_id, ratio=ratio))
    return QuoteCheck(quotes=tuple(quotes), found=tuple(found), misquotes=tuple(misquotes))


def attribute_formulations(rows: Sequence[Mapping[str, Any]],
                           turns: Sequence[TurnRecord]) -> list[dict[str, Any]]:
    """Give each ``{voice, quote}`` row the id of that voice's answer that contains the quote.

    The result is what a ``formulations`` host turn stores in ``meta["rows"]``; ``turn_id`` is None
    for a quote the voice never said (the renderer leaves such rows out, and says so).
    """
    out: list[dict[str, Any]] = []
    for row in rows:
        voice = str(row["voice"])
        quote = str(row["quote"])
        texts = {t.id: t.result.text for t in turns
                 if t.id is not None and t.role == "voice" and t.voice == voice and t.result.ok}
        match = locate(quote, texts)
        out.append({"turn_id": match.turn_id if match else None, "voice": voice, "quote": quote})
    return out
