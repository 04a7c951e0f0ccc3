"""A fake LLM provider on loopback that speaks the OpenAI chat-completions and Anthropic Messages wires.

Tests, benchmarks and users checking a config script its replies (:class:`Reply`), latency and
faults (:class:`Fault`); the official ``openai`` and ``anthropic`` SDKs parse what it sends.
It uses only the standard library: one daemon thread per connection, HTTP/1.1 keep-alive,
``Content-Length`` for JSON and chunked transfer-encoding for server-sent events.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = [
    "FAULT_KINDS",
    "FakeServer",
    "Fault",
    "RecordedRequest",
    "Reply",
]

Wire = Literal["openai", "anthropic"]

# kind -> (HTTP status, OpenAI error type, OpenAI error code, Anthropic error type, default message)
_HTTP_FAULTS: dict[str, tuple[int, str, str, str, str]] = {
    "http_400": (400, "invalid_request_error", "invalid_request", "invalid_request_error",
                 "Invalid request: the fake server was told to reject it."),
    "http_401": (401, "invalid_request_error", "invalid_api_key", "authentication_error",
                 "Incorrect API key provided."),
    "http_402": (402, "payment_required", "insufficient_credits", "billing_error",
                 "Insufficient credits: add credits to your account to continue."),
    "http_403": (403, "moderation_error", "content_flagged", "permission_error",
                 "Your input was flagged by the moderation filter and was not processed."),
    "http_429": (429, "rate_limit_error", "rate_limit_exceeded", "rate_limit_error",
                 "Rate limit reached for requests. Please try again later."),
    "http_500": (500, "server_error", "internal_error", "api_error",
                 "The server had an error while processing your request."),
    "http_502": (502, "server_error", "bad_gateway", "api_error",
                 "Bad gateway: the upstream provider returned an invalid response."),
    "http_503": (503, "server_error", "service_unavailable", "api_error",
                 "The service is temporarily unavailable. Please retry later."),
    "http_529": (529, "overloaded_error", "overloaded", "overloaded_error", "Overloaded"),
    # Anthropic: a 429 that is *not* a rate limit; retrying it can never succeed.
    "spend_limit": (429, "insufficient_quota", "insufficient_quota", "rate_limit_error",
                    "You have reached your API spend limit. Raise it in the console to continue."),
    # DashScope sends a transient per-minute throttle with OpenAI's billing wording (retryable).
    "dashscope_throttling": (429, "insufficient_quota", "Throttling.AllocationQuota", "rate_limit_error",
                             "You exceeded your current quota, please check your plan and billing "
                             "details. (insufficient_quota) For details, see: "
                             "https://help.aliyun.com/zh/model-studio/error-code#token-limit"),
}
_STREAM_FAULTS = frozenset({"midstream_error", "drop", "hang", "hang_stream", "empty", "reasoning_only"})

FAULT_KINDS: frozenset[str] = frozenset(_HTTP_FAULTS) | _STREAM_FAULTS
"""Every value :attr:`Fault.kind` accepts."""

_USAGE_MODES = ("final_chunk", "choices0", "none")
_REASONING_FIELDS = ("reasoning_content", "reasoning")
# OpenAI finish_reason -> Anthropic stop_reason.
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                 "content_filter": "refusal"}
_DEFAULT_REASONING = "Let me think this through step by step before I answer the question"
_HANG_KEEPALIVE_S = 0.2
_THINKING_SIGNATURE = "RmFrZVNpZ25hdHVyZUZvclRlc3RzT25seQ=="


def _choice(name: str, value: object, allowed: tuple[str, ...] | frozenset[str]) -> None:
    if value not in allowed:
        expected = ", ".join(f'"{a}"' for a in sorted(allowed))
        raise ValueError(f"invalid value for {name}, expected one of {expected} (not {value!r})")


def _non_negative(name: str, value: float | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"invalid value for {name}, expected a number >= 0 (not {value!r})")


@dataclass
class Fault:
    """A failure the server injects instead of (or in the middle of) a normal reply.

    ``http_*``, ``spend_limit``, ``dashscope_throttling``: that status with the vendor's error body.
    ``midstream_error``: 200, ``after_chunks`` chunks, then an error event (OpenRouter data event
    with finish_reason "error" / Anthropic ``event: error``); without streaming OpenAI gets a 200
    whose choice finished with "error", Anthropic a 529. ``drop``: 200, ``after_chunks`` chunks,
    then the socket closes mid-body. ``hang``: nothing at all until the server stops.
    ``hang_stream``: headers and ``after_chunks`` chunks, then only keep-alives every 0.2 s.
    ``empty``: no text, finish "stop". ``reasoning_only``: reasoning, no text, finish "length".
    """

    kind: str
    after_chunks: int = 0  # mid-stream faults: content chunks sent before the fault
    retry_after: float | None = None  # seconds; sent as Retry-After and retry-after-ms
    message: str = ""  # error message in the body; empty means a default per kind

    def __post_init__(self) -> None:
        _choice("Fault.kind", self.kind, FAULT_KINDS)
        _non_negative("Fault.after_chunks", self.after_chunks)
        _non_negative("Fault.retry_after", self.retry_after)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from JSON data (the CLI's ``--script``), rejecting unknown keys."""
        return cls(**_known_fields(cls, data))


