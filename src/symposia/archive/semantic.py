"""Semantic search over the archive: chunk embeddings stored in SQLite, searched by cosine similarity.

Embedding is done once, ahead of queries: :func:`index_archive` embeds the turns that have none yet
(``symposia index``, with a progress bar, or ``symposia search --semantic`` before it searches),
one vector per sentence. No query ever re-embeds stored text: a query embeds only itself.
Vectors are stored as int8 with one float scale each (``v ≈ q * scale``): a quarter of the
size of float32, and cosine rankings are unchanged to about two decimals.

Small archives are searched by brute force over the vectors read from SQLite. Large ones (from
``IVF_MIN_VECTORS`` chunks) get a sidecar index next to the file (``archive.db.vec/``): the int8
vectors in a memory-mapped array grouped by an IVF coarse quantizer (spherical k-means centroids);
a query scores the centroids, then only the vectors of the ``nprobe`` nearest lists. Chunks added
after the sidecar was built are searched by brute force beside it, until the next ``symposia index``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from symposia import paths
from symposia.archive.filters import SearchFilters, filter_sql
from symposia.archive.store import Archive
from symposia.codec import datetime_to_iso
from symposia.errors import ArchiveError, SymposiaError
from symposia.records import utcnow
from symposia.text import find, sentence_spans

__all__ = [
    "IVF_MIN_VECTORS",
    "ChunkHit",
    "Embedder",
    "IVFIndex",
    "ModuleEmbedder",
    "brute_force_topk",
    "build_vector_index",
    "chunk_spans",
    "default_embedder",
    "dequantize",
    "embedded_count",
    "index_archive",
    "pending_count",
    "quantize",
    "search_vectors",
    "semantic_hits",
    "sidecar_path",
    "turn_vectors",
    "units",
]

F32 = npt.NDArray[np.float32]
I8 = npt.NDArray[np.int8]
I64 = npt.NDArray[np.int64]

IVF_MIN_VECTORS = 100_000
DEFAULT_NPROBE = 24


class Embedder(Protocol):
    """What the archive needs from an embedding model (``symposia.embed`` is the real one)."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> F32:
        """(n, dim) float32, each row L2-normalised."""
        ...

    def chunk(self, text: str) -> list[str]:
        """Pieces of ``text`` short enough for the model (in order; consecutive pieces may overlap)."""
        ...


class ModuleEmbedder:
    """The embedder of :mod:`symposia.embed` (all-MiniLM-L6-v2, offline)."""

    def __init__(self) -> None:
        try:
            mod: Any = importlib.import_module("symposia.embed")
        except ImportError as e:
            raise ArchiveError(
                f"semantic search needs the embedding model (symposia.embed), which cannot be loaded: {e}"
            ) from e
        try:  # load the model now, so that a missing or broken model file is reported up front
            if hasattr(mod, "Embedder") and hasattr(mod.Embedder, "default"):
                mod.Embedder.default()
        except SymposiaError as e:
            raise ArchiveError(f"semantic search needs the embedding model, which cannot be loaded: {e}") from e
        self._mod = mod
        self.dim = int(mod.EMBED_DIM)
        self.name = str(getattr(mod, "MODEL_ID", "all-MiniLM-L6-v2"))

    def embed(self, texts: list[str]) -> F32:
        return np.asarray(self._mod.embed_texts(texts), dtype=np.float32)

    def chunk(self, text: str) -> list[str]:
        return [str(c) for c in self._mod.chunk_text(text)]


def default_embedder() -> Embedder:
    """The real embedder; raises :class:`ArchiveError` with the reason when it cannot be loaded."""
    return ModuleEmbedder()


# -- vectors ---------------------------------------------------------------------------------------


def quantize(vectors: F32) -> tuple[I8, F32]:
    """int8 rows and per-row scales such that ``row ≈ q * scale`` (symmetric, max-abs)."""
    v = np.asarray(vectors, dtype=np.float32)
    peak = np.abs(v).max(axis=1)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(v / scales[:, None]), -127, 127).astype(np.int8)
    return q, scales


def dequantize(q: I8, scales: F32) -> F32:
    return (q.astype(np.float32) * scales[:, None]).astype(np.float32)


def _topk(scores: F32, k: int) -> I64:
    """Indices of the ``k`` highest scores, best first."""
    k = min(k, scores.shape[0])
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")].astype(np.int64)


