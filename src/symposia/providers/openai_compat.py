"""Any OpenAI-compatible chat-completions endpoint (OpenRouter, DashScope, xAI, DeepSeek, Z.ai,
Moonshot, Ollama, llama.cpp, vLLM), always streaming, spoken directly over HTTP
(:mod:`symposia.providers.streaming` says why; the ``openai`` SDK is the tests' oracle).

There are no retries inside a call: a turn can also fail after HTTP 200, so
:mod:`symposia.providers.runner` retries whole turns. Vendor quirks absorbed here are listed in
docs/PROVIDERS.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from symposia.providers.retry import status_error
from symposia.providers.streaming import Event, StreamingProvider, StreamState
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


def chat_body(request: TurnRequest) -> dict[str, Any]:
    """The JSON body of a chat-completions request, without the streaming fields (``Params.extra`` is
    merged in at the top level, where vendors read their own fields)."""
    messages: list[dict[str, str]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.extend(m.to_dict() for m in request.messages)
    body: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
    }
    p = request.params
    if p.temperature is not None:
        body["temperature"] = p.temperature
    if p.max_tokens is not None:
        body["max_tokens"] = p.max_tokens
    if p.top_p is not None:
        body["top_p"] = p.top_p
    if p.stop:
        body["stop"] = list(p.stop)
    if p.seed is not None:
        body["seed"] = p.seed
    body.update(p.extra)
    return body


class OpenAICompatProvider(StreamingProvider):
    """Streams chat completions from one OpenAI-compatible endpoint."""

    default_base_url = DEFAULT_BASE_URL
    path = "/chat/completions"
    finish_reasons = _FINISH
    request_id_header = "x-request-id"

    def _auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._api_key}"}

    def _body(self, request: TurnRequest) -> dict[str, Any]:
        return {**chat_body(request), "stream": True, "stream_options": {"include_usage": True}}

    def _read(self, event: Event, state: StreamState) -> Iterator[StreamEvent]:
        chunk = event.data
        if not isinstance(chunk, Mapping):
            return
        if chunk.get("error") or event.name == "error":  # an error object inside a 200 stream
            body = chunk if chunk.get("error") else {"error": chunk}
            raise status_error(self.spec.name, None, body, fallback="An error occurred during streaming")
        if state.model is None:
            state.model = chunk.get("model") or None
            state.request_id = chunk.get("id") or None
        choices = chunk.get("choices")
        if choices and isinstance(choices[0], Mapping):
            choice = choices[0]
            delta = choice.get("delta") or {}
            # DeepSeek/Qwen/GLM/Kimi/llama.cpp say reasoning_content; OpenRouter/Ollama/vLLM say reasoning.
            r = delta.get("reasoning_content") or delta.get("reasoning")
            if r and isinstance(r, str):
                yield state.reasoning(r)
            content = delta.get("content")
            if content and isinstance(content, str):
                yield state.text(content)
            finish = choice.get("finish_reason")
            if finish:
                # Without a finish reason the stream was cut short.
                state.finish_raw, state.finished = finish, True
                if isinstance(choice.get("usage"), Mapping):  # Moonshot
                    state.usage = usage_from_dict(choice["usage"])
                    state.progress()
                if finish == "error":  # OpenRouter: the upstream failed after HTTP 200
                    err = chunk.get("error") or choice.get("error")
                    raise status_error(self.spec.name, None, {"error": err} if err else None,
                                       fallback="the provider reported an error mid-stream")
        if isinstance(chunk.get("usage"), Mapping):
            state.usage = usage_from_dict(chunk["usage"])
            state.progress()
