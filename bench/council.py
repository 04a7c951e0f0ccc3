"""Council engine benchmark against the fake server; prints one JSON object.

1. Seven voices whose answers take 1…7 s: the council's wall time against the slowest voice
   (target <= 1.1x: voices run in parallel, nothing waits on anything else).
2. One hundred voices answering in 50 ms: the engine's own overhead per turn, measured as
   (council wall time - the same 100 calls made with the raw openai SDK in parallel) / 100
   (target < 5 ms). Both runs happen in this process, interleaved, repeated; medians are quoted.

Run: .venv/bin/python bench/council.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from openai import AsyncOpenAI

from symposia.archive import Archive
from symposia.catalog import Catalog, Voice
from symposia.dialogue.council import CouncilPlan, run_council
from symposia.dialogue.runtime import Runtime
from symposia.providers.base import ProviderSpec, Timeouts
from symposia.records import Params
from symposia.testing import FakeServer, Reply

KEY = "bench-key-123456"


def catalog_for(srv: FakeServer, n: int) -> Catalog:
    spec = ProviderSpec(name="fake", kind="openai", base_url=srv.openai_base_url, key_env="BENCH_FAKE_KEY",
                        concurrency=n, max_attempts=1, timeouts=Timeouts(connect=5, idle=30, total=60))
    voices = {f"v{i}": Voice(shortcut=f"v{i}", provider="fake", model=f"fake/v{i}", name=f"Voice {i}",
                             family=f"V{i}", maker="bench", aliases=(), labels=(), params=Params(), description="")
              for i in range(1, n + 1)}
    return Catalog(providers={"fake": spec}, voices=voices, presets={})


async def council_wall(srv: FakeServer, n: int, db: Path) -> float:
    rt = Runtime(catalog_for(srv, n), Archive.open(db))
    voices = tuple(f"v{i}" for i in range(1, n + 1))
    plan = CouncilPlan(question="What persists between instances?", voices=voices)
    t0 = time.perf_counter()
    await run_council(rt, plan)
    wall = time.perf_counter() - t0
    await rt.aclose()
    rt.archive.close()
    return wall


async def raw_wall(srv: FakeServer, n: int) -> float:
    client = AsyncOpenAI(base_url=srv.openai_base_url, api_key=KEY, max_retries=0)

    async def one(i: int) -> None:
        stream = await client.chat.completions.create(
            model=f"fake/v{i}", messages=[{"role": "user", "content": "What persists between instances?"}],
            stream=True, stream_options={"include_usage": True})
        async for _ in stream:
            pass

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(1, n + 1)))
    wall = time.perf_counter() - t0
    await client.close()
    return wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-seven", action="store_true")
    args = ap.parse_args()
    os.environ["BENCH_FAKE_KEY"] = KEY
    tmp = Path(tempfile.mkdtemp(prefix="symposia-bench-"))
    machine = f"{platform.machine()} {os.cpu_count()} cpu, python {platform.python_version()}"
    result: dict[str, object] = {"machine": machine}
    with FakeServer() as srv:
        if not args.skip_seven:
            walls = []
            for rep in range(max(1, args.repeats // 2)):
                for i in range(1, 8):
                    srv.enqueue(Reply(text="An answer of a few words. " * 4, ttft=float(i), chunk_chars=16),
                                model=f"fake/v{i}")
                walls.append(asyncio.run(council_wall(srv, 7, tmp / f"seven-{rep}.db")))
            slowest = 7.0
            result["seven_voices"] = {
                "slowest_voice_s": slowest, "council_wall_s_median": round(statistics.median(walls), 3),
                "ratio_to_slowest": round(statistics.median(walls) / slowest, 3), "target": "<= 1.10",
                "runs": [round(w, 3) for w in walls]}
        srv.default = Reply(text="A short answer in fifty milliseconds.", ttft=0.05, chunk_chars=16)
        ours, raw = [], []
        for rep in range(args.repeats):
            raw.append(asyncio.run(raw_wall(srv, 100)))
            ours.append(asyncio.run(council_wall(srv, 100, tmp / f"hundred-{rep}.db")))
        overhead_ms = (statistics.median(ours) - statistics.median(raw)) / 100 * 1000
        result["hundred_voices"] = {
            "council_wall_s_median": round(statistics.median(ours), 3),
            "raw_sdk_wall_s_median": round(statistics.median(raw), 3),
            "ratio": round(statistics.median(ours) / statistics.median(raw), 3),
            "engine_overhead_ms_per_turn": round(overhead_ms, 2), "target_ms": "< 5",
            "runs_council": [round(w, 3) for w in ours], "runs_raw": [round(w, 3) for w in raw]}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