def brute_force_topk(vectors: I8 | F32, scales: F32 | None, query: F32, k: int,
                     block: int = 262_144) -> tuple[I64, F32]:
    """Exact top-``k`` by dot product (cosine for unit vectors), in blocks to bound memory."""
    n = vectors.shape[0]
    scores = np.empty(n, dtype=np.float32)
    q = np.asarray(query, dtype=np.float32)
    for a in range(0, n, block):
        b = min(n, a + block)
        s = vectors[a:b].astype(np.float32, copy=False) @ q
        scores[a:b] = s * scales[a:b] if scales is not None else s
    idx = _topk(scores, k)
    return idx, scores[idx]


def _normalise(x: F32) -> F32:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


@dataclass
class IVFIndex:
    """An inverted-file index: vectors grouped by their nearest centroid, searched a few lists at a time."""

    centroids: F32  # (nlist, dim), unit rows
    offsets: I64  # (nlist + 1,): list i is rows offsets[i]:offsets[i+1]
    vectors: I8  # (n, dim), grouped by list
    scales: F32  # (n,)
    ids: I64  # (n,): caller's id of each row

    @classmethod
    def build(cls, vectors: I8, scales: F32, ids: I64, nlist: int | None = None, *, iters: int = 8,
              sample: int = 65_536, seed: int = 0, block: int = 65_536) -> IVFIndex:
        """Spherical k-means on a sample, then every vector assigned to its nearest centroid."""
        n, dim = vectors.shape
        if n == 0:
            raise ValueError("cannot build an index over no vectors")
        nlist = nlist or max(1, min(4096, int(math.sqrt(n))))
        nlist = min(nlist, n)
        rng = np.random.default_rng(seed)
        pick = rng.choice(n, size=min(n, max(sample, nlist * 16)), replace=False)
        train = _normalise(dequantize(vectors[np.sort(pick)], scales[np.sort(pick)]))
        cent = train[rng.choice(train.shape[0], size=nlist, replace=False)].copy()
        for _ in range(iters):
            assign = np.argmax(train @ cent.T, axis=1)
            counts = np.bincount(assign, minlength=nlist)
            nonempty = np.flatnonzero(counts)
            starts = (np.cumsum(counts) - counts)[nonempty]
            sums = np.zeros_like(cent)
            sums[nonempty] = np.add.reduceat(train[np.argsort(assign, kind="stable")], starts, axis=0)
            empty = counts == 0
            if empty.any():  # re-seed empty lists with random training points
                sums[empty] = train[rng.choice(train.shape[0], size=int(empty.sum()), replace=False)]
            cent = _normalise(sums)
        assign_all = np.empty(n, dtype=np.int64)
        for a in range(0, n, block):
            b = min(n, a + block)
            assign_all[a:b] = np.argmax(vectors[a:b].astype(np.float32) @ cent.T, axis=1)
        order = np.argsort(assign_all, kind="stable")
        offsets = np.zeros(nlist + 1, dtype=np.int64)
        np.cumsum(np.bincount(assign_all, minlength=nlist), out=offsets[1:])
        return cls(cent.astype(np.float32), offsets, np.ascontiguousarray(vectors[order]),
                   np.ascontiguousarray(scales[order]), np.ascontiguousarray(ids[order]))

    @property
    def nlist(self) -> int:
        return int(self.centroids.shape[0])

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def search(self, query: F32, k: int, nprobe: int = DEFAULT_NPROBE) -> tuple[I64, F32]:
        """Approximate top-``k`` (caller ids, scores), best first, from the ``nprobe`` nearest lists."""
        q = np.asarray(query, dtype=np.float32)
        lists = _topk(self.centroids @ q, min(nprobe, self.nlist))
        spans = [(int(self.offsets[i]), int(self.offsets[i + 1])) for i in lists]
        spans = [(a, b) for a, b in spans if b > a]
        if not spans:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        parts = [(self.vectors[a:b].astype(np.float32) @ q) * self.scales[a:b] for a, b in spans]
        scores = np.concatenate(parts).astype(np.float32)
        rows = np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in spans])
        top = _topk(scores, k)
        return self.ids[rows[top]], scores[top]

    def save(self, folder: Path, meta: dict[str, Any]) -> None:
        """Write the index to ``folder`` (replacing it atomically enough: a temp folder, then rename)."""
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in ("centroids", "offsets", "vectors", "scales", "ids"):
            np.save(tmp / f"{name}.npy", getattr(self, name))
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> tuple[IVFIndex, dict[str, Any]]:
        """Memory-map an index written by :meth:`save`."""
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r")
                  for name in ("centroids", "offsets", "vectors", "scales", "ids")}
        return cls(np.asarray(arrays["centroids"]), np.asarray(arrays["offsets"]), arrays["vectors"],
                   arrays["scales"], arrays["ids"]), meta