@dataclass
class Reply:
    """One scripted answer: its text, reasoning, pacing, usage placement and optional fault.

    Streams send headers at once, keep-alives during ``ttft``, then chunks ``per_token`` apart;
    a non-streamed reply arrives whole after ``ttft + per_token * chunks``.
    """

    text: str = "ok"
    reasoning: str = ""  # streamed before the text
    reasoning_field: str = "reasoning_content"  # OpenAI wire: "reasoning_content" | "reasoning"
    model: str | None = None  # reported model id; default: the requested id + "-2026-01"
    finish_reason: str = "stop"  # "length" -> Anthropic stop_reason "max_tokens"
    ttft: float = 0.0  # seconds before the first content event
    per_token: float = 0.0  # seconds between content chunks
    chunk_chars: int = 8  # approximate characters per streamed chunk
    keepalives: int = 0  # keep-alives sent during ttft (SSE comments; Anthropic: ping events)
    usage: str = "final_chunk"  # OpenAI stream: "final_chunk" | "choices0" (Moonshot) | "none"
    prompt_tokens: int | None = None  # default: words in the request's messages and system prompt
    completion_tokens: int | None = None  # default: words of answer + reasoning (reasoning is output)
    reasoning_tokens: int | None = None  # default: words of reasoning
    cost: float | None = None  # if set, usage.cost (OpenRouter credits)
    fault: Fault | None = None
    request_id: str | None = None  # default generated: "chatcmpl-..." / "msg_..."
    keepalive_comments: tuple[str, ...] = ("keep-alive", "OPENROUTER PROCESSING")  # cycled (OpenAI wire)
    # Answer only once this many requests are in flight at once (or after 10 s): proves callers run side by
    # side by the order of events, not by a clock. A caller that runs them one after the other sees
    # peak_in_flight stay below it.
    hold_until_in_flight: int = 0

    def __post_init__(self) -> None:
        _choice("Reply.reasoning_field", self.reasoning_field, _REASONING_FIELDS)
        _choice("Reply.usage", self.usage, _USAGE_MODES)
        for name in ("ttft", "per_token", "keepalives", "prompt_tokens", "completion_tokens",
                     "reasoning_tokens", "cost", "hold_until_in_flight"):
            _non_negative(f"Reply.{name}", getattr(self, name))
        if self.chunk_chars < 1:
            raise ValueError(f"invalid value for Reply.chunk_chars, expected >= 1 (not {self.chunk_chars!r})")
        if isinstance(self.fault, Mapping):  # tolerate Reply(**json) with a nested fault object
            self.fault = Fault.from_dict(self.fault)
        self.keepalive_comments = tuple(self.keepalive_comments) or ("keep-alive",)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reply:
        """Build a reply from JSON data (the CLI's ``--script``); ``fault`` may be a nested object."""
        kwargs = _known_fields(cls, data)
        fault = kwargs.get("fault")
        if fault is not None:
            if not isinstance(fault, Mapping):
                raise ValueError(f"invalid value for Reply.fault, expected an object (not {fault!r})")
            kwargs["fault"] = Fault.from_dict(fault)
        if "keepalive_comments" in kwargs:
            kwargs["keepalive_comments"] = tuple(kwargs["keepalive_comments"])
        return cls(**kwargs)


def _known_fields(cls: type[Any], data: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError(f"expected an object with {cls.__name__} fields (not {data!r})")
    names = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {', '.join(map(repr, unknown))}; "
                         f"valid fields: {', '.join(names)}")
    return dict(data)


