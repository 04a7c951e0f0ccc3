"""Build a provider instance from its catalog spec.

The providers are imported when first used, deliberately: the streaming ones need httpx, the batch
clients the ``openai``/``anthropic`` SDKs (a good part of a second to import each); the local model
pulls in llama.cpp (an optional, heavy extra); an ``llm`` voice loads llm and its plugins. The
scripted provider is light and imported with this module.
"""

from __future__ import annotations

import secrets

from symposia.errors import ConfigError
from symposia.providers.base import Provider, ProviderKind, ProviderSpec
from symposia.providers.batch import BatchClient, batch_options
from symposia.providers.scripted import ScriptedProvider

#: Kinds whose sampling a seed reproduces exactly (the embedded models). A call to one of them without
#: a seed gets a fresh one, drawn before the call and recorded in the turn's params.
SEEDED_KINDS: frozenset[ProviderKind] = frozenset({"local"})
#: Seeds are drawn in [0, SEED_LIMIT): llama.cpp takes a uint32, JSON and SQLite keep it exact.
SEED_LIMIT = 2**31


def fresh_seed() -> int:
    """A new random seed for one call."""
    return secrets.randbelow(SEED_LIMIT)


def make_provider(spec: ProviderSpec, api_key: str | None) -> Provider:
    """Return a ready provider for ``spec`` (``api_key`` already resolved, may be None)."""
    if spec.kind == "openai":
        from symposia.providers.openai_compat import OpenAICompatProvider  # deferred: httpx is loaded on first use

        return OpenAICompatProvider(spec, api_key)
    if spec.kind == "anthropic":
        from symposia.providers.anthropic_native import AnthropicProvider  # deferred: httpx is loaded on first use

        return AnthropicProvider(spec, api_key)
    if spec.kind == "local":
        from symposia.providers.local import LocalProvider  # deferred: llama.cpp, the optional [local] extra

        return LocalProvider(spec, api_key)
    if spec.kind == "scripted":
        return ScriptedProvider(spec, api_key)
    if spec.kind == "llm":
        from symposia.providers.llm_plugin import LLMPluginProvider  # deferred: llm and its plugins load at import

        return LLMPluginProvider(spec, api_key)
    raise ConfigError(f"provider {spec.name!r} has unknown kind {spec.kind!r}; "
                      "expected one of: openai, anthropic, local, scripted, llm")


def make_batch_client(spec: ProviderSpec, api_key: str | None) -> BatchClient | None:
    """The batch API client for ``spec``, or None when the provider has none (``options.batch``)."""
    if not batch_options(spec):
        return None
    if spec.kind == "anthropic":
        from symposia.providers.anthropic_batch import AnthropicBatchClient  # deferred: the anthropic SDK is heavy

        return AnthropicBatchClient(spec, api_key)
    from symposia.providers.openai_batch import OpenAIBatchClient  # deferred: the openai SDK is heavy

    return OpenAIBatchClient(spec, api_key)