# -- the archive's chunks ----------------------------------------------------------------------------


def sidecar_path(archive: Archive) -> Path:
    """Where the IVF sidecar of this archive lives: ``<archive>.vec/`` beside the file; for a PostgreSQL
    archive (vectors in the database, searched here) a cache folder per URL in the user data dir."""
    if isinstance(archive.path, str):
        digest = hashlib.sha256(archive.path.encode()).hexdigest()[:16]
        return paths.data_dir() / "vec-cache" / f"{digest}.vec"
    return archive.path.with_name(archive.path.name + ".vec")


def pending_count(archive: Archive) -> int:
    """Turns the indexer has not looked at yet (it marks every turn, those with no text too)."""
    rows = archive.query("SELECT (SELECT count(*) FROM turns) - (SELECT count(*) FROM embedded_turns)")
    return max(0, int(rows[0][0]))


def embedded_count(archive: Archive) -> int:
    """Chunks with an embedding."""
    return int(archive.query("SELECT count(*) FROM turn_chunks")[0][0])


def chunk_spans(text: str, chunks: Sequence[str]) -> list[tuple[int | None, int | None]]:
    """Where each chunk lies in ``text`` (searched in order; typography-insensitive as a fallback)."""
    out: list[tuple[int | None, int | None]] = []
    pos = 0
    lowered = text.lower() if len(text.lower()) == len(text) else None
    for chunk in chunks:
        piece = chunk.strip()
        k = -1
        if piece:
            k = text.find(piece, pos)
            k = text.find(piece) if k < 0 else k
            if k < 0 and lowered is not None:  # an uncased tokenizer may hand back lower-cased pieces
                k = lowered.find(piece.lower(), pos)
        if k >= 0:
            out.append((k, k + len(piece)))
            pos = k + 1
            continue
        hit = find(piece, text) if piece else None
        out.append((hit.start, hit.end) if hit is not None else (None, None))
    return out


def units(text: str, embedder: Embedder) -> list[tuple[str, int | None, int | None]]:
    """The pieces of an answer that get one vector each: its sentences (list items, lines), each cut
    further by the embedder when longer than the model takes, with their offsets in ``text``."""
    out: list[tuple[str, int | None, int | None]] = []
    for a, b in sentence_spans(text, min_words=1, max_words=10**6):
        sentence = text[a:b]
        pieces = [c for c in embedder.chunk(sentence) if c.strip()] or [sentence.strip()]
        if len(pieces) == 1 and pieces[0] == sentence.strip():
            out.append((sentence, a, b))
            continue
        for piece, (pa, pb) in zip(pieces, chunk_spans(sentence, pieces), strict=True):
            out.append((piece, a + pa if pa is not None else None, a + pb if pb is not None else None))
    return out


