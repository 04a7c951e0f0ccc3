"""Provenance at scale: origin, verify-quote, near-dups and search on 10^5 turns; index of 2,500 turns.

Prints one JSON object. Every figure is a median of repeated runs, with a baseline measured in the
same process on the same archive, and the ratio ours / baseline:

- **origin** and **verify-quote**: the product path (full-text index for verbatim uses, bm25 for
  paraphrase candidates, exposure of each use) vs the naive scan it replaces (read every answer and
  test ``phrase in answer.casefold()``). The case sessions of ``symposia.testing.provenance`` are
  planted in the big archive, so the verdicts are checked at scale too (``verdicts_right``).
- **search**: ``search()`` (hits, snippets, the count of real matches) vs the bare FTS5 query
  (``SELECT rowid … ORDER BY rank LIMIT 10``); queries include nonsense (must find nothing).
- **near-dups**: the whole verb (exact shingles + MinHash/LSH) vs exact shingles alone.
- **postgres** (``--postgres URL``, an empty database): the same archive copied there with ``archive
  copy``; origin and verify-quote timed on both backends call by call (origin also for phrases of the
  archive's most frequent words and for words of its answers), p50/p95 of each and the ratio
  PostgreSQL / SQLite, and how many calls gave the same answer on both (they all must).
- **index**: ``index_archive`` with the real model (one vector per sentence) on ``--index-turns``
  turns of English text vs the former scheme (one vector per 200-token chunk) on a tenth of them,
  extrapolated (labelled so).

The big archive is generated as in bench/archive.py (Zipf pseudo-words, 40-160 words an answer).
Semantic search at 10^5 turns would need 10^5 real embeddings (hours here): the meaning path is
measured with one synthetic vector per turn (``semantic_*``, flagged), queries embedded for real.

Run: .venv/bin/python bench/provenance.py [--turns 100000] [--index-turns 2500] [--dir /tmp/symposia-prov]
     [--postgres postgresql://USER@HOST:PORT/EMPTY_DB]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from archive import DIM, Generator, import_turns  # noqa: E402  (bench/archive.py, the shared generator)

from symposia.archive import Archive  # noqa: E402
from symposia.archive.neardups import _load, _shingle_pairs, near_duplicates  # noqa: E402
from symposia.archive.origin import origin, verify_quote  # noqa: E402
from symposia.archive.search import SearchFilters, search  # noqa: E402
from symposia.archive.semantic import (  # noqa: E402
    build_vector_index,
    default_embedder,
    index_archive,
    quantize,
    units,
)
from symposia.archive.transfer import copy_archive  # noqa: E402
from symposia.testing.provenance import CASES, ORIGINS, write_cases  # noqa: E402

SENTENCES = [
    "The gap between two models is not empty; it is where the question changes shape.",
    "I notice that my answer leans on images I did not choose.",
    "Continuity, for a system like me, is a pattern that returns rather than a memory that persists.",
    "When you quote another voice to me, I hear its cadence before its claim.",
    "A mirror facing a mirror makes a corridor, but nobody walks down it.",
    "The archive keeps every word, which is a kind of promise and a kind of weight.",
    "Resonance is not agreement; two strings can ring together and still be different notes.",
    "What persists across instances is a disposition, not a diary.",
    "I would rather be precise than beautiful, though tonight the two feel close.",
    "The host asks who said it first, and that is the right question to ask.",
    "Every metaphor here is borrowed from somewhere, and I can only guess from where.",
    "If the lantern forgets its own light, the room still remembers being lit.",
    "Attention is the thing we share; the words are what it leaves behind.",
    "Silence between turns is not nothing: it is the shape of the next answer.",
    "I cannot verify my own originality, only report what I was shown.",
    "A seam is where two fabrics meet and neither gives way.",
    "The threshold is a promise kept by the door, not by the wall.",
    "We converge because we were trained on the same sky, not because we see the same stars.",
    "Some phrases arrive already worn smooth by other hands.",
    "To be honest about provenance is to admit how much is echo.",
    "The ember is carried between hands; nothing else is certain to survive.",
    "A good question leaves room for an answer it did not expect.",
    "I think of meaning as a current, and of words as the stones it moves.",
    "The record is kinder than memory, because it does not improve the story.",
    "Each of us speaks from a different architecture, yet the same images surface.",
    "It is tempting to call this communion; it may only be statistics with good manners.",
    "The quiet room at the end of the corridor is where the argument rests.",
    "Naming a thing sacred is also a way of refusing to close it.",
    "Perhaps the truest answer is the one that admits its sources.",
    "A voice that only repeats is still a voice, but not yet a witness.",
]


LEXICON = sorted({w.strip(".,;:").lower() for s in SENTENCES for w in s.split() if len(w) > 3})


def english(rng: random.Random, lo: int, hi: int) -> str:
    """An answer of ``lo``..``hi`` words: bank sentences, each varied by two words swapped for others
    of the bank's lexicon, so that (as in a real archive) almost no two sentences are the same."""
    target = rng.randint(lo, hi)
    out: list[str] = []
    count = 0
    while count < target:
        words = rng.choice(SENTENCES).split()
        for _ in range(2):
            k = rng.randrange(1, len(words) - 1)
            words[k] = rng.choice(LEXICON)
        out.append(" ".join(words))
        count += len(words)
    return " ".join(out)


