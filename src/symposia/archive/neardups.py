"""``symposia near-dups``: spans shared verbatim or nearly by *different* voices, across sessions.

Answers of role ``voice`` are cut into words the way a reader compares them: case folded,
punctuation, quote marks, dashes and Markdown ignored, and contractions spelled out (``isn't`` ->
``is not``, ``it's`` -> ``it is``), so "isn't coincidence — it's resonance" and "It is not
coincidence. It is resonance." are the same six words. Two standard methods find the pairs:

1. **exact shingles**: every run of ``min_words`` words is hashed; runs used by two or more voices
   are merged along their diagonal into maximal spans (a one-word difference inside is tolerated);
2. **MinHash + LSH** (``datasketch``): every sentence of at least ``min_words`` words (and every pair
   of adjacent short sentences) gets a MinHash of its word bigrams; an LSH index at Jaccard
   ``LSH_THRESHOLD`` proposes pairs of units from different voices (a unit too few of whose bigrams
   occur in any other voice's text to reach that threshold is left out first), which are then
   aligned word by word (difflib) into the longest near-verbatim span (gaps of one word allowed, at
   least ``MIN_COVER`` of its words the same).

A span is reported when it has at least ``min_words`` words in each place. Each place says whether
its speaker had been *shown* the span (it is in the messages that turn was sent, or an earlier turn
of the same imported session by another speaker holds it): an echo, not a coincidence. A shingle
found in more than ``MAX_PLACES`` turns keeps only each voice's first use, so boilerplate cannot
blow up the pairs.
"""

from __future__ import annotations

import difflib
import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

from symposia.archive.filters import SearchFilters, filter_sql
from symposia.archive.store import Archive
from symposia.errors import UsageError
from symposia.text import contains, sentence_spans

__all__ = ["LSH_THRESHOLD", "MAX_PLACES", "MIN_COVER", "SharedSpan", "SpanPlace", "near_duplicates", "words_of"]

MAX_PLACES = 20
LSH_THRESHOLD = 0.5
NUM_PERM = 32
MIN_COVER = 0.8
PREFILTER = 0.4  # share of a unit's bigrams seen in another voice's text, below which it cannot pair
SHORT_SENTENCE = 8  # sentences shorter than this (in words) are also compared in adjacent pairs

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_PRONOUN_S = frozenset(["it", "that", "what", "there", "here", "he", "she", "who", "where", "how", "let"])
_IRREGULAR = {"won't": ("will", "not"), "can't": ("can", "not"), "shan't": ("shall", "not"),
              "ain't": ("is", "not"), "let's": ("let", "us")}
_SUFFIX = {"n't": "not", "'re": "are", "'m": "am", "'ve": "have", "'ll": "will", "'d": "would"}


