"""The retry rules (retry.py) and the turn runner, the latter over both wire formats on the FakeServer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from symposia.errors import ProviderError
from symposia.providers.anthropic_native import AnthropicProvider
from symposia.providers.base import Provider, ProviderSpec, Timeouts
from symposia.providers.openai_compat import OpenAICompatProvider
from symposia.providers.retry import RetryPolicy, classify, parse_retry_after, status_error
from symposia.providers.runner import run_turn
from symposia.records import (
    Message,
    ReasoningChunk,
    Restart,
    StreamEvent,
    TextChunk,
    TurnRequest,
    TurnResult,
)
from symposia.testing import FakeServer, Fault, Reply

FAST = RetryPolicy(max_attempts=3, base=0.01, cap=2.0, jitter=0.0)
REQ = TurnRequest(model="m", messages=(Message("user", "Speak."),))
Event = TextChunk | ReasoningChunk | Restart

# -- classify ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (408, None, ("timeout", True)),
        (409, None, ("conflict", True)),
        (429, {"error": {"type": "rate_limit_error", "message": "slow down"}}, ("rate_limited", True)),
        (500, None, ("server_error", True)),
        (502, "<html>Bad Gateway</html>", ("server_error", True)),
        (503, None, ("server_error", True)),
        (504, None, ("timeout", True)),
        (529, {"type": "error", "error": {"type": "overloaded_error"}}, ("overloaded", True)),
        (599, None, ("server_error", True)),
        (400, {"error": {"type": "invalid_request_error"}}, ("bad_request", False)),
        (422, None, ("bad_request", False)),
        (401, None, ("auth", False)),
        (403, None, ("forbidden", False)),
        (402, {"error": {"code": "insufficient_credits"}}, ("payment_required", False)),
        (404, None, ("not_found", False)),
        (418, None, ("http_error", False)),
        # DashScope's throttle says "insufficient_quota" but is transient.
        (429, {"error": {"code": "Throttling.AllocationQuota", "type": "insufficient_quota",
                         "message": "You exceeded your current quota"}}, ("rate_limited", True)),
        (429, {"code": "Throttling.AllocationQuota", "message": "x"}, ("rate_limited", True)),  # native shape
        (429, "Throttling.AllocationQuota: slow", ("rate_limited", True)),
        # OpenAI-style billing exhaustion and Anthropic spend limits never clear by waiting.
        (429, {"error": {"code": "insufficient_quota", "type": "insufficient_quota"}},
         ("spend_limit", False)),
        (429, {"type": "error", "error": {"type": "rate_limit_error", "message": "limit",
                                          "details": {"error_code": "enforced_spend_limit_reached"}}},
         ("spend_limit", False)),
        (429, {"type": "error", "error": {"type": "rate_limit_error",
                                          "error_code": "enforced_spend_limit_reached"}},
         ("spend_limit", False)),
        # Moderation refusals.
        (400, {"code": "DataInspectionFailed", "message": "Input data may contain inappropriate content."},
         ("moderation", False)),
        (400, {"error": {"code": "data_inspection_failed"}}, ("moderation", False)),
        (403, {"error": {"message": "flagged", "metadata": {"reasons": ["violence"]}}},
         ("moderation", False)),
        (403, {"error": {"message": "Input was flagged by moderation"}}, ("forbidden", False)),
        # Errors inside a 200 stream.
        (None, {"error": {"code": 502, "message": "Provider returned error"}}, ("stream_error", True)),
        (None, {"type": "error", "error": {"type": "overloaded_error"}}, ("overloaded", True)),
        (None, {"type": "error", "error": {"type": "rate_limit_error"}}, ("rate_limited", True)),
        (None, {"type": "error", "error": {"type": "invalid_request_error"}}, ("bad_request", False)),
        (None, None, ("stream_error", True)),
        (200, {"error": {"message": "x"}}, ("stream_error", True)),
    ],
)
def test_classify(status: int | None, body: object, expected: tuple[str, bool]) -> None:
    assert classify(status, body) == expected  # type: ignore[arg-type]


def test_status_error_message_code_and_hint() -> None:
    e = status_error("openrouter", 401, {"error": {"message": "bad key sk-or-v1-AAAAAAAAAAAAAAAAAAAA",
                                                   "code": "invalid_api_key"}}, {"Retry-After": "3"})
    assert e.kind == "auth" and not e.retryable and e.status == 401
    assert e.code == "invalid_api_key"
    assert e.retry_after == 3.0
    assert "sk-or-v1-AAAA" not in str(e) and "[REDACTED]" in e.detail
    assert "check the API key" in e.detail


# -- Retry-After -------------------------------------------------------------------------------


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after({}) is None
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25  # ms wins
    assert parse_retry_after({"Retry-After-Ms": "bogus", "Retry-After": "2"}) == 2.0
    assert parse_retry_after({"Retry-After": "-1"}) is None
    assert parse_retry_after({"Retry-After": "soon"}) is None
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=now) == pytest.approx(30.0)
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"Retry-After": past}, now=now) == 0.0


def test_retry_policy_delays() -> None:
    p = RetryPolicy(max_attempts=5, base=0.5, cap=30.0, jitter=0.0)
    assert [p.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert p.delay(20) == 30.0  # capped
    assert p.delay(1, retry_after=3.0) == 3.0  # the server's word wins over a shorter backoff
    assert p.delay(4, retry_after=1.0) == 4.0  # ... but never shortens it
    assert p.delay(1, retry_after=600.0) == 30.0  # capped too
    j = RetryPolicy(base=1.0, jitter=0.1)
    for _ in range(50):
        assert 1.0 <= j.delay(1) <= 1.1
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base=-1)


# -- the runner over both wires ----------------------------------------------------------------

WIRES = ["openai", "anthropic"]


@pytest.fixture
def srv() -> Iterator[FakeServer]:
    with FakeServer() as s:
        yield s


def make(srv: FakeServer, wire: str, *, idle: float = 2.0, total: float = 10.0, concurrency: int = 8,
         max_attempts: int = 4, key: str = "sk-test-key-0000000000") -> Provider:
    t = Timeouts(connect=2.0, idle=idle, total=total)
    if wire == "openai":
        spec = ProviderSpec(name="openrouter", kind="openai", base_url=srv.openai_base_url, timeouts=t,
                            concurrency=concurrency, max_attempts=max_attempts)
        return OpenAICompatProvider(spec, key)
    spec = ProviderSpec(name="anthropic", kind="anthropic", base_url=srv.anthropic_base_url, timeouts=t,
                        concurrency=concurrency, max_attempts=max_attempts)
    return AnthropicProvider(spec, key)


async def turn(p: Provider, policy: RetryPolicy | None = FAST) -> tuple[TurnResult, list[Event]]:
    events: list[Event] = []
    res = await run_turn(p, REQ, voice="qwen", on_event=events.append, policy=policy)
    await p.aclose()
    return res, events


@pytest.mark.parametrize("wire", WIRES)
async def test_success_relays_events_and_sets_attempts(srv: FakeServer, wire: str) -> None:
    srv.enqueue(Reply(text="a whole answer in parts", reasoning="first thoughts", chunk_chars=4))
    res, events = await turn(make(srv, wire))
    assert res.ok and res.attempts == 1 and srv.request_count == 1
    text = "".join(e.text for e in events if isinstance(e, TextChunk))
    assert text == res.text == "a whole answer in parts"
    assert "".join(e.text for e in events if isinstance(e, ReasoningChunk)) == "first thoughts"
    assert not any(isinstance(e, Restart) for e in events)


@pytest.mark.parametrize("wire", WIRES)
async def test_429_retry_after_is_honoured(srv: FakeServer, wire: str) -> None:
    srv.enqueue(Reply(fault=Fault("http_429", retry_after=0.3)), Reply(text="finally"))
    res, events = await turn(make(srv, wire))
    assert res.ok and res.text == "finally" and res.attempts == 2
    assert srv.request_count == 2
    gap = srv.requests[1].t - srv.requests[0].t
    assert gap >= 0.3  # the policy alone would have waited 0.01 s
    restarts = [e for e in events if isinstance(e, Restart)]
    assert len(restarts) == 1 and restarts[0].attempt == 2 and "rate_limited" in restarts[0].reason


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("fault", ["http_500", "http_502", "http_503", "http_529", "dashscope_throttling"])
async def test_transient_errors_retried_then_succeed(srv: FakeServer, wire: str, fault: str) -> None:
    srv.enqueue(Reply(fault=Fault(fault)), Reply(fault=Fault(fault)), Reply(text="third time"))
    res, _ = await turn(make(srv, wire))
    assert res.ok and res.text == "third time"
    assert res.attempts == 3 and srv.request_count == 3


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize(
    ("fault", "kind"),
    [("http_400", "bad_request"), ("http_401", "auth"), ("http_402", "payment_required"),
     ("http_403", None), ("spend_limit", "spend_limit")],
)
async def test_permanent_errors_not_retried(srv: FakeServer, wire: str, fault: str, kind: str | None) -> None:
    srv.default = Reply(fault=Fault(fault))
    res, events = await turn(make(srv, wire))
    assert srv.request_count == 1
    assert res.error is not None and not res.error.retryable
    assert res.error.kind == (kind or ("moderation" if wire == "openai" else "forbidden"))
    assert res.text == "" and res.attempts == 1 and res.finish_reason == "error"
    assert "voice 'qwen'" in res.error.message
    assert res.flags[0] == "error"
    assert not events


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("fault", ["midstream_error", "drop"])
async def test_midstream_failure_restarts_whole_turn(srv: FakeServer, wire: str, fault: str) -> None:
    srv.enqueue(Reply(text="doomed partial answer text", chunk_chars=4, fault=Fault(fault, after_chunks=3)),
                Reply(text="clean answer", chunk_chars=4))
    res, events = await turn(make(srv, wire))
    assert res.ok and res.text == "clean answer" and res.attempts == 2
    assert srv.request_count == 2
    idx = next(i for i, e in enumerate(events) if isinstance(e, Restart))
    before, after = events[:idx], events[idx + 1:]
    assert len(before) == 3 and all(isinstance(e, TextChunk) for e in before)
    assert "".join(e.text for e in after if isinstance(e, TextChunk)) == "clean answer"
    restart = events[idx]
    assert isinstance(restart, Restart) and restart.attempt == 2


@pytest.mark.parametrize("wire", WIRES)
async def test_hang_times_out_retries_then_records_error(srv: FakeServer, wire: str) -> None:
    srv.default = Reply(fault=Fault("hang"))
    res, events = await turn(make(srv, wire, idle=0.3), RetryPolicy(max_attempts=2, base=0.01, jitter=0))
    assert srv.request_count == 2
    assert res.error is not None and res.error.kind == "timeout" and res.error.retryable
    assert "no data from the provider for 0.3 s" in res.error.message  # the idle limit fired, not the total one
    assert res.attempts == 2 and res.text == ""
    assert [type(e) for e in events] == [Restart]


@pytest.mark.parametrize("wire", WIRES)
async def test_hang_stream_idle_timeout_despite_keepalives(srv: FakeServer, wire: str) -> None:
    srv.default = Reply(text="start then silence", chunk_chars=6, fault=Fault("hang_stream", after_chunks=1))
    res, events = await turn(make(srv, wire, idle=0.6), RetryPolicy(max_attempts=2, base=0.01, jitter=0))
    assert res.error is not None and res.error.kind == "timeout"
    assert "no data from the provider for 0.6 s" in res.error.message  # keep-alives are not data
    assert res.attempts == 2 and srv.request_count == 2
    restarts = [e for e in events if isinstance(e, Restart)]
    assert len(restarts) == 1 and "no data" in restarts[0].reason


@pytest.mark.parametrize("wire", WIRES)
async def test_empty_and_reasoning_only_flags(srv: FakeServer, wire: str) -> None:
    srv.enqueue(Reply(fault=Fault("empty")))
    res, _ = await turn(make(srv, wire))
    assert res.ok and res.flags == ("empty",) and res.attempts == 1
    srv.enqueue(Reply(fault=Fault("reasoning_only")))
    res, _ = await turn(make(srv, wire))
    assert res.ok and res.flags == ("empty", "reasoning_only", "truncated")
    assert res.reasoning


@pytest.mark.parametrize("wire", WIRES)
async def test_max_attempts_defaults_to_spec(srv: FakeServer, wire: str) -> None:
    srv.default = Reply(fault=Fault("http_503", retry_after=0.01))
    p = make(srv, wire, max_attempts=2)
    res = await run_turn(p, REQ, voice="kimi")
    await p.aclose()
    assert srv.request_count == 2 and res.attempts == 2
    assert res.error is not None and res.error.status == 503 and res.error.kind == "server_error"


class CountingProvider:
    """Wraps a real provider and records how many of its streams are open at once."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.spec = inner.spec
        self.now = 0
        self.peak = 0

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent]:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            async for ev in self.inner.stream(request):
                yield ev
        finally:
            self.now -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("wire", WIRES)
