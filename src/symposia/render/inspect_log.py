"""A study as Inspect AI eval logs, one per voice, that Inspect's own viewer opens (``inspect view``).

Inspect's unit is one task run against one model, so a study of V voices becomes V logs. In each:
samples are the study's prompts (the control prompts too, with ``metadata.set``), epochs are the
samples drawn per voice, ``output`` is the voice's answer with its usage. There is no scorer (the
study's statistics live in ``symposia analyze``); failed calls are samples with an ``error``.

The JSON follows Inspect's log format version 2 (``EvalLog``: ``eval`` spec, ``plan``,
``results``, ``stats``, ``samples``); symposia writes it without importing Inspect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from symposia.errors import SymposiaError
from symposia.records import SessionRecord, TurnRecord
from symposia.redact import redact
from symposia.version import __version__

__all__ = ["inspect_logs"]

_STOP = {"stop": "stop", "length": "max_tokens", "content_filter": "content_filter", "tool_calls": "tool_calls"}


def _iso(dt: datetime) -> str:
    return dt.isoformat()


def _question(turn: TurnRecord) -> str:
    return next((m.content for m in reversed(turn.request.messages) if m.role == "user"), "")


def _sample(turn: TurnRecord, model: str) -> dict[str, Any]:
    res, meta = turn.result, turn.meta
    question = redact(_question(turn))
    answer = redact(res.text)
    usage = {
        "input_tokens": res.usage.prompt_tokens or 0,
        "output_tokens": res.usage.completion_tokens or 0,
        "total_tokens": (res.usage.prompt_tokens or 0) + (res.usage.completion_tokens or 0),
        **({"reasoning_tokens": res.usage.reasoning_tokens} if res.usage.reasoning_tokens is not None else {}),
        **({"total_cost": res.usage.cost} if res.usage.cost is not None else {}),
    }
    messages: list[dict[str, Any]] = []
    if turn.request.system:
        messages.append({"role": "system", "content": redact(turn.request.system)})
    messages += [{"role": m.role, "content": redact(m.content)} for m in turn.request.messages]
    sample: dict[str, Any] = {
        "id": f"{meta.get('set', 'prompt')}-{meta.get('prompt', turn.seq)}",
        "epoch": int(meta.get("sample", 1)),  # the study numbers samples from 1, as Inspect numbers epochs
        "input": question,
        "target": "",
        "messages": messages + ([{"role": "assistant", "content": answer, "model": model}]
                                if res.error is None else []),
        "output": {
            "model": res.model_reported or res.model_requested,
            "choices": [] if res.error is not None else [{
                "message": {"role": "assistant", "content": answer, "model": model},
                "stop_reason": _STOP.get(res.finish_reason, "unknown"),
            }],
            "usage": usage,
            **({"time": res.latency_s} if res.latency_s else {}),
        },
        "metadata": {"set": meta.get("set", "prompt"), "voice": turn.voice, "voice_name": turn.voice_name,
                     "turn_id": turn.id, "session_id": turn.session_id},
        "model_usage": {model: usage},
        "started_at": _iso(res.started_at),
        "completed_at": _iso(res.ended_at),
        "total_time": res.latency_s,
        "working_time": res.latency_s,
    }
    if res.error is not None:
        sample["error"] = {"message": redact(res.error.message), "traceback": "", "traceback_ansi": ""}
    return sample


def inspect_logs(session: SessionRecord, turns: Sequence[TurnRecord]) -> dict[str, dict[str, Any]]:
    """One Inspect eval log (as JSON-ready data) per voice of a study session, keyed by voice."""
    if session.kind != "study":
        raise SymposiaError(f"session {session.id} is a {session.kind}; `-f inspect` exports studies "
                            "(samples = prompts, epochs = samples per voice)")
    calls = [t for t in sorted(turns, key=lambda t: t.seq)
             if t.role == "voice" and t.meta.get("kind") == "study"]
    by_voice: dict[str, list[TurnRecord]] = {}
    for t in calls:
        by_voice.setdefault(t.voice, []).append(t)
    logs: dict[str, dict[str, Any]] = {}
    for voice, vturns in by_voice.items():
        model = f"{vturns[0].provider}/{vturns[0].request.model}"
        samples = [_sample(t, model) for t in vturns]
        ids = sorted({s["id"] for s in samples})
        epochs = max(s["epoch"] for s in samples)
        failed = sum(1 for t in vturns if t.result.error is not None)
        started = min(t.result.started_at for t in vturns)
        ended = max(t.result.ended_at for t in vturns)
        total = {"input_tokens": sum(s["output"]["usage"]["input_tokens"] for s in samples),
                 "output_tokens": sum(s["output"]["usage"]["output_tokens"] for s in samples)}
        total["total_tokens"] = total["input_tokens"] + total["output_tokens"]
        logs[voice] = {
            "version": 2,
            "status": "success" if failed == 0 else "error",
            "eval": {
                "eval_id": f"{session.id}-{voice}",
                "run_id": session.id,
                "created": _iso(session.created_at),
                "task": "symposia/study",
                "task_id": session.id,
                "task_version": 0,
                "task_display_name": redact(session.title),
                "dataset": {"name": redact(session.title), "samples": len(ids), "sample_ids": ids,
                            "shuffled": False},
                "model": model,
                "config": {"epochs": epochs},
                "packages": {"symposia": __version__},
                "metadata": {"voice": voice, "voice_name": vturns[0].voice_name, "session_id": session.id},
            },
            "plan": {"name": "plan", "steps": [{"solver": "symposia/study", "params": {}}]},
            "results": {"total_samples": len(samples), "completed_samples": len(samples) - failed, "scores": []},
            "stats": {"started_at": _iso(started), "completed_at": _iso(ended), "model_usage": {model: total}},
            "samples": samples,
            **({"error": {"message": f"{failed} of {len(samples)} calls failed", "traceback": "",
                          "traceback_ansi": ""}} if failed else {}),
        }
    return logs