def index_archive(archive: Archive, embedder: Embedder | None = None, *, batch_turns: int = 128,
                  progress: Callable[[int, int], None] | None = None, limit: int | None = None) -> int:
    """Embed every turn that has an answer and no embedding yet; return how many turns were embedded.

    One vector per sentence (:func:`units`), so a phrase is compared with the sentence that holds it
    and search shows the very sentence; identical sentences (echoes, repeated prompts) are embedded
    once per batch. Each batch is committed on its own, so an interrupted run keeps what it did and
    the next one resumes. ``progress(done, total)`` is called after each batch.
    """
    emb = embedder or default_embedder()
    total = pending_count(archive)
    if limit is not None:
        total = min(total, limit)
    done = 0
    last_id = 0  # a cursor: each batch starts where the previous one stopped
    while done < total:
        rows = archive.query(
            "SELECT t.id, t.answer, t.status FROM turns t WHERE t.id > ? "
            "AND NOT EXISTS (SELECT 1 FROM embedded_turns e WHERE e.turn_id = t.id) ORDER BY t.id LIMIT ?",
            (last_id, min(batch_turns, total - done)),
        )
        if not rows:
            break
        last_id = int(rows[-1]["id"])
        pieces: list[tuple[int, int, str, int | None, int | None]] = []
        for r in rows:
            text = str(r["answer"]) if r["status"] != "error" else ""
            if not text.strip():
                continue  # marked as done with no chunk
            for i, (piece, a, b) in enumerate(units(text, emb)):
                pieces.append((int(r["id"]), i, piece, a, b))
        distinct = list(dict.fromkeys(p[2] for p in pieces))
        vecs = emb.embed(distinct) if distinct else np.zeros((0, emb.dim), np.float32)
        if vecs.shape != (len(distinct), emb.dim):
            raise ArchiveError(f"the embedder returned shape {vecs.shape}, expected {(len(distinct), emb.dim)}")
        q_all, scales_all = quantize(vecs)
        row_of = {text: j for j, text in enumerate(distinct)}
        per_turn: dict[int, int] = {}
        for p in pieces:
            per_turn[p[0]] = per_turn.get(p[0], 0) + 1
        now = datetime_to_iso(utcnow())
        # The archive's own write transaction: one commit per batch, under its lock.
        with archive.transaction() as c:
            c.executemany(
                "INSERT OR REPLACE INTO turn_chunks (turn_id, chunk, char_start, char_end, dim, scale, vector) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(p[0], p[1], p[3], p[4], emb.dim, float(scales_all[row_of[p[2]]]), q_all[row_of[p[2]]].tobytes())
                 for p in pieces],
            )
            c.executemany(
                "INSERT OR REPLACE INTO embedded_turns (turn_id, model, chunks, embedded_at) VALUES (?, ?, ?, ?)",
                [(int(r["id"]), emb.name, per_turn.get(int(r["id"]), 0), now) for r in rows],
            )
        done += len(rows)
        if progress is not None:
            progress(done, total)
    return done


def turn_vectors(archive: Archive, turn_ids: Sequence[int]) -> dict[int, tuple[F32, list[tuple[int, int] | None]]]:
    """The stored (dequantized) vectors of each turn's sentences and where each sentence lies in the
    answer (None when unknown), keyed by turn id."""
    out: dict[int, tuple[F32, list[tuple[int, int] | None]]] = {}
    for a in range(0, len(turn_ids), 500):
        part = list(turn_ids[a:a + 500])
        rows = archive.query(
            "SELECT turn_id, scale, vector, char_start, char_end FROM turn_chunks "
            f"WHERE turn_id IN ({','.join('?' * len(part))}) ORDER BY turn_id, chunk", part)
        by_turn: dict[int, list[Any]] = {}
        for r in rows:
            by_turn.setdefault(int(r[0]), []).append(r)
        for turn_id, items in by_turn.items():
            q = np.frombuffer(b"".join(bytes(r[2]) for r in items), dtype=np.int8).reshape(len(items), -1)
            spans = [(int(r[3]), int(r[4])) if r[3] is not None and r[4] is not None else None for r in items]
            out[turn_id] = (dequantize(q, np.asarray([float(r[1]) for r in items], dtype=np.float32)), spans)
    return out


def build_vector_index(archive: Archive, *, nlist: int | None = None, force: bool = False,
                       seed: int = 0) -> Path | None:
    """(Re)build the IVF sidecar when the archive has ``IVF_MIN_VECTORS`` chunks (or ``force``)."""
    count = embedded_count(archive)
    folder = sidecar_path(archive)
    if count == 0 or (count < IVF_MIN_VECTORS and not force):
        shutil.rmtree(folder, ignore_errors=True)
        return None
    ids, q, scales, dim = _load_chunks(archive, "", ())
    index = IVFIndex.build(q, scales, ids, nlist, seed=seed)
    index.save(folder, {"dim": dim, "count": len(index), "max_chunk_id": int(ids.max()),
                        "nlist": index.nlist, "built_at": datetime_to_iso(utcnow())})
    return folder


def _load_chunks(archive: Archive, where: str, params: Sequence[Any]) -> tuple[I64, I8, F32, int]:
    """Chunk ids, int8 vectors and scales matching ``where`` (SQL over ``c`` chunks, ``t`` turns)."""
    rows = archive.query(
        "SELECT c.id, c.scale, c.vector, c.dim FROM turn_chunks c JOIN turns t ON t.id = c.turn_id "
        "LEFT JOIN sessions s ON s.id = t.session_id"
        + (f" WHERE {where}" if where else "") + " ORDER BY c.id",
        tuple(params),
    )
    if not rows:
        return (np.zeros(0, np.int64), np.zeros((0, 0), np.int8), np.zeros(0, np.float32), 0)
    dim = int(rows[0]["dim"])
    ids = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
    scales = np.fromiter((float(r[1]) for r in rows), dtype=np.float32, count=len(rows))
    q = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype=np.int8).reshape(len(rows), dim)
    return ids, q, scales, dim


