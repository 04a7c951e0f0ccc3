"""The text matcher: one notion of "the same words" for origin, verify-quote, near-dups, search,
the host's quote check and the analysis. Pure: no I/O, nothing of ours imported but this package.

- :mod:`~symposia.text.plain` — Markdown rendered to the plain text a reader sees, with an offset map;
- :mod:`~symposia.text.fold` — the normal form (plain text, typography and case folded) and
  :class:`Folded`, which maps every folded span back to the original;
- :mod:`~symposia.text.match` — verbatim matching (:func:`find`, :func:`find_all`, :func:`locate`);
- :mod:`~symposia.text.similarity` — paraphrase scores (lexical; meaning when the caller has it);
- :mod:`~symposia.text.comparison` — the one verdict: verbatim / paraphrase / reversed / absent;
- :mod:`~symposia.text.quotation` — quotations inside a text and whom they are attributed to, and
  the check of a question's quotes against a corpus;
- :mod:`~symposia.text.sentences` — sentence spans.

See docs/PROVENANCE.md.
"""

from __future__ import annotations

from symposia.text.comparison import Comparison, Verdict, compare
from symposia.text.fold import Folded, fold, normalize
from symposia.text.match import QuoteMatch, Span, contains, find, find_all, locate, phrase_parts, unquote
from symposia.text.plain import render
from symposia.text.quotation import (
    Misquote,
    Quotation,
    QuoteCheck,
    check_quotes,
    closest_span,
    find_quotes,
    quotation_around,
    quotations,
)
from symposia.text.sentences import sentence_spans
from symposia.text.similarity import (
    COVER_MIN,
    LEXICAL_MIN,
    MEANING_MIN,
    PARAPHRASE_MIN,
    Window,
    best_window,
    lexical_score,
    paraphrase_score,
    reverses,
)

__all__ = [
    "COVER_MIN",
    "LEXICAL_MIN",
    "MEANING_MIN",
    "PARAPHRASE_MIN",
    "Comparison",
    "Folded",
    "Misquote",
    "QuoteCheck",
    "QuoteMatch",
    "Quotation",
    "Span",
    "Verdict",
    "Window",
    "best_window",
    "check_quotes",
    "closest_span",
    "compare",
    "contains",
    "find",
    "find_all",
    "find_quotes",
    "fold",
    "lexical_score",
    "locate",
    "normalize",
    "paraphrase_score",
    "phrase_parts",
    "quotation_around",
    "quotations",
    "render",
    "reverses",
    "sentence_spans",
    "unquote",
]
