"""OpenAICompatProvider against the loopback FakeServer: every wire quirk of docs/PROVIDERS.md."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from symposia.errors import ProviderError
from symposia.providers.base import ProviderSpec, Timeouts
from symposia.providers.openai_compat import OpenAICompatProvider
from symposia.providers.retry import RetryPolicy
from symposia.providers.runner import run_turn
from symposia.records import (
    Message,
    Params,
    ReasoningChunk,
    Restart,
    StreamEvent,
    TextChunk,
    TurnRequest,
    TurnResult,
)
from symposia.testing import FakeServer, Fault, Reply

PLANTED = "sk-or-v1-PLANTEDPLANTEDPLANTED0000"
FAST = RetryPolicy(max_attempts=3, base=0.01, cap=1.0, jitter=0.0)


@pytest.fixture
def srv() -> Iterator[FakeServer]:
    with FakeServer() as s:
        yield s


def make(srv: FakeServer, *, key: str | None = "sk-test-key", idle: float = 2.0, total: float = 10.0,
         concurrency: int = 8) -> OpenAICompatProvider:
    spec = ProviderSpec(name="openrouter", kind="openai", base_url=srv.openai_base_url,
                        timeouts=Timeouts(connect=2.0, idle=idle, total=total), concurrency=concurrency)
    return OpenAICompatProvider(spec, key)


def req(model: str = "qwen/qwen3-max", **params: object) -> TurnRequest:
    return TurnRequest(model=model, messages=(Message("user", "What is a symposium?"),),
                       system="Answer briefly.", params=Params(**params))  # type: ignore[arg-type]


async def collect(p: OpenAICompatProvider, r: TurnRequest) -> tuple[list[StreamEvent], TurnResult]:
    events = [ev async for ev in p.stream(r)]
    final = events[-1]
    assert isinstance(final, TurnResult)
    return events[:-1], final


# -- success paths -----------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_text_reasoning_usage_cost_ids(srv: FakeServer, field: str) -> None:
    srv.enqueue(Reply(text="A drinking party with talk.", reasoning="Plato wrote one.", reasoning_field=field,
                      cost=0.0123, prompt_tokens=11, completion_tokens=9, reasoning_tokens=4,
                      request_id="gen-abc123", chunk_chars=4))
    p = make(srv)
    events, res = await collect(p, req())
    await p.aclose()
    text = "".join(e.text for e in events if isinstance(e, TextChunk))
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningChunk))
    assert text == res.text == "A drinking party with talk."
    assert reasoning == res.reasoning == "Plato wrote one."
    assert len([e for e in events if isinstance(e, TextChunk)]) > 3  # really streamed
    assert res.finish_reason == "stop"
    assert res.usage.prompt_tokens == 11
    assert res.usage.completion_tokens == 9
    assert res.usage.reasoning_tokens == 4
    assert res.usage.cost == pytest.approx(0.0123)
    assert res.model_requested == "qwen/qwen3-max"
    assert res.model_reported == "qwen/qwen3-max-2026-01"
    assert res.request_id == "gen-abc123"
    assert res.flags == ()


async def test_reasoning_precedes_text_and_is_kept_apart(srv: FakeServer) -> None:
    srv.enqueue(Reply(text="yes", reasoning="step one step two", chunk_chars=5))
    p = make(srv)
    events, res = await collect(p, req())
    await p.aclose()
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "ReasoningChunk" and kinds[-1] == "TextChunk"
    assert "step" not in res.text


@pytest.mark.parametrize("placement", ["final_chunk", "choices0"])
async def test_usage_placements(srv: FakeServer, placement: str) -> None:
    srv.enqueue(Reply(text="hi", usage=placement, prompt_tokens=7, completion_tokens=2, cost=1.5))
    p = make(srv)
    _, res = await collect(p, req())
    await p.aclose()
    assert (res.usage.prompt_tokens, res.usage.completion_tokens, res.usage.cost) == (7, 2, 1.5)


async def test_usage_absent(srv: FakeServer) -> None:
    srv.enqueue(Reply(text="hi", usage="none"))
    p = make(srv)
    _, res = await collect(p, req())
    await p.aclose()
    assert res.text == "hi"
    assert res.usage.prompt_tokens is None and res.usage.cost is None


async def test_request_asks_for_stream_usage_and_passes_params(srv: FakeServer) -> None:
    p = make(srv)
    r = TurnRequest(
        model="m", system="Be brief.",
        messages=(Message("user", "hi"), Message("assistant", "hello"), Message("user", "again")),
        params=Params(temperature=0.3, max_tokens=77, top_p=0.9, stop=("END",), seed=42,
                      extra={"provider": {"order": ["deepinfra"]}, "reasoning": {"effort": "low"}}),
    )
    await collect(p, r)
    await p.aclose()
    body = srv.requests[0].body
    assert srv.requests[0].path == "/v1/chat/completions"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "again"},
    ]
    assert (body["temperature"], body["max_tokens"], body["top_p"], body["stop"], body["seed"]) == (
        0.3, 77, 0.9, ["END"], 42)
    assert body["provider"] == {"order": ["deepinfra"]}
    assert body["reasoning"] == {"effort": "low"}


async def test_unset_params_are_not_sent(srv: FakeServer) -> None:
    p = make(srv)
    await collect(p, TurnRequest(model="m", messages=(Message("user", "hi"),)))
    await p.aclose()
    body = srv.requests[0].body
    for k in ("temperature", "max_tokens", "top_p", "stop", "seed"):
        assert k not in body
    assert body["messages"] == [{"role": "user", "content": "hi"}]


async def test_keepalives_are_skipped(srv: FakeServer) -> None:
    srv.enqueue(Reply(text="after the wait", ttft=0.3, keepalives=4))
    p = make(srv, idle=2.0)
    events, res = await collect(p, req())
    await p.aclose()
    assert res.text == "after the wait"
    assert all(isinstance(e, TextChunk | ReasoningChunk) for e in events)
    assert res.ttft_s is not None and res.ttft_s >= 0.25
    assert res.latency_s >= res.ttft_s


async def test_length_finish_is_truncated(srv: FakeServer) -> None:
    srv.enqueue(Reply(text="cut off mid", finish_reason="length"))
    p = make(srv)
    _, res = await collect(p, req())
    await p.aclose()
    assert res.finish_reason == "length"
    assert res.flags == ("truncated",)


async def test_empty_and_reasoning_only_are_flagged(srv: FakeServer) -> None:
    srv.enqueue(Reply(fault=Fault("empty")),
                Reply(reasoning="all thought, no answer", fault=Fault("reasoning_only")))
    p = make(srv)
    _, empty = await collect(p, req())
    _, ronly = await collect(p, req())
    await p.aclose()
    assert empty.flags == ("empty",)
    assert ronly.reasoning == "all thought, no answer"
    assert ronly.flags == ("empty", "reasoning_only", "truncated")


async def test_key_sent_as_bearer(srv: FakeServer) -> None:
    p = make(srv, key=PLANTED)
    await collect(p, req())
    await p.aclose()
    assert srv.requests[0].headers["authorization"] == f"Bearer {PLANTED}"


async def test_no_key_never_falls_back_to_openai_env(srv: FakeServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-ENVKEYENVKEYENVKEY0000")
    p = make(srv, key=None)
    await collect(p, req())
    await p.aclose()
    assert "ENVKEY" not in srv.requests[0].headers.get("authorization", "")


def test_provider_survives_a_new_event_loop(srv: FakeServer) -> None:
    p = make(srv)

    async def once() -> str:
        _, res = await collect(p, req())
        return res.text

    assert asyncio.run(once()) == "ok"
    assert asyncio.run(once()) == "ok"  # pooled connections of the first loop are not reused
    asyncio.run(p.aclose())


# -- failures raised by one attempt ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "kind", "retryable"),
    [
        ("http_400", 400, "bad_request", False),
        ("http_401", 401, "auth", False),
        ("http_402", 402, "payment_required", False),
        ("http_403", 403, "moderation", False),
        ("spend_limit", 429, "spend_limit", False),
        ("http_429", 429, "rate_limited", True),
        ("dashscope_throttling", 429, "rate_limited", True),
        ("http_500", 500, "server_error", True),
        ("http_502", 502, "server_error", True),
        ("http_503", 503, "server_error", True),
        ("http_529", 529, "overloaded", True),
        ("midstream_error", None, "stream_error", True),
        ("drop", None, "connection", True),
    ],
)
async def test_one_attempt_failures(srv: FakeServer, fault: str, status: int | None, kind: str,
                                    retryable: bool) -> None:
    srv.enqueue(Reply(text="some words that stream in pieces", fault=Fault(fault, after_chunks=2)))
    p = make(srv)
    seen: list[StreamEvent] = []
    with pytest.raises(ProviderError) as ei:
        async for ev in p.stream(req()):
            seen.append(ev)
    await p.aclose()
    e = ei.value
    assert (e.status, e.kind, e.retryable) == (status, kind, retryable)
    assert e.provider == "openrouter"
    if fault in ("midstream_error", "drop"):
        assert len(seen) == 2  # text had streamed before the failure
    assert not any(isinstance(x, TurnResult) for x in seen)


async def test_429_carries_retry_after(srv: FakeServer) -> None:
    srv.enqueue(Reply(fault=Fault("http_429", retry_after=1.5)))
    p = make(srv)
    with pytest.raises(ProviderError) as ei:
        await collect(p, req())
    await p.aclose()
    assert ei.value.retry_after == pytest.approx(1.5)


async def test_hang_before_headers_times_out(srv: FakeServer) -> None:
    srv.enqueue(Reply(fault=Fault("hang")))
    p = make(srv, idle=0.3)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(ProviderError) as ei:
        await collect(p, req())
    await p.aclose()
    assert ei.value.kind == "timeout" and ei.value.retryable
    assert 0.25 <= loop.time() - t0 < 2.0


async def test_idle_timeout_fires_despite_keepalives(srv: FakeServer) -> None:
    # hang_stream: a chunk, then only ": keep-alive" comments every 0.2 s, forever.
    srv.enqueue(Reply(text="one two three", chunk_chars=3, fault=Fault("hang_stream", after_chunks=1)))
    p = make(srv, idle=0.7)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(ProviderError) as ei:
        await collect(p, req())
    await p.aclose()
    assert ei.value.kind == "timeout"
    assert "no data" in ei.value.detail
    assert 0.65 <= loop.time() - t0 < 3.0


async def test_total_timeout_bounds_a_slow_stream(srv: FakeServer) -> None:
    srv.enqueue(Reply(text="word " * 50, chunk_chars=5, per_token=0.05))  # ~2.5 s, never idle
    p = make(srv, idle=1.0, total=0.6)
    with pytest.raises(ProviderError) as ei:
        await collect(p, req())
    await p.aclose()
    assert ei.value.kind == "timeout"
    assert "longer than 0.6" in ei.value.detail


async def test_external_cancel_is_not_a_timeout(srv: FakeServer) -> None:
    srv.enqueue(Reply(fault=Fault("hang")))
    p = make(srv, idle=5.0)
    task = asyncio.create_task(collect(p, req()))
    assert await asyncio.to_thread(srv.wait_for_requests, 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await p.aclose()


async def test_connection_refused_is_retryable() -> None:
    with FakeServer() as dead:
        url = dead.openai_base_url
    spec = ProviderSpec(name="local", kind="openai", base_url=url,
                        timeouts=Timeouts(connect=1.0, idle=2, total=5))
    p = OpenAICompatProvider(spec, None)
    with pytest.raises(ProviderError) as ei:
        await collect(p, req())
    await p.aclose()
    assert ei.value.kind == "connection" and ei.value.retryable


# -- the planted key never leaks ---------------------------------------------------------------


@pytest.mark.parametrize("fault", ["http_401", "http_400", "http_500", "midstream_error"])
async def test_planted_key_echoed_by_server_is_redacted(srv: FakeServer, fault: str) -> None:
    echo = f"Invalid key {PLANTED} (Bearer {PLANTED})"
    srv.default = Reply(text="partial answer here", fault=Fault(fault, message=echo, after_chunks=1))
    p = make(srv, key=PLANTED)
    with pytest.raises(ProviderError) as ei:
        await collect(p, req())
    assert PLANTED not in str(ei.value) and PLANTED not in ei.value.detail
    assert "PLANTED" not in str(ei.value)
    events: list[object] = []
    res = await run_turn(p, req(), voice="grok", on_event=events.append, policy=FAST)
    await p.aclose()
    assert srv.requests[0].headers["authorization"] == f"Bearer {PLANTED}"
    assert res.error is not None
    assert "PLANTED" not in repr(res.error)
    assert "PLANTED" not in repr([e for e in events if isinstance(e, Restart)])


async def test_registered_key_of_any_shape_is_redacted(srv: FakeServer) -> None:
    odd = "local-server-secret-9f8e7d"  # matches no vendor key pattern: only registration catches it
    srv.enqueue(Reply(fault=Fault("http_403", message=f"key {odd} may not use this model")))
    p = make(srv, key=odd)
    res = await run_turn(p, req(), voice="llama", policy=FAST)
    await p.aclose()
    assert res.error is not None and res.error.kind == "moderation"
    assert odd not in res.error.message
    assert "may not use this model" in res.error.message


# -- the connection after the end of a stream ---------------------------------------------------


async def test_a_stream_read_to_its_end_hands_its_connection_back(srv: FakeServer) -> None:
    """After [DONE] the body is read to its end, so the next call (a council's next round) reuses the
    connection: over TLS, no new handshake. Closed unread, every call connected anew."""
    srv.enqueue(Reply(text="First answer."), Reply(text="Second answer."), Reply(text="Third answer."))
    p = make(srv)
    before = srv.connection_count
    for expected in ("First answer.", "Second answer.", "Third answer."):
        _, res = await collect(p, req())
        assert res.text == expected and res.finish_reason == "stop"
    await p.aclose()
    assert srv.request_count == 3 and srv.connection_count == before + 1


async def test_a_body_left_open_after_done_is_cut_and_the_answer_kept(srv: FakeServer) -> None:
    """A server that keeps the body open past [DONE] (keep-alives, never the last chunk): the whole answer
    is kept and the call ends, well before the idle timeout would have failed it; that connection is not
    reused, the next call connects again."""
    srv.enqueue(Reply(text="The answer is whole.", fault=Fault("linger")), Reply(text="And the next one."))
    p = make(srv, idle=5.0)
    before = srv.connection_count
    _, res = await asyncio.wait_for(collect(p, req()), 60)  # a regression fails here instead of hanging
    assert res.text == "The answer is whole." and res.finish_reason == "stop" and res.error is None
    _, res2 = await collect(p, req())
    await p.aclose()
    assert res2.text == "And the next one."
    assert srv.connection_count == before + 2
