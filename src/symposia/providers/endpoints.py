"""Several replicas behind one provider (e.g. vLLM servers): spread calls, cap each, skip the sick ones.

A provider lists its replicas in ``options.base_urls`` (``base_url`` is then ignored). Each call takes
the healthy endpoint with the fewest calls in flight, waiting while every endpoint is at its limit
(``options.endpoint_concurrency``, default: the provider's ``concurrency`` split evenly). An endpoint
whose call fails with a connection error, a timeout or a 5xx is marked down for ``endpoint_cooldown_s``
(doubling while it keeps failing, at most 5 minutes); before a downed endpoint gets calls again it must
pass a health check (``GET {base_url}/models``, any HTTP answer below 500). When every endpoint is down
the one that went down first is tried anyway, so a call never waits forever on health alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from symposia.errors import ConfigError, ProviderError
from symposia.providers.base import ProviderSpec

__all__ = ["Endpoint", "EndpointPool", "base_urls", "http_health_check"]

MAX_COOLDOWN_S = 300.0
HealthCheck = Callable[[str], Awaitable[bool]]


def base_urls(spec: ProviderSpec) -> tuple[str, ...]:
    """The provider's replicas: ``options.base_urls``, else its one ``base_url`` (or none)."""
    urls = spec.options.get("base_urls")
    if urls is None:
        return (spec.base_url,) if spec.base_url else ()
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u for u in urls):
        raise ConfigError(f"providers.{spec.name}.options.base_urls must be a non-empty list of URLs",
                          field=f"providers.{spec.name}.options.base_urls")
    return tuple(urls)


@dataclass
class Endpoint:
    url: str
    limit: int
    in_flight: int = 0
    peak: int = 0  # the most calls in flight at once
    calls: int = 0
    failures: int = 0  # in a row
    down_until: float = 0.0  # monotonic; 0: healthy
    down_since: float = 0.0

    @property
    def down(self) -> bool:
        return self.down_until > 0.0


async def http_health_check(url: str) -> bool:
    """``GET {url}/models`` answers below 500 (an auth error still means the server is up)."""
    import httpx  # deferred: only replicated providers check health

    from symposia.providers import tls

    try:
        async with httpx.AsyncClient(timeout=5.0, verify=tls.shared_context()) as client:
            r = await client.get(url.rstrip("/") + "/models")
        return r.status_code < 500
    except httpx.HTTPError:
        return False


class EndpointPool:
    """The replicas of one provider with their in-flight counts and health (one event loop)."""

    def __init__(self, spec: ProviderSpec, *, check: HealthCheck = http_health_check) -> None:
        urls = base_urls(spec)
        if not urls:
            raise ConfigError(f"provider {spec.name!r} has no base_url", field=f"providers.{spec.name}.base_url")
        per = spec.options.get("endpoint_concurrency", max(1, spec.slots // len(urls)))
        if isinstance(per, bool) or not isinstance(per, int) or per < 1:
            raise ConfigError(f"providers.{spec.name}.options.endpoint_concurrency must be an integer >= 1",
                              field=f"providers.{spec.name}.options.endpoint_concurrency")
        cooldown = spec.options.get("endpoint_cooldown_s", 5.0)
        self.cooldown_s = float(cooldown) if isinstance(cooldown, int | float) and cooldown > 0 else 5.0
        self.endpoints = [Endpoint(u, per) for u in urls]
        self._check = check
        self._changed: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _cond(self) -> asyncio.Condition:
        loop = asyncio.get_running_loop()  # asyncio primitives belong to one loop
        if self._changed is None or self._loop is not loop:
            self._changed, self._loop = asyncio.Condition(), loop
        return self._changed

    async def acquire(self) -> Endpoint:
        """The endpoint for the next call (waits while every usable one is at its limit)."""
        cond = self._cond()
        async with cond:
            while True:
                chosen = await self._pick()
                if chosen is not None:
                    chosen.in_flight += 1
                    chosen.peak = max(chosen.peak, chosen.in_flight)
                    chosen.calls += 1
                    return chosen
                await cond.wait()

    async def _pick(self) -> Endpoint | None:
        now = time.monotonic()
        for e in self.endpoints:  # a downed endpoint whose cooldown is over must pass a health check
            if e.down and e.down_until <= now and e.in_flight == 0:
                if await self._check(e.url):
                    e.down_until, e.failures = 0.0, 0
                else:
                    e.failures += 1
                    e.down_until = now + self._cooldown(e)
        healthy = [e for e in self.endpoints if not e.down]
        pool = healthy or sorted(self.endpoints, key=lambda e: e.down_since)[:1]
        free = [e for e in pool if e.in_flight < e.limit]
        return min(free, key=lambda e: (e.in_flight, e.calls)) if free else None

    def _cooldown(self, e: Endpoint) -> float:
        return float(min(MAX_COOLDOWN_S, self.cooldown_s * 2 ** max(0, e.failures - 1)))

    async def release(self, e: Endpoint, failure: BaseException | None = None) -> None:
        """The call on ``e`` ended; a transport failure or 5xx marks the endpoint down."""
        sick = isinstance(failure, ProviderError) and (
            failure.kind in ("connection", "timeout") or (failure.status is not None and failure.status >= 500))
        async with self._cond():
            e.in_flight -= 1
            if sick and not e.down:  # calls already under way when it went down do not extend the cooldown
                e.failures += 1
                now = time.monotonic()
                e.down_since = now
                e.down_until = now + self._cooldown(e)
            elif failure is None:
                e.failures = 0
            self._cond().notify_all()
