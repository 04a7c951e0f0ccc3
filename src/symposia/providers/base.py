"""The one small protocol every provider speaks, and the spec that configures one.

A provider turns a :class:`~symposia.records.TurnRequest` into an async stream of
``TextChunk`` / ``ReasoningChunk`` events followed by exactly one final ``TurnResult``.
A failed attempt raises :class:`~symposia.errors.ProviderError` (with ``retryable`` and
``retry_after`` set); retrying whole turns, concurrency limits and converting the last failure
into a recorded ``TurnResult`` with ``error`` set is the job of :mod:`symposia.providers.runner`,
not of each provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from symposia.records import StreamEvent, TurnRequest

ProviderKind = Literal["openai", "anthropic", "local", "scripted", "llm"]


@dataclass(frozen=True)
class Timeouts:
    """Seconds. ``idle`` is the longest silence allowed between two *content* events of a stream
    (keep-alive comments do not count as progress); ``total`` bounds one attempt."""

    connect: float = 10.0
    idle: float = 120.0
    total: float = 600.0


@dataclass(frozen=True)
class ProviderSpec:
    """A provider as configured in the catalog (``[providers.NAME]``)."""

    name: str
    kind: ProviderKind
    base_url: str | None = None
    key_env: str | None = None  # environment variable holding the key, e.g. OPENROUTER_API_KEY
    key_required: bool = True  # False for local servers where the key is optional
    concurrency: int = 8  # max in-flight calls to this provider
    max_attempts: int = 4  # whole-turn attempts (1 = no retry)
    timeouts: Timeouts = field(default_factory=Timeouts)
    headers: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # kind-specific (e.g. scripted: path)
    description: str = ""


@runtime_checkable
class Provider(Protocol):
    """One configured provider instance. Safe to share between concurrent turns."""

    spec: ProviderSpec

    def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent]:
        """Yield text/reasoning chunks, then one ``TurnResult``; raise ``ProviderError`` on failure.

        The final ``TurnResult`` carries at least: text, reasoning, finish_reason, model_requested,
        model_reported, request_id, usage, ttft_s, latency_s (``attempts`` is set by the runner).
        """
        ...

    async def aclose(self) -> None:
        """Release connections / models."""
        ...