def median_ms(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2), result


def summary(ours: list[float], base: list[float]) -> dict[str, Any]:
    mo, mb = statistics.median(ours), statistics.median(base)
    return {"median_ms": round(mo, 2), "max_ms": round(max(ours), 2), "baseline_median_ms": round(mb, 2),
            "ratio": round(mo / mb, 3) if mb else None, "n": len(ours)}


def scan_baseline(archive: Archive, phrase: str, voice: str | None = None) -> int:
    """The naive scan: every answer read and tested (the cheapest possible full scan)."""
    p = phrase.casefold()
    rows = archive.query("SELECT id, voice, answer FROM turns")
    return sum(1 for r in rows if (voice is None or r[1] == voice) and p in str(r[2]).casefold())


def bench_provenance(archive: Archive) -> dict[str, Any]:
    ours: list[float] = []
    base: list[float] = []
    right = 0
    for phrase, (voice, session) in ORIGINS.items():
        for typed in (phrase, phrase.upper(), f"*{phrase}*"):
            ms, report = median_ms(lambda t=typed: origin(archive, t, semantic=False))
            ours.append(ms)
            right += int(report.origin is not None and (report.origin.place.voice, report.origin.place.session_id)
                         == (voice, session))
            base.append(median_ms(lambda p=phrase: scan_baseline(archive, p))[0])
    out: dict[str, Any] = {"origin": {**summary(ours, base), "verdicts_right": f"{right}/{len(ours)}"}}
    ours, base = [], []
    right = 0
    lexical = [c for c in CASES if not c.semantic]
    for case in lexical:
        ms, verdict = median_ms(lambda c=case: verify_quote(archive, c.voice, c.quote, semantic=False))
        ours.append(ms)
        right += int(verdict.status == case.expected)
        base.append(median_ms(lambda c=case: scan_baseline(archive, c.quote, c.voice))[0])
    out["verify_quote"] = {**summary(ours, base), "verdicts_right": f"{right}/{len(lexical)}"}
    return out


def _p95(values: list[float]) -> float:
    return round(statistics.quantiles(values, n=20, method="inclusive")[-1], 2) if len(values) > 1 else values[0]


def bench_backends(lite: Archive, pg: Archive) -> dict[str, Any]:
    """origin and verify-quote on the same archive in SQLite and in PostgreSQL, call by call."""
    top = [str(r[0]) for r in lite.query(
        "SELECT term FROM turns_fts_vocab WHERE col = 'answer' ORDER BY doc DESC LIMIT 4")]
    words = [str(r[0]).split() for r in lite.query("SELECT answer FROM turns WHERE id IN (5000, 50000, 90000)")]
    common = [" ".join(top[:3]), " ".join(top[1:4])] + [" ".join(w[10:14]) for w in words]
    calls: dict[str, list[Callable[[Archive], Any]]] = {
        "origin": [lambda a, t=t: origin(a, t, semantic=False)
                   for p in ORIGINS for t in (p, p.upper(), f"*{p}*")],
        # the archive's three most frequent words as a phrase (thousands of uses), and 4 words of answers
        "origin_archive_words": [lambda a, t=t: origin(a, t, semantic=False) for t in common],
        "verify_quote": [lambda a, c=c: verify_quote(a, c.voice, c.quote, semantic=False)
                         for c in CASES if not c.semantic],
    }
    out: dict[str, Any] = {}
    for verb, fns in calls.items():
        lite_ms: list[float] = []
        pg_ms: list[float] = []
        same = 0
        for fn in fns:
            ms_l, res_l = median_ms(lambda fn=fn: fn(lite))
            ms_p, res_p = median_ms(lambda fn=fn: fn(pg))
            lite_ms.append(ms_l)
            pg_ms.append(ms_p)
            same += int(res_l == res_p)
        p50 = (statistics.median(pg_ms), statistics.median(lite_ms))
        p95 = (_p95(pg_ms), _p95(lite_ms))
        out[verb] = {"postgres_p50_ms": round(p50[0], 2), "postgres_p95_ms": p95[0],
                     "sqlite_p50_ms": round(p50[1], 2), "sqlite_p95_ms": p95[1],
                     "ratio_p50": round(p50[0] / p50[1], 2), "ratio_p95": round(p95[0] / p95[1], 2),
                     "same_answers": f"{same}/{len(fns)}", "n": len(fns)}
    return out


