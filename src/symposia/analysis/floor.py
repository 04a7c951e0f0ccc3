"""The floor: how alike *unrelated* answers are with the same encoder, from a declared, frozen source.

A floor is computed from a named source — answers to the control prompts run in a study, a file of
control answers the user gives (``--floor-answers``), or an explicit archive query (``--floor-from
"kind=study voice=qwen"``) — sampled uniformly at random with a recorded seed. The texts used (their
ids and words) are kept with the analysis, so re-running gives the same number until the user asks to
refresh it; the archive growing changes nothing.

A floor of fewer than :data:`MIN_FLOOR_TEXTS` texts, or of texts much shorter than the answers, is
reported as unreliable: the verdict then claims no significance.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from symposia import paths
from symposia.archive import Archive
from symposia.errors import SymposiaError

__all__ = [
    "MIN_FLOOR_TEXTS",
    "Floor",
    "FloorText",
    "floor_between",
    "floor_from_query",
    "floor_from_texts",
    "frozen_floor",
    "frozen_floor_file",
    "parse_floor_query",
    "reliability",
    "save_frozen_floor",
]

MIN_FLOOR_TEXTS = 50
MAX_LENGTH_RATIO = 5.0  # floor texts this many times shorter than the answers: unreliable
DEFAULT_FLOOR_TEXTS = 200  # texts drawn from a larger source
DEFAULT_MAX_PAIRS = 20000  # cross pairs drawn at random when there are more

Vectors = NDArray[np.float32]
FloorKind = Literal["study-controls", "answers", "query"]
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class FloorText:
    """One text of the floor: ``id`` names it in its source (an archive turn, a line of a file), ``group``
    is the prompt or session it answers (pairs are only drawn across groups)."""

    id: str
    group: str
    text: str
    voice: str = "*"

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "group": self.group, "voice": self.voice, "text": self.text}


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def reliability(floor_texts: Sequence[str], answers: Sequence[str]) -> str | None:
    """Why a floor from ``floor_texts`` cannot support a significance claim about ``answers``, or None."""
    if len(floor_texts) < MIN_FLOOR_TEXTS:
        return f"only {len(floor_texts)} floor texts (at least {MIN_FLOOR_TEXTS} are needed)"
    fw = statistics.median(_words(t) for t in floor_texts)
    aw = statistics.median(_words(t) for t in answers) if answers else 0
    if aw and fw * MAX_LENGTH_RATIO < aw:
        return (f"floor texts are much shorter than the answers (median {fw:g} words against {aw:g}); "
                "short texts are less alike than long ones, so the floor would be too low")
    return None


@dataclass
class Floor:
    """A declared floor: its source, the seed and texts it was drawn with, and its value once computed."""

    kind: FloorKind
    source: str  # in words: "answers file controls.txt", "archive query 'kind=study'", ...
    seed: int
    texts: list[FloorText]
    candidates: int  # texts the source offered before sampling
    value: float | None = None
    pairs: int = 0  # text pairs averaged
    unreliable: str | None = None  # why no significance can be claimed on this floor
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.texts]

    @property
    def label(self) -> str:
        drawn = ("" if self.candidates == len(self.texts)
                 else f" drawn at random (seed {self.seed}) from {self.candidates}")
        return f"{len(self.texts)} texts{drawn}: {self.source}"

    def compute(self, embed: Any, answers: Sequence[str], *, max_pairs: int = DEFAULT_MAX_PAIRS) -> Floor:
        """Embed the texts and set ``value``, ``pairs`` and ``unreliable`` (returns self)."""
        vecs = embed([t.text for t in self.texts]) if self.texts else np.zeros((0, 1), dtype=np.float32)
        groups: dict[str, list[int]] = {}
        for i, t in enumerate(self.texts):
            groups.setdefault(t.group, []).append(i)
        value, pairs = floor_between({g: vecs[ix] for g, ix in groups.items()}, max_pairs=max_pairs,
                                     seed=self.seed, count=True)
        self.value = None if math.isnan(value) else value
        self.pairs = pairs
        self.unreliable = reliability([t.text for t in self.texts], answers)
        if self.value is None and self.unreliable is None:
            self.unreliable = "fewer than two groups of floor texts: no pair of unrelated answers"
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "seed": self.seed, "candidates": self.candidates,
                "value": None if self.value is None else round(self.value, 4), "pairs": self.pairs,
                "unreliable": self.unreliable, "ids": self.ids, "meta": self.meta,
                "texts": [t.to_dict() for t in self.texts]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Floor:
        texts = [FloorText(str(t["id"]), str(t["group"]), str(t["text"]), str(t.get("voice", "*")))
                 for t in d.get("texts", [])]
        return cls(kind=d["kind"], source=str(d["source"]), seed=int(d["seed"]), texts=texts,
                   candidates=int(d.get("candidates", len(texts))), meta=dict(d.get("meta", {})))


def _sample(items: Sequence[FloorText], n: int, seed: int) -> list[FloorText]:
    """``n`` items drawn uniformly at random without replacement (all of them, in order, if fewer)."""
    if len(items) <= n:
        return list(items)
    pick = np.random.default_rng(seed).choice(len(items), size=n, replace=False)
    return [items[i] for i in sorted(int(i) for i in pick)]


def floor_from_texts(texts: Sequence[str], *, source: str, seed: int = 0,
                     n: int = DEFAULT_FLOOR_TEXTS) -> Floor:
    """A floor of control answers the user gives: each one answers its own prompt (its own group). Ids
    are the position in the file and a hash of the text, so an edited file is noticed."""
    items = [FloorText(f"{i}:{hashlib.sha256(t.encode('utf-8')).hexdigest()[:12]}", f"t{i}", t)
             for i, t in enumerate(texts, 1)]
    return Floor("answers", source, seed, _sample(items, n, seed), len(items))


_QUERY_KEYS = {"kind": "s.kind", "voice": "t.voice", "session": "s.id", "model": "t.model_requested",
               "status": "s.status"}


def parse_floor_query(query: str) -> list[tuple[str, str]]:
    """``"kind=study voice=qwen"`` -> [("kind", "study"), ("voice", "qwen")]; a value may be a prefix
    ending in ``*`` (``session=2026-01*``). Unknown keys are an error naming the known ones."""
    out = []
    for part in query.split():
        key, sep, value = part.partition("=")
        if not sep or not value or key not in _QUERY_KEYS:
            raise SymposiaError(f"cannot read {part!r} in the floor query {query!r}: use key=value with a key among "
                                f"{', '.join(sorted(_QUERY_KEYS))} (e.g. --floor-from \"kind=study voice=qwen\")")
        out.append((key, value))
    if not out:
        raise SymposiaError("the floor query is empty: e.g. --floor-from \"kind=study\"")
    return out


def floor_from_query(archive: Archive, query: str, *, exclude_session: str | None = None, seed: int = 0,
                     n: int = DEFAULT_FLOOR_TEXTS) -> Floor:
    """A floor of answers stored in the archive that match ``query`` (voice turns that succeeded, not the
    analysed session's), ``n`` drawn at random; pairs are drawn across sessions."""
    where = ["t.role = 'voice'", "t.status != 'error'", "t.answer != ''"]
    params: list[Any] = []
    for key, value in parse_floor_query(query):
        if value.endswith("*"):
            where.append(f"{_QUERY_KEYS[key]} LIKE ?")
            params.append(value[:-1].replace("%", "").replace("_", "") + "%")
        else:
            where.append(f"{_QUERY_KEYS[key]} = ?")
            params.append(value)
    if exclude_session:
        where.append("t.session_id != ?")
        params.append(exclude_session)
    rows = archive.query("SELECT t.id AS id, t.session_id AS sid, t.voice AS voice, t.answer AS answer "
                         "FROM turns t JOIN sessions s ON s.id = t.session_id WHERE " + " AND ".join(where)
                         + " ORDER BY t.id", params)
    items = [FloorText(f"turn:{r['id']}", str(r["sid"]), str(r["answer"]), str(r["voice"])) for r in rows]
    if not items:
        raise SymposiaError(f"no answer in the archive matches the floor query {query!r}")
    return Floor("query", f"archive query '{query}'", seed, _sample(items, n, seed), len(items),
                 meta={"query": query})


def floor_between(groups: Mapping[str, Vectors] | Sequence[Vectors], *, max_pairs: int = DEFAULT_MAX_PAIRS,
                  seed: int = 0, count: bool = False) -> Any:
    """Mean cosine between texts of *different* groups (answers to different prompts or sessions).

    Every cross-group pair is averaged when there are at most ``max_pairs``; otherwise ``max_pairs``
    pairs are drawn uniformly at random (with ``seed``) from all cross-group pairs — not the first ones
    in combination order, which over-weights the first groups. NaN when fewer than two groups hold
    texts. With ``count``, returns ``(mean, pairs used)``.
    """
    vals = list(groups.values()) if isinstance(groups, Mapping) else list(groups)
    vals = [g for g in vals if len(g)]
    if len(vals) < 2:
        return (math.nan, 0) if count else math.nan
    x = np.concatenate(vals).astype(np.float64)
    label = np.concatenate([np.full(len(g), k) for k, g in enumerate(vals)])
    sizes = np.array([len(g) for g in vals], dtype=np.int64)
    total = int((sizes.sum() ** 2 - np.sum(sizes ** 2)) // 2)
    if total <= max_pairs:
        s = x @ x.T
        mask = np.triu(label[:, None] != label[None, :], k=1)
        mean, used = float(np.mean(s[mask])), total
    else:
        rng = np.random.default_rng(seed)
        ii: list[NDArray[np.int64]] = []
        jj: list[NDArray[np.int64]] = []
        have = 0
        while have < max_pairs:  # rejection sampling: uniform over ordered cross pairs = uniform over pairs
            i = rng.integers(0, len(x), size=2 * max_pairs)
            j = rng.integers(0, len(x), size=2 * max_pairs)
            keep = label[i] != label[j]
            ii.append(i[keep])
            jj.append(j[keep])
            have += int(keep.sum())
        i_all = np.concatenate(ii)[:max_pairs]
        j_all = np.concatenate(jj)[:max_pairs]
        mean, used = float(np.mean(np.einsum("ij,ij->i", x[i_all], x[j_all]))), max_pairs
    return (mean, used) if count else mean


def frozen_floor_file(session_id: str) -> Path:
    """Where the frozen floor of a session is kept: beside its default report in the user data dir."""
    return paths.data_dir() / "analysis" / session_id / f"{session_id}.floor.json"


def frozen_floor(session_id: str) -> Floor | None:
    """The floor frozen for this session by an earlier analysis, or None. The CLI, the web page and the
    Python API all analyse a session against it, so they report the same numbers."""
    path = frozen_floor_file(session_id)
    if not path.exists():
        return None
    try:
        return Floor.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SymposiaError(f"cannot read the frozen floor {path}: {exc}; delete the file or re-run "
                            "`symposia analyze ID --refresh-floor` with a source") from exc


def save_frozen_floor(session_id: str, floor: Floor) -> Path:
    """Freeze ``floor`` (its source, seed, ids and texts) for this session; returns the file."""
    path = frozen_floor_file(session_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(floor.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
