"""The embedded default voice is a real local model: Gemma 3 270M run by llama.cpp, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from symposia.api import Symposia
from symposia.prompts import load
from symposia.providers.local import render_transcript
from symposia.records import Message

pytest.importorskip("llama_cpp", reason="needs the [local] extra (scripts/test installs it)")


def test_transcript_layout_for_a_base_model() -> None:
    layout = {**load("local"), "preface": "A talk with {speaker}."}
    text = render_transcript(
        [Message("user", "What is play?"), Message("assistant", "A probe and a party."),
         Message("user", "  And work?\n")],
        "Be brief.", layout)
    assert text == (
        "A talk with Guest.\n\nSetting: Be brief.\n\nHost: What is play?\n\nGuest: A probe and a party.\n\n"
        "Host: And work?\n\nGuest:"
    )


@pytest.mark.local_model
def test_ask_local_answers_offline_and_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "local.db"
    streamed: list[str] = []
    with Symposia(db) as s:
        turn = s.ask("local", "What is the sky made of?", max_tokens=40, temperature=0.0,
                     on_event=lambda ev: streamed.append(getattr(ev, "text", "")))
    r = turn.result
    assert r.ok and r.text.strip(), r
    assert "".join(streamed).strip() == r.text  # what streamed is what was stored
    assert r.finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens and r.usage.prompt_tokens > 10
    assert 0 < (r.usage.completion_tokens or 0) <= 40
    assert "Host:" not in r.text  # the stop sequence ended the voice's turn
    assert turn.provider == "local" and turn.voice == "local"
    with Symposia(db) as s:
        assert s.log(1)[0].result.text == r.text


@pytest.mark.local_model
def test_long_history_is_trimmed_to_the_context_window(tmp_path: Path) -> None:
    from symposia.api import run_sync
    from symposia.providers.base import ProviderSpec
    from symposia.providers.local import LocalProvider
    from symposia.records import Params, TurnRequest

    spec = ProviderSpec(name="local", kind="local", concurrency=1)
    provider = LocalProvider(spec)
    filler = "word " * 900
    msgs = tuple(Message("user" if i % 2 == 0 else "assistant", f"{i} {filler}") for i in range(9))
    req = TurnRequest(model="gemma", messages=msgs, params=Params(max_tokens=8, temperature=0.0))

    async def go() -> list[object]:
        return [ev async for ev in provider.stream(req)]

    events = run_sync(go())
    final = events[-1]
    assert final.usage.prompt_tokens < 4096  # type: ignore[attr-defined]