async def test_concurrency_limit(srv: FakeServer, wire: str) -> None:
    # The first two replies wait until two requests are in flight at once: a limit of 1 (or a runner
    # that serialises calls) leaves the server's peak at 1; a limit above 2 lets the peak pass 2.
    srv.enqueue(*(Reply(text="slow reply", hold_until_in_flight=2) for _ in range(2)))
    srv.default = Reply(text="slow reply", ttft=0.05)
    p = CountingProvider(make(srv, wire, concurrency=2))
    results = await asyncio.gather(*(run_turn(p, REQ, voice=f"v{i}") for i in range(6)))
    await p.aclose()
    assert all(r.ok for r in results) and srv.request_count == 6
    assert p.peak == 2 and srv.peak_in_flight >= 2  # at most two open (client side), two at once (server side)


async def test_concurrency_limits_are_per_provider(srv: FakeServer) -> None:
    # Each provider allows one call at a time; the two providers' calls still run side by side.
    srv.default = Reply(text="x", hold_until_in_flight=2)
    a = CountingProvider(make(srv, "openai", concurrency=1))
    b = CountingProvider(make(srv, "anthropic", concurrency=1))
    ra, rb = await asyncio.gather(run_turn(a, REQ, voice="a"), run_turn(b, REQ, voice="b"))
    assert ra.ok and rb.ok
    assert srv.peak_in_flight >= 2 and (a.peak, b.peak) == (1, 1)
    await a.aclose()
    await b.aclose()


