"""A provider that replays answers from a script file: for demos, tests and re-enactments.

Script format (TOML or JSON), keyed by the voice's model id; ``default`` serves any other model::

    [models."qwen-seed"]
    replies = [
      "A plain answer.",
      { text = "Streamed slowly", per_chunk = 0.05, match = "altar" },
      { error = "server_error", message = "boom" },          # a failed call (retryable kinds retry)
      { text = "", reasoning = "only thinking", finish_reason = "length" },
    ]
    [default]
    replies = ["ok"]

A reply with ``match`` is chosen when the last user message contains that text; otherwise replies
are used in order and the last one repeats.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from symposia.errors import ConfigError, ProviderError
from symposia.providers.base import ProviderSpec
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
from symposia.tomlfile import TomlFile

_RETRYABLE = {"server_error", "rate_limited", "timeout", "connection", "overloaded"}
_WORDS = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True)
class ScriptedReply:
    text: str = ""
    reasoning: str = ""
    finish_reason: FinishReason = "stop"
    match: str | None = None
    delay: float = 0.0  # seconds before the first chunk
    per_chunk: float = 0.0  # seconds between chunks
    error: str | None = None  # error kind; the call fails
    message: str = ""

    @classmethod
    def parse(cls, raw: Any, where: str) -> ScriptedReply:
        if isinstance(raw, str):
            return cls(text=raw)
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: a reply must be a string or a table, not {type(raw).__name__}")
        known = {"text", "reasoning", "finish_reason", "match", "delay", "per_chunk", "error", "message"}
        unknown = set(raw) - known
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}; expected {sorted(known)}")
        return cls(**raw)


@dataclass
class Script:
    models: dict[str, list[ScriptedReply]] = field(default_factory=dict)
    default: list[ScriptedReply] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<script>") -> Script:
        models = {
            model: [ScriptedReply.parse(r, f"{source}: models.{model}") for r in table.get("replies", [])]
            for model, table in data.get("models", {}).items()
        }
        default = [ScriptedReply.parse(r, f"{source}: default") for r in data.get("default", {}).get("replies", [])]
        return cls(models=models, default=default)

    @classmethod
    def load(cls, path: Path) -> Script:
        src = TomlFile.read(path, "script")
        if path.suffix != ".json":
            return cls.from_dict(src.parse(), str(path))
        try:
            data = json.loads(src.text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid script: {exc.msg}", path=path, line=exc.lineno) from exc
        return cls.from_dict(data, str(path))


class ScriptedProvider:
    """Streams scripted replies word by word, with optional delays, as a real provider would."""

    def __init__(self, spec: ProviderSpec, api_key: str | None = None, script: Script | None = None) -> None:
        self.spec = spec
        if script is None:
            path = spec.options.get("path")
            script = Script.load(Path(str(path)).expanduser()) if path else Script()
        self.script = script
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()
        self.calls = 0  # calls made through this provider (tests count them)

    def _pick(self, request: TurnRequest) -> ScriptedReply:
        with self._lock:
            self.calls += 1
        replies = self.script.models.get(request.model) or self.script.default
        if not replies:
            raise ProviderError(f"the script has no replies for model {request.model!r}",
                                provider=self.spec.name, kind="bad_request")
        last_user = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        for r in replies:
            if r.match is not None and r.match in last_user:
                return r
        ordered = [r for r in replies if r.match is None] or replies
        with self._lock:
            i = self._next.get(request.model, 0)
            self._next[request.model] = i + 1
        return ordered[min(i, len(ordered) - 1)]

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent]:
        started_at = utcnow()
        t0 = time.monotonic()
        reply = self._pick(request)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.error:
            raise ProviderError(reply.message or f"scripted {reply.error}", provider=self.spec.name,
                                kind=reply.error, retryable=reply.error in _RETRYABLE)
        ttft: float | None = None
        for kind, body in (("reasoning", reply.reasoning), ("text", reply.text)):
            for piece in _WORDS.findall(body):
                if ttft is None:
                    ttft = time.monotonic() - t0
                yield ReasoningChunk(piece) if kind == "reasoning" else TextChunk(piece)
                if reply.per_chunk:
                    await asyncio.sleep(reply.per_chunk)
        prompt_words = sum(len(m.content.split()) for m in request.messages) + len((request.system or "").split())
        yield TurnResult(
            text=reply.text,
            reasoning=reply.reasoning,
            finish_reason=reply.finish_reason,
            model_requested=request.model,
            model_reported=request.model,
            usage=Usage(prompt_tokens=prompt_words, completion_tokens=len(reply.text.split()),
                        reasoning_tokens=len(reply.reasoning.split()), cost=0.0),
            ttft_s=ttft,
            latency_s=time.monotonic() - t0,
            started_at=started_at,
            ended_at=utcnow(),
        )

    async def aclose(self) -> None:
        return None
