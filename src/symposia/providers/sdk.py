"""What the two SDK providers share: one streaming skeleton and a table from SDK exceptions to ours.

:class:`SDKProvider` owns everything a streamed turn does whatever the wire format: a client per
event loop, the idle/total :class:`~symposia.providers.runner.Deadline`, text and reasoning chunks
with time-to-first-token, the "stream ended before the model finished" check, and the final
:class:`~symposia.records.TurnResult`. A subclass says only how to open its SDK's stream
(``_open``) and what one SDK event means (``_read``, which fills a :class:`StreamState`).

Errors are data (the ``map_exceptions`` idea of httpx): each provider lists its SDK's exception
classes with the rule that makes our :class:`~symposia.errors.ProviderError`, and
:func:`map_exceptions` applies the rule of the most specific class an exception belongs to.
Both SDKs (generated from the same template) share the rules in :func:`sdk_error_table`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from symposia.errors import ProviderError
from symposia.providers.base import ProviderSpec
from symposia.providers.endpoints import EndpointPool
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

__all__ = ["ErrorRule", "ErrorTable", "SDKProvider", "StreamState", "map_exception", "map_exceptions",
           "sdk_error_table"]

ErrorRule = Callable[[str, Any], ProviderError]
"""Makes our error from (provider name, the SDK's exception)."""
ErrorTable = Mapping[type[BaseException], ErrorRule]


def map_exception(table: ErrorTable, provider: str, exc: BaseException) -> ProviderError | None:
    """Our error for ``exc`` by the rule of its most specific class in ``table``; None if none applies."""
    for cls in type(exc).__mro__:
        rule = table.get(cls)
        if rule is not None:
            return rule(provider, exc)
    return None


@contextlib.contextmanager
def map_exceptions(table: ErrorTable, provider: str) -> Iterator[None]:
    """Re-raise any exception ``table`` knows as our ProviderError (chained); let others through."""
    try:
        yield
    except ProviderError:
        raise
    except Exception as exc:
        mapped = map_exception(table, provider, exc)
        if mapped is None:
            raise
        raise mapped from exc


def _status(provider: str, exc: Any) -> ProviderError:
    """An HTTP error response, or (status 2xx) an error event inside a stream that began with 200."""
    status: int | None = exc.status_code
    if status is not None and 200 <= status < 300:
        status, body = None, exc.body  # classify by the error type the event names
    else:
        body = response_body(exc.response, exc.body)
    return status_error(provider, status, body if isinstance(body, Mapping | str) else None,
                        exc.response.headers, fallback=redact(exc.message))


def _in_stream(provider: str, exc: Any) -> ProviderError:
    """An SDK ``APIError`` without a response: an ``error`` object inside a 200 stream."""
    return status_error(provider, None, exc.body if isinstance(exc.body, Mapping) else None,
                        fallback=redact(exc.message))


def _transport(provider: str, exc: Any) -> ProviderError:
    return connection_error(provider, describe_cause(exc))


def _timeout(provider: str, exc: Any) -> ProviderError:
    return timeout_error(provider, "the HTTP client timed out")


def _malformed(provider: str, exc: Any) -> ProviderError:
    return ProviderError("the stream carried malformed data", provider=provider, retryable=True,
                         kind="stream_error")


def sdk_error_table(sdk: Any) -> dict[type[BaseException], ErrorRule]:
    """The rules for an SDK module with the Stainless exception classes (``openai``, ``anthropic``)."""
    table: dict[type[BaseException], ErrorRule] = {
        sdk.APITimeoutError: _timeout,
        sdk.APIConnectionError: _transport,
        sdk.APIStatusError: _status,
        sdk.APIError: _in_stream,
        json.JSONDecodeError: _malformed,
    }
    table.update(dict.fromkeys(TRANSPORT_ERRORS, _transport))
    return table


@contextlib.contextmanager
def _deadline_as_timeout(dl: Deadline, provider: str) -> Iterator[None]:
    """Our own deadline's cancellation (or the error it surfaced as) becomes a retryable timeout."""
    try:
        yield
    except asyncio.CancelledError:
        if dl.expired():
            raise timeout_error(provider, dl.describe()) from None
        raise
    except ProviderError:
        raise
    except Exception as exc:
        if dl.fired is not None and dl.expired():
            raise timeout_error(provider, dl.describe()) from exc
        raise


@dataclass
class StreamState:
    """What one streamed turn has gathered; ``_read`` fills it, the skeleton turns it into a TurnResult."""

    deadline: Deadline
    started_at: datetime = field(default_factory=utcnow)
    t0: float = field(default_factory=time.perf_counter)
    text_parts: list[str] = field(default_factory=list)
    reasoning_parts: list[str] = field(default_factory=list)
    ttft: float | None = None
    model: str | None = None
    request_id: str | None = None
    finish_raw: str | None = None
    finished: bool = False  # the wire said the message is complete
    usage: Usage = field(default_factory=Usage)

    def progress(self) -> None:
        """Content arrived (answer, reasoning or usage): restart the idle clock."""
        self.deadline.progress()

    def text(self, piece: str) -> TextChunk:
        self._content()
        self.text_parts.append(piece)
        return TextChunk(piece)

    def reasoning(self, piece: str) -> ReasoningChunk:
        self._content()
        self.reasoning_parts.append(piece)
        return ReasoningChunk(piece)

    def _content(self) -> None:
        self.progress()
        if self.ttft is None:
            self.ttft = time.perf_counter() - self.t0


class _Client(Protocol):
    async def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Client)


