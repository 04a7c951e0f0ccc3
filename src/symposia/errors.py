"""The exception tree. Every message is something a user can act on, and never contains a key.

    SymposiaError
    ├── ConfigError            a catalog/config file is broken: names file, line and field
    ├── UnknownVoiceError      a voice shortcut that is not in the catalog: suggests close names
    ├── MissingKeyError        an API key is absent: names the environment variable and config file
    ├── ProviderError          a model call failed: voice, provider, status, provider's message
    │   └── ProviderUnavailable    a provider cannot run here (local model not installed, ...)
    └── ArchiveError           the SQLite archive cannot be opened / migrated / read

(:class:`symposia.paths.UnsafePathError`, a ``ValueError``, sits beside it: paths is a bottom module.)
"""

from __future__ import annotations

from pathlib import Path


class SymposiaError(Exception):
    """Base of every error symposia raises on purpose."""


class ConfigError(SymposiaError):
    def __init__(self, message: str, *, path: Path | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.path = path
        self.line = line
        self.field = field
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f":{line}"
            where += ": "
        super().__init__(where + message)


class UnknownVoiceError(SymposiaError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown voice {name!r}.{hint} Run `symposia voices` to list them.")


class MissingKeyError(SymposiaError):
    def __init__(self, provider: str, env_var: str, keys_file: Path) -> None:
        self.provider = provider
        self.env_var = env_var
        self.keys_file = keys_file
        super().__init__(
            f"No API key for provider {provider!r}: set the environment variable {env_var}, "
            f"or add `{env_var} = \"...\"` to {keys_file} (mode 0600)."
        )


class ProviderError(SymposiaError):
    def __init__(self, message: str, *, provider: str, voice: str | None = None,
                 status: int | None = None, retryable: bool = False, kind: str = "error",
                 code: str | None = None, retry_after: float | None = None) -> None:
        self.provider = provider
        self.voice = voice
        self.status = status
        self.retryable = retryable
        self.kind = kind
        self.code = code
        self.retry_after = retry_after
        self.detail = message
        who = f"voice {voice!r} via {provider!r}" if voice else f"provider {provider!r}"
        st = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{who}{st}: {message}")


class ProviderUnavailable(ProviderError):
    """The provider cannot run on this machine (e.g. the local model extra is not installed)."""


class ArchiveError(SymposiaError):
    pass
