"""Build a provider instance from its catalog spec. Imports are lazy: the local model's heavy
dependencies are loaded only when a local voice is actually used."""

from __future__ import annotations

import secrets

from symposia.errors import ConfigError
from symposia.providers.base import Provider, ProviderKind, ProviderSpec

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
