"""Near-verbatim spans shared by *different voices* ("isn't coincidence — it's resonance" written by two
models), found two ways:

1. **verbatim runs**: at least ``min_words`` words that two answers share once case, typography and
   Markdown emphasis are set aside. Every run of ``min_words`` words (a shingle) is indexed; matching
   shingles of a pair of answers are extended to maximal runs;
2. **near-verbatim sentences** (MinHash + LSH, ``datasketch``): each sentence of at least ``min_words``
   words gets a MinHash of its word pairs; the LSH index proposes sentences of other voices (with some
   slack below the threshold), kept when their exact word-pair Jaccard similarity is at least
   :data:`NEAR_JACCARD` — a few words changed, which breaks every run of five.

A voice repeating itself — in the same session or another — is never a shared span: that is a
habit, not agreement. Spans across the whole archive are ``symposia near-dups``' job."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

from symposia.analysis.lemmas import tokens

__all__ = ["NEAR_JACCARD", "SharedSpan", "Source", "near_sentences", "shared_spans"]

NEAR_JACCARD = 0.5  # word-pair Jaccard similarity from which two sentences count as near-verbatim
NUM_PERM = 128
LSH_SLACK = 0.6  # the LSH index proposes pairs from NEAR_JACCARD x this, so none near the threshold is missed
_SENTENCE = re.compile(r"[^.!?;\n]+")


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
    verbatim: bool = True  # False: near-verbatim sentences (a word or two differ)

    def to_dict(self, sources: Sequence[Source]) -> dict[str, object]:
        return {"words": self.words, "echo": self.echo, "verbatim": self.verbatim,
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
    one voice), longest first, a run found in several pairs merged; then near-verbatim sentences
    (:func:`near_sentences`) that no verbatim run already covers."""
    runs = _verbatim_runs(sources, min_words=min_words, limit=limit)
    near = [n for n in near_sentences(sources, min_words=min_words)
            if not any(_covers(r, n) for r in runs)]
    return (runs + near)[:limit]


def _covers(run: SharedSpan, near: SharedSpan) -> bool:
    """A verbatim run already reported in both places of a near-verbatim pair, and most of it (80 %)."""
    places = dict(near.spans)
    inside = sum(1 for k, text in run.spans if k in places and text in places[k])
    return inside >= 2 and run.words >= 0.8 * near.words


def _pairs(words: list[str]) -> set[str]:
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def near_sentences(sources: Sequence[Source], *, min_words: int = 5,
                   threshold: float = NEAR_JACCARD) -> list[SharedSpan]:
    """Sentences of at least ``min_words`` words, in texts of different voices, whose word pairs overlap
    with Jaccard similarity >= ``threshold`` without being the same words (those are verbatim runs).
    MinHash + LSH proposes the pairs; the exact Jaccard decides. Deterministic (fixed MinHash seed)."""
    units: list[tuple[int, str, list[str], set[str]]] = []  # (source, sentence as written, words, word pairs)
    for k, src in enumerate(sources):
        for m in _SENTENCE.finditer(src.text):
            words = _norm_words(m.group(0))[0]
            if len(words) >= min_words:
                units.append((k, m.group(0).strip(), words, _pairs(words)))
    # candidates from a looser LSH band (it is probabilistic near its threshold); the exact Jaccard decides
    lsh = MinHashLSH(threshold=threshold * LSH_SLACK, num_perm=NUM_PERM)
    hashes = []
    for u, (_, _, _, grams) in enumerate(units):
        mh = MinHash(num_perm=NUM_PERM, seed=1)
        mh.update_batch([g.encode("utf-8") for g in sorted(grams)])
        hashes.append(mh)
        lsh.insert(str(u), mh)
    shown = [_pairs(_norm_words(s.shown)[0]) for s in sources]
    out: list[SharedSpan] = []
    seen: set[tuple[int, int]] = set()
    for u, (k, text, words, grams) in enumerate(units):
        for hit in sorted(int(h) for h in lsh.query(hashes[u])):
            k2, text2, words2, grams2 = units[hit]
            if hit == u or (min(u, hit), max(u, hit)) in seen or sources[k].voice == sources[k2].voice:
                continue
            seen.add((min(u, hit), max(u, hit)))
            jaccard = len(grams & grams2) / len(grams | grams2)
            if jaccard < threshold or words == words2:
                continue
            # an echo when most of either sentence's wording was in what that voice was shown
            echo = any(len(g & shown[i]) >= threshold * len(g) for g, i in ((grams, k), (grams2, k2)))
            out.append(SharedSpan(words=min(len(words), len(words2)), spans=((k, text), (k2, text2)), echo=echo,
                                  verbatim=False))
    out.sort(key=lambda sp: -sp.words)
    return out


def _verbatim_runs(sources: Sequence[Source], *, min_words: int, limit: int) -> list[SharedSpan]:
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
