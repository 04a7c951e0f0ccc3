"""API keys: environment first, then a private keys.toml in the config dir, never the cwd."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from symposia import paths
from symposia.errors import ConfigError, MissingKeyError
from symposia.keys import load_keys_file, resolve_key
from symposia.providers.base import ProviderSpec
from symposia.redact import redact

ENV_KEY = "sk-or-v1-ENVenvENVenvENVenvENVenv0123456789"
FILE_KEY = "sk-or-v1-FILEfileFILEfileFILEfile0123456789"
PLANTED = "plantedSECRETvalue-0123456789"  # not key-shaped: only registration can hide it

OPENROUTER = ProviderSpec(name="openrouter", kind="openai", base_url="https://openrouter.ai/api/v1",
                          key_env="OPENROUTER_API_KEY", key_required=True)
LLAMACPP = ProviderSpec(name="llamacpp", kind="openai", base_url="http://127.0.0.1:8080/v1",
                        key_env="LLAMA_API_KEY", key_required=False)
OLLAMA = ProviderSpec(name="ollama", kind="openai", base_url="http://localhost:11434/v1",
                      key_env=None, key_required=False)


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


def write_keys(text: str, mode: int = 0o600) -> Path:
    path = paths.keys_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", f"  {ENV_KEY}\n")
    assert resolve_key(OPENROUTER) == ENV_KEY


def test_key_from_keys_file() -> None:
    write_keys(f'OPENROUTER_API_KEY = "{FILE_KEY}"\n')
    assert resolve_key(OPENROUTER) == FILE_KEY


def test_environment_beats_keys_file(monkeypatch: pytest.MonkeyPatch) -> None:
    write_keys(f'OPENROUTER_API_KEY = "{FILE_KEY}"\n')
    monkeypatch.setenv("OPENROUTER_API_KEY", ENV_KEY)
    assert resolve_key(OPENROUTER) == ENV_KEY


def test_environment_key_works_despite_an_unsafe_keys_file(monkeypatch: pytest.MonkeyPatch) -> None:
    write_keys(f'OPENROUTER_API_KEY = "{FILE_KEY}"\n', mode=0o644)
    monkeypatch.setenv("OPENROUTER_API_KEY", ENV_KEY)
    assert resolve_key(OPENROUTER) == ENV_KEY


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_readable_keys_file_is_refused(mode: int) -> None:
    path = write_keys(f'OPENROUTER_API_KEY = "{PLANTED}"\n', mode=mode)
    with pytest.raises(ConfigError) as info:
        resolve_key(OPENROUTER)
    msg = str(info.value)
    assert f"chmod 600 {path}" in msg and str(path) in msg
    assert PLANTED not in msg


def test_missing_key_names_env_var_and_keys_file() -> None:
    with pytest.raises(MissingKeyError) as info:
        resolve_key(OPENROUTER)
    msg = str(info.value)
    assert "OPENROUTER_API_KEY" in msg and str(paths.keys_file()) in msg
    assert info.value.provider == "openrouter"


def test_keys_file_without_this_key_is_still_missing() -> None:
    write_keys(f'DEEPSEEK_API_KEY = "{PLANTED}"\n')
    with pytest.raises(MissingKeyError) as info:
        resolve_key(OPENROUTER)
    assert PLANTED not in str(info.value)


def test_keys_file_in_working_directory_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = tmp_path / "cloned-repo"
    cwd.mkdir()
    planted = cwd / "keys.toml"
    planted.write_text(f'OPENROUTER_API_KEY = "{PLANTED}"\n', encoding="utf-8")
    planted.chmod(0o600)
    (cwd / "config.toml").write_text("", encoding="utf-8")
    monkeypatch.chdir(cwd)
    assert paths.keys_file() != Path("keys.toml").resolve()
    with pytest.raises(MissingKeyError) as info:
        resolve_key(OPENROUTER)
    assert PLANTED not in str(info.value)
    assert resolve_key(LLAMACPP) is None


def test_optional_key() -> None:
    assert resolve_key(LLAMACPP) is None
    write_keys('LLAMA_API_KEY = "local-server-secret"\n')
    assert resolve_key(LLAMACPP) == "local-server-secret"


def test_provider_without_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", ENV_KEY)
    assert resolve_key(OLLAMA) is None


def test_resolved_keys_are_registered_for_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_API_KEY", "llama-" + PLANTED)
    resolve_key(LLAMACPP)
    assert "llama-" + PLANTED not in redact(f"server said: bad key llama-{PLANTED}")


def test_every_value_in_keys_file_is_registered() -> None:
    other = "zz-other-" + PLANTED
    write_keys(f'OPENROUTER_API_KEY = "{FILE_KEY}"\nZAI_API_KEY = "{other}"\n')
    assert load_keys_file() == {"OPENROUTER_API_KEY": FILE_KEY, "ZAI_API_KEY": other}
    assert other not in redact(f"echo {other}")


def test_broken_keys_file_names_line_not_content() -> None:
    path = write_keys(f'OPENROUTER_API_KEY = "{FILE_KEY}"\nZAI_API_KEY = {PLANTED}\n')
    with pytest.raises(ConfigError) as info:
        resolve_key(dataclasses.replace(OPENROUTER, key_env="XAI_API_KEY"))
    assert (info.value.path, info.value.line) == (path, 2)
    assert PLANTED not in str(info.value) and FILE_KEY not in str(info.value)


def test_non_string_key_is_refused() -> None:
    path = write_keys('OPENROUTER_API_KEY = 12345678\n')
    with pytest.raises(ConfigError) as info:
        resolve_key(OPENROUTER)
    assert (info.value.path, info.value.line, info.value.field) == (path, 1, "OPENROUTER_API_KEY")
    assert "12345678" not in str(info.value)
