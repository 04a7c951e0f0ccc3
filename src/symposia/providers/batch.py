"""Provider batch APIs (OpenAI Batch, Anthropic Message Batches): the common shape and the pure rules.

A :class:`BatchClient` turns requests into the provider's batch lines, submits a batch, reports its
state, and hands back one :class:`~symposia.records.TurnResult` per ``custom_id``. The rules kept
here are pure: the stable ``custom_id`` of a call, splitting lines at a provider's limits, and the
cost of a call at the batch price (prices are data: the provider's ``options.prices``).

Configure a provider for batches in the catalog (``[providers.NAME.options]``)::

    batch = true                     # the endpoint implements its vendor's batch API
    batch_price_factor = 0.5         # batch price / live price (both vendors: half)
    batch_poll_s = 30                # first poll interval; grows 1.5x up to batch_poll_max_s
    batch_max_requests = 50000       # default: the vendor's published limit
    batch_max_bytes = 200000000
    prices = { "gpt-x" = { input = 2.5, output = 10.0 } }   # USD per million tokens, live price
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from symposia.codec import request_to_dict
from symposia.errors import ConfigError, ProviderError
from symposia.providers.base import ProviderSpec
from symposia.providers.retry import NO_KEY
from symposia.records import TurnRequest, TurnResult, Usage
from symposia.redact import register_secret

__all__ = ["BatchClient", "BatchLimits", "BatchState", "Price", "SdkBatchClient", "batch_cost", "batch_limits",
           "batch_options", "custom_id", "poll_interval", "price_for", "split_lines"]

# Published limits per batch: (requests, bytes of input).
VENDOR_LIMITS: dict[str, tuple[int, int]] = {
    "openai": (50_000, 200 * 1024 * 1024),
    "anthropic": (100_000, 256 * 1024 * 1024),
}
DEFAULT_PRICE_FACTOR = 0.5

Phase = Literal["running", "ended"]


@dataclass(frozen=True)
class BatchLimits:
    max_requests: int
    max_bytes: int


@dataclass(frozen=True)
class BatchState:
    """A batch as the provider reports it: ``running`` or ``ended`` (results can be fetched)."""

    remote_id: str
    phase: Phase
    status: str  # the provider's own word: "in_progress", "completed", "expired", "ended", ...
    counts: Mapping[str, int]


@dataclass(frozen=True)
class Price:
    """USD per million tokens at the live price."""

    input: float
    output: float


class BatchClient(Protocol):
    """One provider's batch API."""

    spec: ProviderSpec

    def line(self, custom_id: str, request: TurnRequest) -> dict[str, Any]:
        """The provider's batch line for one request (a JSON object)."""
        ...

    tagged: bool
    """Whether a batch carries our tag (OpenAI: ``metadata``), so :meth:`candidates` names it exactly;
    where it cannot (Anthropic), candidates are matched by time and size and must be checked against
    their results before anything of them is used."""

    async def submit(self, lines: Sequence[dict[str, Any]], tag: str) -> str:
        """Submit one batch (never retried by the SDK: a lost answer is recovered with :meth:`candidates`,
        not by sending again); return the provider's batch id. ``tag`` (our id for it) goes along as
        metadata where the API allows."""
        ...

    async def candidates(self, tag: str, since_unix: float, count: int) -> list[str]:
        """The ids of the batches that may be the one submitted with ``tag`` at about ``since_unix``:
        with :attr:`tagged`, those carrying the tag; else those created then with ``count`` requests."""
        ...

    async def state(self, remote_id: str) -> BatchState: ...

    async def results(self, remote_id: str, models: Mapping[str, str]) -> dict[str, TurnResult | ProviderError]:
        """One outcome per ``custom_id`` the provider reports: a result, or the failure it reports (errors,
        expiries and cancellations); ``models`` maps custom_id to the requested model."""
        ...

    async def cancel(self, remote_id: str) -> None: ...

    async def aclose(self) -> None: ...


