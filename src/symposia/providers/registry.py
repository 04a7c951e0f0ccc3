"""Build a provider instance from its catalog spec. Imports are lazy: the local model's heavy
dependencies are loaded only when a local voice is actually used."""

from __future__ import annotations

from symposia.errors import ConfigError
from symposia.providers.base import Provider, ProviderSpec
from symposia.providers.batch import BatchClient, batch_options


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
    raise ConfigError(f"provider {spec.name!r} has unknown kind {spec.kind!r}; "
                      "expected one of: openai, anthropic, local, scripted")


def make_batch_client(spec: ProviderSpec, api_key: str | None) -> BatchClient | None:
    """The batch API client for ``spec``, or None when the provider has none (``options.batch``)."""
    if not batch_options(spec):
        return None
    if spec.kind == "anthropic":
        from symposia.providers.anthropic_batch import AnthropicBatchClient

        return AnthropicBatchClient(spec, api_key)
    from symposia.providers.openai_batch import OpenAIBatchClient

    return OpenAIBatchClient(spec, api_key)
