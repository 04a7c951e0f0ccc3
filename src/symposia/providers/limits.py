"""How many calls may be in flight to one provider: an adaptive limit (AIMD), shared in the process.

A round runs all its voices at once unless the provider's limits say otherwise. ``concurrency`` in a
provider's catalog table is such a limit (a hard ceiling: a local model that runs one call at a
time, a server with N slots); without it, the limit starts high (:data:`ADAPTIVE_START`) and adapts
to what the provider says: a rate-limit answer (429, a throttle) halves it (multiplicative decrease,
at most once per :data:`DECREASE_EVERY_S`, so one burst of 429s counts once), and each run of as many
successes as the limit raises it by one again (additive increase), back up to its ceiling.

One limit per provider (name and address) per event loop, shared by every session the process runs
(the web server runs several at once): two councils on one provider share its budget.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from types import TracebackType

from symposia.providers.base import Provider

__all__ = ["ADAPTIVE_MAX", "ADAPTIVE_START", "AdaptiveLimit", "limiter_for"]

ADAPTIVE_START = 64  # a round of up to 64 voices goes out at once
ADAPTIVE_MAX = 256
DECREASE_EVERY_S = 1.0


class AdaptiveLimit:
    """An async context manager admitting at most :attr:`limit` holders at a time; the limit moves
    with :meth:`throttled` (halve) and :meth:`succeeded` (creep back up, +1 per ``limit`` successes)."""

    def __init__(self, ceiling: int | None = None) -> None:
        self.ceiling = max(1, ceiling) if ceiling is not None else ADAPTIVE_MAX
        self.limit = self.ceiling if ceiling is not None else min(ADAPTIVE_START, self.ceiling)
        self.in_flight = 0
        self.peak = 0
        self.decreases = 0
        self._successes = 0
        self._last_decrease = -1e9
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> AdaptiveLimit:
        if self.in_flight >= self.limit or self._waiters:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut  # _wake() counted us in before waking us: the place is ours
            except asyncio.CancelledError:
                if fut in self._waiters:
                    self._waiters.remove(fut)
                elif fut.done() and not fut.cancelled():
                    self.in_flight -= 1  # admitted but leaving: pass the place on
                    self._wake()
                raise
        else:
            self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self.in_flight < self.limit and self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                self.in_flight += 1  # handed over now, so no newcomer can take it meanwhile
                fut.set_result(None)

    def throttled(self) -> None:
        """The provider said "too many" (429 / throttle): halve the limit, once per burst."""
        now = time.monotonic()
        if now - self._last_decrease < DECREASE_EVERY_S:
            return
        self._last_decrease = now
        self.limit = max(1, self.limit // 2)
        self._successes = 0
        self.decreases += 1

    def succeeded(self) -> None:
        """A call went through: after ``limit`` of them in a row, allow one more in flight."""
        if self.limit >= self.ceiling:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            self._wake()


_PerLoop = dict[tuple[str, str | None, int | None], AdaptiveLimit]
_LIMITS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _PerLoop] = weakref.WeakKeyDictionary()


def limiter_for(provider: Provider) -> AdaptiveLimit:
    """The process-wide limit of ``provider``'s endpoint on the running loop."""
    loop = asyncio.get_running_loop()
    per_loop = _LIMITS.get(loop)
    if per_loop is None:
        per_loop = _LIMITS[loop] = {}
    spec = provider.spec
    key = (spec.name, spec.base_url, spec.concurrency)
    limit = per_loop.get(key)
    if limit is None:
        limit = per_loop[key] = AdaptiveLimit(spec.concurrency)
    return limit
