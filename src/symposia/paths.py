"""Where symposia keeps things. Environment variables override every default (tests rely on it).

- ``SYMPOSIA_CONFIG_DIR``: user config dir (``config.toml``, ``keys.toml``). Default: platformdirs.
- ``SYMPOSIA_DATA_DIR``:   user data dir (default archive). Default: platformdirs.
- ``SYMPOSIA_ARCHIVE``:    the archive file itself (``--archive`` beats it).

Keys are never read from the working directory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import ClassVar

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


class UnsafePathError(ValueError):
    """A name from outside (a session id) would put a file outside its folder. The CLI reports it
    like a :class:`~symposia.errors.UsageError` (this module sits below :mod:`symposia.errors`)."""

    exit_code: ClassVar[int] = 2  # nothing was started: errors.EXIT_USAGE


# A session id becomes a file name (transcripts, analysis reports, web downloads): it must be one
# plain path component. Ours are ``20261125-194428-ask-3f9a``; imported ones may be anything.
_UNSAFE_ID = re.compile(r"[\x00-\x1f\x7f/\\]")
MAX_ID_LENGTH = 200


def check_session_id(session_id: str) -> str:
    """Return ``session_id`` if it is safe as a single file-name component, else raise
    :class:`~symposia.errors.UnsafePathError` saying why (separators, ``..``, control characters
    such as CR/LF, empty, or over 200 characters)."""
    why = ""
    if not isinstance(session_id, str) or not session_id.strip():
        why = "it is empty"
    elif _UNSAFE_ID.search(session_id):
        why = "it contains a path separator or a control character (CR, LF, NUL...)"
    elif session_id.strip(".") == "" or ".." in session_id:
        why = "it contains '..'"
    elif len(session_id) > MAX_ID_LENGTH:
        why = f"it is longer than {MAX_ID_LENGTH} characters"
    elif session_id != session_id.strip():
        why = "it starts or ends with white space"
    if why:
        raise UnsafePathError(
            f"unsafe session id {session_id!r}: {why}. Session ids are used as file names; "
            "re-import the file (imported ids are re-derived) or pass --out to choose the path."
        )
    return session_id


def download_name(session_id: str, suffix: str) -> str:
    """A file name for a browser download of a session: the id with every character that could break
    a header or a path (CR/LF, quotes, separators) replaced by ``_``."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", session_id).strip("._") or "session"
    return stem[:MAX_ID_LENGTH] + suffix


def under(root: Path, *parts: str) -> Path:
    """``root / parts...``, refusing any result that is not inside ``root`` (``..``, absolute parts,
    symlinks pointing out). Every path symposia builds from a name it did not choose goes through here."""
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and not target.is_relative_to(base):
        raise UnsafePathError(f"refusing to write {target}: it is outside {base}")
    return target


def session_file(root: Path, session_id: str, suffix: str) -> Path:
    """The file ``<root>/<session_id><suffix>``, with the id checked (:func:`check_session_id`)."""
    return under(root, check_session_id(session_id) + suffix)
