"""Planted keys of several shapes never leave the process or reach the disk.

Each key is planted where a user or a provider could put it: the question (so the session title and
plan), the provider's answer (an echo, split over many chunks), a provider's error message, and the
key itself (vendor-shaped, arbitrary, with a newline). Then every output is searched: stdout, stderr,
every file under the data dir, exports, and the live page's events.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from support import fake_config
from symposia.catalog import Voice
from symposia.cli.main import cli
from symposia.records import Restart, TextChunk
from symposia.redact import StreamRedactor, redact, register_secret
from symposia.testing import FakeServer, Fault, Reply
from symposia.web.live import LiveRun, WebObserver, sse_format

VENDOR = "sk-or-v1-" + "Q7" * 16
ARBITRARY = "zebra.Orchid~4417~kettle"  # a key_env value no pattern could guess
NEWLINE = "firstHALFofTheKey\nsecondHALFofTheKey"


def _pieces(key: str) -> list[str]:
    return [key] + [p for p in key.split("\n") if p]


def _assert_nowhere(keys: list[str], texts: list[str], root: Path) -> None:
    for key in keys:
        for piece in _pieces(key):
            for text in texts:
                assert piece not in text
            for f in root.rglob("*"):
                if f.is_file():
                    assert piece.encode() not in f.read_bytes(), (piece, f)


def _config(home: Path, srv: FakeServer) -> None:
    fake_config(home, srv.openai_base_url, [("sage", "fake/sage-1", "Sage One", "Sage"),
                                            ("muse", "fake/muse-1", "Muse One", "Muse")], max_attempts=2)


@pytest.mark.parametrize("key", [VENDOR, ARBITRARY])
def test_ask_with_keys_in_question_answer_and_error(isolated_user_dirs: Path, key: str) -> None:
    runner = CliRunner()
    with FakeServer() as srv:
        _config(isolated_user_dirs, srv)
        # The provider fails once quoting the key, then answers echoing it, 3 characters a chunk.
        srv.enqueue(Reply(fault=Fault("http_500", message=f"bad key {key} and {VENDOR}")),
                    Reply(text=f"You sent me {key} and also {VENDOR}. Done.", chunk_chars=3))
        res = runner.invoke(cli, ["ask", "sage", f"Is {key} my key?"], env={"FAKE_API_KEY": key})
        assert res.exit_code == 0, res.output
        assert "You sent me [REDACTED] and also [REDACTED]. Done." in res.stdout
        exported = runner.invoke(cli, ["log", "--json"], env={"FAKE_API_KEY": key}).stdout
        sid = json.loads(exported)[0]["session_id"]
        outputs = [res.stdout, res.stderr, exported]
        for fmt in ("md", "json"):
            outputs.append(runner.invoke(cli, ["export", sid, "-f", fmt], env={"FAKE_API_KEY": key}).stdout)
    _assert_nowhere([key, VENDOR], outputs, isolated_user_dirs)


def test_council_title_plan_and_transcript_keep_no_key(isolated_user_dirs: Path) -> None:
    key = "walrus.Velvet~8812~lantern"  # used by no other test: redaction must not depend on test order
    runner = CliRunner()
    with FakeServer() as srv:
        _config(isolated_user_dirs, srv)
        srv.default = Reply(text=f"echo: {key}", chunk_chars=4)
        res = runner.invoke(cli, ["council", f"What about {key}?", "-m", "sage", "-m", "muse"],
                            env={"FAKE_API_KEY": key})
        assert res.exit_code == 0, res.output
    _assert_nowhere([key], [res.stdout, res.stderr], isolated_user_dirs)


def test_a_key_with_a_newline_leaks_neither_half(isolated_user_dirs: Path) -> None:
    runner = CliRunner()
    with FakeServer() as srv:
        _config(isolated_user_dirs, srv)
        srv.default = Reply(text=f"echo {NEWLINE} end", chunk_chars=5)
        res = runner.invoke(cli, ["ask", "sage", f"mine is {NEWLINE}"], env={"FAKE_API_KEY": NEWLINE})
    _assert_nowhere([NEWLINE], [res.stdout, res.stderr], isolated_user_dirs)


def test_live_page_events_never_carry_an_echoed_key() -> None:
    register_secret(ARBITRARY)
    voice = Voice(shortcut="sage", name="Sage One", provider="fake", model="fake/sage-1")

    async def run() -> list[str]:
        live = LiveRun("r1", "council", f"title with {ARBITRARY}")
        obs = WebObserver(live)
        obs.note(f"Round 1: {ARBITRARY}")
        obs.turn_started("r1:sage", voice, "round 1")
        text = f"the key is {ARBITRARY} and {VENDOR}!"
        for i in range(0, 12, 2):  # a first attempt dies mid-key
            obs.event("r1:sage", TextChunk(text[i:i + 2]))
        obs.event("r1:sage", Restart(attempt=2, reason=f"stream_error: {ARBITRARY}"))
        for i in range(0, len(text), 3):
            obs.event("r1:sage", TextChunk(text[i:i + 3]))
        return [sse_format(name, data, i) for i, (name, data) in enumerate(live.log)] + [
            json.dumps(live.snapshot())]

    frames = asyncio.run(run())
    joined = "".join(frames)
    assert "[REDACTED]" in joined
    for piece in (ARBITRARY, VENDOR, ARBITRARY[:12], VENDOR[:20]):
        assert piece not in joined


@settings(deadline=None, max_examples=150)
@given(st.text(max_size=40), st.text(max_size=40), st.lists(st.integers(1, 9), min_size=1, max_size=30))
def test_a_stream_split_anywhere_never_shows_a_registered_key(before: str, after: str, sizes: list[int]) -> None:
    register_secret(ARBITRARY)
    text = before + ARBITRARY + after + VENDOR + " ."
    r = StreamRedactor()
    out, i = "", 0
    for n in sizes * (len(text) // len(sizes) + 1):
        if i >= len(text):
            break
        out += r.feed(text[i:i + n])
        i += n
    out += r.flush()
    assert ARBITRARY not in out and VENDOR not in out
    assert out == redact(text)  # the same text as redacting it whole: nothing lost, nothing added
