"""One streamed turn over HTTP: the skeleton both wire providers (OpenAI chat completions, Anthropic
Messages) share.

The wire formats are spoken directly with ``httpx`` (the HTTP client both official SDKs are built on)
and ``httpx-sse`` (Server-Sent Events): importing either SDK costs 0.3–0.8 s of start-up, paid before
a command's first request. The SDKs stay the oracle: tests send the same requests and parse the same
streams through them and require identical bodies and results (tests/test_providers_wire.py); the
batch APIs, where start-up does not matter, still go through them (:mod:`symposia.providers.batch`).

:class:`StreamingProvider` owns everything a streamed turn does whatever the wire format: a client per
event loop (and per replica), the request and its headers, an error response turned into our
:class:`~symposia.errors.ProviderError`, the idle/total :class:`~symposia.providers.runner.Deadline`,
text and reasoning chunks with time-to-first-token, the "stream ended before the model finished"
check, and the final :class:`~symposia.records.TurnResult`. A subclass says where to post (``path``),
how to authenticate (``_auth_headers``), what body to send (``_body``) and what one event means
(``_read``, which fills a :class:`StreamState`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import httpx
import httpx_sse

from symposia.errors import ProviderError
from symposia.providers import tls
from symposia.providers.base import ProviderSpec
from symposia.providers.endpoints import EndpointPool
from symposia.providers.retry import (
    NO_KEY,
    connection_error,
    status_error,
    timeout_error,
    transport_errors,
)
from symposia.providers.runner import Deadline
from symposia.providers.sdk import ErrorRule, malformed_rule, map_exceptions, timeout_rule, transport_rule
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
from symposia.redact import register_secret
from symposia.version import __version__

__all__ = ["ERROR_BODY_LIMIT", "WIRE_ERRORS", "Event", "StreamState", "StreamingProvider", "error_response"]

ERROR_BODY_LIMIT = 64 * 1024  # bytes of an error response kept for its message and codes
# As the SDKs set them: a round of many voices must not queue for connections.
_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)


@dataclass(frozen=True)
class Event:
    """One server-sent event: its name (``message`` when the stream names none) and its JSON data."""

    name: str
    data: Any


WIRE_ERRORS: dict[type[BaseException], ErrorRule] = {
    httpx.TimeoutException: timeout_rule,
    **dict.fromkeys(transport_errors(), transport_rule),
    httpx_sse.SSEError: malformed_rule,
    json.JSONDecodeError: malformed_rule,
}
"""Exceptions of the HTTP client and the stream parser, as our errors (the most specific class wins)."""


#: How long the end of an HTTP body may take to arrive once the stream said it was done.
DRAIN_S = 0.5


async def _read_to_the_end(events: AsyncIterator[Any]) -> None:
    """Read what follows the end of a stream up to the end of the HTTP body (normally it is already
    there: the chunked body's last, empty chunk). A response read to its end hands its connection back
    to the pool; one closed unread closes the connection, so the next call of this provider (the next
    round of a council) connects again, over TLS a new handshake each. A server that keeps the body
    open past the end of the stream is cut after :data:`DRAIN_S`; the answer is whole either way."""
    with contextlib.suppress(TimeoutError, httpx.HTTPError):
        async with asyncio.timeout(DRAIN_S):
            async for _ in events:
                pass


def error_response(provider: str, status: int, raw: bytes, headers: Mapping[str, str]) -> ProviderError:
    """Our error for an HTTP error response: its JSON body (or text) classified, Retry-After kept."""
    text = raw.decode("utf-8", errors="replace")
    body: Any
    try:
        body = json.loads(text)
    except ValueError:
        body = text
    return status_error(provider, status, body if isinstance(body, Mapping | str) else None, headers)


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


class StreamingProvider(ABC):
    """A provider streaming one wire format over HTTP; see the module docstring for what a subclass adds."""

    default_base_url: ClassVar[str]
    path: ClassVar[str]  # appended to the base URL, e.g. "/chat/completions"
    finish_reasons: ClassVar[Mapping[str, FinishReason]]
    request_id_header: ClassVar[str]

    def __init__(self, spec: ProviderSpec, api_key: str | None) -> None:
        register_secret(api_key)
        tls.prepare()  # the shared TLS context loads its CA bundle in the background meanwhile
        self.spec = spec
        # An explicit placeholder when a server needs no key: nothing falls back to another variable.
        self._api_key = api_key or NO_KEY
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._client_loop: asyncio.AbstractEventLoop | None = None
        # Replicas (options.base_urls): calls spread by the pool, one connection pool per endpoint.
        self._pool = EndpointPool(spec) if "base_urls" in spec.options else None

    @abstractmethod
    def _auth_headers(self) -> dict[str, str]:
        """The headers that carry the key (and the API version, where the wire wants one)."""

    @abstractmethod
    def _body(self, request: TurnRequest) -> dict[str, Any]:
        """The JSON body of a streamed request."""

    @abstractmethod
    def _read(self, event: Event, state: StreamState) -> Iterator[StreamEvent]:
        """Record one event in ``state``; yield the chunks it carries; raise ProviderError on a failure."""

    def _request_id(self, state: StreamState, headers: Mapping[str, str]) -> str | None:
        return state.request_id or headers.get(self.request_id_header)

    def _headers(self) -> dict[str, str]:
        return {"user-agent": f"symposia/{__version__}", "accept": "text/event-stream",
                **self._auth_headers(), **self.spec.headers}

    def _get_client(self, base_url: str) -> httpx.AsyncClient:
        # Pooled connections belong to one event loop: a new loop (a second asyncio.run) gets new clients.
        loop = asyncio.get_running_loop()
        if self._client_loop is not loop:
            self._clients, self._client_loop = {}, loop
        client = self._clients.get(base_url)
        if client is None:
            t = self.spec.timeouts
            client = self._clients[base_url] = httpx.AsyncClient(
                timeout=httpx.Timeout(t.total, connect=t.connect), limits=_LIMITS, headers=self._headers(),
                verify=tls.shared_context())
        return client

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent]:
        """Yield text/reasoning chunks, then the ``TurnResult``; raise ``ProviderError`` on failure.
        With replicas, the call goes to the endpoint the pool picks, and its outcome tells the pool."""
        if self._pool is None:
            async for event in self._stream(request, self.spec.base_url or self.default_base_url):
                yield event
            return
        endpoint = await self._pool.acquire()
        failure: BaseException | None = None
        try:
            async for event in self._stream(request, endpoint.url):
                yield event
        except BaseException as exc:
            failure = exc
            raise
        finally:
            await self._pool.release(endpoint, failure)

    async def _open(self, client: httpx.AsyncClient, url: str, request: TurnRequest) -> httpx.Response:
        """Post the request; return the streaming response, or raise the error response as ours."""
        response = await client.send(client.build_request("POST", url, json=self._body(request)), stream=True)
        if response.is_redirect:
            # Not followed: the key would travel with the request to wherever the answer points.
            await response.aclose()
            where = response.headers.get("location", "another address")
            raise ProviderError(f"the server redirected the call to {where}: set providers.{self.spec.name}.base_url "
                                "to the new address (symposia does not send keys on to a redirect)",
                                provider=self.spec.name, status=response.status_code, retryable=False,
                                kind="redirect")
        if response.status_code >= 400:
            try:
                raw = bytearray()
                async for piece in response.aiter_bytes():
                    raw += piece
                    if len(raw) >= ERROR_BODY_LIMIT:
                        break
            finally:
                await response.aclose()
            raise error_response(self.spec.name, response.status_code, bytes(raw[:ERROR_BODY_LIMIT]),
                                 response.headers)
        return response

    async def _stream(self, request: TurnRequest, base_url: str) -> AsyncIterator[StreamEvent]:
        name = self.spec.name
        client = self._get_client(base_url)
        dl = Deadline(self.spec.timeouts.idle, self.spec.timeouts.total)
        state = StreamState(dl)
        response: httpx.Response | None = None
        try:
            with map_exceptions(WIRE_ERRORS, name), _deadline_as_timeout(dl, name):
                dl.waiting = True
                try:
                    response = await self._open(client, base_url.rstrip("/") + self.path, request)
                finally:
                    dl.waiting = False
                events = httpx_sse.EventSource(response).aiter_sse().__aiter__()
                while True:
                    dl.waiting = True
                    try:
                        sse = await events.__anext__()
                    except StopAsyncIteration:
                        break
                    finally:
                        dl.waiting = False
                    if sse.data == "[DONE]":  # OpenAI's end of stream
                        await _read_to_the_end(events)
                        break
                    if not sse.data:
                        continue
                    for chunk in self._read(Event(sse.event, json.loads(sse.data)), state):
                        yield chunk
        finally:
            dl.close()
            if response is not None:
                await response.aclose()
        if not state.finished:
            # A dropped connection looks like a normal end of body to the HTTP client.
            raise connection_error(name, "the stream ended before the model finished")
        raw = state.finish_raw
        assert response is not None  # finished implies a response was read
        yield TurnResult(
            text="".join(state.text_parts),
            reasoning="".join(state.reasoning_parts),
            finish_reason=self.finish_reasons.get(raw, "unknown") if raw else "unknown",
            model_requested=request.model,
            model_reported=state.model,
            request_id=self._request_id(state, response.headers),
            usage=state.usage,
            ttft_s=state.ttft,
            latency_s=time.perf_counter() - state.t0,
            started_at=state.started_at,
            ended_at=utcnow(),
        )

    async def aclose(self) -> None:
        clients = list(self._clients.values())
        self._clients = {}
        for client in clients:
            with contextlib.suppress(RuntimeError):  # created on an event loop that is gone
                await client.aclose()
