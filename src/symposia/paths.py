"""Where symposia keeps things. Environment variables override every default (tests rely on it).

- ``SYMPOSIA_CONFIG_DIR``: user config dir (``config.toml``, ``keys.toml``). Default: platformdirs.
- ``SYMPOSIA_DATA_DIR``:   user data dir (default archive). Default: platformdirs.
- ``SYMPOSIA_ARCHIVE``:    the archive file itself (``--archive`` beats it).

Keys are never read from the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "symposia"


def config_dir() -> Path:
    env = os.environ.get("SYMPOSIA_CONFIG_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    env = os.environ.get("SYMPOSIA_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP))


def config_file() -> Path:
    return config_dir() / "config.toml"


def keys_file() -> Path:
    return config_dir() / "keys.toml"


def archive_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get("SYMPOSIA_ARCHIVE")
    if env:
        return Path(env)
    return data_dir() / "archive.db"
