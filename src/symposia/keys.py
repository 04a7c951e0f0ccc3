"""API keys: from the environment, else from the user's private ``keys.toml``.

Never from the working directory (a cloned repository could plant a keys file there), and never
from a keys file other users can read. Every key found is registered with
:mod:`symposia.redact` so it cannot leak into an error message, a log or the archive.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from symposia import paths
from symposia.errors import ConfigError, MissingKeyError
from symposia.providers.base import ProviderSpec
from symposia.redact import register_secret
from symposia.tomlfile import TomlFile


def load_keys_file(path: Path | None = None) -> dict[str, str]:
    """Read ``keys.toml`` (``ENV_VAR = "value"`` lines); ``{}`` when there is none.

    Refuses (ConfigError) a file that group or others can read, telling the user how to fix it.
    """
    path = path if path is not None else paths.keys_file()
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read keys file: {exc.strerror}", path=path) from None
    # POSIX permission bits mean nothing useful on Windows; there the user profile protects it.
    if os.name != "nt" and st.st_mode & 0o077:
        mode = stat.S_IMODE(st.st_mode)
        raise ConfigError(
            f"keys file can be read by other users (mode {mode:04o}); API keys must be private. "
            f"Run `chmod 600 {path}` and try again.",
            path=path,
        )
    # tomllib reports positions, not content, but TomlFile redacts anyway: this file is all secrets.
    src = TomlFile.read(path, "keys file")
    data = src.parse()
    keys: dict[str, str] = {}
    for name, value in data.items():
        if not isinstance(value, str):
            raise ConfigError(
                f"{name} must be a quoted string, e.g. {name} = \"...\" (found a {type(value).__name__})",
                path=path, line=src.line(name), field=name,
            )
        value = value.strip()
        register_secret(value)
        keys[name] = value
    return keys


def resolve_key(spec: ProviderSpec) -> str | None:
    """The API key for ``spec``: ``$KEY_ENV`` first, then ``keys.toml``; None if it needs none.

    Raises :class:`~symposia.errors.MissingKeyError` when the provider requires a key and there
    is none, and ConfigError when ``keys.toml`` is unsafe or broken.
    """
    env_var = spec.key_env
    if not env_var:
        return None
    value = os.environ.get(env_var, "").strip()
    if not value:
        # The environment wins; the file is read only when needed, so a broken keys file cannot
        # block someone who exports their keys.
        value = load_keys_file().get(env_var, "")
    if value:
        register_secret(value)
        return value
    if spec.key_required:
        raise MissingKeyError(spec.name, env_var, paths.keys_file())
    return None