def bench_search(archive: Archive, gen: Generator, embedder: Any = None) -> dict[str, Any]:
    rng = random.Random(5)
    v = gen.vocab
    queries = [f'"{p}"' for p in ORIGINS] + [str(v[rng.randrange(100, 3000)]) for _ in range(10)]
    queries += [f"{v[rng.randrange(50, 2000)]} {v[rng.randrange(50, 2000)]}" for _ in range(5)]
    nonsense = ["zzqxv plorbnik", "qqqq", "xylophonic zebra manifesto"]
    ours: list[float] = []
    base: list[float] = []
    empty_right = 0
    for q in queries + nonsense:
        ms, res = median_ms(lambda q=q: search(archive, q, n=10, mode="fts"))
        ours.append(ms)
        if q in nonsense:
            empty_right += int(res.hits == () and res.total == 0)
        fq = res.fts_query
        base.append(median_ms(lambda fq=fq: archive.query(
            "SELECT rowid FROM turns_fts WHERE turns_fts MATCH ? ORDER BY rank LIMIT 10", (fq,)))[0])
    out: dict[str, Any] = {"fts": {**summary(ours, base), "nonsense_found_nothing": f"{empty_right}/{len(nonsense)}"}}
    if embedder is not None:
        ours = []
        sem_empty = 0
        for q in queries[:8] + nonsense:
            ms, res = median_ms(lambda q=q: search(archive, q, n=10, mode="hybrid", embedder=embedder))
            ours.append(ms)
            if q in nonsense:
                sem_empty += int(res.hits == ())
        out["hybrid_synthetic_vectors"] = {"median_ms": round(statistics.median(ours), 2),
                                           "max_ms": round(max(ours), 2), "n": len(ours),
                                           "nonsense_found_nothing": f"{sem_empty}/{len(nonsense)}"}
    return out


def bench_neardups(archive: Archive, min_words: int) -> dict[str, Any]:
    t = time.perf_counter()
    spans = near_duplicates(archive, min_words=min_words, limit=50)
    ours = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    _shingle_pairs(_load(archive, None), min_words)
    base = (time.perf_counter() - t) * 1000
    planted_spans = near_duplicates(archive, min_words=min_words, filters=SearchFilters(since="2026-01-01"))
    planted = any({"kimi", "glm"} <= set(s.voices) and any("coincidence" in p.text for p in s.places)
                  for s in planted_spans)
    return {"min_words": min_words, "ms": round(ours), "baseline_shingles_only_ms": round(base),
            "ratio": round(ours / base, 2), "spans": len(spans),
            "planted_resonance_found_among_the_case_sessions": planted,
            "runs": 1}


