"""Peer ranking read back from the record: who saw which answer under which label, and the aggregate.

Each ranker's turn stores the label map it was shown (``meta.labels``: label -> voice, in the order
the answers were presented — its own shuffle) and whether its own answer was left out
(``meta.self_excluded``). :func:`ranking_table` parses every ranking again from the stored text, so
the aggregate (mean rank, votes) is computed from the record, and a ranker whose answer could not be
parsed is flagged, never silently dropped. The terminal, the transcript, the web page and the API all
show this one table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from symposia.records import TurnRecord

__all__ = ["Ranker", "RankingRow", "RankingTable", "parse_ranking", "ranking_table"]

_RANK_LINE = re.compile(r"Response\s+([A-Z])\b")


def parse_ranking(text: str, labels: Sequence[str]) -> list[str]:
    """Labels in ranked order from the text after ``FINAL RANKING:`` (first mention wins, unknowns dropped)."""
    idx = text.rfind("FINAL RANKING")
    tail = text[idx:] if idx >= 0 else text
    seen: list[str] = []
    for m in _RANK_LINE.finditer(tail):
        label = m.group(1)
        if label in labels and label not in seen:
            seen.append(label)
    return seen


@dataclass(frozen=True)
class Ranker:
    voice: str
    name: str
    labels: dict[str, str]  # label -> voice, in the order shown
    ranked: tuple[str, ...]  # voices, best first (empty when it could not be parsed)
    parsed: bool  # every label it was shown appears in its final ranking
    self_excluded: bool
    turn_id: int | None


@dataclass(frozen=True)
class RankingRow:
    voice: str
    name: str
    mean_rank: float | None  # None: nobody ranked it (or every ranking of it failed to parse)
    votes: int


@dataclass(frozen=True)
class RankingTable:
    rows: tuple[RankingRow, ...]
    rankers: tuple[Ranker, ...]

    @property
    def failed(self) -> tuple[Ranker, ...]:
        return tuple(r for r in self.rankers if not r.parsed)

    def to_dict(self) -> dict[str, object]:
        return {
            "aggregate": [{"voice": r.voice, "name": r.name, "mean_rank": r.mean_rank, "votes": r.votes}
                          for r in self.rows],
            "rankers": [{"voice": r.voice, "name": r.name, "labels": r.labels, "ranked": list(r.ranked),
                         "parsed": r.parsed, "self_excluded": r.self_excluded, "turn": r.turn_id}
                        for r in self.rankers],
        }


def ranking_table(turns: Sequence[TurnRecord], names: Mapping[str, str] | None = None) -> RankingTable | None:
    """The peer ranking of a session from its ranking turns, or None when it has none."""
    rankings = [t for t in turns if t.role == "voice" and t.meta.get("kind") == "ranking"
                and not t.meta.get("superseded")]
    if not rankings:
        return None
    known = dict(names or {})
    for t in turns:
        if t.role == "voice":
            known.setdefault(t.voice, t.voice_name)
    rankers: list[Ranker] = []
    positions: dict[str, list[int]] = {}
    shown: list[str] = []
    for t in rankings:
        labels = {str(k): str(v) for k, v in (t.meta.get("labels") or {}).items()}
        shown += [v for v in labels.values() if v not in shown]
        order = parse_ranking(t.result.text, list(labels)) if t.result.ok else []
        parsed = bool(labels) and len(order) == len(labels)
        ranked = tuple(labels[label] for label in order) if parsed else ()
        rankers.append(Ranker(t.voice, t.voice_name, labels, ranked, parsed,
                              bool(t.meta.get("self_excluded")), t.id))
        for pos, voice in enumerate(ranked, start=1):
            positions.setdefault(voice, []).append(pos)
    rows = [RankingRow(v, known.get(v, v), sum(p) / len(p) if p else None, len(p))
            for v in shown for p in (positions.get(v, []),)]
    rows.sort(key=lambda r: (r.mean_rank is None, r.mean_rank or 0.0, r.name))
    return RankingTable(tuple(rows), tuple(rankers))
