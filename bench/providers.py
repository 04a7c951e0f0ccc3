"""What our provider layer costs over the raw ``openai`` SDK, measured against the loopback FakeServer.

    .venv/bin/python bench/providers.py [--calls 200] [--concurrency 8] [--reps 5] [--long-chars 20000]

In one process and one event loop it runs, interleaved and repeated:

* ``calls``: N short streamed calls, C in parallel, through ``OpenAICompatProvider`` + ``run_turn``
  (registry-free) versus the raw ``AsyncOpenAI`` client streaming the same replies and joining the
  text itself;
* ``throughput``: one long reply (many tiny chunks) relayed through our layer (with an ``on_event``
  callback, as a live view would) versus the raw SDK iterating the same stream.

Prints one JSON object: medians, ratios (ours/raw; targets: wall time <= 1.10, throughput >= 0.9)
and a note on the machine. The fake server runs in a thread of this process, so it shares the GIL
with both clients equally.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import openai  # noqa: E402

from symposia.providers.base import ProviderSpec, Timeouts  # noqa: E402
from symposia.providers.openai_compat import OpenAICompatProvider  # noqa: E402
from symposia.providers.runner import run_turn  # noqa: E402
from symposia.records import Message, ReasoningChunk, Restart, TextChunk, TurnRequest  # noqa: E402
from symposia.testing import FakeServer, Reply  # noqa: E402

KEY = "sk-bench-not-a-real-key"
MODEL = "bench-model"
PROMPT = "Say something about symposia."
SHORT = ("A symposium was a drinking party where the guests took turns to speak on one theme. " * 5).strip()


def _spec(url: str, concurrency: int) -> ProviderSpec:
    return ProviderSpec(name="bench", kind="openai", base_url=url, concurrency=concurrency,
                        timeouts=Timeouts(connect=10.0, idle=60.0, total=120.0))


def _raw_client(url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=KEY, base_url=url, max_retries=0,
                              timeout=openai.Timeout(120.0, connect=10.0))


async def _raw_stream(client: openai.AsyncOpenAI, on_chunk: Callable[[str], None] | None = None) -> str:
    """What a careful hand-written caller does: stream, join the text, keep the usage."""
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": PROMPT}], stream=True,
        stream_options={"include_usage": True},
    )
    parts: list[str] = []
    usage: Any = None
    async for chunk in stream:
        if chunk.choices:
            content = chunk.choices[0].delta.content
            if content:
                parts.append(content)
                if on_chunk is not None:
                    on_chunk(content)
        if chunk.usage is not None:
            usage = chunk.usage
    assert usage is not None
    return "".join(parts)


async def calls_ours(url: str, n: int, concurrency: int) -> tuple[float, float]:
    provider = OpenAICompatProvider(_spec(url, concurrency), KEY)
    request = TurnRequest(model=MODEL, messages=(Message("user", PROMPT),))
    t0, c0 = time.perf_counter(), time.process_time()
    results = await asyncio.gather(*(run_turn(provider, request, voice="bench") for _ in range(n)))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    await provider.aclose()
    assert all(r.ok and r.text == SHORT for r in results), "our layer returned a wrong answer"
    return elapsed, cpu


async def calls_raw(url: str, n: int, concurrency: int) -> tuple[float, float]:
    client = _raw_client(url)
    sem = asyncio.Semaphore(concurrency)

    async def one() -> str:
        async with sem:
            return await _raw_stream(client)

    t0, c0 = time.perf_counter(), time.process_time()
    texts = await asyncio.gather(*(one() for _ in range(n)))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    await client.close()
    assert all(t == SHORT for t in texts), "the raw SDK returned a wrong answer"
    return elapsed, cpu


async def relay_ours(url: str) -> tuple[float, int]:
    provider = OpenAICompatProvider(_spec(url, 1), KEY)
    request = TurnRequest(model=MODEL, messages=(Message("user", PROMPT),))
    count = 0

    def on_event(ev: TextChunk | ReasoningChunk | Restart) -> None:
        nonlocal count
        count += 1

    t0 = time.perf_counter()
    res = await run_turn(provider, request, voice="bench", on_event=on_event)
    elapsed = time.perf_counter() - t0
    await provider.aclose()
    assert res.ok, res.error
    return elapsed, count


async def relay_raw(url: str) -> tuple[float, int]:
    client = _raw_client(url)
    count = 0

    def on_chunk(_: str) -> None:
        nonlocal count
        count += 1

    t0 = time.perf_counter()
    await _raw_stream(client, on_chunk)
    elapsed = time.perf_counter() - t0
    await client.close()
    return elapsed, count


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    with FakeServer() as srv:
        url = srv.openai_base_url
        srv.default = Reply(text=SHORT, chunk_chars=8)
        # Warm-up: imports, pydantic model caches, first connections.
        await calls_ours(url, args.concurrency * 2, args.concurrency)
        await calls_raw(url, args.concurrency * 2, args.concurrency)
        ours: list[float] = []
        raw: list[float] = []
        ours_cpu: list[float] = []
        raw_cpu: list[float] = []
        for rep in range(args.reps):
            # Alternate which goes first so drift on a shared machine hits both sides.
            pair: list[tuple[list[float], list[float], Callable[[], Awaitable[tuple[float, float]]]]] = [
                (ours, ours_cpu, lambda: calls_ours(url, args.calls, args.concurrency)),
                (raw, raw_cpu, lambda: calls_raw(url, args.calls, args.concurrency)),
            ]
            for wall_sink, cpu_sink, fn in pair if rep % 2 == 0 else reversed(pair):
                gc.collect()
                wall, cpu = await fn()
                wall_sink.append(wall)
                cpu_sink.append(cpu)

        long_text = ("word " * (args.long_chars // 5 + 1))[: args.long_chars]
        srv.default = Reply(text=long_text, chunk_chars=4)
        await relay_ours(url)
        await relay_raw(url)
        ours_tp: list[float] = []
        raw_tp: list[float] = []
        chunks = 0
        for rep in range(args.reps):
            order = [("ours", relay_ours), ("raw", relay_raw)]
            for which, relay in order if rep % 2 == 0 else reversed(order):
                gc.collect()
                elapsed, chunks = await relay(url)
                (ours_tp if which == "ours" else raw_tp).append(chunks / elapsed)

    ours_med, raw_med = statistics.median(ours), statistics.median(raw)
    cpu_ratio = statistics.median(ours_cpu) / statistics.median(raw_cpu)
    tp_ours, tp_raw = statistics.median(ours_tp), statistics.median(raw_tp)
    wall_ratio = ours_med / raw_med
    tp_ratio = tp_ours / tp_raw
    return {
        "calls": {
            "n": args.calls, "concurrency": args.concurrency, "reps": args.reps,
            "reply_chars": len(SHORT), "chunk_chars": 8,
            "ours_s_median": round(ours_med, 4), "raw_s_median": round(raw_med, 4),
            "ours_s": [round(x, 4) for x in ours], "raw_s": [round(x, 4) for x in raw],
            "ratio_ours_over_raw": round(wall_ratio, 4), "target_max": 1.10,
            # CPU seconds of this process (both clients + the server thread): less sensitive than
            # wall time to other load on a shared machine.
            "ours_cpu_s_median": round(statistics.median(ours_cpu), 4),
            "raw_cpu_s_median": round(statistics.median(raw_cpu), 4),
            "cpu_ratio_ours_over_raw": round(cpu_ratio, 4),
        },
        "throughput": {
            "reply_chars": args.long_chars, "chunk_chars": 4, "chunks": chunks, "reps": args.reps,
            "ours_chunks_per_s_median": round(tp_ours), "raw_chunks_per_s_median": round(tp_raw),
            "ours_chunks_per_s": [round(x) for x in ours_tp], "raw_chunks_per_s": [round(x) for x in raw_tp],
            "ratio_ours_over_raw": round(tp_ratio, 4), "target_min": 0.9,
        },
        "pass": wall_ratio <= 1.10 and tp_ratio >= 0.9,
        "machine": {
            "python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2),
            "openai_sdk": openai.__version__,
            "note": "FakeServer on 127.0.0.1 in a thread of this process (shares the GIL with both "
                    "clients); shared machine, so compare ratios rather than absolute times",
        },
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--long-chars", type=int, default=20000)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(bench(args)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
