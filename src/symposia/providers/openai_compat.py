"""Any OpenAI-compatible chat-completions endpoint (OpenRouter, DashScope, xAI, DeepSeek, Z.ai,
Moonshot, Ollama, llama.cpp, vLLM) through the official ``openai`` SDK, always streaming.

The SDK's own retries are off (``max_retries=0``): they cover only the initial request, while a
turn can also fail after HTTP 200, so :mod:`symposia.providers.runner` retries whole turns.
Vendor quirks absorbed here are listed in docs/PROVIDERS.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import openai

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
    ReasoningChunk,
    StreamEvent,
    TextChunk,
    TurnRequest,
    TurnResult,
    Usage,
    utcnow,
)
from symposia.redact import redact, register_secret

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


def map_finish(raw: str | None) -> FinishReason:
    return _FINISH.get(raw, "unknown") if raw else "unknown"


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


def map_sdk_error(provider: str, exc: Exception) -> ProviderError | None:
    """Our :class:`ProviderError` for an ``openai`` SDK or transport exception; None for anything else."""
    if isinstance(exc, openai.APITimeoutError):
        return timeout_error(provider, "the HTTP client timed out")
    if isinstance(exc, openai.APIConnectionError):
        return connection_error(provider, describe_cause(exc))
    if isinstance(exc, openai.APIStatusError):
        body = response_body(exc.response, exc.body)
        return status_error(provider, exc.status_code, body if isinstance(body, Mapping | str) else None,
                            exc.response.headers, fallback=redact(exc.message))
    if isinstance(exc, openai.APIError):  # an `error` object inside a 200 stream
        inner = exc.body if isinstance(exc.body, Mapping) else None
        return status_error(provider, None, {"error": inner} if inner else None, fallback=redact(exc.message))
    if isinstance(exc, TRANSPORT_ERRORS):
        return connection_error(provider, describe_cause(exc))
    if isinstance(exc, json.JSONDecodeError):
        return ProviderError("the stream carried malformed data", provider=provider, retryable=True,
                             kind="stream_error")
    return None


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


class OpenAICompatProvider:
    """Streams chat completions from one OpenAI-compatible endpoint."""

    def __init__(self, spec: ProviderSpec, api_key: str | None) -> None:
        register_secret(api_key)
        self.spec = spec
        self._api_key = api_key or NO_KEY
        self._client: openai.AsyncOpenAI | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def _get_client(self) -> openai.AsyncOpenAI:
        # Pooled connections belong to one event loop: a new loop (a second asyncio.run) gets a
        # new client.
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            t = self.spec.timeouts
            self._client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=self.spec.base_url or DEFAULT_BASE_URL,
                max_retries=0,
                timeout=openai.Timeout(t.total, connect=t.connect),
                default_headers=dict(self.spec.headers) or None,
            )
            self._client_loop = loop
        return self._client

    def _kwargs(self, request: TurnRequest) -> dict[str, Any]:
        return {**chat_kwargs(request), "stream": True, "stream_options": {"include_usage": True}}

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
        request_id: str | None = None
        finish_raw: str | None = None
        usage_raw: Mapping[str, Any] | None = None
        sdk_stream: Any = None
        try:
            dl.waiting = True
            try:
                sdk_stream = await client.chat.completions.create(**kwargs)
            finally:
                dl.waiting = False
            anext_ = sdk_stream.__anext__
            while True:
                dl.waiting = True
                try:
                    chunk = await anext_()
                except StopAsyncIteration:
                    break
                finally:
                    dl.waiting = False
                if model is None:
                    model = chunk.model or None
                    request_id = chunk.id or None
                choices = chunk.choices
                if choices:
                    choice = choices[0]
                    delta = choice.delta
                    extra = delta.model_extra
                    if extra:
                        # DeepSeek/Qwen/GLM/Kimi/llama.cpp say reasoning_content; OpenRouter/Ollama/vLLM
                        # say reasoning.
                        r = extra.get("reasoning_content") or extra.get("reasoning")
                        if r and isinstance(r, str):
                            dl.progress()
                            if ttft is None:
                                ttft = time.perf_counter() - t0
                            reasoning_parts.append(r)
                            yield ReasoningChunk(r)
                    content = delta.content
                    if content:
                        dl.progress()
                        if ttft is None:
                            ttft = time.perf_counter() - t0
                        text_parts.append(content)
                        yield TextChunk(content)
                    if choice.finish_reason:
                        finish_raw = choice.finish_reason
                        cextra = choice.model_extra
                        if cextra and isinstance(cextra.get("usage"), Mapping):  # Moonshot
                            usage_raw = cextra["usage"]
                            dl.progress()
                        if finish_raw == "error":  # OpenRouter: the upstream failed after HTTP 200
                            err = (chunk.model_extra or {}).get("error") or (cextra or {}).get("error")
                            raise status_error(name, None, {"error": err} if err else None,
                                               fallback="the provider reported an error mid-stream")
                if chunk.usage is not None:
                    usage_raw = chunk.usage.model_dump()
                    dl.progress()
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
        if finish_raw is None:
            # Without a finish reason the stream was cut short (a dropped connection looks like a
            # normal end of body to the HTTP client).
            raise connection_error(name, "the stream ended before the model finished")
        if request_id is None and sdk_stream is not None:
            request_id = sdk_stream.response.headers.get("x-request-id")
        yield TurnResult(
            text="".join(text_parts),
            reasoning="".join(reasoning_parts),
            finish_reason=map_finish(finish_raw),
            model_requested=request.model,
            model_reported=model,
            request_id=request_id,
            usage=usage_from_dict(usage_raw) if usage_raw is not None else Usage(),
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

