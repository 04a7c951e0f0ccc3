"""Local voice speed against raw llama-cpp-python on the same GGUF, prompt, sampling and threads; prints JSON.

For each embedded model the voice is asked through the whole stack (``Symposia.ask``: catalog, runtime,
provider, speaker guard, archive write) and the baseline is a plain ``llama_cpp.Llama`` of its own,
given exactly the tokens, stop sequences, sampling parameters and seed the voice used, with its KV
cache cleared before each call as the voice does. Each run asks every question of the set once; runs
alternate baseline/voice (ABBA order), after one warm-up each, and the medians of tokens per second
(completion tokens / wall time of the call, prompt evaluation included) are quoted with the ratio
voice / baseline. ``same_text`` says both produced identical answers (same seed: they should).

Run: .venv/bin/python bench/local.py [--repeats 7] [--max-tokens 96] [--models gemma-local,smol-local]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import llama_cpp

from symposia.api import Symposia
from symposia.providers.local import LocalProvider, llama_threads, load_model, model_for, model_path
from symposia.records import Message

QUESTIONS = (
    "Describe, step by step, how bread is made at home.",
    "What persists between two conversations?",
    "Tell me about the history of the bicycle.",
    "Why do people keep diaries?",
    "Explain to a child how rain forms.",
    "What would you pack for a week in the mountains, and why?",
)
SEED = 1234
TEMPERATURE = 0.7


def raw_call(llm: Any, tokens: list[int], stop: list[str], layout: dict[str, Any], max_tokens: int) -> tuple[str, int]:
    """What a user of llama-cpp-python would write: one streamed completion; returns (text, tokens)."""
    llm.reset()
    parts = llm.create_completion(tokens, max_tokens=max_tokens, temperature=TEMPERATURE,
                                  top_p=float(layout["top_p"]), repeat_penalty=float(layout["repeat_penalty"]),
                                  stop=stop, seed=SEED, stream=True)
    text = "".join(p["choices"][0].get("text") or "" for p in parts)
    return text, llm.n_tokens - len(tokens) + 1


def bench_model(s: Symposia, voice: str, repeats: int, max_tokens: int) -> dict[str, Any]:
    v = s.voice(voice)
    spec = s.catalog.provider_for(v)
    provider = LocalProvider(spec)
    model = model_for(spec, v.model)
    layout = provider._layout(model)
    threads = provider.n_threads
    shared = load_model(model_path(model), int(layout["n_ctx"]), threads)
    prompts = [provider._render(shared, model, [Message("user", q)], None, layout) for q in QUESTIONS]
    baseline = llama_cpp.Llama(model_path=str(model_path(model)), n_ctx=int(layout["n_ctx"]), n_threads=threads,
                               n_threads_batch=threads, verbose=False)

    def run_raw(q: int) -> tuple[float, float, int, str]:
        t0, c0 = time.perf_counter(), time.process_time()
        text, n = raw_call(baseline, prompts[q].tokens, prompts[q].stop, layout, max_tokens)
        return time.perf_counter() - t0, time.process_time() - c0, n, text.strip()

    def run_voice(q: int) -> tuple[float, float, int, str]:
        t0, c0 = time.perf_counter(), time.process_time()
        turn = s.ask(voice, QUESTIONS[q], temperature=TEMPERATURE, max_tokens=max_tokens, seed=SEED)
        return (time.perf_counter() - t0, time.process_time() - c0, turn.result.usage.completion_tokens or 0,
                turn.result.text)

    for q in range(len(QUESTIONS)):  # warm-up
        run_raw(q)
        run_voice(q)
    raw_tps: list[float] = []
    voice_tps: list[float] = []
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    same = True
    tokens = 0
    for i in range(repeats):
        wall = {"run_raw": 0.0, "run_voice": 0.0}
        cpu = {"run_raw": 0.0, "run_voice": 0.0}
        count = {"run_raw": 0, "run_voice": 0}
        texts: dict[str, list[str]] = {"run_raw": [], "run_voice": []}
        for q in range(len(QUESTIONS)):
            # Adjacent calls, alternating which goes first, so that a change in the machine's load hits both.
            for fn in (run_raw, run_voice) if (i + q) % 2 == 0 else (run_voice, run_raw):
                w, c, n, text = fn(q)
                wall[fn.__name__] += w
                cpu[fn.__name__] += c
                count[fn.__name__] += n
                texts[fn.__name__].append(text)
        same = same and texts["run_raw"] == texts["run_voice"] and count["run_raw"] == count["run_voice"]
        raw_tps.append(count["run_raw"] / wall["run_raw"])
        voice_tps.append(count["run_voice"] / wall["run_voice"])
        ratios.append(voice_tps[-1] / raw_tps[-1])
        cpu_ratios.append((count["run_voice"] / cpu["run_voice"]) / (count["run_raw"] / cpu["run_raw"]))
        tokens = count["run_voice"]
    baseline.close()
    raw_med, voice_med = statistics.median(raw_tps), statistics.median(voice_tps)
    return {
        "model": v.model,
        "threads": threads,
        "n_ctx": int(layout["n_ctx"]),
        "questions": len(QUESTIONS),
        "completion_tokens_per_run": tokens,
        "prompt_tokens_per_run": sum(len(p.tokens) for p in prompts),
        "raw_tokens_per_s_median": round(raw_med, 2),
        "voice_tokens_per_s_median": round(voice_med, 2),
        "ratio_of_medians": round(voice_med / raw_med, 3),
        "ratio_median_of_paired_runs": round(statistics.median(ratios), 3),
        # Tokens per CPU-second of this process (all threads): what the voice's own work costs, whatever
        # else the machine is doing.
        "cpu_ratio_median_of_paired_runs": round(statistics.median(cpu_ratios), 3),
        "raw_tokens_per_s": [round(x, 2) for x in raw_tps],
        "voice_tokens_per_s": [round(x, 2) for x in voice_tps],
        "same_text": same,
    }


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--models", default="gemma-local,smol-local")
    args = ap.parse_args(argv)
    out: dict[str, Any] = {
        "bench": "local voice vs raw llama-cpp-python",
        "llama_cpp_python": llama_cpp.__version__,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "threads": llama_threads(),
        "platform": platform.platform(),
        "repeats": args.repeats,
        "max_tokens": args.max_tokens,
        "models": {},
    }
    with tempfile.TemporaryDirectory() as tmp, Symposia(Path(tmp) / "bench.db") as s:
        for voice in args.models.split(","):
            out["models"][voice] = bench_model(s, voice.strip(), args.repeats, args.max_tokens)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