@dataclass(frozen=True)
class RecordedRequest:
    """A POST the server received, faulted or not. Headers hold API keys: never log them."""

    path: str
    headers: dict[str, str] = field(repr=False)  # lower-case names; kept out of repr (API keys)
    body: dict[str, Any]  # parsed JSON ({} when the body was not a JSON object)
    model: str | None
    stream: bool
    t: float  # time.monotonic() when the request was read
    wire: Wire | None = None  # which format the path selected; None for an unknown path

    @property
    def api_key(self) -> str | None:
        """The key the client sent, from ``x-api-key`` or ``Authorization: Bearer``."""
        return _api_key(self.headers)


def _api_key(headers: Mapping[str, str]) -> str | None:
    if headers.get("x-api-key"):
        return headers["x-api-key"]
    auth = headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    return token or None


class _Abort(Exception):
    """The server is stopping or the client went away: end this response without another byte."""


class FakeServer:
    """A scripted LLM provider on 127.0.0.1, served from a background thread.

    ``openai_base_url`` serves ``POST /v1/chat/completions`` (any path ending in
    ``/chat/completions`` works too); ``anthropic_base_url`` serves ``POST /v1/messages``.
    """

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1", require_auth: bool = True) -> None:
        self.require_auth = require_auth
        self.default: Reply = Reply()
        self.models: list[str] = ["fake-model"]  # listed by GET /v1/models
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._global: deque[Reply] = deque()
        self._per_model: dict[str, deque[Reply]] = {}
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self._peak_in_flight = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._httpd = _HTTPServer((host, port), self)
        self.host = host
        self.port: int = self._httpd.server_address[1]

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeServer:
        """Start serving in a daemon thread; returns self."""
        if self._thread is not None:
            raise RuntimeError("FakeServer.start() was already called; create a new FakeServer instead")
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"symposia-fake-server:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end hanging responses and close every open connection. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.close_connections()
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.base_url  # the anthropic SDK appends /v1/messages itself

    # -- scripting -------------------------------------------------------------------------------

    def enqueue(self, *replies: Reply, model: str | None = None) -> None:
        """Queue replies (FIFO) for requests naming ``model``, or for any request when model is None."""
        for r in replies:
            if not isinstance(r, Reply):
                raise TypeError(f"enqueue() takes Reply objects (not {type(r).__name__})")
        with self._lock:
            queue = self._global if model is None else self._per_model.setdefault(model, deque())
            queue.extend(replies)

    def pending(self, model: str | None = None) -> int:
        """How many queued replies are left for ``model`` (None: the global queue)."""
        with self._lock:
            queue = self._global if model is None else self._per_model.get(model, deque())
            return len(queue)

    def load_script(self, script: Mapping[str, Any]) -> None:
        """Apply a script (CLI ``--script``): ``{"default": {..}, "queue": [..], "models": {"id": [..]}}``."""
        if not isinstance(script, Mapping):
            raise ValueError("a script must be a JSON object with keys default, queue, models")
        unknown = sorted(set(script) - {"default", "queue", "models"})
        if unknown:
            raise ValueError(f"unknown script key(s) {', '.join(map(repr, unknown))}; "
                             "expected default, queue, models")
        # Parse everything before applying anything, so a bad script changes nothing.
        default = _reply_at("default", script["default"]) if "default" in script else None
        queue = script.get("queue", [])
        if not isinstance(queue, list):
            raise ValueError("script 'queue' must be a list of replies")
        replies = [_reply_at(f"queue[{i}]", r) for i, r in enumerate(queue)]
        per_model = script.get("models", {})
        if not isinstance(per_model, Mapping):
            raise ValueError("script 'models' must map model ids to lists of replies")
        by_model: dict[str, list[Reply]] = {}
        for model, items in per_model.items():
            if not isinstance(items, list):
                raise ValueError(f"script models[{model!r}] must be a list of replies")
            by_model[model] = [_reply_at(f"models[{model!r}][{i}]", r) for i, r in enumerate(items)]
        if default is not None:
            self.default = default
        self.enqueue(*replies)
        for model, items in by_model.items():
            self.enqueue(*items, model=model)

    def reset(self) -> None:
        """Forget queued replies and recorded requests (``default`` is kept)."""
        with self._lock:
            self._global.clear()
            self._per_model.clear()
            self._requests.clear()
            self._peak_in_flight = self._in_flight

    # -- observation -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every POST received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """How many POSTs arrived (faulted and unauthorised ones included)."""
        with self._lock:
            return len(self._requests)

    @property
    def connection_count(self) -> int:
        """How many TCP connections were accepted: fewer than requests means clients reuse them."""
        return self._httpd.accepted

    @property
    def in_flight(self) -> int:
        """POSTs received whose handler has not finished (a client may already hold the whole reply)."""
        with self._lock:
            return self._in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most POSTs that were in flight at once (since start or :meth:`reset`). A handler finishes a
        moment after its client has the whole reply, so a request just answered may still count."""
        with self._lock:
            return self._peak_in_flight

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> bool:
        """Block until at least ``n`` POSTs have arrived; False on timeout."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self._requests) >= n, timeout=timeout)

    # -- used by the handler ---------------------------------------------------------------------

    def _record(self, req: RecordedRequest) -> None:
        with self._arrived:
            self._requests.append(req)
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
            self._arrived.notify_all()

    def _done(self) -> None:
        with self._arrived:
            self._in_flight -= 1
            self._arrived.notify_all()

    def _hold_until_in_flight(self, n: int) -> None:
        with self._arrived:
            # the peak, not the current count: once reached, every waiter goes on (even if one already finished)
            self._arrived.wait_for(lambda: self._peak_in_flight >= n or self._stopping.is_set(), timeout=10.0)

    def _next_reply(self, model: str | None) -> Reply:
        with self._lock:
            queue = self._per_model.get(model) if model is not None else None
            if queue:
                return queue.popleft()
            if self._global:
                return self._global.popleft()
            return self.default


