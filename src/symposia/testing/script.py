"""The fake server's script model: scripted replies, injected faults, and a reply resolved against a request.

Everything here is pure data: :class:`Reply` and :class:`Fault` are what tests and ``--script`` files
write; :class:`Plan` is one reply resolved against one request (texts, ids, token counts, chunks),
which each wire format (:mod:`symposia.testing.openai_wire`, :mod:`symposia.testing.anthropic_wire`)
then renders.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

__all__ = ["FAULT_KINDS", "HTTP_FAULTS", "Fault", "Plan", "RecordedRequest", "Reply", "Wire", "chat_body_problem",
           "header_api_key", "known_fields", "reply_at", "split_chunks", "words"]

Wire = Literal["openai", "anthropic"]

# kind -> (HTTP status, OpenAI error type, OpenAI error code, Anthropic error type, default message)
HTTP_FAULTS: dict[str, tuple[int, str, str, str, str]] = {
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
STREAM_FAULTS = frozenset({"midstream_error", "drop", "hang", "hang_stream", "linger", "empty", "reasoning_only"})

FAULT_KINDS: frozenset[str] = frozenset(HTTP_FAULTS) | STREAM_FAULTS
"""Every value :attr:`Fault.kind` accepts."""

_USAGE_MODES = ("final_chunk", "choices0", "none")
_REASONING_FIELDS = ("reasoning_content", "reasoning")
# OpenAI finish_reason -> Anthropic stop_reason.
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                 "content_filter": "refusal"}
_DEFAULT_REASONING = "Let me think this through step by step before I answer the question"
HANG_KEEPALIVE_S = 0.2
THINKING_SIGNATURE = "RmFrZVNpZ25hdHVyZUZvclRlc3RzT25seQ=="


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
    ``linger``: the whole answer and its end of stream (OpenAI ``[DONE]``), then keep-alives every 0.2 s
    instead of the end of the HTTP body.
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
        return cls(**known_fields(cls, data))


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
        kwargs = known_fields(cls, data)
        fault = kwargs.get("fault")
        if fault is not None:
            if not isinstance(fault, Mapping):
                raise ValueError(f"invalid value for Reply.fault, expected an object (not {fault!r})")
            kwargs["fault"] = Fault.from_dict(fault)
        if "keepalive_comments" in kwargs:
            kwargs["keepalive_comments"] = tuple(kwargs["keepalive_comments"])
        return cls(**kwargs)


def known_fields(cls: type[Any], data: Mapping[str, Any]) -> dict[str, Any]:
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
        return header_api_key(self.headers)


def header_api_key(headers: Mapping[str, str]) -> str | None:
    if headers.get("x-api-key"):
        return headers["x-api-key"]
    auth = headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    return token or None


def chat_body_problem(body: Any) -> str | None:
    """Why a chat body (either wire) is invalid (HTTP 400), or None."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: a model id is required"
    if not isinstance(body.get("messages"), list):
        return "messages: a list of messages is required"
    return None


def reply_at(where: str, data: Any) -> Reply:
    try:
        return Reply.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


_WORD = re.compile(r"\S+\s*|\s+")


def split_chunks(text: str, size: int) -> list[str]:
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


def words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):  # a list of messages, or of content parts
        return sum(words(v) for v in value)
    if isinstance(value, Mapping):
        return words(value.get("content")) + words(value.get("text"))
    return 0


@dataclass
class Plan:
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
    def build(cls, wire: Wire, reply: Reply, body: Mapping[str, Any], model: str | None) -> Plan:
        fault = reply.fault
        text, reasoning, finish = reply.text, reply.reasoning, reply.finish_reason
        if fault is not None and fault.kind == "empty":
            text, reasoning, finish = "", "", "stop"
        elif fault is not None and fault.kind == "reasoning_only":
            text, reasoning, finish = "", reasoning or _DEFAULT_REASONING, "length"
        rwords = len(reasoning.split())
        prompt = words(body.get("messages")) + words(body.get("system"))
        completion = len(text.split()) + rwords
        if fault is not None and fault.kind == "empty":
            completion = 0
        rid = reply.request_id or ("chatcmpl-" if wire == "openai" else "msg_") + secrets.token_hex(12)
        chunks = [("reasoning", p) for p in split_chunks(reasoning, reply.chunk_chars)]
        chunks += [("text", p) for p in split_chunks(text, reply.chunk_chars)]
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
        return STOP_REASONS.get(self.finish, self.finish)

