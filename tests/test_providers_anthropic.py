"""AnthropicProvider against the loopback FakeServer speaking the Messages wire format."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from symposia.errors import ProviderError
from symposia.providers.anthropic_native import DEFAULT_MAX_TOKENS, AnthropicProvider, shape_messages
from symposia.providers.base import ProviderSpec, Timeouts
from symposia.providers.retry import RetryPolicy
from symposia.providers.runner import run_turn
from symposia.records import (
    Message,
    Params,
    ReasoningChunk,
    StreamEvent,
    TextChunk,
    TurnRequest,
    TurnResult,
)
from symposia.testing import FakeServer, Fault, Reply

PLANTED = "sk-ant-api03-PLANTEDPLANTEDPLANTED0000"
FAST = RetryPolicy(max_attempts=3, base=0.01, cap=1.0, jitter=0.0)


@pytest.fixture
def srv() -> Iterator[FakeServer]:
    with FakeServer() as s:
        yield s


def make(srv: FakeServer, *, key: str = "sk-ant-test-key-000000000", idle: float = 2.0,
         total: float = 10.0) -> AnthropicProvider:
    spec = ProviderSpec(name="anthropic", kind="anthropic", base_url=srv.anthropic_base_url,
                        timeouts=Timeouts(connect=2.0, idle=idle, total=total))
    return AnthropicProvider(spec, key)


def req(**params: object) -> TurnRequest:
    return TurnRequest(model="claude-fake-1", messages=(Message("user", "Name a dialogue by Plato."),),
                       system="Answer in one line.", params=Params(**params))  # type: ignore[arg-type]


async def collect(p: AnthropicProvider, r: TurnRequest) -> tuple[list[StreamEvent], TurnResult]:
    events = [ev async for ev in p.stream(r)]
    final = events[-1]
    assert isinstance(final, TurnResult)
    return events[:-1], final


async def test_thinking_and_text_stream_apart(srv: FakeServer) -> None:
    srv.enqueue(Reply(text="The Symposium.", reasoning="Plato wrote many; pick one.", chunk_chars=4,
                      prompt_tokens=12, completion_tokens=20, request_id="msg_01ABC"))
    p = make(srv)
    events, res = await collect(p, req())
    await p.aclose()
    assert "".join(e.text for e in events if isinstance(e, ReasoningChunk)) == "Plato wrote many; pick one."
    assert "".join(e.text for e in events if isinstance(e, TextChunk)) == "The Symposium."
    assert isinstance(events[0], ReasoningChunk) and isinstance(events[-1], TextChunk)
    assert (res.text, res.reasoning) == ("The Symposium.", "Plato wrote many; pick one.")
    assert res.finish_reason == "stop"
    assert (res.usage.prompt_tokens, res.usage.completion_tokens) == (12, 20)
    assert res.model_reported == "claude-fake-1-2026-01"
    assert res.request_id == "msg_01ABC"
    assert res.ttft_s is not None and res.latency_s >= res.ttft_s
    assert res.flags == ()


async def test_request_shape(srv: FakeServer) -> None:
    p = make(srv)
    r = TurnRequest(
        model="claude-fake-2", system="Be brief.",
        messages=(Message("user", "first"), Message("user", "second"), Message("assistant", "ok"),
                  Message("user", "third")),
        params=Params(temperature=0.5, top_p=0.8, stop=("###",), seed=7,
                      extra={"thinking": {"type": "enabled", "budget_tokens": 1024}}),
    )
    await collect(p, r)
    await p.aclose()
    rec = srv.requests[0]
    assert rec.path == "/v1/messages"
    assert rec.stream is True
    body = rec.body
    assert body["system"] == "Be brief."
    assert body["messages"] == [
        {"role": "user", "content": "first\n\nsecond"},  # same-role neighbours merged
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "third"},
    ]
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS == 4096
    assert (body["temperature"], body["top_p"], body["stop_sequences"]) == (0.5, 0.8, ["###"])
    assert "seed" not in body  # no Anthropic equivalent
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}


async def test_max_tokens_from_params(srv: FakeServer) -> None:
    p = make(srv)
    await collect(p, req(max_tokens=50))
    await p.aclose()
    assert srv.requests[0].body["max_tokens"] == 50


def test_shape_messages_folds_system_messages() -> None:
    system, msgs = shape_messages("Top.", (Message("system", "Also this."), Message("user", "hi")))
    assert system == "Top.\n\nAlso this."
    assert msgs == [{"role": "user", "content": "hi"}]
    assert shape_messages(None, ())[0] is None


async def test_key_is_sent(srv: FakeServer) -> None:
    p = make(srv, key=PLANTED)
    await collect(p, req())
    await p.aclose()
    assert srv.requests[0].api_key == PLANTED


async def test_ping_keepalives_are_skipped(srv: FakeServer) -> None:
    srv.enqueue(Reply(text="after pings", ttft=0.3, keepalives=3))
    p = make(srv)
    events, res = await collect(p, req())
    await p.aclose()
    assert res.text == "after pings"
    assert all(isinstance(e, TextChunk) for e in events)


async def test_max_tokens_stop_is_length(srv: FakeServer) -> None:
    srv.enqueue(Reply(text="cut", finish_reason="length"))
    p = make(srv)
    _, res = await collect(p, req())
    await p.aclose()
    assert res.finish_reason == "length" and res.flags == ("truncated",)


async def test_empty_and_reasoning_only(srv: FakeServer) -> None:
    srv.enqueue(Reply(fault=Fault("empty")), Reply(reasoning="only thinking", fault=Fault("reasoning_only")))
    p = make(srv)
    _, empty = await collect(p, req())
    _, ronly = await collect(p, req())
    await p.aclose()
    assert empty.flags == ("empty",)
    assert ronly.reasoning == "only thinking"
    assert ronly.flags == ("empty", "reasoning_only", "truncated")


@pytest.mark.parametrize(
    ("fault", "status", "kind", "retryable"),
    [
        ("http_400", 400, "bad_request", False),
        ("http_401", 401, "auth", False),
        ("http_402", 402, "payment_required", False),
        ("http_403", 403, "forbidden", False),
        ("spend_limit", 429, "spend_limit", False),
        ("http_429", 429, "rate_limited", True),
        ("dashscope_throttling", 429, "rate_limited", True),
        ("http_500", 500, "server_error", True),
        ("http_502", 502, "server_error", True),
        ("http_503", 503, "server_error", True),
        ("http_529", 529, "overloaded", True),
        ("midstream_error", None, "overloaded", True),  # event: error {overloaded_error} after 200
        ("drop", None, "connection", True),
    ],
)
async def test_one_attempt_failures(srv: FakeServer, fault: str, status: int | None, kind: str,
                                    retryable: bool) -> None:
    srv.enqueue(Reply(text="words that stream in several pieces", fault=Fault(fault, after_chunks=2)))
    p = make(srv)
    seen: list[StreamEvent] = []
    with pytest.raises(ProviderError) as ei:
        async for ev in p.stream(req()):
            seen.append(ev)
    await p.aclose()
    e = ei.value
    assert (e.status, e.kind, e.retryable) == (status, kind, retryable)
    if fault in ("midstream_error", "drop"):
        assert len(seen) == 2


async def test_529_retry_after_ms(srv: FakeServer) -> None:
    srv.enqueue(Reply(fault=Fault("http_529", retry_after=0.25)))
    p = make(srv)
    with pytest.raises(ProviderError) as ei:
        await collect(p, req())
    await p.aclose()
    assert ei.value.retry_after == pytest.approx(0.25)


async def test_hang_and_hang_stream_time_out(srv: FakeServer) -> None:
    srv.enqueue(Reply(fault=Fault("hang")), Reply(text="a b c d", chunk_chars=2,
                                                  fault=Fault("hang_stream", after_chunks=1)))
    p = make(srv, idle=0.5)
    loop = asyncio.get_running_loop()
    for _ in range(2):
        t0 = loop.time()
        with pytest.raises(ProviderError) as ei:
            await collect(p, req())
        assert ei.value.kind == "timeout" and ei.value.retryable
        assert 0.45 <= loop.time() - t0 < 2.5
    await p.aclose()


async def test_planted_key_never_in_errors(srv: FakeServer) -> None:
    srv.default = Reply(fault=Fault("http_401", message=f"invalid x-api-key: {PLANTED}"))
    p = make(srv, key=PLANTED)
    with pytest.raises(ProviderError) as ei:
        await collect(p, req())
    assert "PLANTED" not in str(ei.value)
    res = await run_turn(p, req(), voice="sonnet", policy=FAST)
    await p.aclose()
    assert res.error is not None and res.error.kind == "auth"
    assert "PLANTED" not in repr(res.error)
    assert srv.request_count == 2  # one failed stream() above, one run_turn attempt: 401 is not retried