async def test_backoff_sleep_releases_the_slot(srv: FakeServer) -> None:
    # concurrency 1: while turn A waits out a Retry-After, turn B must be able to run.
    srv.enqueue(Reply(fault=Fault("http_429", retry_after=2.0)), model="a")
    p = make(srv, "openai", concurrency=1)
    req_a = TurnRequest(model="a", messages=REQ.messages)
    ra = asyncio.create_task(run_turn(p, req_a, voice="a", policy=FAST))
    assert await asyncio.to_thread(srv.wait_for_requests, 1)  # A was refused and now sleeps
    rb = await run_turn(p, TurnRequest(model="b", messages=REQ.messages), voice="b", policy=FAST)
    assert rb.ok and not ra.done()
    assert (await ra).ok
    # B was asked while A slept, not after A's retry: a held slot would give a, a, b
    assert [r.model for r in srv.requests] == ["a", "b", "a"]
    await p.aclose()


class BrokenProvider:
    """A provider with a bug: the runner records it instead of crashing the dialogue."""

    def __init__(self) -> None:
        self.spec = ProviderSpec(name="broken", kind="scripted")
        self.calls = 0

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent]:
        self.calls += 1
        yield TextChunk("half")
        raise KeyError("oops")

    async def aclose(self) -> None:
        return None


