"""Run one turn against a provider: concurrency limit, whole-turn retries, and a recorded outcome.

:func:`run_turn` never raises for a provider failure. A retryable :class:`ProviderError` (including
one raised mid-stream, after text was already relayed) restarts the whole turn after a backoff;
each restart is announced with a :class:`Restart` event so a live view can drop partial text. The
last failure becomes a ``TurnResult`` with empty text and ``error`` set, which the archive stores
like any other call.

:class:`Deadline` bounds one provider attempt (idle and total timeouts) and is used by the network
providers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from symposia.codec import datetime_to_iso
from symposia.errors import ProviderError
from symposia.providers.base import Provider
from symposia.providers.limits import limiter_for
from symposia.providers.retry import RetryPolicy
from symposia.records import (
    ErrorInfo,
    ReasoningChunk,
    Restart,
    TextChunk,
    TurnRequest,
    TurnResult,
    utcnow,
)
from symposia.redact import redact

log = logging.getLogger(__name__)

OnEvent = Callable[[TextChunk | ReasoningChunk | Restart], None]


class Deadline:
    """Idle and total timeouts for one attempt, without a timer or task per chunk.

    The provider sets ``waiting`` around each network await and calls :meth:`progress` on each
    content event (answer text, reasoning, usage). A single timer re-arms itself lazily; when it
    finds the attempt silent for ``idle`` seconds (or past ``total``) *while waiting on the
    network*, it cancels the task, and :meth:`expired` turns that cancellation into a timeout.
    Keep-alive comments never reach the provider through the SSE parser, so they never count as progress.
    """

    __slots__ = ("_handle", "_loop", "_task", "fired", "idle", "last", "total", "total_at", "waiting")

    def __init__(self, idle: float, total: float) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Deadline must be created inside a task")
        self._task = task
        self.idle = idle
        self.total = total
        now = self._loop.time()
        self.last = now
        self.total_at = now + total
        self.waiting = False
        self.fired: str | None = None
        self._handle: asyncio.TimerHandle | None = self._loop.call_at(min(now + idle, self.total_at),
                                                                      self._check)

    def progress(self) -> None:
        """Content arrived: restart the idle clock."""
        self.last = self._loop.time()

    def _check(self) -> None:
        now = self._loop.time()
        if self.waiting:
            if now >= self.total_at:
                self._fire("total")
                return
            if now - self.last >= self.idle:
                self._fire("idle")
                return
        nxt = min(self.last + self.idle, self.total_at)
        if nxt <= now:  # overdue but the consumer holds the stream: look again shortly
            nxt = now + min(self.idle, 0.05)
        self._handle = self._loop.call_at(nxt, self._check)

    def _fire(self, why: str) -> None:
        self.fired = why
        self._handle = None
        self._task.cancel()

    def expired(self) -> bool:
        """Call on ``CancelledError``: True when the cancellation was this deadline's own (then it is
        absorbed); False when someone else cancelled the task (re-raise it)."""
        if self.fired is None:
            return False
        return self._task.uncancel() == 0

    def describe(self) -> str:
        if self.fired == "total":
            return f"the call took longer than {self.total:g} s"
        return f"no data from the provider for {self.idle:g} s"

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def error_info(exc: ProviderError, voice: str) -> ErrorInfo:
    st = f" (HTTP {exc.status})" if exc.status is not None else ""
    message = redact(f"voice {voice!r} via {exc.provider!r}{st}: {exc.detail}")
    return ErrorInfo(kind=exc.kind, message=message, status=exc.status,
                     code=redact(exc.code) if exc.code else None, retryable=exc.retryable)


def _attempt_entry(n: int, started: datetime, streamed: int, failure: ProviderError | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"attempt": n, "started_at": datetime_to_iso(started),
                             "ended_at": datetime_to_iso(utcnow()), "status": "ok" if failure is None else "error",
                             "bytes_streamed": streamed}
    if failure is not None:
        entry.update(kind=failure.kind, http_status=failure.status, retryable=failure.retryable,
                     error=redact(failure.detail))
    return entry


async def run_turn(
    provider: Provider,
    request: TurnRequest,
    *,
    voice: str,
    on_event: OnEvent | None = None,
    policy: RetryPolicy | None = None,
    attempt_log: list[dict[str, Any]] | None = None,
) -> TurnResult:
    """Run ``request`` on ``provider`` with retries; return the final result, never raise for a
    provider failure. ``on_event`` receives streamed chunks and a ``Restart(attempt, reason)``
    before each retry (``attempt`` is the number of the attempt about to start).

    The result's ``started_at``/``ended_at``/``latency_s`` cover the whole call, retries and waits
    included. ``attempt_log``, when given, receives one entry per attempt: start, end, status, error
    (kind, HTTP status, message) and the bytes of text and reasoning it streamed.
    """
    if policy is None:
        policy = RetryPolicy(max_attempts=max(1, provider.spec.max_attempts),
                             max_retry_after=provider.spec.max_retry_after)
    limit = limiter_for(provider)
    turn_start = utcnow()
    t_start = time.perf_counter()
    attempt = 0
    while True:
        attempt += 1
        failure: ProviderError
        t0 = time.perf_counter()
        a_start = utcnow()
        streamed = 0
        async with limit:
            events = provider.stream(request)
            try:
                result: TurnResult | None = None
                async for ev in events:
                    if isinstance(ev, TurnResult):
                        result = ev
                    else:
                        if isinstance(ev, TextChunk | ReasoningChunk):
                            streamed += len(ev.text.encode("utf-8", "replace"))
                        if on_event is not None:
                            on_event(ev)
                if result is None:
                    raise ProviderError("the stream ended without a result", provider=provider.spec.name,
                                        retryable=True, kind="stream_error")
                limit.succeeded()
                if attempt_log is not None:
                    attempt_log.append(_attempt_entry(attempt, a_start, streamed, None))
                if attempt == 1:
                    return replace(result, attempts=1)
                return replace(result, attempts=attempt, started_at=turn_start, ended_at=utcnow(),
                               latency_s=time.perf_counter() - t_start)
            except ProviderError as exc:
                failure = exc
            except Exception as exc:  # a bug in a provider must not take the whole dialogue down
                log.exception("provider %r raised an unexpected error", provider.spec.name)
                failure = ProviderError(f"internal error: {type(exc).__name__}: {exc}",
                                        provider=provider.spec.name, kind="internal")
            finally:
                aclose = getattr(events, "aclose", None)  # release the connection on any early exit
                if aclose is not None:
                    await aclose()
        del t0
        if failure.kind == "rate_limited":
            limit.throttled()
        if attempt_log is not None:
            attempt_log.append(_attempt_entry(attempt, a_start, streamed, failure))
        wait = policy.delay(attempt, failure.retry_after) if failure.retryable else 0.0
        too_long = failure.retry_after is not None and failure.retry_after > policy.max_retry_after
        if not failure.retryable or attempt >= policy.max_attempts or too_long:
            if too_long:
                failure = ProviderError(
                    f"{failure.detail} (the provider asked to retry after {failure.retry_after:g} s, more than "
                    f"the {policy.max_retry_after:g} s this provider may wait: raise max_retry_after in its "
                    "[providers.NAME] table to wait longer)",
                    provider=failure.provider, status=failure.status, retryable=failure.retryable,
                    kind=failure.kind, code=failure.code, retry_after=failure.retry_after)
            return TurnResult(
                text="",
                finish_reason="error",
                model_requested=request.model,
                latency_s=time.perf_counter() - t_start,
                attempts=attempt,
                error=error_info(failure, voice),
                started_at=turn_start,
                ended_at=utcnow(),
            )
        if on_event is not None:
            said = f"; waiting {wait:.0f} s as the provider asked (Retry-After)" if (
                failure.retry_after is not None and failure.retry_after >= 1) else ""
            on_event(Restart(attempt=attempt + 1, reason=redact(f"{failure.kind}: {failure.detail}{said}")))
        await asyncio.sleep(wait)
