"""One verdict for a phrase against one text: verbatim, paraphrase (with a score), reversed, or absent.

This is the matcher's single rule, used by ``origin``, ``verify-quote``, the host's quote check and
the analysis alike:

- **verbatim**: the phrase occurs in the text in the normal form of :mod:`symposia.text.fold`
  (what a reader sees; typography and case folded), with the allowances of
  :mod:`symposia.text.match`; ``score`` is 1.0 and ``span`` the original words;
- **paraphrase**: not verbatim, but a window of the text is close enough, lexically or (when the
  caller knows the cosine similarity) in meaning (see :mod:`symposia.text.similarity` for the
  thresholds), and does not differ in negation;
- **reversed**: a window is that close but says the opposite (``the gap is not the altar``);
- **absent**: nothing close.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from symposia.text.fold import Folded
from symposia.text.match import Span, find
from symposia.text.similarity import (
    COVER_MIN,
    LEXICAL_MIN,
    MEANING_MIN,
    PARAPHRASE_MIN,
    best_window,
    paraphrase_score,
)

__all__ = ["Comparison", "Verdict", "compare"]

Verdict = Literal["verbatim", "paraphrase", "reversed", "absent"]


@dataclass(frozen=True)
class Comparison:
    """How a phrase stands against a text, with the text's real words when anything is close."""

    verdict: Verdict
    span: Span | None  # the original words: the verbatim match, or the closest window
    score: float  # 1.0 for verbatim; else the paraphrase score of the closest window (0.0 if none)
    lexical: float  # the window's lexical score (1.0 for verbatim)
    meaning: float | None  # the cosine similarity the caller gave, if any


def compare(phrase: str, text: str | Folded, *, meaning: float | None = None) -> Comparison:
    """The verdict for ``phrase`` against ``text``; ``meaning`` is the cosine similarity of the
    phrase and the text (or its closest sentence), when embeddings exist."""
    span = find(phrase, text)
    if span is not None:
        return Comparison("verbatim", span, 1.0, 1.0, meaning)
    window = best_window(phrase, text)
    if window is None:
        return Comparison("absent", None, 0.0, 0.0, meaning)
    score = paraphrase_score(window.lexical, meaning)
    lexical_ok = window.lexical >= LEXICAL_MIN and window.cover >= COVER_MIN
    meaning_ok = meaning is not None and meaning >= MEANING_MIN and score >= PARAPHRASE_MIN
    close = lexical_ok or meaning_ok
    if not close:
        return Comparison("absent", window.span, score, window.lexical, meaning)
    verdict: Verdict = "reversed" if window.reversed else "paraphrase"
    return Comparison(verdict, window.span, score, window.lexical, meaning)
