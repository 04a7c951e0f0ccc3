"""Plain records shared by every layer: what a voice is asked, what it streams, what a call produced.

These are pure data (frozen dataclasses). Providers produce them, the archive stores them, renderers
and analyses read them. Nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "error", "content_filter", "tool_calls", "unknown"]


def utcnow() -> datetime:
    """Timezone-aware now; every timestamp we store carries its zone."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Message:
    """One chat message exactly as sent to a provider."""

    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        return cls(role=d["role"], content=d["content"])


@dataclass(frozen=True)
class Params:
    """Sampling parameters for one call. ``extra`` passes provider-specific fields through verbatim."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None or v == () or v == {}:
                continue
            d[f.name] = list(v) if isinstance(v, tuple) else v
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Params:
        return cls(
            temperature=d.get("temperature"),
            max_tokens=d.get("max_tokens"),
            top_p=d.get("top_p"),
            stop=tuple(d.get("stop", ())),
            seed=d.get("seed"),
            extra=dict(d.get("extra", {})),
        )

    def merged(self, over: Params) -> Params:
        """``over`` wins wherever it sets a value; ``extra`` dicts are merged."""
        return Params(
            temperature=over.temperature if over.temperature is not None else self.temperature,
            max_tokens=over.max_tokens if over.max_tokens is not None else self.max_tokens,
            top_p=over.top_p if over.top_p is not None else self.top_p,
            stop=over.stop or self.stop,
            seed=over.seed if over.seed is not None else self.seed,
            extra={**self.extra, **over.extra},
        )


@dataclass(frozen=True)
class TurnRequest:
    """Everything a provider needs for one call. ``messages`` excludes the system prompt."""

    model: str
    messages: tuple[Message, ...]
    system: str | None = None
    params: Params = field(default_factory=Params)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: float | None = None  # in the provider's unit (USD or OpenRouter credits)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TextChunk:
    """A piece of the answer, streamed."""

    text: str


@dataclass(frozen=True)
class ReasoningChunk:
    """A piece of reasoning ("thinking") text, streamed; kept apart from the answer."""

    text: str


@dataclass(frozen=True)
class Restart:
    """The turn failed mid-stream and is being retried: discard what was streamed so far."""

    attempt: int
    reason: str


@dataclass(frozen=True)
class ErrorInfo:
    """A failed call, described without any secret in it."""

    kind: str  # e.g. "rate_limited", "server_error", "auth", "bad_request", "timeout", "connection"
    message: str
    status: int | None = None
    code: str | None = None
    retryable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ErrorInfo:
        return cls(**d)


@dataclass(frozen=True)
class TurnResult:
    """The final outcome of one model call (after retries)."""

    text: str
    reasoning: str = ""
    finish_reason: FinishReason = "unknown"
    model_requested: str = ""
    model_reported: str | None = None
    request_id: str | None = None
    usage: Usage = field(default_factory=Usage)
    ttft_s: float | None = None  # time to first token (answer or reasoning)
    latency_s: float = 0.0
    attempts: int = 1
    error: ErrorInfo | None = None
    started_at: datetime = field(default_factory=utcnow)
    ended_at: datetime = field(default_factory=utcnow)
    # Problems the provider itself found in the answer, e.g. "speaker_cut": the answer was cut where
    # the model began to speak for someone else. Stored with the derived flags (see ``flags``).
    marks: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def flags(self) -> tuple[str, ...]:
        """Problems a reader must see: never accept an empty or truncated answer silently."""
        out: list[str] = []
        if self.error is not None:
            out.append("error")
        if not self.text.strip():
            out.append("empty")
            if self.reasoning.strip():
                out.append("reasoning_only")
        if self.finish_reason == "length":
            out.append("truncated")
        out.extend(m for m in self.marks if m not in out)
        return tuple(out)


#: Flags computed from a result's fields; any other stored flag is one of its ``marks``.
DERIVED_FLAGS = frozenset({"error", "empty", "reasoning_only", "truncated"})

Chunk = TextChunk | ReasoningChunk | Restart
StreamEvent = TextChunk | ReasoningChunk | Restart | TurnResult


def quote_block(text: str) -> str:
    """``text`` as a Markdown blockquote (every line quoted, so it cannot break what is around it)."""
    return "\n".join("> " + line if line else ">" for line in (text or "(empty)").splitlines())


@dataclass(frozen=True)
class TurnRecord:
    """One stored model call: who was asked, exactly what they saw, and what came back."""

    id: int | None
    session_id: str
    seq: int
    voice: str  # catalog shortcut, e.g. "qwen"
    voice_name: str  # display name, e.g. "Qwen 3 Max"
    provider: str
    request: TurnRequest
    result: TurnResult
    role: Literal["voice", "host", "chair"] = "voice"
    step_key: str | None = None  # unique within a session: lets a resumed run skip finished calls
    meta: dict[str, Any] = field(default_factory=dict)

    def _repr_markdown_(self) -> str:
        """How a notebook shows a turn: who, which model, the answer (or the error), the usage."""
        r = self.result
        head = f"**{self.voice_name}** (`{self.voice}` · `{r.model_reported or self.request.model}`)"
        if r.error is not None:
            return f"{head} — failed: {r.error.kind}: {r.error.message}"
        u = r.usage
        foot = [f"turn {self.id}", f"session `{self.session_id}`", f"{r.latency_s:.1f} s"]
        if u.completion_tokens is not None:
            foot.append(f"{u.prompt_tokens or 0}+{u.completion_tokens} tokens")
        if u.cost:
            foot.append(f"${u.cost:.4f}")
        return f"{head}\n\n{quote_block(r.text)}\n\n<small>{' · '.join(foot)}</small>"


@dataclass(frozen=True)
class SessionRecord:
    id: str
    kind: str  # "ask", "council", "symposium", "arena", "chat", "import"
    title: str
    created_at: datetime
    status: Literal["running", "complete", "incomplete", "failed", "interrupted"] = "running"
    plan: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
