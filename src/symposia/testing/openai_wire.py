"""The OpenAI chat-completions wire of the fake server: whole completions, SSE chunks, error bodies.

The OpenRouter, DeepSeek and Moonshot variants the providers must parse are here too (reasoning
fields, usage inside the last choice, ``finish_reason: "error"`` mid-stream).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from symposia.testing.script import HTTP_FAULTS, Plan, chat_body_problem, header_api_key
from symposia.testing.transport import json_bytes

__all__ = ["OpenAIEvents", "auth_problem", "body_problem", "completion", "error_body"]


def auth_problem(headers: Mapping[str, str]) -> str | None:
    """Why the request is unauthorised (a bearer token is required), or None."""
    if not header_api_key({"authorization": headers.get("authorization", "")}):
        return "Missing bearer token: send 'Authorization: Bearer <key>'."
    return None


def body_problem(body: Any) -> str | None:
    """Why a chat-completions body is invalid (HTTP 400), or None."""
    return chat_body_problem(body)


def completion(plan: Plan, text: str, finish: str) -> dict[str, Any]:
    """A whole ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if plan.reasoning:
        message[plan.reply.reasoning_field] = plan.reasoning
    return {"id": plan.rid, "object": "chat.completion", "created": int(time.time()),
            "model": plan.model, "system_fingerprint": None,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": plan.openai_usage()}


def error_body(kind: str, message: str = "") -> dict[str, Any]:
    """The ``{"error": {...}}`` body OpenAI-compatible services send for a fault kind."""
    _, oa_type, oa_code, _, default = HTTP_FAULTS[kind]
    err: dict[str, Any] = {"message": message or default, "type": oa_type, "param": None, "code": oa_code}
    if kind == "spend_limit":
        err["error_code"] = "enforced_spend_limit_reached"
    if kind == "http_403":  # OpenRouter moderation refusals explain what was flagged
        err["metadata"] = {"reasons": ["flagged"], "flagged_input": "..."}
    return {"error": err}


class OpenAIEvents:
    """SSE payloads of an OpenAI chat-completions stream (``data: {json}`` ... ``data: [DONE]``)."""

    def __init__(self, plan: Plan, body: Mapping[str, Any]) -> None:
        self.plan = plan
        options = body.get("stream_options")
        self.include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
        self.created = int(time.time())
        self.first = True

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        obj = {"id": self.plan.rid, "object": "chat.completion.chunk", "created": self.created,
               "model": self.plan.model, "system_fingerprint": None, "choices": choices, **extra}
        return b"data: " + json_bytes(obj) + b"\n\n"

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