class SdkBatchClient:
    """What both SDK-backed clients share: an SDK client per event loop, SDK errors as ours, closing."""

    spec: ProviderSpec

    def __init__(self, spec: ProviderSpec, api_key: str | None) -> None:
        register_secret(api_key)
        self.spec = spec
        self._api_key = api_key or NO_KEY
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _new_client(self) -> Any:
        raise NotImplementedError

    def _map_error(self, exc: Exception) -> ProviderError | None:
        raise NotImplementedError

    def _sdk(self) -> Any:
        """The SDK client of the running event loop (pooled connections belong to one loop)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = self._new_client()
            self._loop = loop
        return self._client

    async def _call(self, what: str, coro: Any) -> Any:
        """Await an SDK call; its failure becomes a :class:`ProviderError` saying what was being done."""
        try:
            return await coro
        except Exception as exc:
            mapped = self._map_error(exc)
            if mapped is None:
                raise
            raise ProviderError(f"{what}: {mapped.detail}", provider=self.spec.name, status=mapped.status,
                                retryable=mapped.retryable, kind=mapped.kind, code=mapped.code) from exc

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(RuntimeError):  # created on an event loop that is gone
                await client.close()


def custom_id(session_id: str, step_key: str | None, voice: str, request: TurnRequest) -> str:
    """A stable id for one call: a hash of (session, step, voice, request); the sample number is part of
    the step key. 40 hex characters fit both vendors' rules (Anthropic: ``[a-zA-Z0-9_-]{1,64}``)."""
    payload = json.dumps({"session": session_id, "step": step_key, "voice": voice,
                          "request": request_to_dict(request)}, sort_keys=True, ensure_ascii=False)
    return "sy-" + hashlib.sha256(payload.encode()).hexdigest()[:40]


def batch_options(spec: ProviderSpec) -> bool:
    """Whether a provider offers a batch API (``options.batch = true`` on an openai/anthropic kind)."""
    enabled = spec.options.get("batch", False)
    if not isinstance(enabled, bool):
        raise ConfigError(f"providers.{spec.name}.options.batch must be true or false (not {enabled!r})",
                          field=f"providers.{spec.name}.options.batch")
    return enabled and spec.kind in VENDOR_LIMITS


def _positive(spec: ProviderSpec, key: str, default: float) -> float:
    value = spec.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"providers.{spec.name}.options.{key} must be a number > 0 (not {value!r})",
                          field=f"providers.{spec.name}.options.{key}")
    return float(value)


def batch_limits(spec: ProviderSpec) -> BatchLimits:
    requests, size = VENDOR_LIMITS.get(spec.kind, VENDOR_LIMITS["openai"])
    return BatchLimits(int(_positive(spec, "batch_max_requests", requests)),
                       int(_positive(spec, "batch_max_bytes", size)))


def poll_interval(spec: ProviderSpec) -> tuple[float, float]:
    """(first, longest) seconds between polls of a running batch."""
    first = _positive(spec, "batch_poll_s", 30.0)
    return first, max(first, _positive(spec, "batch_poll_max_s", 600.0))


def price_for(spec: ProviderSpec, model: str) -> Price | None:
    """The live price of ``model`` from ``options.prices``, or None when it is not listed."""
    table = spec.options.get("prices", {})
    entry = table.get(model) if isinstance(table, Mapping) else None
    if not isinstance(entry, Mapping):
        return None
    try:
        return Price(float(entry["input"]), float(entry["output"]))
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"providers.{spec.name}.options.prices.{model} needs numbers 'input' and 'output' "
                          "(USD per million tokens)", field=f"providers.{spec.name}.options.prices") from None


def batch_cost(spec: ProviderSpec, model: str, usage: Usage, live_estimate: float | None = None) -> float | None:
    """The cost of one batched call: the provider's own reported cost when it sends one; else the live
    price (the provider's ``options.prices``, else ``live_estimate`` from the shared price table) times
    ``batch_price_factor``. None when no price is known."""
    if usage.cost is not None:
        return usage.cost
    price = price_for(spec, model)
    live: float | None = live_estimate
    if price is not None and usage.prompt_tokens is not None and usage.completion_tokens is not None:
        live = (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / 1_000_000
    if live is None:
        return None
    return round(live * _positive(spec, "batch_price_factor", DEFAULT_PRICE_FACTOR), 10)


def split_lines(lines: Sequence[tuple[str, dict[str, Any]]], limits: BatchLimits, *,
                one_model: bool) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Cut ``(model, line)`` pairs into batches within the request and byte limits (one JSONL line each,
    newline included); ``one_model`` keeps each model in batches of its own (OpenAI's rule)."""
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for model, line in lines:
        groups.setdefault(model if one_model else "", []).append((model, line))
    for group in groups.values():
        current: list[tuple[str, dict[str, Any]]] = []
        size = 0
        for model, line in group:
            n = len(json.dumps(line, ensure_ascii=False).encode()) + 1
            if n > limits.max_bytes:
                raise ConfigError(f"one batch request is {n} bytes, over the provider's batch limit of "
                                  f"{limits.max_bytes} bytes; run this study without --batch")
            if current and (len(current) >= limits.max_requests or size + n > limits.max_bytes):
                yield current
                current, size = [], 0
            current.append((model, line))
            size += n
        if current:
            yield current
