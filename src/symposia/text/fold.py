"""The matcher's normal form: what a reader sees, typography and case folded, mapped back to the source.

:func:`fold` turns a stored text into a :class:`Folded`: Markdown rendered to plain text (see
:mod:`symposia.text.plain`), then, character by character:

- compatibility forms decomposed (NFKD: ``…`` -> ``...``, ligatures, full-width letters, no-break
  and thin spaces; accents become combining marks, the same whichever way the source encoded them);
- quotation marks and apostrophes: curly, straight, low-9, guillemets, primes, backtick -> ``'``
  or ``"``;
- dashes (hyphen, en, em, figure, minus, ``--``), with any spaces around them, -> one ``-``:
  ``real — it`` == ``real—it`` == ``real-it``;
- every run of whitespace -> one space; zero-width characters and soft hyphens dropped;
- case folded (``str.casefold``: ``ß`` -> ``ss``), leading and trailing spaces trimmed.

Every character of the folded text remembers the [start, end) of the source characters it came
from, so :meth:`Folded.source_span` turns a span of the folded text into the exact span of the
original that a reader would select.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from symposia.text.plain import render

__all__ = ["Folded", "fold", "fold_char", "normalize"]

_QUOTE_CHARS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u2039": "'", "\u203a": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
}
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d")
_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")


@lru_cache(maxsize=4096)
def fold_char(ch: str) -> str:
    """One character in the folded form (quotes, case, compatibility forms); dashes and spaces aside."""
    if ch in _QUOTE_CHARS:
        return _QUOTE_CHARS[ch]
    if ch in _INVISIBLE:
        return ""
    if ch.isascii():
        return ch.lower()
    out = []
    for c in unicodedata.normalize("NFKD", ch):
        c = _QUOTE_CHARS.get(c, c)
        out.append(" " if c.isspace() else c.casefold())
    return "".join(out)


def _is_dash(ch: str) -> bool:
    return ch in _DASHES


@dataclass(frozen=True)
class Folded:
    """A text in the matcher's normal form, with the way back to the original.

    ``starts[i]`` and ``ends[i]`` bound the source characters that folded character ``i`` came
    from (a space or a dash stands for a whole run of source whitespace and dashes).
    """

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The [start, end) in ``original`` of the folded span [start, end) (``end > start``),
        widened to take in emphasis markers it would otherwise leave unbalanced."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) is not inside a folded text of {len(self.text)} characters")
        a, b = _balance(self.original, self.starts[start], self.ends[end - 1])
        want = self.text[start:end]
        if want in fold(self.original[a:b], blocks=False).text:
            return a, b
        # Pair counts can balance while the span still cuts markup in two (it closes a code span opened
        # before it and opens one closed after it): take in the smallest run of adjacent markers that
        # makes the span read on its own as it reads in context.
        for extra in range(1, 2 * _MAX_WIDEN + 1):
            for left in range(min(extra, _MAX_WIDEN) + 1):
                right = extra - left
                if right > _MAX_WIDEN or a - left < 0 or b + right > len(self.original):
                    continue
                added = self.original[a - left:a] + self.original[b:b + right]
                if added.strip(_MARKERS):
                    continue
                if want in fold(self.original[a - left:b + right], blocks=False).text:
                    return a - left, b + right
        return a, b

    def source(self, start: int, end: int) -> str:
        """The original text of the folded span [start, end)."""
        a, b = self.source_span(start, end)
        return self.original[a:b]


_MARKERS = "*_~`"
_MAX_WIDEN = 3
_LINK_TAIL = re.compile(r"\]\([^()\s]*(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'))?\)|\]\[[^\[\]\n]*\]|\]")


def _balance(text: str, a: int, b: int) -> tuple[int, int]:
    """Widen [a, b) so that the markup it cuts is whole: emphasis markers and backticks in pairs, a
    link's bracket with its destination (``[text](url)``)."""
    for _ in range(8):  # brackets: each pass takes in one more unmatched side
        depth, unmatched_close = 0, False
        for i in range(a, b):
            if text[i] == "[":
                depth += 1
            elif text[i] == "]":
                if depth:
                    depth -= 1
                else:
                    unmatched_close = True
        if unmatched_close:
            k = text.rfind("[", 0, a)
            if k < 0:
                break
            a = k - 1 if k > 0 and text[k - 1] == "!" else k
        elif depth:
            k = text.find("]", b)
            if k < 0:
                break
            m = _LINK_TAIL.match(text, k)
            b = m.end() if m else k + 1
        else:
            break
    for mark in ("*", "_", "~", "`"):
        inside = text.count(mark, a, b)
        if inside % 2 == 0:
            continue
        right = b
        while right < len(text) and text[right] == mark and (text.count(mark, a, right) % 2):
            right += 1
        if text.count(mark, a, right) % 2 == 0:
            b = right
            continue
        left = a
        while left > 0 and text[left - 1] == mark and (text.count(mark, left, b) % 2):
            left -= 1
        if text.count(mark, left, b) % 2 == 0:
            a = left
    return a, b


def fold(text: str, *, markdown: bool = True, blocks: bool = True) -> Folded:
    """``text`` in the matcher's normal form (see the module docstring), with its offset map.

    ``markdown=False`` folds the characters as they are (for text that is not Markdown);
    ``blocks=False`` renders inline Markdown only (a phrase: its leading ``1.`` is not a list marker).
    """
    if markdown:
        plain, where = render(text, blocks=blocks)
    else:
        plain, where = text, list(range(len(text)))
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(plain)
    while i < n:
        ch = plain[i]
        if ch.isspace() or _is_dash(ch) or ch in _INVISIBLE:
            j = i
            dash = False
            while j < n and (plain[j].isspace() or _is_dash(plain[j]) or plain[j] in _INVISIBLE):
                dash = dash or _is_dash(plain[j])
                j += 1
            if dash or (plain[i] not in _INVISIBLE or any(plain[k].isspace() for k in range(i, j))):
                a, b = where[i], where[j - 1] + 1
                if dash:
                    # trim the spaces around the dash run from its source span
                    first = next(k for k in range(i, j) if _is_dash(plain[k]))
                    last = max(k for k in range(i, j) if _is_dash(plain[k]))
                    a, b = where[first], where[last] + 1
                if dash or (out and out[-1] != " "):
                    out.append("-" if dash else " ")
                    starts.append(a)
                    ends.append(b)
            i = j
            continue
        folded = fold_char(ch)
        src = where[i]
        for c in folded:
            if c == " ":
                if out and out[-1] != " ":
                    out.append(" ")
                    starts.append(src)
                    ends.append(src + 1)
                continue
            out.append(c)
            starts.append(src)
            ends.append(src + 1)
        i += 1
    # trim
    lo, hi = 0, len(out)
    while lo < hi and out[lo] == " ":
        lo += 1
    while hi > lo and out[hi - 1] == " ":
        hi -= 1
    return Folded(text, "".join(out[lo:hi]), tuple(starts[lo:hi]), tuple(ends[lo:hi]))


def normalize(text: str, *, markdown: bool = True, blocks: bool = True) -> str:
    """Just the folded text of ``text`` (no offset map)."""
    return fold(text, markdown=markdown, blocks=blocks).text
