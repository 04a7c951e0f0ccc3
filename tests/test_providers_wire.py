"""The wire providers against the official SDKs as oracles, on the loopback FakeServer.

The streaming providers speak both wire formats directly over httpx (start-up: importing an SDK
costs 0.3–0.8 s before a command's first request). These properties hold them to the SDKs:

* the JSON body and the auth headers they send equal what the SDK sends for the same call;
* for the same scripted stream (text, reasoning, usage placement, finish reason, cost, faults), the
  result they build equals the one read through the SDK's own stream parser, and a failure is the
  same error (kind, retryable, status, code) as the SDK's exception mapped by our SDK error table.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symposia.errors import ProviderError
from symposia.providers.anthropic_native import AnthropicProvider, shape_messages, stop_reason
from symposia.providers.base import ProviderSpec, Timeouts
from symposia.providers.openai_compat import OpenAICompatProvider, map_finish, usage_from_dict
from symposia.providers.sdk import map_exception, sdk_error_table
from symposia.providers.streaming import StreamingProvider, error_response
from symposia.records import Message, Params, TurnRequest, TurnResult, Usage
from symposia.testing import FakeServer, Fault, Reply

KEY = "sk-wire-test-0123456789"
_ids = itertools.count()
Outcome = tuple[Any, ...]


@pytest.fixture(scope="module")
def srv() -> Iterator[FakeServer]:
    with FakeServer() as s:
        yield s


def ours(srv: FakeServer, wire: str) -> StreamingProvider:
    kind, url = ("openai", srv.openai_base_url) if wire == "openai" else ("anthropic", srv.anthropic_base_url)
    spec = ProviderSpec(name="p", kind=kind, base_url=url, timeouts=Timeouts(connect=2.0, idle=5.0, total=20.0))  # type: ignore[arg-type]
    return OpenAICompatProvider(spec, KEY) if wire == "openai" else AnthropicProvider(spec, KEY)


def sdk_kwargs(wire: str, r: TurnRequest) -> dict[str, Any]:
    """The SDK call a careful user would write for ``r`` (sampling knobs and extras as the SDK takes them)."""
    p = r.params
    if wire == "openai":
        messages = ([{"role": "system", "content": r.system}] if r.system else []) + [m.to_dict() for m in r.messages]
        kw: dict[str, Any] = {"model": r.model, "messages": messages, "stream": True,
                              "stream_options": {"include_usage": True}}
        named = {"temperature": p.temperature, "max_tokens": p.max_tokens, "top_p": p.top_p,
                 "stop": list(p.stop) or None, "seed": p.seed}
        kw.update({k: v for k, v in named.items() if v is not None})
        if p.extra:
            kw["extra_body"] = dict(p.extra)
        return kw
    system, messages = shape_messages(r.system, r.messages)
    kw = {"model": r.model, "messages": messages, "max_tokens": p.max_tokens or 4096, "stream": True}
    if system:
        kw["system"] = system
    if p.stop:
        kw["stop_sequences"] = list(p.stop)
    extra = {k: v for k, v in (("temperature", p.temperature), ("top_p", p.top_p)) if v is not None}
    extra.update(p.extra)
    if extra:
        kw["extra_body"] = extra
    return kw


async def via_sdk(srv: FakeServer, wire: str, r: TurnRequest) -> Outcome:
    """Stream ``r`` through the official SDK and read it the way the SDK exposes it."""
    table = sdk_error_table(openai if wire == "openai" else anthropic)
    text: list[str] = []
    reasoning: list[str] = []
    finish, model, rid = None, None, None
    usage = Usage()
    try:
        if wire == "openai":
            async with openai.AsyncOpenAI(api_key=KEY, base_url=srv.openai_base_url, max_retries=0) as oc:
                stream = await oc.chat.completions.create(**sdk_kwargs(wire, r))
                async for ch in stream:
                    model, rid = model or ch.model, rid or ch.id
                    if ch.choices:
                        c = ch.choices[0]
                        extra = c.delta.model_extra or {}
                        thought = extra.get("reasoning_content") or extra.get("reasoning")
                        if isinstance(thought, str) and thought:
                            reasoning.append(thought)
                        text.append(c.delta.content or "")
                        if c.finish_reason:
                            finish = map_finish(c.finish_reason)
                            choice_usage = (c.model_extra or {}).get("usage")
                            if isinstance(choice_usage, dict):
                                usage = usage_from_dict(choice_usage)
                    if ch.usage is not None:
                        usage = usage_from_dict(ch.usage.model_dump())
        else:
            async with anthropic.AsyncAnthropic(api_key=KEY, base_url=srv.anthropic_base_url, max_retries=0) as ac:
                astream = await ac.messages.create(**sdk_kwargs(wire, r))
                async for ev in astream:
                    if ev.type == "message_start":
                        model, rid = ev.message.model, ev.message.id
                        u = ev.message.usage
                        usage = Usage(prompt_tokens=u.input_tokens, completion_tokens=u.output_tokens or None)
                    elif ev.type == "content_block_delta":
                        if ev.delta.type == "text_delta":
                            text.append(ev.delta.text)
                        elif ev.delta.type == "thinking_delta":
                            reasoning.append(ev.delta.thinking)
                    elif ev.type == "message_delta":
                        finish = stop_reason(ev.delta.stop_reason) if ev.delta.stop_reason else finish
                        details = getattr(ev.usage, "output_tokens_details", None) or (
                            ev.usage.model_extra or {}).get("output_tokens_details")
                        thinking = details.get("thinking_tokens") if isinstance(details, dict) else getattr(
                            details, "thinking_tokens", None)
                        usage = Usage(prompt_tokens=usage.prompt_tokens, completion_tokens=ev.usage.output_tokens,
                                      reasoning_tokens=thinking if details is not None else usage.reasoning_tokens)
    except Exception as exc:
        err = map_exception(table, "p", exc)
        assert err is not None, f"the SDK raised something our table does not know: {exc!r}"
        return ("error", err.kind, err.retryable, err.status, err.code)
    if finish is None:
        return ("error", "connection", True, None, None)  # the stream ended before the model finished
    return ("ok", "".join(text), "".join(reasoning), finish, usage, model, rid)


async def via_ours(srv: FakeServer, wire: str, r: TurnRequest) -> Outcome:
    p = ours(srv, wire)
    try:
        events = [ev async for ev in p.stream(r)]
    except ProviderError as err:
        return ("error", err.kind, err.retryable, err.status, err.code)
    finally:
        await p.aclose()
    res = events[-1]
    assert isinstance(res, TurnResult)
    return ("ok", res.text, res.reasoning, res.finish_reason, res.usage, res.model_reported, res.request_id)


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=60)
params = st.builds(
    Params,
    temperature=st.none() | st.floats(0, 2).map(lambda f: round(f, 3)),
    max_tokens=st.none() | st.integers(1, 8192),
    top_p=st.none() | st.floats(0, 1).map(lambda f: round(f, 3)),
    stop=st.lists(st.text(min_size=1, max_size=5), max_size=2).map(tuple),
    seed=st.none() | st.integers(0, 2**31),
    extra=st.dictionaries(st.sampled_from(["reasoning", "provider", "top_k", "enable_thinking"]),
                          st.booleans() | st.integers(0, 50) | texts, max_size=2),
)
requests = st.builds(
    lambda system, msgs, p: TurnRequest(model=f"m/{next(_ids)}", system=system or None, params=p,
                                        messages=tuple(Message(role, c) for role, c in msgs)),
    st.none() | texts,
    st.lists(st.tuples(st.sampled_from(["user", "assistant"]), texts), min_size=1, max_size=4),
    params,
)
FAULTS = [None, None, None, "midstream_error", "drop", "empty", "http_400", "http_401", "http_429",
          "http_500", "http_529", "spend_limit", "dashscope_throttling", "http_403"]
replies = st.builds(
    Reply,
    text=texts,
    reasoning=st.sampled_from(["", "Let me think.", "Ünïcode • thoughts …"]),
    reasoning_field=st.sampled_from(["reasoning_content", "reasoning"]),
    finish_reason=st.sampled_from(["stop", "length", "content_filter", "tool_calls"]),
    usage=st.sampled_from(["final_chunk", "choices0", "none"]),
    chunk_chars=st.integers(1, 12),
    cost=st.none() | st.floats(0, 1).map(lambda f: round(f, 6)),
    fault=st.sampled_from(FAULTS).flatmap(
        lambda k: st.just(None) if k is None else st.builds(Fault, kind=st.just(k), after_chunks=st.integers(0, 3))),
    request_id=st.just("req-fixed-1"),
)


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(r=requests)
def test_the_body_and_key_headers_equal_the_sdks(srv: FakeServer, wire: str, r: TurnRequest) -> None:
    for _ in range(2):
        srv.enqueue(Reply(text="ok"), model=r.model)
    asyncio.run(via_sdk(srv, wire, r))
    asyncio.run(via_ours(srv, wire, r))
    sent_sdk, sent_ours = [q for q in srv.requests if q.model == r.model]
    assert sent_ours.path == sent_sdk.path
    assert sent_ours.body == sent_sdk.body
    auth = ("authorization",) if wire == "openai" else ("x-api-key", "anthropic-version")
    assert {h: sent_ours.headers.get(h) for h in auth} == {h: sent_sdk.headers.get(h) for h in auth} \
        or (wire == "anthropic" and sent_sdk.headers.get("authorization") == f"Bearer {KEY}"
            and sent_ours.headers.get("x-api-key") == KEY)
    assert sent_ours.api_key == sent_sdk.api_key == KEY


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reply=replies)
def test_a_scripted_stream_reads_the_same_as_through_the_sdk(srv: FakeServer, wire: str, reply: Reply) -> None:
    r = TurnRequest(model=f"m/{next(_ids)}", messages=(Message("user", "What persists?"),), system="Be brief.")
    for _ in range(2):
        srv.enqueue(reply, model=r.model)
    expected = asyncio.run(via_sdk(srv, wire, r))
    got = asyncio.run(via_ours(srv, wire, r))
    assert got == expected


def test_a_non_json_error_page_is_an_http_error_with_its_text(srv: FakeServer) -> None:
    """A proxy's HTML 502 page: classified by status, its text (not a parse error) in the message."""
    err = error_response("p", 502, b"<html><body>Bad gateway from the proxy</body></html>", {"retry-after": "3"})
    assert (err.kind, err.retryable, err.status, err.retry_after) == ("server_error", True, 502, 3.0)
    assert "Bad gateway from the proxy" in str(err)
