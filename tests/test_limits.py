"""How many calls go out at once: a whole round by default, fewer after 429s, back up after successes."""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path

import pytest
from rich.console import Console

from support import fake_config, numbered
from symposia.api import Symposia, run_sync
from symposia.catalog import Voice
from symposia.cli.live import LiveView
from symposia.dialogue.council import CouncilPlan, run_council
from symposia.providers.base import ProviderSpec
from symposia.providers.limits import ADAPTIVE_START, AdaptiveLimit, limiter_for
from symposia.providers.openai_compat import OpenAICompatProvider
from symposia.providers.retry import RetryPolicy
from symposia.providers.runner import run_turn
from symposia.records import Message, Restart, TextChunk, TurnRequest
from symposia.testing import FakeServer, Fault, Reply

TWELVE = tuple(f"v{i:02d}" for i in range(12))


def test_a_round_of_twelve_goes_out_at_once_by_default(isolated_user_dirs: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-limits-123456")
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(TWELVE), max_attempts=1)  # no concurrency
        srv.default = Reply(text="slow", ttft=1.0)
        with Symposia(tmp_path / "l.db") as s:
            seen_all_before_any_answer: list[bool] = []

            class Watch:
                def note(self, text: str) -> None: ...
                def turn_started(self, key: str, voice: Voice, label: str) -> None: ...
                def event(self, key: str, event: TextChunk | object) -> None: ...

                def turn_finished(self, key: str, turn: object) -> None:
                    if not seen_all_before_any_answer:  # the first answer: were all 12 asked already?
                        seen_all_before_any_answer.append(srv.request_count == 12)

            out = run_sync(run_council(s.runtime, CouncilPlan(question="Q?", voices=TWELVE), observer=Watch()))
            assert out.status == "complete"
    assert seen_all_before_any_answer == [True]


def test_429s_halve_the_limit_once_per_burst_and_successes_bring_it_back() -> None:
    limit = AdaptiveLimit()
    assert limit.limit == ADAPTIVE_START
    limit.throttled()
    limit.throttled()  # the same burst: counted once
    assert limit.limit == ADAPTIVE_START // 2 and limit.decreases == 1
    for _ in range(ADAPTIVE_START // 2):
        limit.succeeded()
    assert limit.limit == ADAPTIVE_START // 2 + 1
    capped = AdaptiveLimit(2)
    for _ in range(10):
        capped.succeeded()
    assert capped.limit == 2  # a provider's own limit is never exceeded


async def test_the_limit_admits_no_more_than_it_says() -> None:
    limit = AdaptiveLimit(3)
    inside = 0
    peak = 0

    async def one() -> None:
        nonlocal inside, peak
        async with limit:
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(one() for _ in range(20)))
    assert peak == 3 and limit.in_flight == 0


async def test_rate_limits_lower_the_shared_limit_of_a_provider() -> None:
    with FakeServer() as srv:
        spec = ProviderSpec(name="fake", kind="openai", base_url=srv.openai_base_url, max_attempts=3)
        a, b = OpenAICompatProvider(spec, "k-limits-123456"), OpenAICompatProvider(spec, "k-limits-123456")
        assert limiter_for(a) is limiter_for(b)  # one budget per provider, whichever session asks
        srv.enqueue(*(Reply(fault=Fault("http_429", retry_after=0.05)) for _ in range(4)))
        req = TurnRequest(model="fake/x", messages=(Message("user", "hi"),))
        events: list[object] = []
        results = await asyncio.gather(*(run_turn(a if i % 2 else b, req, voice="x", on_event=events.append,
                                                  policy=RetryPolicy(max_attempts=3, base=0.01))
                                         for i in range(6)))
        assert all(r.ok for r in results)
        assert limiter_for(a).limit < ADAPTIVE_START and limiter_for(a).decreases >= 1
        assert any(isinstance(e, Restart) and "rate_limited" in e.reason for e in events)
        await a.aclose()
        await b.aclose()


def test_the_live_view_never_redraws_per_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    view = LiveView(console)
    here = threading.get_ident()
    renders_here = 0
    real = view._render

    def counting() -> object:
        nonlocal renders_here
        if threading.get_ident() == here:
            renders_here += 1
        return real()

    monkeypatch.setattr(view, "_render", counting)
    voice = Voice(shortcut="v", name="V", provider="fake", model="fake/v")
    with view:
        view.turn_started("r1:v", voice, "round 1")
        before = renders_here
        for i in range(2000):
            view.event("r1:v", TextChunk(f"w{i} "))
        during = renders_here - before
    assert during == 0  # chunks only update state: drawing is the refresh thread's, at most 10 times a second
    assert "".join(view.panes["r1:v"].text).startswith("w0 w1 ")
