"""Near-verbatim spans shared by *different voices*: runs of at least ``min_words`` words that two
answers share once case, typography and Markdown emphasis are set aside ("isn't coincidence — it's
resonance" written by two models). Every run of ``min_words`` words (a shingle) is indexed; matching
shingles of a pair of answers are extended to maximal runs.

A voice repeating itself — in the same session or another — is never a shared span: that is a
habit, not agreement. Spans across the whole archive are ``symposia near-dups``' job."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from symposia.analysis.lemmas import tokens

__all__ = ["Source", "SharedSpan", "shared_spans"]


@dataclass(frozen=True)
class Source:
    """One text a span may be found in."""

    voice: str
    text: str
    turn_id: int | None = None
    session_id: str | None = None
    shown: str = ""  # what the voice was shown: a span found there is an echo


@dataclass(frozen=True)
class SharedSpan:
    words: int
    spans: tuple[tuple[int, str], ...]  # (index into sources, exact text as written there)
    echo: bool  # the shared words were in what at least one of the voices was shown

    def to_dict(self, sources: Sequence[Source]) -> dict[str, object]:
        return {"words": self.words, "echo": self.echo,
                "occurrences": [{"voice": sources[i].voice, "turn_id": sources[i].turn_id,
                                 "session_id": sources[i].session_id, "text": t} for i, t in self.spans]}


def _norm_words(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    words: list[str] = []
    offs: list[tuple[int, int]] = []
    for w, a, b in tokens(text):
        words.append(unicodedata.normalize("NFKC", w).casefold().replace("\u2019", "'"))
        offs.append((a, b))
    return words, offs


def _contains(hay: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(hay[i:i + n] == needle for i in range(len(hay) - n + 1))


def shared_spans(sources: Sequence[Source], *, min_words: int = 5, limit: int = 50) -> list[SharedSpan]:
    """Maximal word runs of at least ``min_words`` shared by texts of different voices (never two texts of
    one voice). Longest first; a run found in several pairs is merged."""
    prepared = [_norm_words(s.text) for s in sources]
    shown = [_norm_words(s.shown)[0] for s in sources]
    grams: dict[tuple[str, ...], list[tuple[int, int]]] = {}
    for si, (words, _) in enumerate(prepared):
        for i in range(len(words) - min_words + 1):
            grams.setdefault(tuple(words[i:i + min_words]), []).append((si, i))
    found: dict[tuple[str, ...], set[tuple[int, int, int]]] = {}  # words -> (source, start, end) word idx
    for si, (words, _) in enumerate(prepared):
        for sj in range(si + 1, len(sources)):
            x, y = sources[si], sources[sj]
            if x.voice == y.voice:
                continue
            other = prepared[sj][0]
            # positions in sj for each n-gram starting point in si, extended to maximal runs
            seen: set[tuple[int, int]] = set()
            for i in range(len(words) - min_words + 1):
                for (sk, j) in grams.get(tuple(words[i:i + min_words]), ()):
                    if sk != sj or (i, j) in seen:
                        continue
                    if i > 0 and j > 0 and words[i - 1] == other[j - 1]:
                        continue  # not the start of a maximal run
                    k = min_words
                    while i + k < len(words) and j + k < len(other) and words[i + k] == other[j + k]:
                        k += 1
                    for d in range(k - min_words + 1):
                        seen.add((i + d, j + d))
                    key = tuple(words[i:i + k])
                    found.setdefault(key, set()).update({(si, i, i + k), (sj, j, j + k)})
    # drop runs contained in a longer run found in the same places
    keys = sorted(found, key=len, reverse=True)
    kept: list[tuple[tuple[str, ...], set[tuple[int, int, int]]]] = []
    for key in keys:
        locs = found[key]
        if any(all(any(s == s2 and a2 <= a and b <= b2 for s2, a2, b2 in big) for s, a, b in locs)
               for _, big in kept):
            continue
        kept.append((key, locs))
    out: list[SharedSpan] = []
    for key, locs in kept[:limit]:
        spans: list[tuple[int, str]] = []
        for k, a, b in sorted(locs):
            offs = prepared[k][1]
            text = sources[k].text[offs[a][0]:offs[b - 1][1]]
            if (k, text) not in spans:
                spans.append((k, text))
        echo = any(_contains(shown[k], list(key)) for k, _, _ in locs)
        out.append(SharedSpan(words=len(key), spans=tuple(spans), echo=echo))
    return out
