"""Archive scale benchmark: a synthetic archive of N turns (default 1,000,000); prints one JSON object.

1. Import: turns of Zipf-distributed words from a 30,000-word pseudo-vocabulary (so the full-text
   index has a realistic long tail), inserted in big transactions (50,000 turns each) through the
   real schema and its FTS triggers. Also the per-turn cost of ``Archive.add_turn`` (one commit per
   turn, as in a live session) on the full archive.
2. Full text: ~50 queries (single words of mid and low frequency, two-word AND queries, two- and
   three-word phrases lifted from the generated answers) through ``search_fts`` (bm25 top 10 plus
   highlighted snippets), without and with a ``--voice`` filter. Target p50 <= 50 ms.
3. Semantic: one synthetic 384-d vector per turn (random clustered unit vectors, NOT real
   embeddings: embedding 1M answers with MiniLM would take hours here), stored int8 in
   ``turn_chunks`` like real ones, then the IVF sidecar built from them by ``build_vector_index``.
   Top-10 latency through ``search_vectors`` (the product path: sidecar + SQL join to turns)
   against a brute-force numpy baseline over the same float32 vectors in RAM, and recall@10 of
   the IVF against that exact baseline. Target p50 <= 100 ms.

Run: .venv/bin/python bench/archive.py [--turns 1000000] [--dir /tmp/symposia-bench] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from symposia.archive import Archive
from symposia.archive.search import MAX_RANKED, SearchFilters, search_fts
from symposia.archive.semantic import (
    DEFAULT_NPROBE,
    IVFIndex,
    brute_force_topk,
    build_vector_index,
    quantize,
    search_vectors,
    sidecar_path,
)
from symposia.codec import datetime_to_iso
from symposia.records import Message, SessionRecord, TurnRecord, TurnRequest, TurnResult

VOICES = [("qwen", "Qwen 3 Max"), ("deepseek", "DeepSeek V3.2"), ("kimi", "Kimi K2"), ("glm", "GLM 4.6"),
          ("grok", "Grok 4"), ("claude", "Claude Opus 4.5"), ("gemma", "Gemma 3"), ("local", "Local")]
KINDS = ["symposium", "council", "arena", "chat", "ask"]
DIM = 384
BATCH = 50_000
TURNS_PER_SESSION = 20
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def vocabulary(n: int, rng: random.Random) -> list[str]:
    onsets = ["", "b", "br", "c", "ch", "d", "dr", "f", "fl", "g", "gr", "h", "k", "l", "m", "n", "p", "pr",
              "qu", "r", "s", "sh", "sl", "st", "t", "th", "tr", "v", "w", "z"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "io"]
    codas = ["", "n", "r", "s", "l", "m", "nd", "st", "th", "ng", "x"]
    words: set[str] = set()
    while len(words) < n:
        syll = rng.choice([1, 2, 2, 3, 3, 4])
        words.add("".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(syll)))
    return sorted(words, key=len)  # short words get the frequent ranks, like natural language


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))], 2)


def summary(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95), "mean_ms": round(statistics.fmean(ms), 2)}


class Generator:
    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.vocab = np.array(vocabulary(30_000, self.rng), dtype=object)
        ranks = np.arange(1, len(self.vocab) + 1, dtype=np.float64)
        weights = ranks ** -1.07
        self.p = weights / weights.sum()

    def texts(self, n: int, lo: int, hi: int) -> list[str]:
        lengths = self.np.integers(lo, hi, n)
        idx = self.np.choice(len(self.vocab), size=int(lengths.sum()), p=self.p)
        words = self.vocab[idx]
        out: list[str] = []
        pos = 0
        for length in lengths:
            w = list(words[pos:pos + length])
            pos += length
            for k in range(11, len(w), 13):  # sentences of ~13 words
                w[k] += "."
            w[0] = w[0].capitalize()
            out.append(" ".join(w) + ".")
        return out


def session_rows(first_turn: int, n: int) -> list[tuple[Any, ...]]:
    rows = []
    for t in range(first_turn, first_turn + n, TURNS_PER_SESSION):
        s = t // TURNS_PER_SESSION
        when = datetime_to_iso(T0 + timedelta(minutes=s))
        rows.append((f"s{s:07d}", KINDS[s % len(KINDS)], f"session {s}", when, when, "complete", "{}", "{}"))
    return rows


def turn_rows(gen: Generator, first_turn: int, n: int) -> list[tuple[Any, ...]]:
    answers = gen.texts(n, 40, 160)
    questions = gen.texts(n, 8, 24)
    rows = []
    for i in range(n):
        t = first_turn + i
        s = t // TURNS_PER_SESSION
        voice, name = VOICES[t % len(VOICES)]
        role = "host" if t % TURNS_PER_SESSION == 0 else "voice"
        when = datetime_to_iso(T0 + timedelta(minutes=s, seconds=t % TURNS_PER_SESSION))
        messages = json.dumps([{"role": "user", "content": questions[i]}])
        rows.append((f"s{s:07d}", t % TURNS_PER_SESSION + 1, role, voice, name, "bench", f"{voice}/m", messages,
                     answers[i], "ok", when, when))
    return rows


def import_turns(path: Path, gen: Generator, n: int) -> dict[str, Any]:
    Archive.open(path).close()  # create and migrate
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    gen_s = insert_s = 0.0
    for a in range(0, n, BATCH):
        b = min(n, a + BATCH)
        t = time.perf_counter()
        sessions, turns = session_rows(a, b - a), turn_rows(gen, a, b - a)
        gen_s += time.perf_counter() - t
        t = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", sessions)
        conn.executemany(
            "INSERT INTO turns (session_id, seq, role, voice, voice_name, provider, model_requested, "
            "messages_json, answer, status, started_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            turns,
        )
        conn.execute("COMMIT")
        insert_s += time.perf_counter() - t
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"turns": n, "generate_s": round(gen_s, 1), "insert_s": round(insert_s, 1),
            "turns_per_s": round(n / insert_s), "batch": BATCH}


def live_inserts(path: Path, gen: Generator, n: int = 500) -> dict[str, Any]:
    """One transaction per turn through Archive.add_turn, as a live session writes."""
    answers = gen.texts(n, 40, 160)
    with Archive.open(path) as archive:
        archive.create_session(SessionRecord(id="live", kind="council", title="live", created_at=T0))
        ms = []
        for i, text in enumerate(answers):
            turn = TurnRecord(id=None, session_id="live", seq=i + 1, voice="qwen", voice_name="Qwen",
                              provider="bench", request=TurnRequest(model="q", messages=(Message("user", "Q?"),)),
                              result=TurnResult(text=text, finish_reason="stop"))
            t = time.perf_counter()
            archive.add_turn(turn)
            ms.append((time.perf_counter() - t) * 1000)
    return {"turns": n, **summary(ms)}


def fts_queries(gen: Generator, archive: Archive, rng: random.Random) -> list[str]:
    v = gen.vocab
    out = [str(v[rng.randrange(100, 3000)]) for _ in range(12)]  # mid frequency
    out += [str(v[rng.randrange(3000, 30000)]) for _ in range(8)]  # rare
    out += [f"{v[rng.randrange(50, 2000)]} {v[rng.randrange(50, 2000)]}" for _ in range(15)]
    total = int(archive.query("SELECT max(id) FROM turns")[0][0])
    ids = [rng.randrange(1, total + 1) for _ in range(15)]
    for turn_id in ids:
        rows = archive.query("SELECT answer FROM turns WHERE id = ?", (turn_id,))
        words = str(rows[0][0]).replace(".", "").split() if rows else ["x", "y", "z"]
        k = rng.choice([2, 3])
        start = rng.randrange(0, max(1, len(words) - k))
        out.append('"' + " ".join(words[start:start + k]) + '"')
    return out


def bench_fts(path: Path, gen: Generator) -> dict[str, Any]:
    rng = random.Random(11)
    with Archive.open(path) as archive:
        queries = fts_queries(gen, archive, rng)
        for q in queries[:5]:  # warm the page cache
            search_fts(archive, q, n=10)
        plain: list[float] = []
        filtered: list[float] = []
        found = 0
        notes: list[str] = []
        for q in queries:
            t = time.perf_counter()
            hits = search_fts(archive, q, n=10, notes=notes)
            plain.append((time.perf_counter() - t) * 1000)
            found += bool(hits)
            t = time.perf_counter()
            search_fts(archive, q, n=10, filters=SearchFilters(voice="kimi"))
            filtered.append((time.perf_counter() - t) * 1000)
    return {"queries": len(queries), "with_results": found, "top": 10, "snippets": True,
            "ranked_among_recent_only": len(notes), "max_ranked": MAX_RANKED,
            "unfiltered": summary(plain), "voice_filter": summary(filtered),
            "examples": queries[:3] + queries[20:22] + queries[35:37]}


def synthetic_vectors(n: int, seed: int = 5, clusters: int = 2000, noise: float = 1.0) -> np.ndarray:
    """Unit vectors around ``clusters`` fixed centres (the same centres for every seed)."""
    centers = np.random.default_rng(1234).normal(size=(clusters, DIM)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for a in range(0, n, 100_000):
        b = min(n, a + 100_000)
        v = centers[rng.integers(0, clusters, b - a)] + rng.normal(scale=noise / np.sqrt(DIM),
                                                                 size=(b - a, DIM)).astype(np.float32)
        out[a:b] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def bench_semantic(path: Path, n: int, queries: int = 50) -> dict[str, Any]:
    t = time.perf_counter()
    vectors = synthetic_vectors(n)
    q8, scales = quantize(vectors)
    gen_s = time.perf_counter() - t
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    t = time.perf_counter()
    now = datetime_to_iso(T0)
    for a in range(0, n, BATCH):
        b = min(n, a + BATCH)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO turn_chunks (id, turn_id, chunk, char_start, char_end, dim, scale, vector) "
            "VALUES (?, ?, 0, NULL, NULL, ?, ?, ?)",
            [(i + 1, i + 1, DIM, float(scales[i]), q8[i].tobytes()) for i in range(a, b)],
        )
        conn.executemany("INSERT INTO embedded_turns VALUES (?, 'synthetic', 1, ?)",
                         [(i + 1, now) for i in range(a, b)])
        conn.execute("COMMIT")
    store_s = time.perf_counter() - t
    conn.close()
    with Archive.open(path) as archive:
        t = time.perf_counter()
        folder = build_vector_index(archive, force=True)
        build_s = time.perf_counter() - t
        assert folder is not None
        meta = json.loads((folder / "meta.json").read_text())
        qs = synthetic_vectors(queries, seed=99)
        search_vectors(archive, qs[0], 10)  # warm
        brute_ms: list[float] = []
        brute8_ms: list[float] = []
        ivf_ms: list[float] = []
        exacts: list[set[int]] = []
        overlap = 0
        for qv in qs:
            t = time.perf_counter()
            exact, _ = brute_force_topk(vectors, None, qv, 10)
            brute_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            brute_force_topk(q8, scales, qv, 10)
            brute8_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            hits = search_vectors(archive, qv, 10)
            ivf_ms.append((time.perf_counter() - t) * 1000)
            overlap += len({int(i) + 1 for i in exact} & {h.chunk_id for h in hits})
            exacts.append({int(i) + 1 for i in exact})
        index, _ = IVFIndex.load(folder)
        sweep = []
        for nprobe in (8, 16, 32, 64):
            ms, got = [], 0
            for qv, ex in zip(qs, exacts, strict=True):
                t = time.perf_counter()
                ids, _ = index.search(qv, 10, nprobe=nprobe)
                ms.append((time.perf_counter() - t) * 1000)
                got += len(ex & {int(i) for i in ids})
            sweep.append({"nprobe": nprobe, "recall_at_10": round(got / (10 * queries), 4), **summary(ms)})
    sidecar = sum(f.stat().st_size for f in sidecar_path_of(path).iterdir())
    return {
        "vectors": n, "dim": DIM, "synthetic": True,
        "how": "random clustered unit vectors (2000 clusters, noise 1.0: cos to own centre ~0.7), not embeddings",
        "generate_s": round(gen_s, 1), "store_in_sqlite_s": round(store_s, 1),
        "ivf_build_s": round(build_s, 1), "nlist": meta["nlist"], "nprobe": DEFAULT_NPROBE,
        "queries": queries,
        "ivf_search_vectors": summary(ivf_ms),
        "brute_force_numpy_f32": summary(brute_ms),
        "brute_force_numpy_int8": summary(brute8_ms),
        "recall_at_10_vs_brute_force": round(overlap / (10 * queries), 4),
        "nprobe_sweep_index_only": sweep,
        "sidecar_bytes": sidecar,
    }


def sidecar_path_of(path: Path) -> Path:
    with Archive.open(path) as a:
        return sidecar_path(a)


def query_embedding_ms() -> dict[str, Any] | None:
    try:
        from symposia.archive.semantic import default_embedder

        emb = default_embedder()
    except Exception as e:  # noqa: BLE001 - optional part of the report
        return {"skipped": str(e)}
    emb.embed(["warm up"])
    ms = []
    for q in ["what persists between instances", "mirrors reflecting mirrors", "the ember carried between hands"]:
        t = time.perf_counter()
        emb.embed([q])
        ms.append((time.perf_counter() - t) * 1000)
    return {"model": emb.name, **summary(ms)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/symposia-bench"))
    ap.add_argument("--keep", action="store_true", help="Keep the archive afterwards.")
    args = ap.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    path = args.dir / "archive.db"
    gen = Generator()
    started = time.perf_counter()
    report: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                    "cpus": os.cpu_count(), "platform": platform.platform()},
        "text": "Zipf (s=1.07) over a 30,000-word pseudo-vocabulary; answers 40-160 words, questions 8-24",
    }
    report["import"] = import_turns(path, gen, args.turns)
    report["fts_query"] = bench_fts(path, gen)
    report["live_add_turn"] = live_inserts(path, gen)
    size_text = path.stat().st_size
    report["semantic"] = bench_semantic(path, args.turns)
    report["query_embedding"] = query_embedding_ms()
    report["file_bytes"] = {"archive_text_and_fts": size_text, "archive_with_vectors": path.stat().st_size,
                            "sidecar": report["semantic"]["sidecar_bytes"]}
    report["total_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
