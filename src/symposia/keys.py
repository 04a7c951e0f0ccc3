"""API keys: from the environment, else from the user's private ``keys.toml``.

Never from the working directory (a cloned repository could plant a keys file there), and never
from a keys file other users can read. Every key found is registered with
:mod:`symposia.redact` so it cannot leak into an error message, a log or the archive.
"""

from __future__ import annotations

import json
import os
import re
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


_KEY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def store_key(name: str, value: str, path: Path | None = None) -> Path:
    """Write ``NAME = "value"`` into ``keys.toml`` (created with mode 0600), keeping the other keys.

    The file is replaced atomically; an unsafe existing file is refused, as when reading it.
    """
    if not _KEY_NAME.match(name):
        raise ConfigError(f"invalid key name {name!r}: use the environment variable's name, "
                          "e.g. OPENROUTER_API_KEY")
    value = value.strip()
    if not value or any(c in value for c in "\r\n\0"):
        raise ConfigError(f"the value for {name} is empty or spans several lines; paste the key on one line")
    path = path if path is not None else paths.keys_file()
    keys = load_keys_file(path)
    keys[name] = value
    register_secret(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    body = "".join(f"{k} = {json.dumps(v)}\n" for k, v in sorted(keys.items()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("# API keys for symposia (mode 0600). Written by `symposia keys set`.\n" + body)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def key_sources(names: list[str]) -> dict[str, str]:
    """Where each key would come from: ``environment``, ``keys.toml`` or ``missing`` (never the value)."""
    try:
        stored = load_keys_file()
    except ConfigError:
        stored = {}
    return {n: "environment" if os.environ.get(n, "").strip() else "keys.toml" if stored.get(n) else "missing"
            for n in names}
