"""Any OpenAI-compatible chat-completions endpoint (OpenRouter, DashScope, xAI, DeepSeek, Z.ai,
Moonshot, Ollama, llama.cpp, vLLM) through the official ``openai`` SDK, always streaming.

The SDK's own retries are off (``max_retries=0``): they cover only the initial request, while a
turn can also fail after HTTP 200, so :mod:`symposia.providers.runner` retries whole turns.
Vendor quirks absorbed here are listed in docs/PROVIDERS.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import openai

from symposia.providers.retry import status_error
from symposia.providers.sdk import SDKProvider, StreamState, sdk_error_table
from symposia.records import FinishReason, StreamEvent, TurnRequest, Usage

DEFAULT_BASE_URL = "https://api.openai.com/v1"

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "eos": "stop",
    "length": "length",
    "max_tokens": "length",
    "model_length": "length",
    "content_filter": "content_filter",
    "sensitive": "content_filter",  # Z.ai / Moonshot safety stop
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}


def usage_from_dict(d: Mapping[str, Any]) -> Usage:
    """Usage from an OpenAI-style usage object (with OpenRouter ``cost`` and reasoning-token details)."""
    details = d.get("completion_tokens_details")
    reasoning = details.get("reasoning_tokens") if isinstance(details, Mapping) else None
    if reasoning is None:
        reasoning = d.get("reasoning_tokens")
    cost = d.get("cost")
    return Usage(
        prompt_tokens=_int_or_none(d.get("prompt_tokens")),
        completion_tokens=_int_or_none(d.get("completion_tokens")),
        reasoning_tokens=_int_or_none(reasoning),
        cost=float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
    )


def _int_or_none(v: Any) -> int | None:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def map_finish(raw: str | None) -> FinishReason:
    """Our finish reason for a chat-completions ``finish_reason``."""
    return _FINISH.get(raw, "unknown") if raw else "unknown"


def chat_kwargs(request: TurnRequest) -> dict[str, Any]:
    """The SDK's ``chat.completions.create`` arguments for a request, without streaming options
    (``extra_body`` carries ``Params.extra``)."""
    messages: list[dict[str, str]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.extend(m.to_dict() for m in request.messages)
    kw: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
    }
    p = request.params
    if p.temperature is not None:
        kw["temperature"] = p.temperature
    if p.max_tokens is not None:
        kw["max_tokens"] = p.max_tokens
    if p.top_p is not None:
        kw["top_p"] = p.top_p
    if p.stop:
        kw["stop"] = list(p.stop)
    if p.seed is not None:
        kw["seed"] = p.seed
    if p.extra:
        kw["extra_body"] = dict(p.extra)
    return kw


class OpenAICompatProvider(SDKProvider[openai.AsyncOpenAI]):
    """Streams chat completions from one OpenAI-compatible endpoint."""

    errors = sdk_error_table(openai)
    finish_reasons = _FINISH
    request_id_header = "x-request-id"

    def _new_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(**self._client_options(DEFAULT_BASE_URL, openai.Timeout))

    async def _open(self, client: openai.AsyncOpenAI, request: TurnRequest) -> Any:
        return await client.chat.completions.create(**self._kwargs(request))

    def _kwargs(self, request: TurnRequest) -> dict[str, Any]:
        return {**chat_kwargs(request), "stream": True, "stream_options": {"include_usage": True}}

    def _read(self, chunk: Any, state: StreamState) -> Iterator[StreamEvent]:
        if state.model is None:
            state.model = chunk.model or None
            state.request_id = chunk.id or None
        if chunk.choices:
            choice = chunk.choices[0]
            delta = choice.delta
            extra = delta.model_extra
            if extra:
                # DeepSeek/Qwen/GLM/Kimi/llama.cpp say reasoning_content; OpenRouter/Ollama/vLLM say reasoning.
                r = extra.get("reasoning_content") or extra.get("reasoning")
                if r and isinstance(r, str):
                    yield state.reasoning(r)
            if delta.content:
                yield state.text(delta.content)
            if choice.finish_reason:
                # Without a finish reason the stream was cut short.
                state.finish_raw, state.finished = choice.finish_reason, True
                cextra = choice.model_extra
                if cextra and isinstance(cextra.get("usage"), Mapping):  # Moonshot
                    state.usage = usage_from_dict(cextra["usage"])
                    state.progress()
                if choice.finish_reason == "error":  # OpenRouter: the upstream failed after HTTP 200
                    err = (chunk.model_extra or {}).get("error") or (cextra or {}).get("error")
                    raise status_error(self.spec.name, None, {"error": err} if err else None,
                                       fallback="the provider reported an error mid-stream")
        if chunk.usage is not None:
            state.usage = usage_from_dict(chunk.usage.model_dump())
            state.progress()
