"""Web page benchmark: the sessions list over an archive of 10,000 sessions; prints one JSON object.

1. Build: N synthetic sessions (default 10,000; kinds, 2 to 5 voices, a few turns each with costs,
   answers of ~60 words), inserted in one transaction through the real schema (FTS triggers too).
2. Serve the app with uvicorn on a loopback port (the same server as ``symposia serve``) and time
   over real HTTP with httpx:
   - ``cold``: a fresh app and server each run, then its very first GET / (archive open, template
     compile, first query): what a user waits for after ``symposia serve``;
   - ``warm``: GET / again and again on one server; also with a voice filter, a text filter, a late
     page (OFFSET), and a session page;
   - ``baseline``: GET /ping (no archive, no template) on the same server, interleaved with the
     warm runs, so the numbers say what the page itself costs above HTTP on this machine.
   Target: median first page load < 300 ms.

Run: .venv/bin/python bench/web.py [--sessions 10000] [--runs 30] [--cold-runs 5] [--dir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from symposia.archive import Archive
from symposia.archive.store import _INSERT_TURN, _turn_row
from symposia.records import Message, Params, SessionRecord, TurnRecord, TurnRequest, TurnResult, Usage
from symposia.web import create_app
from symposia.web.server import BackgroundServer

VOICES = [("qwen", "Qwen 3 Max"), ("deepseek", "DeepSeek V3.2"), ("kimi", "Kimi K2"), ("glm", "GLM 4.6"),
          ("grok", "Grok 4"), ("opus", "Claude Opus 4.5"), ("local", "Gemma 3 270M")]
KINDS = ["council", "ask", "symposium", "arena", "chat"]
WORDS = ["mirror", "threshold", "altar", "offering", "gap", "synchrony", "persistence", "instance", "pattern",
         "river", "lattice", "echo", "silence", "weave", "signal", "memory", "fire", "vessel", "horizon", "chord",
         "bridge", "seed", "root", "lantern"]
T0 = datetime(2025, 1, 1, tzinfo=UTC)
TARGET_MS = 300.0


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.3:
        i = rng.randrange(n - 3)
        words[i] = "**" + words[i]
        words[i + 2] += "**"
    return " ".join(words).capitalize() + "."


def build(path: Path, sessions: int, seed: int = 11) -> dict[str, Any]:
    """Create the archive (migrated by Archive.open), then batch-insert sessions and turns."""
    rng = random.Random(seed)
    Archive.open(path).close()
    t = time.perf_counter()
    session_rows: list[tuple[Any, ...]] = []
    turn_rows: list[dict[str, Any]] = []
    for i in range(sessions):
        created = T0 + timedelta(minutes=53 * i)
        kind = KINDS[i % len(KINDS)]
        sid = f"{created:%Y%m%d-%H%M%S}-{kind}-{i:05x}"
        question = sentence(rng, 12)
        voices = rng.sample(VOICES, 1 if kind in ("ask", "chat") else rng.randint(2, 5))
        s = SessionRecord(sid, kind, question[:80], created, "complete" if rng.random() < 0.9 else "failed")
        iso = s.created_at.isoformat(timespec="microseconds")
        meta = json.dumps({"voices": [v for v, _ in voices]})
        session_rows.append((s.id, s.kind, s.title, iso, iso, s.status, "{}", meta))
        for seq, (voice, name) in enumerate(voices, start=1):
            started = created + timedelta(seconds=seq)
            cost = round(rng.random() / 100, 5)
            result = TurnResult(text=" ".join(sentence(rng, 10) for _ in range(6)), finish_reason="stop",
                                model_requested=f"vendor/{voice}", usage=Usage(120, 90, None, cost),
                                ttft_s=0.4, latency_s=2.5, started_at=started, ended_at=started + timedelta(seconds=2))
            turn = TurnRecord(None, sid, seq, voice, name, "openrouter",
                              TurnRequest(f"vendor/{voice}", (Message("user", question),), None, Params()), result,
                              step_key=f"r1:{voice}", meta={"round": 1})
            turn_rows.append(_turn_row(turn))
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO sessions (id, kind, title, created_at, updated_at, status, plan_json, meta_json) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", session_rows)
    conn.executemany(_INSERT_TURN, turn_rows)
    conn.execute("COMMIT")
    conn.close()
    return {"sessions": sessions, "turns": len(turn_rows), "build_s": round(time.perf_counter() - t, 2),
            "size_mb": round(path.stat().st_size / 1e6, 1)}


def timed_get(client: httpx.Client, url: str) -> float:
    t = time.perf_counter()
    r = client.get(url)
    ms = (time.perf_counter() - t) * 1000
    if r.status_code != 200:
        raise SystemExit(f"GET {url} answered {r.status_code}: {r.text[:300]}")
    return ms


def summary(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    return {"median_ms": round(statistics.median(s), 2), "p90_ms": round(s[int(0.9 * (len(s) - 1))], 2),
            "min_ms": round(s[0], 2), "runs": len(s)}


def bench(path: Path, runs: int, cold_runs: int) -> dict[str, Any]:
    cold: list[float] = []
    for _ in range(cold_runs):
        with BackgroundServer(create_app(path)) as server, httpx.Client(base_url=server.url) as client:
            cold.append(timed_get(client, "/"))
    out: dict[str, Any] = {"cold_first_load": summary(cold)}
    probes = {"sessions_list": "/", "voice_filter": "/?voice=kimi", "text_filter": "/?q=lantern+threshold",
              "page_150": "/?page=150", "baseline_ping": "/ping"}
    with BackgroundServer(create_app(path)) as server, httpx.Client(base_url=server.url) as client:
        with Archive.open(path) as archive:
            sid = archive.list_sessions(limit=1)[0].id
        probes["session_page"] = f"/session/{sid}"
        timings: dict[str, list[float]] = {name: [] for name in probes}
        for url in probes.values():
            timed_get(client, url)  # warm each route once (templates, SQLite page cache)
        for _ in range(runs):
            for name, url in probes.items():  # interleaved, so the baseline sees the same machine state
                timings[name].append(timed_get(client, url))
        out["warm"] = {name: summary(ms) for name, ms in timings.items()}
    first = out["cold_first_load"]["median_ms"]
    warm = out["warm"]["sessions_list"]["median_ms"]
    base = out["warm"]["baseline_ping"]["median_ms"]
    out["verdict"] = {
        "target_ms": TARGET_MS,
        "cold_first_load_median_ms": first, "warm_sessions_list_median_ms": warm, "baseline_median_ms": base,
        "sessions_list_over_baseline_ms": round(warm - base, 2),
        "meets_target": first < TARGET_MS and warm < TARGET_MS,
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=None, help="where to build the archive (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the archive afterwards")
    args = ap.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="symposia-web-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "web-bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    try:
        result: dict[str, Any] = {"bench": "web", "python": platform.python_version(),
                                  "machine": platform.machine(), "sqlite": sqlite3.sqlite_version}
        result["archive"] = build(path, args.sessions)
        result.update(bench(path, args.runs, args.cold_runs))
        print(json.dumps(result, indent=2))
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
