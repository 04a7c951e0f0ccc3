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

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

from symposia.analysis.lemmas import tokens

__all__ = ["NEAR_JACCARD", "SharedSpan", "Source", "near_sentences", "prepare", "shared_spans"]

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


Words = tuple[str, ...]
Places = set[tuple[int, int, int]]  # where a run is: (source, start word, end word)


@functools.lru_cache(maxsize=4096)
def _norm_words(text: str) -> tuple[Words, tuple[tuple[int, int], ...]]:
    """The words of ``text`` as spans compare them (case, width and apostrophes folded) and their
    offsets; made once per text (a text is asked again as the pairs and sentences of a session are;
    the analysis warm-up prepares the answers of a council while it runs)."""
    words: list[str] = []
    offs: list[tuple[int, int]] = []
    for w, a, b in tokens(text):
        words.append(unicodedata.normalize("NFKC", w).casefold().replace("\u2019", "'"))
        offs.append((a, b))
    return tuple(words), tuple(offs)


@functools.lru_cache(maxsize=4096)
def _word_pairs(text: str) -> frozenset[str]:
    """The adjacent word pairs of ``text`` (what an echo of a sentence is checked against)."""
    return frozenset(_pairs(_norm_words(text)[0]))


@functools.lru_cache(maxsize=8)
def _bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """The (bands, rows) datasketch picks for an LSH index of ``threshold``: it finds them by numerical
    integration (about 10 ms), the same answer every time, so once per process."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


@dataclass(frozen=True)
class _Sentence:
    text: str  # as written (stripped)
    words: Words
    pairs: frozenset[str]
    minhash: MinHash


@functools.lru_cache(maxsize=4096)
def _sentences(text: str, min_words: int) -> tuple[_Sentence, ...]:
    """The sentences of ``text`` of at least ``min_words`` words, with their word pairs and MinHash
    (fixed seed: deterministic); made once per text. Nothing here is changed after it is made."""
    out = []
    for m in _SENTENCE.finditer(text):
        words = _norm_words(m.group(0))[0]
        if len(words) >= min_words:
            grams = frozenset(_pairs(words))
            mh = MinHash(num_perm=NUM_PERM, seed=1)
            mh.update_batch([g.encode("utf-8") for g in sorted(grams)])
            out.append(_Sentence(m.group(0).strip(), words, grams, mh))
    return tuple(out)


def prepare(text: str = "", shown: str = "", *, min_words: int = 5) -> None:
    """Make what :func:`shared_spans` will ask of an answer and of what its voice was shown, ahead of it,
    and the bands of its LSH index (all that is made with no text); the analysis warm-up calls this while
    a council runs. Changes no result."""
    _bands(NEAR_JACCARD * LSH_SLACK, NUM_PERM)
    if text:
        _norm_words(text)
        _sentences(text, min_words)
    if shown:
        _norm_words(shown)
        _word_pairs(shown)


def _contains(hay: Words, needle: Words) -> bool:
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


def _pairs(words: Sequence[str]) -> set[str]:
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def near_sentences(sources: Sequence[Source], *, min_words: int = 5,
                   threshold: float = NEAR_JACCARD) -> list[SharedSpan]:
    """Sentences of at least ``min_words`` words, in texts of different voices, whose word pairs overlap
    with Jaccard similarity >= ``threshold`` without being the same words (those are verbatim runs).
    MinHash + LSH proposes the pairs; the exact Jaccard decides. Deterministic (fixed MinHash seed)."""
    units: list[tuple[int, _Sentence]] = [(k, sentence) for k, src in enumerate(sources)
                                          for sentence in _sentences(src.text, min_words)]
    # candidates from a looser LSH band (it is probabilistic near its threshold); the exact Jaccard decides
    lsh = MinHashLSH(threshold=threshold * LSH_SLACK, num_perm=NUM_PERM,
                     params=_bands(threshold * LSH_SLACK, NUM_PERM))
    for u, (_, sentence) in enumerate(units):
        lsh.insert(str(u), sentence.minhash)
    shown = [_word_pairs(s.shown) for s in sources]
    out: list[SharedSpan] = []
    seen: set[tuple[int, int]] = set()
    for u, (k, sentence) in enumerate(units):
        text, words, grams = sentence.text, sentence.words, sentence.pairs
        for hit in sorted(int(h) for h in lsh.query(sentence.minhash)):
            k2, other = units[hit]
            text2, words2, grams2 = other.text, other.words, other.pairs
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
    grams: dict[tuple[str, ...], list[tuple[int, int]]] = {}
    for si, (words, _) in enumerate(prepared):
        for i in range(len(words) - min_words + 1):
            grams.setdefault(tuple(words[i:i + min_words]), []).append((si, i))
    found: dict[Words, Places] = {}  # words -> (source, start, end) word idx
    first: dict[tuple[str, ...], tuple[int, int, int, int]] = {}  # words -> where first found (si, sj, i, j)
    for si, (words, _) in enumerate(prepared):
        # Each shingle of si leads straight to the later texts that share it (a pair of texts that share
        # none costs nothing: visiting every pair was quadratic in the voices, times their shingles).
        seen_in: dict[int, set[tuple[int, int]]] = {}  # per text sj: (i, j) already inside a run found
        for i in range(len(words) - min_words + 1):
            for (sj, j) in grams.get(tuple(words[i:i + min_words]), ()):
                if sj <= si or sources[si].voice == sources[sj].voice:
                    continue
                seen = seen_in.setdefault(sj, set())
                if (i, j) in seen:
                    continue
                other = prepared[sj][0]
                if i > 0 and j > 0 and words[i - 1] == other[j - 1]:
                    continue  # not the start of a maximal run
                k = min_words
                while i + k < len(words) and j + k < len(other) and words[i + k] == other[j + k]:
                    k += 1
                for d in range(k - min_words + 1):
                    seen.add((i + d, j + d))
                key = tuple(words[i:i + k])
                found.setdefault(key, set()).update({(si, i, i + k), (sj, j, j + k)})
                first[key] = min(first.get(key, (si, sj, i, j)), (si, sj, i, j))
    # longest first; among runs of a length, in the order of the pairs of texts they were found in
    return _reported(sorted(found, key=lambda key: (-len(key), first[key])), found, sources, limit=limit)


def _reported(keys: Sequence[Words], found: dict[Words, Places], sources: Sequence[Source], *,
              limit: int) -> list[SharedSpan]:
    """The runs ``found`` (words -> where), taken in the order of ``keys``, less those inside a longer run
    found in the same places; each with its text as written in each place and whether it is an echo."""
    prepared = [_norm_words(s.text) for s in sources]
    shown = [_norm_words(s.shown)[0] for s in sources]
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
        echo = any(_contains(shown[k], key) for k, _, _ in locs)
        out.append(SharedSpan(words=len(key), spans=tuple(spans), echo=echo))
    return out
