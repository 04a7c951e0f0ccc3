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

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anthropic

from symposia.errors import ProviderError
from symposia.providers.base import ProviderSpec
from symposia.providers.retry import (
    NO_KEY,
    TRANSPORT_ERRORS,
    connection_error,
    describe_cause,
    response_body,
    status_error,
    timeout_error,
)
from symposia.providers.runner import Deadline
from symposia.records import (
    FinishReason,
    Message,
    ReasoningChunk,
    StreamEvent,
    TextChunk,
    TurnRequest,
    TurnResult,
    Usage,
    utcnow,
)
from symposia.redact import redact, register_secret

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


def stop_reason(raw: str | None) -> FinishReason:
    """Our finish reason for an Anthropic ``stop_reason``."""
    return _STOP.get(raw, "unknown") if raw else "unknown"


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


def map_sdk_error(provider: str, exc: Exception) -> ProviderError | None:
    """Our :class:`ProviderError` for an ``anthropic`` SDK or transport exception; None for anything else."""
    if isinstance(exc, anthropic.APITimeoutError):
        return timeout_error(provider, "the HTTP client timed out")
    if isinstance(exc, anthropic.APIConnectionError):
        return connection_error(provider, describe_cause(exc))
    if isinstance(exc, anthropic.APIStatusError):
        status: int | None = exc.status_code
        body: Any
        if status is not None and 200 <= status < 300:
            # `event: error` inside a 200 stream: classify by the error type it names.
            status, body = None, exc.body
        else:
            body = response_body(exc.response, exc.body)
        return status_error(provider, status, body if isinstance(body, Mapping | str) else None,
                            exc.response.headers, fallback=redact(exc.message))
    if isinstance(exc, anthropic.APIError):
        return status_error(provider, None, exc.body if isinstance(exc.body, Mapping) else None,
                            fallback=redact(exc.message))
    if isinstance(exc, TRANSPORT_ERRORS):
        return connection_error(provider, describe_cause(exc))
    if isinstance(exc, json.JSONDecodeError):
        return ProviderError("the stream carried malformed data", provider=provider, retryable=True,
                             kind="stream_error")
    return None


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


class AnthropicProvider:
    """Streams Messages from Anthropic (or any server speaking its wire format)."""

    def __init__(self, spec: ProviderSpec, api_key: str | None) -> None:
        register_secret(api_key)
        self.spec = spec
        self._api_key = api_key or NO_KEY
        self._client: anthropic.AsyncAnthropic | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def _get_client(self) -> anthropic.AsyncAnthropic:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            t = self.spec.timeouts
            self._client = anthropic.AsyncAnthropic(
                api_key=self._api_key,
                base_url=self.spec.base_url or DEFAULT_BASE_URL,
                max_retries=0,
                timeout=anthropic.Timeout(t.total, connect=t.connect),
                default_headers=dict(self.spec.headers) or None,
            )
            self._client_loop = loop
        return self._client

    def _kwargs(self, request: TurnRequest) -> dict[str, Any]:
        return {**messages_kwargs(request), "stream": True}

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent]:
        """Yield text/reasoning chunks, then the ``TurnResult``; raise ``ProviderError`` on failure."""
        name = self.spec.name
        client = self._get_client()
        kwargs = self._kwargs(request)
        started_at = utcnow()
        t0 = time.perf_counter()
        dl = Deadline(self.spec.timeouts.idle, self.spec.timeouts.total)
        text_parts: list[str] = []
        reasoning_parts: list[str] = []
        ttft: float | None = None
        model: str | None = None
        message_id: str | None = None
        stop_raw: str | None = None
        finished = False
        prompt_tokens: int | None = None
        output_tokens: int | None = None
        thinking_tokens: int | None = None
        sdk_stream: Any = None
        try:
            dl.waiting = True
            try:
                sdk_stream = await client.messages.create(**kwargs)
            finally:
                dl.waiting = False
            anext_ = sdk_stream.__anext__
            while True:
                dl.waiting = True
                try:
                    ev = await anext_()
                except StopAsyncIteration:
                    break
                finally:
                    dl.waiting = False
                et = ev.type
                if et == "content_block_delta":
                    d = ev.delta
                    dt = d.type
                    if dt == "text_delta":
                        if d.text:
                            dl.progress()
                            if ttft is None:
                                ttft = time.perf_counter() - t0
                            text_parts.append(d.text)
                            yield TextChunk(d.text)
                    elif dt == "thinking_delta" and d.thinking:
                        dl.progress()
                        if ttft is None:
                            ttft = time.perf_counter() - t0
                        reasoning_parts.append(d.thinking)
                        yield ReasoningChunk(d.thinking)
                elif et == "message_start":
                    msg = ev.message
                    model = msg.model or None
                    message_id = msg.id or None
                    u = msg.usage
                    if u is not None:
                        prompt_tokens = (u.input_tokens or 0) + (u.cache_creation_input_tokens or 0) + (
                            u.cache_read_input_tokens or 0)
                        output_tokens = u.output_tokens or None
                elif et == "message_delta":
                    if ev.delta.stop_reason:
                        stop_raw = ev.delta.stop_reason
                    u = ev.usage
                    if u is not None:
                        dl.progress()
                        output_tokens = u.output_tokens
                        if u.input_tokens is not None:
                            prompt_tokens = (u.input_tokens or 0) + (u.cache_creation_input_tokens or 0) + (
                                u.cache_read_input_tokens or 0)
                        details = u.output_tokens_details
                        if details is not None:
                            thinking_tokens = details.thinking_tokens
                elif et == "message_stop":
                    finished = True
        except asyncio.CancelledError:
            if dl.expired():
                raise timeout_error(name, dl.describe()) from None
            raise
        except ProviderError:
            raise
        except Exception as exc:
            if dl.fired is not None and dl.expired():  # our cancellation surfaced as another error
                raise timeout_error(name, dl.describe()) from exc
            mapped = map_sdk_error(name, exc)
            if mapped is None:
                raise
            raise mapped from exc
        finally:
            dl.close()
            if sdk_stream is not None:
                await sdk_stream.close()
        if not finished and stop_raw is None:
            raise connection_error(name, "the stream ended before the model finished")
        request_id = sdk_stream.response.headers.get("request-id") if sdk_stream is not None else None
        yield TurnResult(
            text="".join(text_parts),
            reasoning="".join(reasoning_parts),
            finish_reason=stop_reason(stop_raw),
            model_requested=request.model,
            model_reported=model,
            request_id=request_id or message_id,
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=output_tokens,
                        reasoning_tokens=thinking_tokens),
            ttft_s=ttft,
            latency_s=time.perf_counter() - t0,
            started_at=started_at,
            ended_at=utcnow(),
        )

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(RuntimeError):  # created on an event loop that is gone
                await client.close()
