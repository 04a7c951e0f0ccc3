"""The fake provider server: real SDKs and raw HTTP against it on loopback, faults included."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

import symposia.testing
from symposia.testing import FAULT_KINDS, FakeServer, Fault, Reply, fake_server

KEY = "sk-test-fake-server-key"
AUTH = {"authorization": f"Bearer {KEY}"}
ANTHROPIC_AUTH = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
USER: Any = [{"role": "user", "content": "say hello to the five voices"}]  # 6 words; Any suits both SDKs
ENV = {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "PATH": "/usr/bin:/bin"}


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def srv(shared_server: FakeServer) -> FakeServer:
    """One server per module (as suites use it), scrubbed between tests."""
    shared_server.reset()
    shared_server.default = Reply()
    shared_server.models = ["fake-model"]
    return shared_server


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture(scope="module")
def oa(shared_server: FakeServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=shared_server.openai_base_url, api_key=KEY, max_retries=0, timeout=5)


@pytest.fixture(scope="module")
def an(shared_server: FakeServer) -> anthropic.Anthropic:
    url = shared_server.anthropic_base_url
    return anthropic.Anthropic(base_url=url, api_key=KEY, max_retries=0, timeout=5)


def post_openai(http: httpx.Client, srv: FakeServer, **body: Any) -> httpx.Response:
    payload = {"model": "m", "messages": USER, **body}
    return http.post(srv.openai_base_url + "/chat/completions", json=payload, headers=AUTH)


def post_anthropic(http: httpx.Client, srv: FakeServer, **body: Any) -> httpx.Response:
    payload = {"model": "claude-x", "max_tokens": 64, "messages": USER, **body}
    return http.post(srv.base_url + "/v1/messages", json=payload, headers=ANTHROPIC_AUTH)


def sse_data(raw: str) -> list[Any]:
    """The JSON of each ``data:`` event ("[DONE]" kept as the string)."""
    out: list[Any] = []
    for line in raw.split("\n"):
        if line.startswith("data: "):
            value = line[6:]
            out.append(value if value == "[DONE]" else json.loads(value))
    return out


# -- OpenAI wire through the official SDK ---------------------------------------------------------


def test_package_exports_everything() -> None:
    assert set(symposia.testing.__all__) == set(fake_server.__all__)  # the whole fake server, nothing else


def test_openai_non_stream_reply_usage_and_request_id(srv: FakeServer, oa: openai.OpenAI) -> None:
    srv.enqueue(Reply(text="Hello from the fake", reasoning="first I think", cost=0.0012))
    raw = oa.chat.completions.with_raw_response.create(model="qwen/qwen3-max", messages=USER)
    r = raw.parse()
    assert r.choices[0].message.content == "Hello from the fake"
    assert r.choices[0].message.model_extra == {"reasoning_content": "first I think"}
    assert r.choices[0].finish_reason == "stop"
    assert r.model == "qwen/qwen3-max-2026-01"  # reported differs from requested
    assert r.id.startswith("chatcmpl-") and raw.headers["x-request-id"] == r.id
    assert r.usage is not None
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (6, 7, 13)
    assert r.usage.completion_tokens_details is not None
    assert r.usage.completion_tokens_details.reasoning_tokens == 3
    assert r.usage.model_extra == {"cost": 0.0012}
    assert raw.headers["content-length"] and "chunked" not in raw.headers.get("transfer-encoding", "")


def test_openai_stream_reasoning_then_text_with_final_usage(srv: FakeServer, oa: openai.OpenAI) -> None:
    text = "The voices answered one after another, each in its own way."
    srv.enqueue(Reply(text=text, reasoning="weigh every voice", reasoning_field="reasoning",
                      chunk_chars=6, prompt_tokens=11, completion_tokens=22, reasoning_tokens=3))
    stream = oa.chat.completions.create(model="m", messages=USER, stream=True,
                                        stream_options={"include_usage": True})
    reasoning, answer, finishes, usage = "", "", [], None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            extra = choice.delta.model_extra or {}
            reasoning += extra.get("reasoning") or ""
            assert "reasoning_content" not in extra
            answer += choice.delta.content or ""
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    assert reasoning == "weigh every voice" and answer == text
    assert finishes == ["stop"]
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (11, 22)
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 3


async def test_openai_async_stream_and_non_stream(srv: FakeServer) -> None:
    srv.enqueue(Reply(text="async one"), Reply(text="async two, streamed", finish_reason="length"))
    client = openai.AsyncOpenAI(base_url=srv.openai_base_url, api_key=KEY, max_retries=0, timeout=5)
    r = await client.chat.completions.create(model="m", messages=USER)
    assert r.choices[0].message.content == "async one"
    parts, finish = [], None
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    async for chunk in stream:
        parts.append(chunk.choices[0].delta.content or "")
        finish = chunk.choices[0].finish_reason or finish
    assert "".join(parts) == "async two, streamed" and finish == "length"
    await client.close()


def test_openai_empty_and_reasoning_only_faults(srv: FakeServer, oa: openai.OpenAI) -> None:
    srv.enqueue(Reply(text="ignored", fault=Fault("empty")),
                Reply(text="ignored", reasoning="thinking until the budget runs out",
                      fault=Fault("reasoning_only")))
    r = oa.chat.completions.create(model="m", messages=USER)
    assert r.choices[0].message.content == "" and r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.completion_tokens == 0
    stream = oa.chat.completions.create(model="m", messages=USER, stream=True)
    answer, reasoning, finish = "", "", None
    for chunk in stream:
        answer += chunk.choices[0].delta.content or ""
        reasoning += (chunk.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
        finish = chunk.choices[0].finish_reason or finish
    assert answer == "" and reasoning == "thinking until the budget runs out" and finish == "length"


@pytest.mark.parametrize(
    ("kind", "status", "exc"),
    [("http_400", 400, openai.BadRequestError), ("http_401", 401, openai.AuthenticationError),
     ("http_403", 403, openai.PermissionDeniedError), ("http_429", 429, openai.RateLimitError),
     ("http_500", 500, openai.InternalServerError), ("http_502", 502, openai.InternalServerError),
     ("http_503", 503, openai.InternalServerError), ("http_402", 402, openai.APIStatusError)],
)
def test_openai_http_faults_raise_the_sdk_error(srv: FakeServer, oa: openai.OpenAI, kind: str, status: int,
                                                exc: type[openai.APIStatusError]) -> None:
    srv.enqueue(Reply(fault=Fault(kind)), Reply(fault=Fault(kind, message="custom words")))
    with pytest.raises(exc) as info:
        oa.chat.completions.create(model="m", messages=USER)
    assert info.value.status_code == status
    with pytest.raises(exc) as info:  # streaming requests fail the same way, before any event
        oa.chat.completions.create(model="m", messages=USER, stream=True)
    assert "custom words" in info.value.message
    assert srv.request_count == 2


def test_openai_midstream_error_after_chunks(srv: FakeServer, oa: openai.OpenAI) -> None:
    srv.enqueue(Reply(text="one two three four five six", chunk_chars=4,
                      fault=Fault("midstream_error", after_chunks=2, message="Provider disconnected")))
    got: list[str] = []
    with pytest.raises(openai.APIError, match="Provider disconnected"):
        for chunk in oa.chat.completions.create(model="m", messages=USER, stream=True):
            got.append(chunk.choices[0].delta.content or "")
    assert got == ["one ", "two "]


def test_openai_midstream_error_wire_shape(srv: FakeServer, http: httpx.Client) -> None:
    srv.enqueue(Reply(text="abc def", fault=Fault("midstream_error", after_chunks=1)))
    events = sse_data(post_openai(http, srv, stream=True).text)
    assert len(events) == 2 and "[DONE]" not in events  # OpenRouter ends the stream after the error
    last = events[-1]
    assert last["choices"][0]["finish_reason"] == "error" and last["error"]["message"]
    # Without streaming the same fault is a 200 whose choice finished with "error".
    srv.enqueue(Reply(text="abc def", fault=Fault("midstream_error")))
    body = post_openai(http, srv).json()
    assert body["choices"][0]["finish_reason"] == "error" and "error" in body


def test_openai_drop_raises_connection_error(srv: FakeServer, oa: openai.OpenAI) -> None:
    srv.enqueue(Reply(text="one two three four", chunk_chars=4, fault=Fault("drop", after_chunks=1)),
                Reply(text="whole body never arrives", fault=Fault("drop")))
    got: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in oa.chat.completions.create(model="m", messages=USER, stream=True):
            got.append(chunk.choices[0].delta.content or "")
    assert got == ["one "]
    with pytest.raises(openai.APIConnectionError):
        oa.chat.completions.create(model="m", messages=USER)
    assert oa.chat.completions.create(model="m", messages=USER).choices[0].message.content == "ok"


def test_openai_hang_times_out_and_stop_is_quick(http: httpx.Client) -> None:
    srv = FakeServer().start()
    oa = openai.OpenAI(base_url=srv.openai_base_url, api_key=KEY, max_retries=0, timeout=0.3)
    srv.enqueue(Reply(fault=Fault("hang")))
    with pytest.raises(openai.APITimeoutError):
        oa.chat.completions.create(model="m", messages=USER)
    # A second hanging request is still open server-side when we stop.
    srv.enqueue(Reply(fault=Fault("hang")))
    caught: list[BaseException] = []

    def call() -> None:
        try:
            post_openai(http, srv)
        except httpx.HTTPError as exc:
            caught.append(exc)

    t = threading.Thread(target=call)
    t.start()
    assert srv.wait_for_requests(2, timeout=2)
    srv.stop()  # ends the hanging response: the client thread sees the connection close
    t.join(timeout=10)
    assert not t.is_alive() and caught  # the client saw the connection close, not a reply
    oa.close()


def test_models_list_and_unknown_path(srv: FakeServer, oa: openai.OpenAI, http: httpx.Client) -> None:
    srv.models = ["a", "b"]
    assert [m.id for m in oa.models.list()] == ["a", "b"]
    r = http.post(srv.base_url + "/v2/nowhere", json={}, headers=AUTH)
    assert r.status_code == 404 and srv.requests[-1].wire is None


# -- Anthropic wire through the official SDK ------------------------------------------------------


def test_anthropic_non_stream_thinking_and_text(srv: FakeServer, an: anthropic.Anthropic) -> None:
    srv.enqueue(Reply(text="Hi there.", reasoning="consider it", finish_reason="length"))
    raw = an.messages.with_raw_response.create(model="claude-test", max_tokens=64, messages=USER)
    m = raw.parse()
    assert [b.type for b in m.content] == ["thinking", "text"]
    assert m.content[0].thinking == "consider it"  # type: ignore[union-attr]
    assert m.content[1].text == "Hi there."  # type: ignore[union-attr]
    assert m.stop_reason == "max_tokens" and m.model == "claude-test-2026-01"
    assert m.id.startswith("msg_") and raw.headers["request-id"] == m.id
    assert (m.usage.input_tokens, m.usage.output_tokens) == (6, 4)


def test_anthropic_stream_events_and_final_message(srv: FakeServer, an: anthropic.Anthropic) -> None:
    text = "A longer answer that arrives in several text deltas."
    srv.enqueue(Reply(text=text, reasoning="some careful thought", chunk_chars=10, completion_tokens=42))
    with an.messages.stream(model="claude-x", max_tokens=64, messages=USER) as stream:
        kinds = [e.type for e in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "thinking" in kinds and "signature" in kinds and kinds.count("text") >= 4
    assert final.content[0].type == "thinking" and final.content[0].thinking == "some careful thought"
    assert final.content[1].type == "text" and final.content[1].text == text
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 42


async def test_anthropic_async_stream(srv: FakeServer) -> None:
    srv.enqueue(Reply(text="async anthropic text"))
    client = anthropic.AsyncAnthropic(base_url=srv.anthropic_base_url, api_key=KEY, max_retries=0, timeout=5)
    async with client.messages.stream(model="c", max_tokens=8, messages=USER) as stream:
        text = "".join([t async for t in stream.text_stream])
    assert text == "async anthropic text"
    await client.close()


@pytest.mark.parametrize(
    ("kind", "status", "error_type", "exc"),
    [("http_529", 529, "overloaded_error", anthropic.InternalServerError),
     ("http_429", 429, "rate_limit_error", anthropic.RateLimitError),
     ("http_402", 402, "billing_error", anthropic.APIStatusError),
     ("http_401", 401, "authentication_error", anthropic.AuthenticationError),
     ("http_403", 403, "permission_error", anthropic.PermissionDeniedError),
     ("http_500", 500, "api_error", anthropic.InternalServerError)],
)
def test_anthropic_http_faults(srv: FakeServer, an: anthropic.Anthropic, kind: str, status: int,
                               error_type: str, exc: type[anthropic.APIStatusError]) -> None:
    srv.enqueue(Reply(fault=Fault(kind)))
    with pytest.raises(exc) as info:
        an.messages.create(model="c", max_tokens=8, messages=USER)
    assert info.value.status_code == status
    body: Any = info.value.body
    assert body["type"] == "error" and body["error"]["type"] == error_type


def test_anthropic_spend_limit_is_marked(srv: FakeServer, an: anthropic.Anthropic) -> None:
    srv.enqueue(Reply(fault=Fault("spend_limit", retry_after=5)))
    with pytest.raises(anthropic.RateLimitError) as info:
        an.messages.create(model="c", max_tokens=8, messages=USER)
    body: Any = info.value.body
    assert body["error"]["error_code"] == "enforced_spend_limit_reached"
    assert info.value.response.headers["retry-after"] == "5"


def test_anthropic_midstream_error(srv: FakeServer, an: anthropic.Anthropic, http: httpx.Client) -> None:
    srv.enqueue(Reply(text="one two three four", chunk_chars=4,
                      fault=Fault("midstream_error", after_chunks=2)))
    got: list[str] = []
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):  # noqa: SIM117
        with an.messages.stream(model="c", max_tokens=8, messages=USER) as stream:
            got.extend(stream.text_stream)
    assert got == ["one ", "two "]
    raw = post_anthropic(http, srv, stream=False)  # default reply again: faults are per reply
    assert raw.status_code == 200
    srv.enqueue(Reply(fault=Fault("midstream_error")))
    assert post_anthropic(http, srv).status_code == 529  # nothing to break without a stream


def test_anthropic_drop_and_wire_shape(srv: FakeServer, an: anthropic.Anthropic, http: httpx.Client) -> None:
    srv.enqueue(Reply(text="one two three", chunk_chars=4, fault=Fault("drop", after_chunks=1)))
    # anthropic 2.x lets its transport's RemoteProtocolError (httpx2) escape mid-stream, unwrapped.
    with pytest.raises(Exception) as info:  # noqa: B017, SIM117
        with an.messages.stream(model="c", max_tokens=8, messages=USER) as stream:
            list(stream)
    assert type(info.value).__name__ in {"APIConnectionError", "RemoteProtocolError"}, info.value
    srv.enqueue(Reply(text="one two three", chunk_chars=4, fault=Fault("midstream_error", after_chunks=1)))
    raw = post_anthropic(http, srv, stream=True).text
    names = [line[7:] for line in raw.split("\n") if line.startswith("event: ")]
    assert names == ["message_start", "ping", "content_block_start", "content_block_delta", "error"]
    overloaded = {"type": "overloaded_error", "message": "Overloaded"}
    assert sse_data(raw)[-1] == {"type": "error", "error": overloaded}


def test_anthropic_auth_and_validation(srv: FakeServer, http: httpx.Client) -> None:
    url = srv.base_url + "/v1/messages"
    body = {"model": "c", "max_tokens": 8, "messages": USER}
    assert http.post(url, json=body, headers={"anthropic-version": "2023-06-01"}).status_code == 401
    no_version = http.post(url, json=body, headers={"x-api-key": KEY})
    assert no_version.status_code == 401 and no_version.json()["error"]["type"] == "authentication_error"
    assert http.post(url, json=body, headers=ANTHROPIC_AUTH).status_code == 200
    missing = http.post(url, json={"model": "c", "messages": USER}, headers=ANTHROPIC_AUTH)
    assert missing.status_code == 400 and "max_tokens" in missing.json()["error"]["message"]
    assert [r.api_key for r in srv.requests] == [None, KEY, KEY, KEY]


# -- raw HTTP details -----------------------------------------------------------------------------


def test_openai_auth_required_unless_disabled(srv: FakeServer, http: httpx.Client) -> None:
    url = srv.openai_base_url + "/chat/completions"
    r = http.post(url, json={"model": "m", "messages": USER})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    basic = {"authorization": "Basic abc"}
    assert http.post(url, json={"model": "m", "messages": USER}, headers=basic).status_code == 401
    assert http.post(url, content=b"{not json", headers=AUTH).status_code == 400
    assert srv.request_count == 3 and srv.pending() == 0
    with FakeServer(require_auth=False) as open_srv:
        assert http.post(open_srv.openai_base_url + "/chat/completions",
                          json={"model": "m", "messages": USER}).status_code == 200
        assert http.post(open_srv.base_url + "/v1/messages",
                          json={"model": "m", "max_tokens": 5, "messages": USER}).status_code == 200


def test_stream_is_chunked_sse_with_done(srv: FakeServer, http: httpx.Client) -> None:
    srv.enqueue(Reply(text="chunked text here", chunk_chars=5))
    body = {"model": "m", "messages": USER, "stream": True}
    with http.stream("POST", srv.openai_base_url + "/chat/completions", json=body, headers=AUTH) as r:
        assert r.headers["transfer-encoding"] == "chunked" and "content-length" not in r.headers
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode()
    events = sse_data(raw)
    assert events[-1] == "[DONE]"
    assert all(e["object"] == "chat.completion.chunk" for e in events[:-1])
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-1]) == "chunked text here"
    assert all("usage" not in e for e in events[:-1])  # include_usage was not asked for


@pytest.mark.parametrize("mode", ["final_chunk", "choices0", "none"])
def test_usage_placement(srv: FakeServer, http: httpx.Client, mode: str) -> None:
    srv.enqueue(Reply(text="x y z", usage=mode, prompt_tokens=5))
    events = sse_data(post_openai(http, srv, stream=True, stream_options={"include_usage": True}).text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    if mode == "final_chunk":
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 5
        assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    elif mode == "choices0":
        last = chunks[-1]["choices"][0]
        assert last["finish_reason"] == "stop" and last["usage"]["completion_tokens"] == 3
        assert all("usage" not in c for c in chunks)
    else:
        assert all("usage" not in c and "usage" not in c["choices"][0] for c in chunks)


def test_keepalives_during_ttft_then_paced_chunks(srv: FakeServer, http: httpx.Client) -> None:
    srv.enqueue(Reply(text="aaaa bbbb cccc", chunk_chars=4, ttft=0.2, keepalives=3, per_token=0.05))
    lines: list[str] = []
    body = {"model": "m", "messages": USER, "stream": True}
    with http.stream("POST", srv.openai_base_url + "/chat/completions", json=body, headers=AUTH) as r:
        lines = [line for line in r.iter_lines() if line]
    comments = [text for text in lines if text.startswith(":")]
    assert comments == [": keep-alive", ": OPENROUTER PROCESSING", ": keep-alive"]
    data = [i for i, text in enumerate(lines) if text.startswith("data: {")]
    assert max(i for i, text in enumerate(lines) if text.startswith(":")) < data[0]  # keep-alives fill the ttft
    content = "".join(json.loads(lines[i][6:])["choices"][0]["delta"].get("content") or "" for i in data)
    assert content == "aaaa bbbb cccc" and len(data) >= 3  # paced as separate chunks


def test_hang_stream_sends_only_keepalives(srv: FakeServer, http: httpx.Client) -> None:
    srv.enqueue(Reply(text="one two three", chunk_chars=4, fault=Fault("hang_stream", after_chunks=1)))
    seen: list[str] = []
    body = {"model": "m", "messages": USER, "stream": True}
    with http.stream("POST", srv.openai_base_url + "/chat/completions", json=body, headers=AUTH,
                     timeout=httpx.Timeout(2.0, read=0.5)) as r:
        deadline = time.monotonic() + 0.6
        for line in r.iter_lines():  # a 0.5 s read timeout never fires: keep-alives keep coming
            if line:
                seen.append(line)
            if time.monotonic() > deadline:
                break
    data = [line for line in seen if line.startswith("data:")]
    assert len(data) == 1 and json.loads(data[0][6:])["choices"][0]["delta"]["content"] == "one "
    assert sum(line.startswith(":") for line in seen) >= 2


def test_anthropic_keepalives_are_ping_events(srv: FakeServer, http: httpx.Client) -> None:
    srv.enqueue(Reply(text="hi", keepalives=2))
    raw = post_anthropic(http, srv, stream=True).text
    names = [line[7:] for line in raw.split("\n") if line.startswith("event: ")]
    assert names[:4] == ["message_start", "ping", "ping", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]


def test_retry_after_headers(srv: FakeServer, http: httpx.Client) -> None:
    srv.enqueue(Reply(fault=Fault("http_429", retry_after=0.25)),
                Reply(fault=Fault("http_503", retry_after=2)))
    r = post_openai(http, srv)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "0.25" and r.headers["retry-after-ms"] == "250"
    assert r.json()["error"] == {"message": r.json()["error"]["message"], "type": "rate_limit_error",
                                 "param": None, "code": "rate_limit_exceeded"}
    r = post_openai(http, srv, stream=True)
    assert r.status_code == 503 and r.headers["retry-after"] == "2" and r.headers["retry-after-ms"] == "2000"
    srv.enqueue(Reply(fault=Fault("http_500")))
    assert "retry-after" not in post_openai(http, srv).headers
    # The SDK honours it and retries; the faulted attempt is counted too.
    srv.reset()
    srv.enqueue(Reply(fault=Fault("http_429", retry_after=0.05)), Reply(text="second try"))
    client = openai.OpenAI(base_url=srv.openai_base_url, api_key=KEY, max_retries=1)
    assert client.chat.completions.create(model="m", messages=USER).choices[0].message.content == "second try"
    assert srv.request_count == 2
    client.close()


def test_dashscope_throttling_and_spend_limit_bodies(srv: FakeServer, http: httpx.Client) -> None:
    srv.enqueue(Reply(fault=Fault("dashscope_throttling")), Reply(fault=Fault("spend_limit")),
                Reply(fault=Fault("http_529")))
    r = post_openai(http, srv)
    err = r.json()["error"]
    assert r.status_code == 429 and err["code"] == "Throttling.AllocationQuota"
    assert "insufficient_quota" in err["message"]
    r = post_openai(http, srv)
    assert r.status_code == 429 and r.json()["error"]["error_code"] == "enforced_spend_limit_reached"
    r = post_anthropic(http, srv)
    assert r.status_code == 529 and r.json()["error"] == {"type": "overloaded_error", "message": "Overloaded"}


def test_drop_raises_on_raw_client(srv: FakeServer, http: httpx.Client) -> None:
    srv.enqueue(Reply(text="a b c d", chunk_chars=2, fault=Fault("drop", after_chunks=2)))
    with pytest.raises(httpx.RemoteProtocolError):
        post_openai(http, srv, stream=True)


def test_hang_raw_client_times_out(srv: FakeServer, http: httpx.Client) -> None:
    srv.enqueue(Reply(fault=Fault("hang")), Reply(fault=Fault("hang_stream")))
    with pytest.raises(httpx.ReadTimeout):
        http.post(srv.base_url + "/v1/messages", json={"model": "c", "max_tokens": 5, "messages": USER},
                  headers=ANTHROPIC_AUTH, timeout=0.3)
    # Without streaming, hang_stream sends headers then nothing.
    with http.stream("POST", srv.openai_base_url + "/chat/completions", json={"model": "m", "messages": USER},
                     headers=AUTH, timeout=0.3) as r:
        assert r.status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            r.read()


# -- scripting, recording, concurrency ------------------------------------------------------------


def test_queues_per_model_global_default_and_reset(srv: FakeServer, http: httpx.Client) -> None:
    srv.default = Reply(text="fallback")
    srv.enqueue(Reply(text="for-a-1"), Reply(text="for-a-2"), model="a")
    srv.enqueue(Reply(text="global"))
    assert srv.pending("a") == 2 and srv.pending() == 1

    def ask(model: str) -> str:
        return str(post_openai(http, srv, model=model).json()["choices"][0]["message"]["content"])

    assert [ask("b"), ask("a"), ask("a"), ask("a"), ask("b")] == ["global", "for-a-1", "for-a-2", "fallback",
                                                                 "fallback"]
    reqs = srv.requests
    assert [r.model for r in reqs] == ["b", "a", "a", "a", "b"] and srv.request_count == 5
    assert all(r.path == "/v1/chat/completions" and r.wire == "openai" and not r.stream for r in reqs)
    assert reqs[0].headers["authorization"] == f"Bearer {KEY}" and reqs[0].body["messages"] == USER
    assert reqs[0].api_key == KEY and KEY not in repr(reqs[0])
    assert [r.t for r in reqs] == sorted(r.t for r in reqs)
    srv.enqueue(Reply(text="dropped by reset"), model="a")
    srv.reset()
    assert srv.request_count == 0 and srv.requests == [] and srv.pending("a") == 0
    assert ask("a") == "fallback"


def test_connections_are_reused_and_concurrent_requests_overlap(srv: FakeServer, http: httpx.Client) -> None:
    oa = openai.OpenAI(base_url=srv.openai_base_url, api_key=KEY, max_retries=0)
    before = srv.connection_count
    for _ in range(20):
        oa.chat.completions.create(model="m", messages=USER)
    assert srv.connection_count == before + 1
    oa.close()
    # Each reply waits until all ten requests are in flight: a server that answered one at a time
    # would never get there (and give up waiting after 10 s, with a peak of 1).
    srv.default = Reply(hold_until_in_flight=10)
    results: list[str] = []

    def call() -> None:
        results.append(post_openai(http, srv).json()["choices"][0]["message"]["content"])

    threads = [threading.Thread(target=call) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["ok"] * 10 and srv.peak_in_flight >= 10


def test_chunks_rejoin_exactly(srv: FakeServer, http: httpx.Client) -> None:
    text = "Tiny words, a supercalifragilisticexpialidocious one,\n\nnew   lines  and spaces. "
    srv.enqueue(Reply(text=text, chunk_chars=5))
    events = sse_data(post_openai(http, srv, stream=True).text)[:-1]
    pieces = [e["choices"][0]["delta"]["content"] for e in events if e["choices"][0]["delta"].get("content")]
    assert "".join(pieces) == text and len(pieces) > 8 and max(map(len, pieces)) <= 12


def test_validation_messages() -> None:
    expected = r'invalid value for Fault.kind, expected one of .*"drop".* \(not \'nope\'\)'
    with pytest.raises(ValueError, match=expected):
        Fault("nope")
    with pytest.raises(ValueError, match="Reply.usage"):
        Reply(usage="sometimes")
    with pytest.raises(ValueError, match="unknown Reply field.*'txt'"):
        Reply.from_dict({"txt": "hi"})
    reply = Reply.from_dict({"text": "t", "fault": {"kind": "http_429", "retry_after": 1.5}})
    assert reply.fault == Fault("http_429", retry_after=1.5)
    assert {"http_429", "spend_limit", "dashscope_throttling", "drop", "hang", "hang_stream", "empty",
            "reasoning_only", "midstream_error", "http_529"} <= FAULT_KINDS
    srv = FakeServer()
    try:
        with pytest.raises(ValueError, match=r"queue\[1\]: unknown Reply field"):
            srv.load_script({"queue": [{"text": "ok"}, {"bogus": 1}]})
        assert srv.pending() == 0  # a bad script changes nothing
        script = {"default": {"text": "d"}, "queue": [{"text": "q"}], "models": {"m": [{"text": "x"}]}}
        srv.load_script(script)
        assert srv.default.text == "d" and srv.pending() == 1 and srv.pending("m") == 1
    finally:
        srv.stop()


def test_cli_serves_a_script_until_interrupted(tmp_path: Path, http: httpx.Client) -> None:
    script = tmp_path / "replies.json"
    script.write_text(json.dumps({"default": {"text": "scripted default"},
                                  "models": {"kimi": [{"text": "k", "fault": {"kind": "http_503"}}]}}))
    cmd = [sys.executable, "-m", "symposia.testing", "--port", "0", "--script", str(script)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        openai_url = lines[1].split()[-1]
        anthropic_url = lines[2].split()[-1]
        assert openai_url.endswith("/v1") and openai_url == anthropic_url + "/v1"
        body = {"model": "kimi", "messages": USER}
        assert http.post(openai_url + "/chat/completions", json=body, headers=AUTH).status_code == 503
        r = http.post(openai_url + "/chat/completions", json=body, headers=AUTH)
        assert r.json()["choices"][0]["message"]["content"] == "scripted default"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=5)
        assert proc.returncode == 0, err
        assert "2 request(s)" in out and KEY not in out + err  # keys never reach the output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_rejects_a_bad_script(tmp_path: Path) -> None:
    script = tmp_path / "bad.json"
    script.write_text(json.dumps({"queue": [{"text": "ok", "fault": {"kind": "meltdown"}}]}))
    cmd = [sys.executable, "-m", "symposia.testing", "--port", "0", "--script", str(script)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=10, env=ENV)
    assert r.returncode == 2 and "queue[0]" in r.stderr and "Fault.kind" in r.stderr


def test_chunked_request_body_keeps_the_connection_usable(srv: FakeServer, http: httpx.Client) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"model": "streamed-up", '
        yield b'"messages": []}'

    url = srv.openai_base_url + "/chat/completions"
    first = http.post(url, content=body(), headers=AUTH)
    assert first.request.headers["transfer-encoding"] == "chunked" and first.status_code == 200
    assert post_openai(http, srv).status_code == 200  # the next request on the same socket parses
    assert [r.model for r in srv.requests] == ["streamed-up", "m"]
