"""``symposia near-dups``: spans of at least N words shared near-verbatim by different voices.

Answers of role ``voice`` are cut into words (letters and digits, case-folded: punctuation, quote
marks and dashes do not count) and every run of N consecutive words (a shingle) is hashed. Two
passes keep memory to what matters: the first finds the shingles used by two or more voices, the
second records where those occur. Matching shingles of a pair of turns on the same diagonal are
merged into maximal spans; a gap of one differing word inside a span is tolerated (``near``
rather than ``verbatim``). A shingle found in more than ``MAX_PLACES`` turns keeps only each
voice's first use, so boilerplate cannot blow up the pairs. Each place says whether its turn had
been *shown* the span (it is in the messages that turn was sent): an echo, not a coincidence.

Cost grows with the archive: restrict with ``since`` / ``until`` / ``kind`` on a large one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from symposia.archive.search import TOKEN, SearchFilters, filter_sql
from symposia.archive.store import Archive
from symposia.dialogue.quotes import is_verbatim
from symposia.errors import UsageError

__all__ = ["MAX_PLACES", "SharedSpan", "SpanPlace", "near_duplicates"]

MAX_PLACES = 20


@dataclass(frozen=True)
class SpanPlace:
    turn_id: int
    session_id: str
    session_kind: str
    voice: str
    voice_name: str
    started_at: str
    text: str  # exactly as recorded
    shown: bool  # the turn had been sent this span: an echo


@dataclass(frozen=True)
class SharedSpan:
    words: int
    verbatim: bool  # the same words everywhere (else one word differs somewhere)
    places: tuple[SpanPlace, ...]  # in time order

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
        "SELECT t.id, t.answer, t.voice, t.voice_name, t.session_id, COALESCE(s.kind, '') AS kind, t.started_at "
        "FROM turns t LEFT JOIN sessions s ON s.id = t.session_id "
        f"WHERE t.role = 'voice' AND t.status != 'error' AND t.answer != ''{' AND ' + where if where else ''} "
        "ORDER BY t.started_at, t.id",
        params,
    )
    voices: dict[str, int] = {}
    out: list[_Turn] = []
    for r in rows:
        text = str(r["answer"])
        ms = list(TOKEN.finditer(text))
        out.append(_Turn(int(r["id"]), voices.setdefault(str(r["voice"]), len(voices)), text,
                         [m.group(0).casefold() for m in ms], [(m.start(), m.end()) for m in ms], dict(r)))
    return out


def _shingles(words: Sequence[str], n: int) -> list[int]:
    return [hash(tuple(words[i:i + n])) for i in range(len(words) - n + 1)]


def near_duplicates(archive: Archive, *, min_words: int = 8, filters: SearchFilters | None = None,
                    limit: int = 50) -> list[SharedSpan]:
    """Spans of at least ``min_words`` words shared by different voices, most voices and longest first."""
    if min_words < 3:
        raise UsageError("near-duplicate spans need at least 3 words (--min-words)")
    if filters is not None and filters.role not in (None, "voice"):
        raise UsageError("near-duplicates compare voices' answers: --role can only be 'voice'")
    turns = _load(archive, filters)
    # Pass 1: which shingles are used by more than one voice (-1 marks "several").
    owner: dict[int, int] = {}
    per_turn = [_shingles(t.words, min_words) for t in turns]
    for t, hs in zip(turns, per_turn, strict=True):
        for h in hs:
            v = owner.get(h)
            if v is None:
                owner[h] = t.voice
            elif v != t.voice and v != -1:
                owner[h] = -1
    # Pass 2: where the shared ones occur (first position per turn).
    places: dict[int, list[tuple[int, int]]] = {}
    for ti, hs in enumerate(per_turn):
        seen: set[int] = set()
        for pos, h in enumerate(hs):
            if owner.get(h) == -1 and h not in seen:
                seen.add(h)
                places.setdefault(h, []).append((ti, pos))
    del owner
    # Pairs of turns of different voices, with their matching positions.
    pairs: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for locs in places.values():
        if len(locs) > MAX_PLACES:
            first: dict[int, tuple[int, int]] = {}
            for ti, pos in locs:
                first.setdefault(turns[ti].voice, (ti, pos))
            locs = list(first.values())
        for i, (ta, pa) in enumerate(locs):
            for tb, pb in locs[i + 1:]:
                if turns[ta].voice != turns[tb].voice:
                    pairs.setdefault((ta, tb), []).append((pa, pb))
    groups: dict[tuple[str, ...], dict[int, tuple[int, int]]] = {}
    exact: dict[tuple[str, ...], bool] = {}
    for (ta, tb), matches in pairs.items():
        for (a0, a1), (b0, b1) in _merge(matches, min_words):
            wa, wb = turns[ta].words[a0:a1], turns[tb].words[b0:b1]
            key = tuple(wa)
            g = groups.setdefault(key, {})
            g.setdefault(ta, (a0, a1))
            g.setdefault(tb, (b0, b1))
            exact[key] = exact.get(key, True) and wa == wb
    # Drop spans contained in a longer reported span of the same turns.
    out: list[SharedSpan] = []
    reported: list[dict[int, tuple[int, int]]] = []
    for key, where in sorted(groups.items(), key=lambda kv: -len(kv[0])):
        if any(_inside(where, r) for r in reported):
            continue
        reported.append(where)
        ps = []
        for ti, (w0, w1) in where.items():
            t = turns[ti]
            text = t.text[t.offsets[w0][0]:t.offsets[w1 - 1][1]]
            ps.append(SpanPlace(turn_id=t.id, session_id=str(t.info["session_id"]),
                                session_kind=str(t.info["kind"]), voice=str(t.info["voice"]),
                                voice_name=str(t.info["voice_name"]), started_at=str(t.info["started_at"]),
                                text=text, shown=_was_shown(archive, t.id, text)))
        ps.sort(key=lambda p: (p.started_at, p.turn_id))
        out.append(SharedSpan(words=len(key), verbatim=exact[key], places=tuple(ps)))
    out.sort(key=lambda s: (-len(s.voices), -s.words, s.places[0].started_at))
    return out[:limit]


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
            # a one-word substitution breaks the n shingles covering it: a jump of n + 1
            if pa - prev <= n + 1:
                prev = pa
                continue
            spans.append(((run_start, prev + n), (run_start + diag, prev + n + diag)))
            run_start = prev = pa
        spans.append(((run_start, prev + n), (run_start + diag, prev + n + diag)))
    return spans


def _inside(where: dict[int, tuple[int, int]], longer: dict[int, tuple[int, int]]) -> bool:
    """Whether every place of ``where`` lies within the same turn's place in ``longer``."""
    return all(ti in longer and longer[ti][0] <= w0 and w1 <= longer[ti][1] for ti, (w0, w1) in where.items())


def _was_shown(archive: Archive, turn_id: int, span: str) -> bool:
    rows = archive.query("SELECT messages_json FROM turns WHERE id = ?", (turn_id,))
    if not rows:
        return False
    target = span.casefold()
    return any(is_verbatim(target, str(m.get("content", "")).casefold())
               for m in json.loads(rows[0][0] or "[]") if isinstance(m, dict))