async def test_unexpected_exception_is_recorded_not_retried() -> None:
    p = BrokenProvider()
    res = await run_turn(p, REQ, voice="glm47", policy=FAST)
    assert p.calls == 1
    assert res.error is not None and res.error.kind == "internal" and "KeyError" in res.error.message


class FlakyProvider:
    """Fails with a given ProviderError a number of times, then answers."""

    def __init__(self, failures: int, retry_after: float | None = None) -> None:
        self.spec = ProviderSpec(name="flaky", kind="scripted", max_attempts=3)
        self.failures = failures
        self.retry_after = retry_after
        self.calls = 0

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ProviderError("busy", provider="flaky", retryable=True, kind="server_error",
                                retry_after=self.retry_after)
        yield TextChunk("fine")
        yield TurnResult(text="fine", model_requested=request.model, finish_reason="stop")

    async def aclose(self) -> None:
        return None


async def test_policy_backoff_is_slept(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def recorded(delay: float, *args: object) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", recorded)
    p = FlakyProvider(failures=2)
    res = await run_turn(p, REQ, voice="x", policy=RetryPolicy(max_attempts=3, base=0.1, jitter=0))
    assert res.ok and res.attempts == 3
    assert slept == [pytest.approx(0.1), pytest.approx(0.2)]  # base, then doubled


async def test_exhausted_retries_record_last_error() -> None:
    p = FlakyProvider(failures=5)
    events: list[Event] = []
    res = await run_turn(p, REQ, voice="x", on_event=events.append,
                         policy=RetryPolicy(max_attempts=3, base=0.0, jitter=0))
    assert p.calls == 3 and res.attempts == 3
    assert res.error is not None and res.error.kind == "server_error" and res.error.retryable
    assert [e.attempt for e in events if isinstance(e, Restart)] == [2, 3]


async def test_cancelling_a_turn_propagates(srv: FakeServer) -> None:
    srv.default = Reply(text="x", ttft=5.0)
    p = make(srv, "openai")
    task = asyncio.create_task(run_turn(p, REQ, voice="x"))
    assert await asyncio.to_thread(srv.wait_for_requests, 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await p.aclose()
