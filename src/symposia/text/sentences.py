"""Sentences of a stored text: the units that paraphrases are compared with and embeddings index.

:func:`sentence_spans` cuts a text at sentence ends (``.``, ``!``, ``?``, ``…`` followed by space,
closing quotes and emphasis kept with their sentence) and at line breaks, and drops list, heading
and blockquote markers from the start of each piece. Spans are offsets into the original text.
"""

from __future__ import annotations

import re

__all__ = ["sentence_spans"]

_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]*_]*\s+|\n\s*")
_LEAD = re.compile(r"(?:\s|[-*+>#]+\s|\d+[.)]\s)+")  # used with .match(text, pos)


def sentence_spans(text: str, min_words: int = 3, max_words: int = 40) -> list[tuple[int, int]]:
    """[start, end) of the sentences (and list items, lines) of ``text`` with ``min_words`` to
    ``max_words`` words, without list/heading/blockquote markers."""
    out: list[tuple[int, int]] = []
    start = 0
    for m in [*_SENTENCE_END.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        if m is not None:
            # keep closing quotes/brackets/emphasis with the sentence they end
            end = m.start() + len(m.group(0).rstrip())
        a, b = start, end
        lead = _LEAD.match(text, a, b)
        if lead:
            a = lead.end()
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a and min_words <= len(text[a:b].split()) <= max_words:
            out.append((a, b))
        start = m.end() if m is not None else len(text)
    return out
