"""Build a provider instance from its catalog spec. Imports are lazy: the local model's heavy
dependencies are loaded only when a local voice is actually used."""

from __future__ import annotations

from symposia.errors import ConfigError
from symposia.providers.base import Provider, ProviderSpec


def make_provider(spec: ProviderSpec, api_key: str | None) -> Provider:
    """Return a ready provider for ``spec`` (``api_key`` already resolved, may be None)."""
    if spec.kind == "openai":
        from symposia.providers.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(spec, api_key)
    if spec.kind == "anthropic":
        from symposia.providers.anthropic_native import AnthropicProvider

        return AnthropicProvider(spec, api_key)
    if spec.kind == "local":
        from symposia.providers.local import LocalProvider

        return LocalProvider(spec, api_key)
    if spec.kind == "scripted":
        from symposia.providers.scripted import ScriptedProvider

        return ScriptedProvider(spec, api_key)
    if spec.kind == "llm":
        from symposia.providers.llm_plugin import LLMPluginProvider

        return LLMPluginProvider(spec, api_key)
    raise ConfigError(f"provider {spec.name!r} has unknown kind {spec.kind!r}; "
                      "expected one of: openai, anthropic, local, scripted, llm")