def _reply_at(where: str, data: Any) -> Reply:
    try:
        return Reply.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its FakeServer and can close every live connection."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], fake: FakeServer) -> None:
        self.fake = fake
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self.accepted = 0
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket) -> None:
        with self._conns_lock:
            self._conns.add(conn)
            self.accepted += 1

    def untrack(self, conn: socket.socket) -> None:
        with self._conns_lock:
            self._conns.discard(conn)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response are normal here (timeouts, drops); stay quiet about them.
        # Anything else still prints a traceback (never request headers).
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError | _Abort):
            return
        super().handle_error(request, client_address)


_WORD = re.compile(r"\S+\s*|\s+")


def _split_chunks(text: str, size: int) -> list[str]:
    """Cut text into pieces of about ``size`` characters, at whitespace if possible; they rejoin exactly."""
    pieces: list[str] = []
    current = ""
    for word in _WORD.findall(text):
        while len(word) > 2 * size:  # a very long word: hard-cut it
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:size])
            word = word[size:]
        current += word
        if len(current) >= size:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


def _words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):  # a list of messages, or of content parts
        return sum(_words(v) for v in value)
    if isinstance(value, Mapping):
        return _words(value.get("content")) + _words(value.get("text"))
    return 0


def _retry_after_value(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


@dataclass
class _Plan:
    """A Reply resolved against one request: final texts, ids, token counts and chunks."""

    wire: Wire
    reply: Reply
    fault: Fault | None
    rid: str
    model: str
    text: str
    reasoning: str
    finish: str
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    chunks: list[tuple[str, str]] = field(default_factory=list)  # ("reasoning" | "text", piece)

    @classmethod
    def build(cls, wire: Wire, reply: Reply, body: Mapping[str, Any], model: str | None) -> _Plan:
        fault = reply.fault
        text, reasoning, finish = reply.text, reply.reasoning, reply.finish_reason
        if fault is not None and fault.kind == "empty":
            text, reasoning, finish = "", "", "stop"
        elif fault is not None and fault.kind == "reasoning_only":
            text, reasoning, finish = "", reasoning or _DEFAULT_REASONING, "length"
        rwords = len(reasoning.split())
        prompt = _words(body.get("messages")) + _words(body.get("system"))
        completion = len(text.split()) + rwords
        if fault is not None and fault.kind == "empty":
            completion = 0
        rid = reply.request_id or ("chatcmpl-" if wire == "openai" else "msg_") + secrets.token_hex(12)
        chunks = [("reasoning", p) for p in _split_chunks(reasoning, reply.chunk_chars)]
        chunks += [("text", p) for p in _split_chunks(text, reply.chunk_chars)]
        return cls(
            wire=wire, reply=reply, fault=fault, rid=rid,
            model=reply.model or f"{model or 'fake-model'}-2026-01",
            text=text, reasoning=reasoning, finish=finish,
            prompt_tokens=reply.prompt_tokens if reply.prompt_tokens is not None else prompt,
            completion_tokens=reply.completion_tokens if reply.completion_tokens is not None else completion,
            reasoning_tokens=reply.reasoning_tokens if reply.reasoning_tokens is not None else rwords,
            chunks=chunks,
        )

    def openai_usage(self) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
        }
        if self.reply.cost is not None:
            usage["cost"] = self.reply.cost
        return usage

    def anthropic_usage(self, output_tokens: int) -> dict[str, Any]:
        return {"input_tokens": self.prompt_tokens, "output_tokens": output_tokens,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}

    @property
    def stop_reason(self) -> str:
        return _STOP_REASONS.get(self.finish, self.finish)


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class _Handler(BaseHTTPRequestHandler):
    """Serves one connection; each POST becomes one scripted response."""

    protocol_version = "HTTP/1.1"
    server_version = "symposia-fake/1"

    def setup(self) -> None:
        super().setup()
        # Small SSE writes must leave at once: Nagle + delayed ACK would add ~40 ms per event.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._httpd().track(self.connection)
        self._buf: list[bytes] = []

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._httpd().untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Log nothing: request lines and headers may carry API keys."""

    def _httpd(self) -> _HTTPServer:
        assert isinstance(self.server, _HTTPServer)
        return self.server

    @property
    def fake(self) -> FakeServer:
        return self._httpd().fake

    # -- raw output ------------------------------------------------------------------------------

    def _head(self, status: int, headers: list[tuple[str, str]]) -> bytes:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Site Overloaded" if status == 529 else "Error"
        lines = [f"HTTP/1.1 {status} {phrase}", f"Server: {self.server_version}",
                 f"Date: {self.date_time_string()}"]
        lines += [f"{k}: {v}" for k, v in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
        except OSError as exc:
            raise _Abort from exc

    def _send_json(self, status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> None:
        body = _json_bytes(obj)
        head = self._head(status, [("Content-Type", "application/json"),
                                   ("Content-Length", str(len(body))), *(headers or [])])
        self._write(head + body)

    def _event(self, payload: bytes) -> None:
        """Queue one SSE event as one HTTP chunk; it goes out at the next flush."""
        self._buf.append(b"%X\r\n%s\r\n" % (len(payload), payload))

    def _flush(self) -> None:
        if self._buf:
            data = b"".join(self._buf)
            self._buf.clear()
            self._write(data)

    def _sleep(self, seconds: float) -> None:
        """Flush what is queued and wait (no-op for 0 s, so undelayed events share one write).

        Raises _Abort when the server is stopping."""
        if seconds > 0:
            self._flush()
            if self.fake._stopping.wait(seconds):
                raise _Abort
        if self.fake._stopping.is_set():
            raise _Abort

    def _hard_close(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _hang_forever(self) -> None:
        """Send nothing until the server stops (which closes the socket)."""
        self.fake._stopping.wait()
        raise _Abort

    # -- request handling ------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        try:
            if path.endswith("/models"):
                ids = list(self.fake.models)
                if "anthropic-version" in {k.lower() for k in self.headers}:
                    data = [{"type": "model", "id": m, "display_name": m,
                             "created_at": "2026-01-01T00:00:00Z"} for m in ids]
                    self._send_json(200, {"data": data, "has_more": False,
                                          "first_id": ids[0] if ids else None,
                                          "last_id": ids[-1] if ids else None})
                else:
                    self._send_json(200, {"object": "list", "data": [
                        {"id": m, "object": "model", "created": 1767225600, "owned_by": "symposia-fake"}
                        for m in ids]})
            else:
                self._send_json(404, {"error": {"message": f"no route for GET {path}", "type": "not_found"}})
        except _Abort:
            self._hard_close()

    def do_POST(self) -> None:
        t = time.monotonic()
        raw = self._read_body()
        path = urlsplit(self.path).path
        headers = {k.lower(): v for k, v in self.headers.items()}
        wire: Wire | None = None
        if path.rstrip("/").endswith("/chat/completions"):
            wire = "openai"
        elif path.rstrip("/").endswith("/v1/messages"):
            wire = "anthropic"
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        model = body.get("model") if isinstance(body.get("model"), str) else None
        stream = body.get("stream") is True
        self.fake._record(RecordedRequest(path=path, headers=headers, body=body, model=model,
                                          stream=stream, t=t, wire=wire))
        try:
            self._answer(path, wire, headers, parsed, body, model, stream)
        finally:
            self.fake._done()

    def _answer(self, path: str, wire: Wire | None, headers: dict[str, str], parsed: Any, body: dict[str, Any],
                model: str | None, stream: bool) -> None:
        try:
            if wire is None:
                self._send_json(404, {"error": {"message": f"no route for POST {path}; use "
                                                "/v1/chat/completions or /v1/messages",
                                                "type": "not_found", "code": "not_found"}})
                return
            problem = self._check(wire, headers, parsed, body)
            if problem is not None:
                status, kind, message = problem
                self._send_error(wire, status, kind, message, None, "req_" + secrets.token_hex(8))
                return
            reply = self.fake._next_reply(model)
            if reply.hold_until_in_flight:
                self.fake._hold_until_in_flight(reply.hold_until_in_flight)
            plan = _Plan.build(wire, reply, body, model)
            self._respond(plan, stream, body)
        except _Abort:
            self._hard_close()

    def _read_body(self) -> bytes:
        """The request body, by Content-Length or chunked transfer-encoding."""
        try:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                parts: list[bytes] = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return b"".join(parts)
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:  # unreadable framing: answer (400) and drop the connection
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def _check(self, wire: Wire, headers: Mapping[str, str], parsed: Any,
               body: Mapping[str, Any]) -> tuple[int, str, str] | None:
        """Reject what the real services reject: missing credentials, non-JSON, missing fields."""
        if self.fake.require_auth:
            if wire == "openai":
                if not _api_key({"authorization": headers.get("authorization", "")}):
                    return 401, "http_401", "Missing bearer token: send 'Authorization: Bearer <key>'."
            else:
                # The anthropic SDK 2.x sends its api_key as "Authorization: Bearer"; the HTTP API
                # documents x-api-key. Accept either, as api.anthropic.com does.
                if not _api_key(headers):
                    return 401, "http_401", "x-api-key header is required"
                if not headers.get("anthropic-version"):
                    return 401, "http_401", "anthropic-version header is required"
        if not isinstance(parsed, dict):
            return 400, "http_400", "The request body must be a JSON object."
        if not isinstance(body.get("model"), str) or not body["model"]:
            return 400, "http_400", "model: a model id is required"
        if not isinstance(body.get("messages"), list):
            return 400, "http_400", "messages: a list of messages is required"
        if wire == "anthropic" and not isinstance(body.get("max_tokens"), int):
            return 400, "http_400", "max_tokens: Field required"
        return None

    # -- errors ----------------------------------------------------------------------------------

    def _send_error(self, wire: Wire, status: int, kind: str, message: str,
                    retry_after: float | None, rid: str) -> None:
        _, oa_type, oa_code, an_type, default = _HTTP_FAULTS[kind]
        message = message or default
        headers: list[tuple[str, str]] = []
        if retry_after is not None:
            headers.append(("Retry-After", _retry_after_value(retry_after)))
            headers.append(("retry-after-ms", str(round(retry_after * 1000))))
        if wire == "openai" or kind == "dashscope_throttling":
            err: dict[str, Any] = {"message": message, "type": oa_type, "param": None, "code": oa_code}
            if kind == "spend_limit":
                err["error_code"] = "enforced_spend_limit_reached"
            if kind == "http_403":  # OpenRouter moderation refusals explain what was flagged
                err["metadata"] = {"reasons": ["flagged"], "flagged_input": "..."}
            obj: dict[str, Any] = {"error": err}
        else:
            aerr: dict[str, Any] = {"type": an_type, "message": message}
            if kind == "spend_limit":
                aerr["error_code"] = "enforced_spend_limit_reached"
            obj = {"type": "error", "error": aerr, "request_id": rid}
        headers.append(("x-request-id", rid) if wire == "openai" else ("request-id", rid))
        self._send_json(status, obj, headers)

    # -- replies ---------------------------------------------------------------------------------

    def _respond(self, plan: _Plan, stream: bool, body: Mapping[str, Any]) -> None:
        fault = plan.fault
        if fault is not None and fault.kind in _HTTP_FAULTS:
            status = _HTTP_FAULTS[fault.kind][0]
            self._send_error(plan.wire, status, fault.kind, fault.message, fault.retry_after, plan.rid)
            return
        if fault is not None and fault.kind == "hang":
            self._hang_forever()
        if stream:
            self._stream(plan, body)
        else:
            self._whole(plan)

    def _whole(self, plan: _Plan) -> None:
        """A non-streaming reply after ttft + per_token per chunk (the time a stream would take)."""
        reply, fault = plan.reply, plan.fault
        self._sleep(reply.ttft + reply.per_token * len(plan.chunks))
        rid_header = ("x-request-id" if plan.wire == "openai" else "request-id", plan.rid)
        if fault is not None and fault.kind == "midstream_error":
            if plan.wire == "anthropic":  # no stream to break: Anthropic answers 529 instead
                self._send_error("anthropic", 529, "http_529", fault.message, fault.retry_after, plan.rid)
                return
            # OpenRouter: HTTP 200 whose only choice ended with finish_reason "error".
            partial = "".join(p for k, p in plan.chunks[: fault.after_chunks] if k == "text")
            obj = self._openai_completion(plan, partial, "error")
            obj["error"] = {"code": 502, "message": fault.message or "Provider returned error"}
            self._send_json(200, obj, [rid_header])
            return
        if plan.wire == "openai":
            obj = self._openai_completion(plan, plan.text, plan.finish)
        else:
            content: list[dict[str, Any]] = []
            if plan.reasoning:
                content.append({"type": "thinking", "thinking": plan.reasoning,
                                "signature": _THINKING_SIGNATURE})
            if plan.text:
                content.append({"type": "text", "text": plan.text})
            obj = {"id": plan.rid, "type": "message", "role": "assistant", "model": plan.model,
                   "content": content, "stop_reason": plan.stop_reason, "stop_sequence": None,
                   "usage": plan.anthropic_usage(plan.completion_tokens)}
        if fault is not None and fault.kind in ("drop", "hang_stream"):
            data = _json_bytes(obj)
            head = self._head(200, [("Content-Type", "application/json"),
                                    ("Content-Length", str(len(data))), rid_header])
            if fault.kind == "hang_stream":  # headers, then silence
                self._write(head)
                self._hang_forever()
            self._write(head + data[: len(data) // 2])
            self._hard_close()
            return
        self._send_json(200, obj, [rid_header])

    def _openai_completion(self, plan: _Plan, text: str, finish: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        if plan.reasoning:
            message[plan.reply.reasoning_field] = plan.reasoning
        return {"id": plan.rid, "object": "chat.completion", "created": int(time.time()),
                "model": plan.model, "system_fingerprint": None,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": plan.openai_usage()}

    def _stream(self, plan: _Plan, body: Mapping[str, Any]) -> None:
        rid_header = ("x-request-id" if plan.wire == "openai" else "request-id", plan.rid)
        self._buf.append(self._head(200, [("Content-Type", "text/event-stream; charset=utf-8"),
                                          ("Cache-Control", "no-cache"), ("Transfer-Encoding", "chunked"),
                                          rid_header]))
        events = _OpenAIEvents(plan, body) if plan.wire == "openai" else _AnthropicEvents(plan)
        for payload in events.opening():
            self._event(payload)
        reply, fault = plan.reply, plan.fault
        if reply.keepalives:
            gap = reply.ttft / (reply.keepalives + 1)
            for i in range(reply.keepalives):
                self._sleep(gap)
                self._event(events.keepalive(i))
            self._sleep(gap)
        else:
            self._sleep(reply.ttft)
        midstream = fault is not None and fault.kind in ("midstream_error", "drop", "hang_stream")
        for sent, (kind, piece) in enumerate(plan.chunks):
            if fault is not None and midstream and sent >= fault.after_chunks:
                break
            if sent:
                self._sleep(reply.per_token)
            for payload in events.chunk(kind, piece):
                self._event(payload)
        if fault is not None and midstream:
            if fault.kind == "midstream_error":
                self._event(events.error(fault.message))
                self._event(b"")  # zero-length chunk: a clean end of the HTTP body, no [DONE]
                self._flush()
            elif fault.kind == "drop":  # no terminating chunk: the client sees a truncated body
                self._flush()
                self._hard_close()
            else:
                i = 0
                while True:
                    self._sleep(_HANG_KEEPALIVE_S)
                    self._event(events.keepalive(i))
                    i += 1
            return
        for payload in events.closing():
            self._event(payload)
        self._event(b"")
        self._flush()


class _OpenAIEvents:
    """SSE payloads of an OpenAI chat-completions stream (``data: {json}`` ... ``data: [DONE]``)."""

    def __init__(self, plan: _Plan, body: Mapping[str, Any]) -> None:
        self.plan = plan
        options = body.get("stream_options")
        self.include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
        self.created = int(time.time())
        self.first = True

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        obj = {"id": self.plan.rid, "object": "chat.completion.chunk", "created": self.created,
               "model": self.plan.model, "system_fingerprint": None, "choices": choices, **extra}
        return b"data: " + _json_bytes(obj) + b"\n\n"

    def opening(self) -> Iterator[bytes]:
        return iter(())

    def keepalive(self, i: int) -> bytes:
        comments = self.plan.reply.keepalive_comments
        return f": {comments[i % len(comments)]}\n\n".encode()

    def chunk(self, kind: str, piece: str) -> Iterator[bytes]:
        delta: dict[str, Any] = {}
        if self.first:
            delta["role"] = "assistant"
            self.first = False
        if kind == "reasoning":
            # DeepSeek-style: content is null while the model reasons; parsers must cope.
            delta["content"] = None
            delta[self.plan.reply.reasoning_field] = piece
        else:
            delta["content"] = piece
        yield self._chunk([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}])

    def closing(self) -> Iterator[bytes]:
        delta: dict[str, Any] = {"role": "assistant", "content": ""} if self.first else {}
        choice: dict[str, Any] = {"index": 0, "delta": delta, "logprobs": None,
                                  "finish_reason": self.plan.finish}
        mode = self.plan.reply.usage
        if mode == "choices0":  # Moonshot puts usage inside the last choice, asked for or not
            choice["usage"] = self.plan.openai_usage()
        yield self._chunk([choice])
        if mode == "final_chunk" and self.include_usage:
            yield self._chunk([], usage=self.plan.openai_usage())
        yield b"data: [DONE]\n\n"

    def error(self, message: str) -> bytes:
        # OpenRouter: a data event with finish_reason "error" and a top-level error object.
        err = {"code": "server_error", "message": message or "Provider disconnected unexpectedly"}
        return self._chunk([{"index": 0, "delta": {"content": ""}, "logprobs": None,
                             "finish_reason": "error"}], error=err)


class _AnthropicEvents:
    """SSE payloads of an Anthropic Messages stream (``event: name`` + ``data: {json}``)."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.block = -1
        self.block_kind: str | None = None

    @staticmethod
    def _ev(name: str, obj: Mapping[str, Any]) -> bytes:
        return b"event: " + name.encode() + b"\ndata: " + _json_bytes(obj) + b"\n\n"

    def opening(self) -> Iterator[bytes]:
        message: dict[str, Any] = {
            "id": self.plan.rid, "type": "message", "role": "assistant", "model": self.plan.model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": self.plan.anthropic_usage(1),
        }
        yield self._ev("message_start", {"type": "message_start", "message": message})
        yield self._ev("ping", {"type": "ping"})

    def keepalive(self, i: int) -> bytes:
        return self._ev("ping", {"type": "ping"})  # Anthropic's own keep-alive

    def _close_block(self) -> Iterator[bytes]:
        if self.block_kind == "reasoning":
            yield self._ev("content_block_delta", {"type": "content_block_delta", "index": self.block,
                                                   "delta": {"type": "signature_delta",
                                                             "signature": _THINKING_SIGNATURE}})
        if self.block_kind is not None:
            yield self._ev("content_block_stop", {"type": "content_block_stop", "index": self.block})
        self.block_kind = None

    def chunk(self, kind: str, piece: str) -> Iterator[bytes]:
        if kind != self.block_kind:
            yield from self._close_block()
            self.block += 1
            self.block_kind = kind
            start = ({"type": "thinking", "thinking": "", "signature": ""} if kind == "reasoning"
                     else {"type": "text", "text": ""})
            yield self._ev("content_block_start", {"type": "content_block_start", "index": self.block,
                                                   "content_block": start})
        delta = ({"type": "thinking_delta", "thinking": piece} if kind == "reasoning"
                 else {"type": "text_delta", "text": piece})
        yield self._ev("content_block_delta", {"type": "content_block_delta", "index": self.block,
                                               "delta": delta})

    def closing(self) -> Iterator[bytes]:
        yield from self._close_block()
        yield self._ev("message_delta", {"type": "message_delta",
                                         "delta": {"stop_reason": self.plan.stop_reason,
                                                   "stop_sequence": None},
                                         "usage": {"output_tokens": self.plan.completion_tokens}})
        yield self._ev("message_stop", {"type": "message_stop"})

    def error(self, message: str) -> bytes:
        return self._ev("error", {"type": "error",
                                  "error": {"type": "overloaded_error", "message": message or "Overloaded"}})
