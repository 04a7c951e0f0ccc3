"""Paraphrase: how close a phrase is to the best-matching words of a text, when it is not verbatim.

The *lexical* score of a phrase against a window of a text (both folded, :mod:`symposia.text.fold`)
averages three things, each in [0, 1]:

- **cover**: the share of the phrase's content stems (stop words aside; light suffix stripping, so
  ``closed`` ~ ``closes`` ~ ``closable``) that the window holds;
- **precision**: the share of the window's content stems that the phrase holds;
- **characters**: difflib's ratio between the two folded strings.

weighted 0.45 / 0.15 / 0.40. :func:`best_window` slides windows of the phrase's length (two words
shorter to three longer) over the text and keeps the best. When embeddings exist the caller passes
the cosine *meaning* similarity of the phrase and the window's sentence, and the score becomes
``0.4 * lexical + 0.6 * meaning``. A window is a paraphrase on lexical grounds with a lexical
score of at least ``LEXICAL_MIN`` and a cover of at least ``COVER_MIN``; on the grounds of meaning
with a cosine of at least ``MEANING_MIN`` and a combined score of at least ``PARAPHRASE_MIN``. Either
way it shares at least one content word with the phrase (no window is proposed otherwise).

:func:`reverses` says when a close window says the opposite: the two differ in negation (``not``,
``never``, ``n't``, ``no``, ``cannot``, ``without``… or an ``un-``/``in-``/``im-`` word whose stem
the other side holds). A reversed window is never a paraphrase.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from symposia.text.fold import Folded, fold
from symposia.text.match import Span

__all__ = [
    "COVER_MIN",
    "LEXICAL_MIN",
    "MEANING_MIN",
    "PARAPHRASE_MIN",
    "STOPWORDS",
    "Window",
    "best_window",
    "content_stems",
    "lexical_score",
    "paraphrase_score",
    "reverses",
    "stem",
    "word_spans",
]

#: Lexical score from which a window is a paraphrase when no meaning similarity is known.
LEXICAL_MIN = 0.62
#: Combined (lexical + meaning) score from which a window is a paraphrase.
PARAPHRASE_MIN = 0.62
#: Share of the phrase's content stems a window must hold to be a paraphrase on lexical grounds.
COVER_MIN = 0.6
#: Cosine similarity a sentence must reach to be a paraphrase on the grounds of meaning.
MEANING_MIN = 0.6

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
STOPWORDS = frozenset((
    "a", "an", "the", "and", "or", "but", "nor", "so", "yet", "for", "of", "to", "in", "on", "at", "by", "with",
    "from", "as", "into", "onto", "upon", "about", "than", "then", "this", "that", "these", "those", "it",
    "its", "it's", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "done", "have",
    "has", "had", "i", "me", "my", "we", "us", "our", "you", "your", "he", "him", "his", "she", "her", "they",
    "them", "their", "what", "which", "who", "whom", "whose", "where", "when", "why", "how", "all", "any",
    "both", "each", "few", "more", "most", "other", "some", "such", "only", "own", "same", "too", "very", "can",
    "will", "just", "should", "would", "could", "may", "might", "must", "shall", "there", "here", "because",
    "if", "while", "also",
))
_NEGATORS = frozenset((
    "not", "no", "never", "nothing", "nobody", "none", "nowhere", "neither", "nor", "cannot", "without", "n't",
    "isn't", "aren't", "wasn't", "weren't", "don't", "doesn't", "didn't", "won't", "wouldn't", "can't",
    "couldn't", "shouldn't", "mustn't", "hasn't", "haven't", "hadn't", "ain't",
))
_SUFFIXES = ("ational", "fulness", "iveness", "ations", "ation", "ously", "ness", "ment", "able", "ible",
             "ing", "ies", "ied", "ed", "es", "ly", "er", "s", "e")
_NEG_PREFIXES = ("un", "in", "im", "non", "dis")


def stem(word: str) -> str:
    """A crude stem (the longest listed suffix off, keeping at least three letters)."""
    for suf in _SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            return word[: -len(suf)]
    return word


def word_spans(folded: str) -> list[tuple[int, int]]:
    """[start, end) of the words of a folded text."""
    return [(m.start(), m.end()) for m in _WORD.finditer(folded)]


def content_stems(words: list[str]) -> set[str]:
    """Stems of the words that are not stop words (all of them if every word is one)."""
    content = [w for w in words if w not in STOPWORDS and w not in _NEGATORS]
    return {stem(w) for w in (content or words)}


def _overlap(q: set[str], w: set[str]) -> int:
    """Stems of ``q`` found in ``w``, a negative prefix allowed on either side (unclosable ~ closed)."""
    n = 0
    for s in q:
        if s in w or any(s.startswith(p) and s[len(p):] in w for p in _NEG_PREFIXES) \
                or any(p + s in w for p in _NEG_PREFIXES):
            n += 1
    return n


def _scores(phrase: str, window: str) -> tuple[float, float]:
    """(lexical score, cover) of two *folded* strings."""
    qw, ww = _WORD.findall(phrase), _WORD.findall(window)
    if not qw or not ww:
        return 0.0, 0.0
    qs, ws = content_stems(qw), content_stems(ww)
    cover = _overlap(qs, ws) / len(qs)
    precision = _overlap(ws, qs) / len(ws)
    chars = difflib.SequenceMatcher(None, phrase, window, autojunk=False).ratio()
    return round(0.45 * cover + 0.15 * precision + 0.40 * chars, 4), round(cover, 4)


def lexical_score(phrase: str, window: str) -> float:
    """Lexical similarity of two *folded* strings, in [0, 1] (see the module docstring)."""
    return _scores(phrase, window)[0]


def paraphrase_score(lexical: float, meaning: float | None) -> float:
    """The combined score: lexical alone, or ``0.4 * lexical + 0.6 * meaning`` with a cosine."""
    if meaning is None:
        return lexical
    return round(0.4 * lexical + 0.6 * max(0.0, meaning), 4)


def _negations(words: list[str], other: set[str]) -> int:
    n = 0
    for w in words:
        if w in _NEGATORS or w.endswith("n't"):
            n += 1
            continue
        for p in _NEG_PREFIXES:
            if w.startswith(p) and len(w) - len(p) >= 4 and stem(w[len(p):]) in other:
                n += 1
                break
    return n


def reverses(phrase: str, window: str) -> bool:
    """Whether two *folded* strings differ in negation (one says not what the other says)."""
    qw, ww = _WORD.findall(phrase), _WORD.findall(window)
    qs, ws = {stem(w) for w in qw}, {stem(w) for w in ww}
    return (_negations(qw, ws) % 2) != (_negations(ww, qs) % 2)


@dataclass(frozen=True)
class Window:
    """The words of a text most like a phrase: the original span and how close they are."""

    span: Span
    lexical: float
    reversed: bool  # the window says the opposite (differs in negation)
    cover: float = 1.0  # share of the phrase's content stems the window holds


def best_window(phrase: str, text: str | Folded, *, top: int = 12) -> Window | None:
    """The window of ``text`` most like ``phrase`` lexically (windows of the phrase's length, two
    words shorter to three longer), or None when they share no content word."""
    f = text if isinstance(text, Folded) else fold(text)
    q = fold(phrase, blocks=False).text
    qwords = _WORD.findall(q)
    if not qwords or not f.text:
        return None
    qs = content_stems(qwords)
    spans = word_spans(f.text)
    if not spans:
        return None
    stems = [stem(f.text[a:b]) for a, b in spans]
    hit = [1 if s in qs or any(s.startswith(p) and s[len(p):] in qs for p in _NEG_PREFIXES)
           or any(p + s in qs for p in _NEG_PREFIXES) else 0 for s in stems]
    if not any(hit):
        return None
    prefix = [0]
    for h in hit:
        prefix.append(prefix[-1] + h)
    k = len(qwords)
    ranked: list[tuple[int, int, int]] = []  # (-hits, start word, size)
    for size in range(max(1, k - 2), k + 4):
        for i in range(0, max(0, len(spans) - size) + 1):
            h = prefix[min(len(spans), i + size)] - prefix[i]
            if h and hit[i] | hit[min(len(spans), i + size) - 1]:  # windows start or end on a shared word
                ranked.append((-h, i, size))
    if not ranked:
        ranked = [(-1, i, 1) for i, h in enumerate(hit) if h]
    ranked.sort()
    best: tuple[float, float, int, int] | None = None
    for _, i, size in ranked[:top]:
        j = min(len(spans), i + size)
        a, b = spans[i][0], spans[j - 1][1]
        score, cover = _scores(q, f.text[a:b])
        if best is None or score > best[0]:
            best = (score, cover, a, b)
    assert best is not None
    score, cover, a, b = best
    # the phrase's closing punctuation, when the text has the same right after the window
    if q and not q[-1].isalnum() and b < len(f.text) and f.text[b] == q[-1]:
        b += 1
    oa, ob = f.source_span(a, b)
    return Window(Span(oa, ob, f.original[oa:ob]), score, reverses(q, f.text[a:b]), cover)
