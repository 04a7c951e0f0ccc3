"""Anthropic's Messages API, always streaming, spoken directly over HTTP
(:mod:`symposia.providers.streaming` says why; the ``anthropic`` SDK is the tests' oracle).

Thinking deltas become :class:`ReasoningChunk`, text deltas :class:`TextChunk`. An ``event: error``
inside a 200 stream (typically ``overloaded_error``) is a retryable failure of the whole turn; there
are no retries inside a call, the runner retries whole turns.

Message shaping: the system prompt goes in the ``system`` parameter (a ``system``-role message in
``messages`` is appended to it); the API wants user/assistant turns to alternate, which is the
caller's job, but two consecutive messages with the same role are merged here, joined by a blank
line, rather than rejected. ``max_tokens`` is required by the API: 4096 unless the params set it.
``seed`` has no Anthropic equivalent and is not sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from symposia.providers.retry import status_error
from symposia.providers.streaming import Event, StreamingProvider, StreamState
from symposia.records import FinishReason, Message, StreamEvent, TurnRequest

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 4096
API_VERSION = "2023-06-01"

_STOP: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def shape_messages(
    system: str | None, messages: tuple[Message, ...]
) -> tuple[str | None, list[dict[str, str]]]:
    """``(system, messages)`` as the Messages API wants them: system-role messages folded into
    ``system``, consecutive same-role messages merged with a blank line between them."""
    sys_parts = [system] if system else []
    out: list[dict[str, str]] = []
    for m in messages:
        if m.role == "system":
            sys_parts.append(m.content)
        elif out and out[-1]["role"] == m.role:
            out[-1]["content"] = out[-1]["content"] + "\n\n" + m.content
        else:
            out.append({"role": m.role, "content": m.content})
    return ("\n\n".join(sys_parts) if sys_parts else None), out


def stop_reason(raw: str | None) -> FinishReason:
    """Our finish reason for an Anthropic ``stop_reason``."""
    return _STOP.get(raw, "unknown") if raw else "unknown"


def messages_body(request: TurnRequest) -> dict[str, Any]:
    """The JSON body of a Messages request, without ``stream`` (``Params.extra`` merged in at the top)."""
    system, messages = shape_messages(request.system, request.messages)
    p = request.params
    body: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "max_tokens": p.max_tokens if p.max_tokens is not None else DEFAULT_MAX_TOKENS,
    }
    if system:
        body["system"] = system
    if p.stop:
        body["stop_sequences"] = list(p.stop)
    if p.temperature is not None:
        body["temperature"] = p.temperature
    if p.top_p is not None:
        body["top_p"] = p.top_p
    body.update(p.extra)
    return body


class AnthropicProvider(StreamingProvider):
    """Streams Messages from Anthropic (or any server speaking its wire format)."""

    default_base_url = DEFAULT_BASE_URL
    path = "/v1/messages"
    finish_reasons = _STOP
    request_id_header = "request-id"

    def _auth_headers(self) -> dict[str, str]:
        return {"x-api-key": self._api_key, "anthropic-version": API_VERSION}

    def _request_id(self, state: StreamState, headers: Mapping[str, str]) -> str | None:
        # The response's request-id header first; the message id (in state) when a proxy drops it.
        return headers.get(self.request_id_header) or state.request_id

    def _body(self, request: TurnRequest) -> dict[str, Any]:
        return {**messages_body(request), "stream": True}

    def _read(self, event: Event, state: StreamState) -> Iterator[StreamEvent]:
        et, data = event.name, event.data
        if not isinstance(data, Mapping):
            return
        if et == "content_block_delta":
            d = data.get("delta") or {}
            if d.get("type") == "text_delta" and d.get("text"):
                yield state.text(d["text"])
            elif d.get("type") == "thinking_delta" and d.get("thinking"):
                yield state.reasoning(d["thinking"])
        elif et == "message_start":
            msg = data.get("message") or {}
            state.model = msg.get("model") or None
            state.request_id = msg.get("id") or None
            u = msg.get("usage")
            if isinstance(u, Mapping):
                state.usage = dataclasses.replace(state.usage, prompt_tokens=_prompt_tokens(u),
                                                  completion_tokens=u.get("output_tokens") or None)
        elif et == "message_delta":
            stop = (data.get("delta") or {}).get("stop_reason")
            if stop:
                state.finish_raw, state.finished = stop, True
            u = data.get("usage")
            if isinstance(u, Mapping):
                state.progress()
                details = u.get("output_tokens_details")
                state.usage = dataclasses.replace(
                    state.usage, completion_tokens=u.get("output_tokens"),
                    prompt_tokens=_prompt_tokens(u) if u.get("input_tokens") is not None else state.usage.prompt_tokens,
                    reasoning_tokens=details.get("thinking_tokens") if isinstance(details, Mapping)
                    else state.usage.reasoning_tokens)
        elif et == "message_stop":
            state.finished = True
        elif et == "error":  # inside a 200 stream, typically overloaded_error
            raise status_error(self.spec.name, None, data, fallback="An error occurred during streaming")


def _prompt_tokens(u: Mapping[str, Any]) -> int:
    """Input tokens, counting those written to and read from the prompt cache."""
    return (u.get("input_tokens") or 0) + (u.get("cache_creation_input_tokens") or 0) + (
        u.get("cache_read_input_tokens") or 0)