class SDKProvider(ABC, Generic[ClientT]):
    """A provider streaming through an official SDK; see the module docstring for what a subclass adds."""

    errors: ClassVar[ErrorTable]
    finish_reasons: ClassVar[Mapping[str, FinishReason]]
    request_id_header: ClassVar[str]

    def __init__(self, spec: ProviderSpec, api_key: str | None) -> None:
        register_secret(api_key)
        self.spec = spec
        self._api_key = api_key or NO_KEY
        self._client: ClientT | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        # Replicas (options.base_urls): one SDK client per endpoint, calls spread by the pool.
        self._pool = EndpointPool(spec) if "base_urls" in spec.options else None
        self._endpoint_clients: dict[str, ClientT] = {}
        self._endpoint_url: str | None = None

    @abstractmethod
    def _new_client(self) -> ClientT:
        """An SDK client for :attr:`spec` with the SDK's own retries off (the runner retries whole turns)."""

    @abstractmethod
    async def _open(self, client: ClientT, request: TurnRequest) -> Any:
        """Send ``request``; return the SDK's async stream of events."""

    @abstractmethod
    def _read(self, event: Any, state: StreamState) -> Iterator[StreamEvent]:
        """Record one SDK event in ``state``; yield the chunks it carries; raise ProviderError on a failure."""

    def _client_options(self, default_base_url: str, timeout: Callable[..., Any]) -> dict[str, Any]:
        """The SDK client's arguments (both SDKs take the same): key, URL, timeouts, headers, no retries.

        ``timeout`` is the SDK's own ``Timeout`` class (the SDKs may sit on different httpx packages).
        """
        t = self.spec.timeouts
        base_url = self._endpoint_url or self.spec.base_url or default_base_url
        return {"api_key": self._api_key, "base_url": base_url, "max_retries": 0,
                "timeout": timeout(t.total, connect=t.connect),
                "default_headers": dict(self.spec.headers) or None}

    def _request_id(self, state: StreamState, headers: Mapping[str, str]) -> str | None:
        return state.request_id or headers.get(self.request_id_header)

    def _get_client(self, endpoint: str | None = None) -> ClientT:
        # Pooled connections belong to one event loop: a new loop (a second asyncio.run) gets a new client.
        loop = asyncio.get_running_loop()
        if self._client_loop is not loop:
            self._client, self._endpoint_clients = None, {}
            self._client_loop = loop
        if endpoint is not None:
            if endpoint not in self._endpoint_clients:
                self._endpoint_url = endpoint
                try:
                    self._endpoint_clients[endpoint] = self._new_client()
                finally:
                    self._endpoint_url = None
            return self._endpoint_clients[endpoint]
        if self._client is None:
            self._client = self._new_client()
        return self._client

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent]:
        """Yield text/reasoning chunks, then the ``TurnResult``; raise ``ProviderError`` on failure.
        With replicas, the call goes to the endpoint the pool picks, and its outcome tells the pool."""
        if self._pool is None:
            async for event in self._stream(request, self._get_client()):
                yield event
            return
        endpoint = await self._pool.acquire()
        failure: BaseException | None = None
        try:
            async for event in self._stream(request, self._get_client(endpoint.url)):
                yield event
        except BaseException as exc:
            failure = exc
            raise
        finally:
            await self._pool.release(endpoint, failure)

    async def _stream(self, request: TurnRequest, client: ClientT) -> AsyncIterator[StreamEvent]:
        name = self.spec.name
        dl = Deadline(self.spec.timeouts.idle, self.spec.timeouts.total)
        state = StreamState(dl)
        sdk_stream: Any = None
        try:
            with map_exceptions(self.errors, name), _deadline_as_timeout(dl, name):
                dl.waiting = True
                try:
                    sdk_stream = await self._open(client, request)
                finally:
                    dl.waiting = False
                anext_ = sdk_stream.__anext__
                while True:
                    dl.waiting = True
                    try:
                        event = await anext_()
                    except StopAsyncIteration:
                        break
                    finally:
                        dl.waiting = False
                    for chunk in self._read(event, state):
                        yield chunk
        finally:
            dl.close()
            if sdk_stream is not None:
                await sdk_stream.close()
        if not state.finished:
            # A dropped connection looks like a normal end of body to the HTTP client.
            raise connection_error(name, "the stream ended before the model finished")
        raw = state.finish_raw
        yield TurnResult(
            text="".join(state.text_parts),
            reasoning="".join(state.reasoning_parts),
            finish_reason=self.finish_reasons.get(raw, "unknown") if raw else "unknown",
            model_requested=request.model,
            model_reported=state.model,
            request_id=self._request_id(state, sdk_stream.response.headers),
            usage=state.usage,
            ttft_s=state.ttft,
            latency_s=time.perf_counter() - state.t0,
            started_at=state.started_at,
            ended_at=utcnow(),
        )

    async def aclose(self) -> None:
        clients = [c for c in (self._client, *self._endpoint_clients.values()) if c is not None]
        self._client, self._endpoint_clients = None, {}
        for client in clients:
            with contextlib.suppress(RuntimeError):  # created on an event loop that is gone
                await client.close()