@dataclass(frozen=True)
class ChunkHit:
    """A chunk near the query: its turn, its place in the answer, and the cosine similarity."""

    chunk_id: int
    turn_id: int
    chunk: int
    start: int | None
    end: int | None
    score: float


def _hits_for(archive: Archive, ids: Sequence[int], scores: Sequence[float], where: str,
              params: Sequence[Any]) -> list[ChunkHit]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = archive.query(
        "SELECT c.id, c.turn_id, c.chunk, c.char_start, c.char_end FROM turn_chunks c "
        "JOIN turns t ON t.id = c.turn_id LEFT JOIN sessions s ON s.id = t.session_id "
        f"WHERE c.id IN ({marks})" + (f" AND {where}" if where else ""),
        (*ids, *params),
    )
    by_id = {int(r[0]): r for r in rows}
    out: list[ChunkHit] = []
    for cid, score in zip(ids, scores, strict=True):
        r = by_id.get(int(cid))
        if r is not None:
            out.append(ChunkHit(int(cid), int(r[1]), int(r[2]), r[3], r[4], float(score)))
    return out


_SIDECARS: dict[Path, tuple[int, IVFIndex, dict[str, Any]]] = {}


def _load_sidecar(folder: Path) -> tuple[IVFIndex, dict[str, Any]] | None:
    """The memory-mapped sidecar index, cached per process until it is rebuilt."""
    try:
        stamp = (folder / "meta.json").stat().st_mtime_ns
    except FileNotFoundError:
        _SIDECARS.pop(folder, None)
        return None
    cached = _SIDECARS.get(folder)
    if cached is None or cached[0] != stamp:
        index, meta = IVFIndex.load(folder)
        cached = (stamp, index, meta)
        _SIDECARS[folder] = cached
    return cached[1], cached[2]


def search_vectors(archive: Archive, query: F32, k: int, *, where: str = "", params: Sequence[Any] = (),
                   nprobe: int = DEFAULT_NPROBE) -> list[ChunkHit]:
    """The ``k`` chunks nearest to a unit ``query`` vector, optionally restricted by SQL ``where``.

    Uses the IVF sidecar when there is one (plus brute force over chunks added since), else brute
    force over the matching chunks read from SQLite.
    """
    folder = sidecar_path(archive)
    q = np.asarray(query, dtype=np.float32)
    loaded = _load_sidecar(folder)
    if loaded is not None:
        index, meta = loaded
        # A filter may drop most candidates: fetch more of them, then keep the matching ones.
        want = k * (20 if where else 2)
        ids, scores = index.search(q, want, nprobe=nprobe)
        t_where = f"c.id > ?{' AND ' + where if where else ''}"
        t_ids, t_q, t_scales, _ = _load_chunks(archive, t_where, (int(meta["max_chunk_id"]), *params))
        if t_ids.size:
            ti, ts = brute_force_topk(t_q, t_scales, q, want)
            ids = np.concatenate([ids, t_ids[ti]])
            scores = np.concatenate([scores, ts])
        order = np.argsort(-scores, kind="stable")
        hits = _hits_for(archive, [int(i) for i in ids[order]], [float(s) for s in scores[order]],
                         where, params)
        return hits[:k]
    ids, vecs, scales, _ = _load_chunks(archive, where, params)
    if ids.size == 0:
        return []
    idx, scores = brute_force_topk(vecs, scales, q, k)
    return _hits_for(archive, [int(ids[i]) for i in idx], [float(s) for s in scores], where, params)


def semantic_hits(archive: Archive, query: str, k: int, embedder: Embedder,
                  filters: SearchFilters | None = None) -> list[ChunkHit]:
    """Chunks nearest in meaning to ``query`` (best chunk per turn), with the search filters applied."""
    where, params = filter_sql(filters) if filters is not None else ("", [])
    qv = embedder.embed([query])[0]
    hits = search_vectors(archive, qv, k * 3, where=where, params=params)
    seen: set[int] = set()
    out: list[ChunkHit] = []
    for h in hits:
        if h.turn_id not in seen:
            seen.add(h.turn_id)
            out.append(h)
    return out[:k]
