"""A provider with several replicas (``options.base_urls``) on real fake servers: calls spread, each
endpoint capped, a dead one skipped, and taken back once its health check passes."""

from __future__ import annotations

import asyncio
import time

import pytest

from symposia.providers.base import ProviderSpec
from symposia.providers.endpoints import EndpointPool, base_urls
from symposia.providers.registry import make_provider
from symposia.providers.runner import run_turn
from symposia.records import Message, TurnRequest
from symposia.testing import FakeServer, Reply

REQ = TurnRequest(model="m", messages=(Message("user", "hello"),))


def spec(*urls: str, **options: object) -> ProviderSpec:
    return ProviderSpec(name="replicas", kind="openai", concurrency=16, max_attempts=3,
                        options={"base_urls": list(urls), **options})


async def calls(provider: object, n: int) -> list[object]:
    try:
        return list(await asyncio.gather(*(run_turn(provider, REQ, voice="v") for _ in range(n))))  # type: ignore[arg-type]
    finally:
        await provider.aclose()  # type: ignore[attr-defined]


def test_calls_spread_over_replicas_each_within_its_limit() -> None:
    with FakeServer() as a, FakeServer() as b:
        for srv in (a, b):  # each reply waits until its server has 2 in flight: proves both run side by side
            srv.default = Reply(text="ok", hold_until_in_flight=2, ttft=0.02)
        provider = make_provider(spec(a.openai_base_url, b.openai_base_url, endpoint_concurrency=2), "k")
        results = asyncio.run(calls(provider, 12))
        assert all(r.ok for r in results)  # type: ignore[attr-defined]
        assert a.request_count + b.request_count == 12 and min(a.request_count, b.request_count) >= 4
        assert a.peak_in_flight >= 2 and b.peak_in_flight >= 2  # side by side on each replica...
        assert [e.peak for e in provider._pool.endpoints] == [2, 2]  # type: ignore[attr-defined]  # ...never more


def test_a_dead_replica_is_skipped_and_taken_back_after_a_health_check() -> None:
    with FakeServer() as a:
        dead = FakeServer()
        port = dead.port
        dead.start()
        dead.stop()  # nothing listens there now: connection refused
        provider = make_provider(spec(a.openai_base_url, f"http://127.0.0.1:{port}/v1", endpoint_cooldown_s=0.3),
                                 "k")
        first = asyncio.run(calls(provider, 10))
        assert all(r.ok for r in first) and a.request_count == 10  # type: ignore[attr-defined]
        pool = provider._pool  # type: ignore[attr-defined]
        assert pool is not None and pool.endpoints[1].down
        while pool.endpoints[1].down_until > time.monotonic():  # its cooldown (grows while checks fail)
            time.sleep(0.05)
        with FakeServer(port) as back:  # the replica returns: its health check passes, it gets calls again
            second = asyncio.run(calls(provider, 10))
            assert all(r.ok for r in second)  # type: ignore[attr-defined]
            assert back.request_count > 0 and not pool.endpoints[1].down


def test_base_urls_must_be_a_list_of_urls() -> None:
    with pytest.raises(Exception, match="base_urls"):
        base_urls(spec())
    assert base_urls(ProviderSpec(name="p", kind="openai", base_url="http://x")) == ("http://x",)
    with pytest.raises(Exception, match="endpoint_concurrency"):
        EndpointPool(spec("http://a", endpoint_concurrency=0))
