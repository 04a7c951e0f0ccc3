"""The Anthropic Messages wire of the fake server: whole messages, SSE events, error bodies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from symposia.testing.script import HTTP_FAULTS, THINKING_SIGNATURE, Plan, chat_body_problem, header_api_key
from symposia.testing.transport import json_bytes

__all__ = ["AnthropicEvents", "auth_problem", "body_problem", "error_body", "message"]


def auth_problem(headers: Mapping[str, str]) -> str | None:
    """Why the request is unauthorised, or None."""
    # The anthropic SDK 2.x sends its api_key as "Authorization: Bearer"; the HTTP API
    # documents x-api-key. Accept either, as api.anthropic.com does.
    if not header_api_key(headers):
        return "x-api-key header is required"
    if not headers.get("anthropic-version"):
        return "anthropic-version header is required"
    return None


def body_problem(body: Any) -> str | None:
    """Why a Messages body is invalid (HTTP 400), or None."""
    problem = chat_body_problem(body)
    if problem is not None:
        return problem
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    return None


def message(plan: Plan) -> dict[str, Any]:
    """A whole ``message`` object (thinking block first when the reply reasons)."""
    content: list[dict[str, Any]] = []
    if plan.reasoning:
        content.append({"type": "thinking", "thinking": plan.reasoning, "signature": THINKING_SIGNATURE})
    if plan.text:
        content.append({"type": "text", "text": plan.text})
    return {"id": plan.rid, "type": "message", "role": "assistant", "model": plan.model,
            "content": content, "stop_reason": plan.stop_reason, "stop_sequence": None,
            "usage": plan.anthropic_usage(plan.completion_tokens)}


def error_body(kind: str, message: str = "", request_id: str | None = None) -> dict[str, Any]:
    """The ``{"type": "error", "error": {...}}`` body for a fault kind."""
    _, _, _, an_type, default = HTTP_FAULTS[kind]
    err: dict[str, Any] = {"type": an_type, "message": message or default}
    if kind == "spend_limit":
        err["error_code"] = "enforced_spend_limit_reached"
    obj: dict[str, Any] = {"type": "error", "error": err}
    if request_id is not None:
        obj["request_id"] = request_id
    return obj


class AnthropicEvents:
    """SSE payloads of an Anthropic Messages stream (``event: name`` + ``data: {json}``)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.block = -1
        self.block_kind: str | None = None

    @staticmethod
    def _ev(name: str, obj: Mapping[str, Any]) -> bytes:
        return b"event: " + name.encode() + b"\ndata: " + json_bytes(obj) + b"\n\n"

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
                                                             "signature": THINKING_SIGNATURE}})
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