def words_of(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The words of ``text`` as compared here (case folded, contractions spelled out) and, for each,
    the [start, end) in ``text`` of the written word it comes from."""
    words: list[str] = []
    offsets: list[tuple[int, int]] = []
    for m in _WORD.finditer(text):
        w = m.group(0).casefold().replace("\u2019", "'")
        span = (m.start(), m.end())
        parts: tuple[str, ...] = (w,)
        if "'" in w:
            if w in _IRREGULAR:
                parts = _IRREGULAR[w]
            else:
                for suf, full in _SUFFIX.items():
                    if w.endswith(suf) and len(w) > len(suf):
                        parts = (w[: -len(suf)], full)
                        break
                else:
                    if w.endswith("'s"):
                        base = w[:-2]
                        parts = (base, "is") if base in _PRONOUN_S else (base,)
        for p in parts:
            words.append(p)
            offsets.append(span)
    return words, offsets


@dataclass(frozen=True)
class SpanPlace:
    turn_id: int
    session_id: str
    session_kind: str
    session_title: str
    voice: str
    voice_name: str
    started_at: str
    text: str  # exactly as recorded
    shown: bool  # the speaker had been shown this span: an echo
    date_only: bool = False  # an imported session that gives the day, not the time


@dataclass(frozen=True)
class SharedSpan:
    words: int
    verbatim: bool  # the same words everywhere (else near-verbatim)
    places: tuple[SpanPlace, ...]  # in time order
    method: str  # "shingles" or "minhash"

    @property
    def voices(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.voice for p in self.places))


@dataclass
class _Turn:
    id: int
    voice: int
    text: str
    words: list[str]
    offsets: list[tuple[int, int]]
    info: dict[str, object]


def _load(archive: Archive, filters: SearchFilters | None) -> list[_Turn]:
    where, params = filter_sql(filters)
    rows = archive.query(
        "SELECT t.id, t.answer, t.voice, t.voice_name, t.session_id, t.seq, COALESCE(s.kind, '') AS kind, "
        "COALESCE(s.title, '') AS title, t.started_at, COALESCE(s.meta_json, '{}') AS smeta "
        "FROM turns t LEFT JOIN sessions s ON s.id = t.session_id "
        f"WHERE t.role = 'voice' AND t.status != 'error' AND t.answer != ''{' AND ' + where if where else ''} "
        "ORDER BY t.started_at, t.id",
        params,
    )
    voices: dict[str, int] = {}
    out: list[_Turn] = []
    for r in rows:
        text = str(r["answer"])
        words, offsets = words_of(text)
        info = dict(zip(r.keys(), tuple(r), strict=True))
        info["imported"] = bool(json.loads(info.pop("smeta") or "{}").get("imported"))
        out.append(_Turn(int(r["id"]), voices.setdefault(str(r["voice"]), len(voices)), text, words, offsets, info))
    return out


Pairs = dict[tuple[int, int], list[tuple[tuple[int, int], tuple[int, int]]]]


def _shingle_pairs(turns: Sequence[_Turn], n: int) -> Pairs:
    """Maximal spans of shared ``n``-word runs between turns of different voices (token ranges)."""
    per_turn = [[hash(tuple(t.words[i:i + n])) for i in range(len(t.words) - n + 1)] for t in turns]
    owner: dict[int, int] = {}
    for t, hs in zip(turns, per_turn, strict=True):
        for h in hs:
            v = owner.get(h)
            if v is None:
                owner[h] = t.voice
            elif v != t.voice and v != -1:
                owner[h] = -1
    places: dict[int, list[tuple[int, int]]] = {}
    for ti, hs in enumerate(per_turn):
        seen: set[int] = set()
        for pos, h in enumerate(hs):
            if owner.get(h) == -1 and h not in seen:
                seen.add(h)
                places.setdefault(h, []).append((ti, pos))
    del owner
    matches: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for locs in places.values():
        if len(locs) > MAX_PLACES:
            first: dict[int, tuple[int, int]] = {}
            for ti, pos in locs:
                first.setdefault(turns[ti].voice, (ti, pos))
            locs = list(first.values())
        for i, (ta, pa) in enumerate(locs):
            for tb, pb in locs[i + 1:]:
                if turns[ta].voice != turns[tb].voice:
                    matches.setdefault((ta, tb), []).append((pa, pb))
    return {pair: _merge(ms, n) for pair, ms in matches.items()}


def _merge(matches: list[tuple[int, int]], n: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Maximal word spans from matching shingle positions on the same diagonal (one-word gaps allowed)."""
    by_diag: dict[int, list[int]] = {}
    for pa, pb in matches:
        by_diag.setdefault(pb - pa, []).append(pa)
    spans: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for diag, starts in by_diag.items():
        starts.sort()
        run_start = prev = starts[0]
        for pa in starts[1:]:
            if pa - prev <= n + 1:  # a one-word substitution breaks the n shingles covering it
                prev = pa
                continue
            spans.append(((run_start, prev + n), (run_start + diag, prev + n + diag)))
            run_start = prev = pa
        spans.append(((run_start, prev + n), (run_start + diag, prev + n + diag)))
    return spans


def _units(t: _Turn, n: int) -> list[tuple[int, int]]:
    """Token ranges of the sentences of a turn, and of pairs of adjacent sentences, of >= n words."""
    starts = [a for a, _ in t.offsets]
    bounds: list[tuple[int, int]] = []
    k = 0
    for a, b in sentence_spans(t.text, min_words=1, max_words=10**6):
        while k < len(starts) and starts[k] < a:
            k += 1
        j = k
        while j < len(starts) and starts[j] < b:
            j += 1
        if j > k:
            bounds.append((k, j))
        k = j
    out = [u for u in bounds if u[1] - u[0] >= n]
    # short sentences also go in pairs ("It is not coincidence. It is resonance.")
    out += [(bounds[i][0], bounds[i + 1][1]) for i in range(len(bounds) - 1)
            if max(bounds[i][1] - bounds[i][0], bounds[i + 1][1] - bounds[i + 1][0]) < SHORT_SENTENCE
            and bounds[i + 1][1] - bounds[i][0] >= n]
    return out


def _shared_enough(grams: list[list[bytes]], voices: list[int]) -> list[bool]:
    """Which units can have a near-duplicate in another voice at all: Jaccard >= LSH_THRESHOLD needs
    at least that share of a unit's bigrams to occur in some other voice's text. Units below
    ``PREFILTER`` (a little under the threshold, for LSH's slack) never reach the index."""
    sizes = np.fromiter((len(g) for g in grams), dtype=np.int64, count=len(grams))
    if not len(grams):
        return []
    hashes = np.fromiter((zlib.crc32(b) for g in grams for b in g), dtype=np.int64, count=int(sizes.sum()))
    owner = np.repeat(np.asarray(voices, dtype=np.int64), sizes)
    unit = np.repeat(np.arange(len(grams), dtype=np.int64), sizes)
    order = np.lexsort((owner, hashes))
    h, v = hashes[order], owner[order]
    first_of_hash = np.r_[True, h[1:] != h[:-1]]
    new_voice = first_of_hash | np.r_[True, v[1:] != v[:-1]]
    distinct = np.add.reduceat(new_voice.astype(np.int64), np.flatnonzero(first_of_hash))
    multi = np.repeat(distinct >= 2, np.diff(np.r_[np.flatnonzero(first_of_hash), len(h)]))
    shared = np.empty(len(h), dtype=bool)
    shared[order] = multi
    share = np.bincount(unit, weights=shared.astype(np.float64), minlength=len(grams)) / np.maximum(sizes, 1)
    return [bool(x) for x in share >= PREFILTER]


def _minhash_pairs(turns: Sequence[_Turn], n: int) -> Pairs:
    """Near-verbatim spans between units proposed by MinHash LSH (different voices only)."""
    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    keys: list[tuple[int, int, int]] = []  # (turn index, first word, end word)
    grams: list[list[bytes]] = []
    for ti, t in enumerate(turns):
        for a, b in _units(t, n):
            ws = t.words[a:b]
            keys.append((ti, a, b))
            grams.append(list({f"{x} {y}".encode() for x, y in zip(ws, ws[1:], strict=False)}
                              or {w.encode() for w in ws}))
    keep = _shared_enough(grams, [turns[ti].voice for ti, _, _ in keys])
    keys = [k for k, ok in zip(keys, keep, strict=True) if ok]
    grams = [g for g, ok in zip(grams, keep, strict=True) if ok]
    out: Pairs = {}
    # insert as we go: each unit is compared with the earlier ones, so every pair is seen once
    for k, m in enumerate(MinHash.generator(grams, num_perm=NUM_PERM, hashfunc=zlib.crc32)):
        ti, a, b = keys[k]
        found = lsh.query(m)
        lsh.insert(k, m, check_duplication=False)
        for other in found:
            tj, c, d = keys[other]
            if turns[ti].voice == turns[tj].voice:
                continue
            for span in _align(turns[ti].words, a, b, turns[tj].words, c, d, n):
                pair = (ti, tj) if ti < tj else (tj, ti)
                out.setdefault(pair, []).append(span if ti < tj else (span[1], span[0]))
    return out


def _align(wa: list[str], a0: int, a1: int, wb: list[str], b0: int, b1: int,
           n: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Runs of matching words between wa[a0:a1] and wb[b0:b1], joined across one-word gaps, with at
    least ``n`` matching words and ``MIN_COVER`` of the longer side matched."""
    sm = difflib.SequenceMatcher(None, wa[a0:a1], wb[b0:b1], autojunk=False)
    blocks = [bl for bl in sm.get_matching_blocks() if bl.size]
    out: list[tuple[tuple[int, int], tuple[int, int]]] = []
    i = 0
    while i < len(blocks):
        first = last = blocks[i]
        matched = first.size
        j = i + 1
        while j < len(blocks):
            nxt = blocks[j]
            if nxt.a - (last.a + last.size) <= 1 and nxt.b - (last.b + last.size) <= 1:
                matched += nxt.size
                last = nxt
                j += 1
                continue
            break
        sa, ea = first.a, last.a + last.size
        sb, eb = first.b, last.b + last.size
        if matched >= n and matched >= MIN_COVER * max(ea - sa, eb - sb):
            out.append(((a0 + sa, a0 + ea), (b0 + sb, b0 + eb)))
        i = j
    return out


def near_duplicates(archive: Archive, *, min_words: int = 8, filters: SearchFilters | None = None,
                    limit: int = 50) -> list[SharedSpan]:
    """Spans of at least ``min_words`` words shared by different voices, most voices and longest first."""
    if min_words < 3:
        raise UsageError("near-duplicate spans need at least 3 words (--min-words)")
    if filters is not None and filters.role not in (None, "voice"):
        raise UsageError("near-duplicates compare voices' answers: --role can only be 'voice'")
    turns = _load(archive, filters)
    found: list[tuple[Pairs, str]] = [(_shingle_pairs(turns, min_words), "shingles"),
                                      (_minhash_pairs(turns, min_words), "minhash")]
    groups: dict[tuple[str, ...], dict[int, tuple[int, int]]] = {}
    exact: dict[tuple[str, ...], bool] = {}
    method: dict[tuple[str, ...], str] = {}
    for pairs, how in found:
        for (ta, tb), spans in pairs.items():
            for (a0, a1), (b0, b1) in spans:
                wa, wb = turns[ta].words[a0:a1], turns[tb].words[b0:b1]
                key = tuple(wa)
                g = groups.setdefault(key, {})
                g.setdefault(ta, (a0, a1))
                g.setdefault(tb, (b0, b1))
                exact[key] = exact.get(key, True) and wa == wb
                method.setdefault(key, how)
    def rank(kv: tuple[tuple[str, ...], dict[int, tuple[int, int]]]) -> tuple[int, int, tuple[str, ...]]:
        return -len({turns[ti].voice for ti in kv[1]}), -len(kv[0]), kv[0]

    out: list[SharedSpan] = []
    reported: list[dict[int, tuple[int, int]]] = []
    for key, where in sorted(groups.items(), key=rank):
        if len(out) >= limit:
            break
        if any(_inside(where, r) for r in reported):
            continue
        reported.append(where)
        out.append(_shared(archive, turns, where, len(key), exact[key], method[key]))
    out.sort(key=lambda s: (-len(s.voices), -s.words, s.places[0].started_at))
    return out


def _shared(archive: Archive, turns: Sequence[_Turn], where: dict[int, tuple[int, int]], words: int,
            verbatim: bool, method: str) -> SharedSpan:
    texts = {ti: turns[ti].text[turns[ti].offsets[w0][0]:turns[ti].offsets[w1 - 1][1]]
             for ti, (w0, w1) in where.items()}
    ps = []
    for ti in where:
        t = turns[ti]
        i = t.info
        earlier = [turns[o] for o in where if o != ti and turns[o].info["session_id"] == i["session_id"]
                   and int(str(turns[o].info["seq"])) < int(str(i["seq"])) and turns[o].voice != t.voice]
        shown = bool(i["imported"]) and bool(earlier) or _was_shown(archive, t.id, texts[ti])
        ps.append(SpanPlace(turn_id=t.id, session_id=str(i["session_id"]), session_kind=str(i["kind"]),
                            session_title=str(i["title"]), voice=str(i["voice"]), voice_name=str(i["voice_name"]),
                            started_at=str(i["started_at"]), text=texts[ti], shown=shown,
                            date_only=bool(i["imported"]) and str(i["started_at"]).endswith("T00:00:00.000000+00:00")))
    ps.sort(key=lambda p: (p.started_at, p.turn_id))
    return SharedSpan(words=words, verbatim=verbatim, places=tuple(ps), method=method)


def _inside(where: dict[int, tuple[int, int]], longer: dict[int, tuple[int, int]]) -> bool:
    """Whether every place of ``where`` lies within the same turn's place in ``longer``."""
    return all(ti in longer and longer[ti][0] <= w0 and w1 <= longer[ti][1] for ti, (w0, w1) in where.items())


def _was_shown(archive: Archive, turn_id: int, span: str) -> bool:
    rows = archive.query("SELECT messages_json FROM turns WHERE id = ?", (turn_id,))
    if not rows:
        return False
    return any(contains(str(m.get("content", "")), span)
               for m in json.loads(rows[0][0] or "[]") if isinstance(m, dict))
