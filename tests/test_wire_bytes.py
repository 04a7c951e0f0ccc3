"""The streaming wire read byte by byte: events split anywhere (inside a UTF-8 character, between CR and
LF, inside `data:`), CRLF or LF line ends, comments and unknown fields, still give exactly the answer.

A real HTTP server on loopback (asyncio streams) writes a canned SSE body one slice at a time, with the
slice boundaries drawn by hypothesis, so the provider's parser meets every cut a network can make.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symposia.errors import ProviderError
from symposia.providers.anthropic_native import AnthropicProvider
from symposia.providers.base import ProviderSpec, Timeouts
from symposia.providers.openai_compat import OpenAICompatProvider
from symposia.records import Message, TurnRequest, TurnResult

PIECES = ["Ström ", "und ", "Wasser — ", "河流", " 🌊 ", "end."]


def openai_body(eol: str) -> bytes:
    lines: list[str] = [": keep-alive"]
    for i, piece in enumerate(PIECES):
        chunk: dict[str, Any] = {"id": "c-1", "model": "m-2026", "choices": [{"index": 0, "delta": {"content": piece}}]}
        if i == 0:
            chunk["choices"][0]["delta"]["reasoning_content"] = "Hmm…"
        lines += [f"data: {json.dumps(chunk, ensure_ascii=False)}", ""]
    lines += ['data: {"id": "c-1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}', "",
              'data: {"id": "c-1", "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 6}}', "",
              "id: 9", "retry: 1000", "data: [DONE]", "", ""]
    return eol.join(lines).encode("utf-8")


def anthropic_body(eol: str) -> bytes:
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": {"id": "msg_1", "model": "claude-x",
                                                                "usage": {"input_tokens": 7, "output_tokens": 1}}}),
        ("ping", {"type": "ping"}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "thinking_delta", "thinking": "Hmm…"}}),
    ]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 1,
                                        "delta": {"type": "text_delta", "text": p}}) for p in PIECES]
    events += [("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                  "usage": {"output_tokens": 6}}),
               ("message_stop", {"type": "message_stop"})]
    lines: list[str] = []
    for name, data in events:
        lines += [f"event: {name}", f"data: {json.dumps(data, ensure_ascii=False)}", ""]
    return eol.join([*lines, ""]).encode("utf-8")


async def serve_and_read(wire: str, body: bytes, cuts: list[int]) -> TurnResult:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                     b"connection: close\r\n\r\n")
        at = 0
        for cut in sorted({c % (len(body) + 1) for c in cuts}) + [len(body)]:
            if cut > at:
                writer.write(body[at:cut])
                await writer.drain()
                await asyncio.sleep(0)
                at = cut
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}" + ("/v1" if wire == "openai" else "")
    spec = ProviderSpec(name="p", kind=wire, base_url=base, timeouts=Timeouts(connect=5, idle=10, total=30))  # type: ignore[arg-type]
    provider = OpenAICompatProvider(spec, "k") if wire == "openai" else AnthropicProvider(spec, "k")
    try:
        request = TurnRequest(model="m", messages=(Message("user", "Where does the river go?"),))
        events = [ev async for ev in provider.stream(request)]
    finally:
        await provider.aclose()
        server.close()
        await server.wait_closed()
    result = events[-1]
    assert isinstance(result, TurnResult)
    return result


@settings(max_examples=30)
@given(wire=st.sampled_from(["openai", "anthropic"]), eol=st.sampled_from(["\n", "\r\n"]),
       cuts=st.lists(st.integers(0, 10_000), max_size=40))
def test_any_cut_of_the_stream_gives_the_same_answer(wire: str, eol: str, cuts: list[int]) -> None:
    body = openai_body(eol) if wire == "openai" else anthropic_body(eol)
    result = asyncio.run(serve_and_read(wire, body, cuts))
    assert result.text == "".join(PIECES)
    assert result.reasoning == "Hmm…"
    assert result.finish_reason == "stop"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (7, 6)


def test_a_redirect_is_not_followed_and_says_where_to_point_base_url() -> None:
    """Following it would send the key (x-api-key, Authorization) to whatever address the answer names."""
    seen: list[bytes] = []

    async def scenario() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(b"HTTP/1.1 308 Permanent Redirect\r\nlocation: http://127.0.0.1:9/elsewhere/v1/chat/completions"
                         b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        spec = ProviderSpec(name="vllm", kind="openai", base_url=f"http://127.0.0.1:{port}/v1")
        provider = OpenAICompatProvider(spec, "sk-planted-redirect-key-123")
        try:
            with pytest.raises(ProviderError) as info:
                async for _ in provider.stream(TurnRequest(model="m", messages=(Message("user", "Hi"),))):
                    pass
        finally:
            await provider.aclose()
            server.close()
            await server.wait_closed()
        err = info.value
        assert (err.kind, err.status, err.retryable) == ("redirect", 308, False)
        assert "http://127.0.0.1:9/elsewhere/v1/chat/completions" in str(err)
        assert "providers.vllm.base_url" in str(err) and "sk-planted" not in str(err)

    asyncio.run(scenario())
    assert len(seen) == 1  # one request, to the configured address only
