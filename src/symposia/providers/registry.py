"""Build a provider instance from its catalog spec.

The SDK providers are imported when first used, deliberately: ``openai`` and ``anthropic`` take a good
part of a second to import, which every CLI start would pay; the local model pulls in llama.cpp (an
optional, heavy extra). The scripted provider is light and imported with this module.
"""

from __future__ import annotations

from symposia.errors import ConfigError
from symposia.providers.base import Provider, ProviderSpec
from symposia.providers.scripted import ScriptedProvider


def make_provider(spec: ProviderSpec, api_key: str | None) -> Provider:
    """Return a ready provider for ``spec`` (``api_key`` already resolved, may be None)."""
    if spec.kind == "openai":
        from symposia.providers.openai_compat import OpenAICompatProvider  # deferred: the openai SDK is heavy

        return OpenAICompatProvider(spec, api_key)
    if spec.kind == "anthropic":
        from symposia.providers.anthropic_native import AnthropicProvider  # deferred: the anthropic SDK is heavy

        return AnthropicProvider(spec, api_key)
    if spec.kind == "local":
        from symposia.providers.local import LocalProvider  # deferred: llama.cpp, the optional [local] extra

        return LocalProvider(spec, api_key)
    if spec.kind == "scripted":
        return ScriptedProvider(spec, api_key)
    if spec.kind == "llm":
        from symposia.providers.llm_plugin import LLMPluginProvider

        return LLMPluginProvider(spec, api_key)
    raise ConfigError(f"provider {spec.name!r} has unknown kind {spec.kind!r}; "
                      "expected one of: openai, anthropic, local, scripted, llm")