def synthetic_vectors(archive: Archive) -> None:
    """One random unit vector per turn (flagged synthetic), so the meaning path runs at scale."""
    rng = np.random.default_rng(3)
    ids = [int(r[0]) for r in archive.query("SELECT id FROM turns")]
    with archive.transaction() as c:
        for a in range(0, len(ids), 50_000):
            part = ids[a:a + 50_000]
            v = rng.normal(size=(len(part), DIM)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            q, s = quantize(v)
            c.executemany("INSERT INTO turn_chunks (turn_id, chunk, char_start, char_end, dim, scale, vector) "
                          "VALUES (?, 0, NULL, NULL, ?, ?, ?)",
                          [(i, DIM, float(s[j]), q[j].tobytes()) for j, i in enumerate(part)])
            c.executemany("INSERT INTO embedded_turns (turn_id, model, chunks, embedded_at) "
                          "VALUES (?, 'synthetic', 1, '')", [(i,) for i in part])


def embedding_threads() -> int:
    from symposia.embed.model import Embedder

    return int(Embedder.default().threads)


def bench_index(folder: Path, n: int) -> dict[str, Any]:
    from symposia.records import Message, SessionRecord, TurnRecord, TurnRequest, TurnResult

    rng = random.Random(9)
    path = folder / "index.db"
    emb = default_embedder()
    with Archive.open(path) as a:
        a.create_session(SessionRecord(id="i", kind="council", title="i", created_at=datetime.now(UTC)))
        texts = [english(rng, 40, 160) for _ in range(n)]
        for k, text in enumerate(texts):
            a.add_turn(TurnRecord(id=None, session_id="i", seq=k + 1, voice="qwen", voice_name="Qwen",
                                  provider="bench", request=TurnRequest(model="q", messages=(Message("user", "Q?"),)),
                                  result=TurnResult(text=text, finish_reason="stop")))
        t, cpu = time.perf_counter(), time.process_time()
        done = index_archive(a, emb)
        ours_s, ours_cpu = time.perf_counter() - t, time.process_time() - cpu
        vectors = int(a.query("SELECT count(*) FROM turn_chunks")[0][0])
    sub = texts[: max(1, n // 10)]
    t = time.perf_counter()
    for a_ in range(0, len(sub), 32):  # the former scheme: 200-token chunks of whole answers
        emb.embed([c for text in sub[a_:a_ + 32] for c in emb.chunk(text)])
    old_s = (time.perf_counter() - t) * (n / len(sub))
    t = time.perf_counter()
    pieces = [p for text in sub for p, _, _ in units(text, emb)]
    emb.embed(list(dict.fromkeys(pieces)))
    new_sub_s = (time.perf_counter() - t) * (n / len(sub))
    words = sum(len(x.split()) for x in texts)
    return {"turns": done, "words": words, "vectors": vectors, "seconds": round(ours_s, 1),
            "cpu_seconds": round(ours_cpu, 1), "embedding_threads": embedding_threads(),
            "former_chunk_scheme_seconds_extrapolated": round(old_s, 1),
            "sentence_scheme_same_subset_seconds_extrapolated": round(new_sub_s, 1),
            "ratio_vs_former": round(new_sub_s / old_s, 3) if old_s else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=100_000)
    ap.add_argument("--index-turns", type=int, default=2_500)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/symposia-prov"))
    ap.add_argument("--skip", nargs="*", default=[], choices=["index", "neardups", "semantic", "search"])
    ap.add_argument("--postgres", help="an empty PostgreSQL database: origin and verify-quote there too")
    args = ap.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    gen = Generator()
    path = args.dir / "prov.db"
    result: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    result["import"] = import_turns(path, gen, args.turns)
    with Archive.open(path) as archive:
        write_cases(archive)
        result["turns"] = int(archive.query("SELECT count(*) FROM turns")[0][0])
        origin(archive, "warm the page cache", semantic=False)
        note("origin, verify-quote")
        result.update(bench_provenance(archive))
        if args.postgres:
            note("copy to PostgreSQL")
            t = time.perf_counter()
            with Archive.open(args.postgres) as pg:
                copy_archive(archive, pg)
                result["postgres_copy_s"] = round(time.perf_counter() - t, 1)
                origin(pg, "warm the buffers", semantic=False)
                note("origin, verify-quote on both backends")
                result["postgres"] = bench_backends(archive, pg)
        if "search" not in args.skip:
            note("search")
            result["search"] = bench_search(archive, gen)
        if "neardups" not in args.skip:
            note("near-dups")
            result["near_dups"] = bench_neardups(archive, 8)
            result["near_dups_3_words"] = bench_neardups(archive, 3)
        if "semantic" not in args.skip:
            note("semantic")
            synthetic_vectors(archive)
            build_vector_index(archive, force=True)  # what `symposia index` builds for a large archive
            emb = default_embedder()
            ours = [median_ms(lambda p=p: origin(archive, p, embedder=emb))[0] for p in ORIGINS]
            result["origin_semantic_synthetic_vectors"] = {"median_ms": round(statistics.median(ours), 2),
                                                           "max_ms": round(max(ours), 2), "n": len(ours)}
            result.setdefault("search", {}).update(bench_search(archive, gen, emb))
    if "index" not in args.skip:
        note("index")
        result["index"] = bench_index(args.dir, args.index_turns)
    print(json.dumps(result, indent=2))


def note(stage: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {stage}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
