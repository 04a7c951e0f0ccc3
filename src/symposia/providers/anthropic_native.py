"""Anthropic's Messages API through the official ``anthropic`` SDK, always streaming.

Thinking deltas become :class:`ReasoningChunk`, text deltas :class:`TextChunk`. An ``event: error``
inside a 200 stream (typically ``overloaded_error``) is a retryable failure of the whole turn; the
SDK's own retries are off because they cover only the initial request.

Message shaping: the system prompt goes in the ``system`` parameter (a ``system``-role message in
``messages`` is appended to it); the API wants user/assistant turns to alternate, which is the
caller's job, but two consecutive messages with the same role are merged here, joined by a blank
line, rather than rejected. ``max_tokens`` is required by the API: 4096 unless the params set it.
``temperature``/``top_p`` travel in ``extra_body`` (the installed SDK's ``create()`` no longer
accepts them as arguments); ``seed`` has no Anthropic equivalent and is not sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import anthropic

from symposia.providers.sdk import SDKProvider, StreamState, sdk_error_table
from symposia.records import FinishReason, Message, StreamEvent, TurnRequest

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 4096

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


def messages_kwargs(request: TurnRequest) -> dict[str, Any]:
    """The SDK's ``messages.create`` arguments for a request, without ``stream`` (sampling knobs and
    ``Params.extra`` in ``extra_body``)."""
    system, messages = shape_messages(request.system, request.messages)
    p = request.params
    kw: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "max_tokens": p.max_tokens if p.max_tokens is not None else DEFAULT_MAX_TOKENS,
    }
    if system:
        kw["system"] = system
    if p.stop:
        kw["stop_sequences"] = list(p.stop)
    # Sampling knobs travel in extra_body: newer SDKs dropped them from create()'s signature,
    # but the JSON body is where the API reads them either way.
    body: dict[str, Any] = {}
    if p.temperature is not None:
        body["temperature"] = p.temperature
    if p.top_p is not None:
        body["top_p"] = p.top_p
    body.update(p.extra)
    if body:
        kw["extra_body"] = body
    return kw


class AnthropicProvider(SDKProvider[anthropic.AsyncAnthropic]):
    """Streams Messages from Anthropic (or any server speaking its wire format)."""

    errors = sdk_error_table(anthropic)
    finish_reasons = _STOP
    request_id_header = "request-id"

    def _new_client(self) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(**self._client_options(DEFAULT_BASE_URL, anthropic.Timeout))

    async def _open(self, client: anthropic.AsyncAnthropic, request: TurnRequest) -> Any:
        return await client.messages.create(**self._kwargs(request))

    def _request_id(self, state: StreamState, headers: Any) -> str | None:
        # The response's request-id header first; the message id (in state) when a proxy drops it.
        return headers.get(self.request_id_header) or state.request_id

    def _kwargs(self, request: TurnRequest) -> dict[str, Any]:
        return {**messages_kwargs(request), "stream": True}

    def _read(self, ev: Any, state: StreamState) -> Iterator[StreamEvent]:
        et = ev.type
        if et == "content_block_delta":
            d = ev.delta
            if d.type == "text_delta" and d.text:
                yield state.text(d.text)
            elif d.type == "thinking_delta" and d.thinking:
                yield state.reasoning(d.thinking)
        elif et == "message_start":
            msg = ev.message
            state.model = msg.model or None
            state.request_id = msg.id or None
            if msg.usage is not None:
                state.usage = dataclasses.replace(state.usage, prompt_tokens=_prompt_tokens(msg.usage),
                                                  completion_tokens=msg.usage.output_tokens or None)
        elif et == "message_delta":
            if ev.delta.stop_reason:
                state.finish_raw, state.finished = ev.delta.stop_reason, True
            u = ev.usage
            if u is not None:
                state.progress()
                details = u.output_tokens_details
                state.usage = dataclasses.replace(
                    state.usage, completion_tokens=u.output_tokens,
                    prompt_tokens=_prompt_tokens(u) if u.input_tokens is not None else state.usage.prompt_tokens,
                    reasoning_tokens=details.thinking_tokens if details is not None else state.usage.reasoning_tokens)
        elif et == "message_stop":
            state.finished = True


def _prompt_tokens(u: Any) -> int:
    """Input tokens, counting those written to and read from the prompt cache."""
    return (u.input_tokens or 0) + (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)
