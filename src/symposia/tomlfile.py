"""A TOML file kept with its text, so every problem found after parsing can name its line.

``tomllib`` gives a line only for syntax errors; once parsing succeeded, the values carry none.
:class:`TomlFile` keeps the text and finds the line that sets a key path such as
``("steps", 1, "voice")`` (integers index arrays of tables: the second ``[[steps]]``), which is
what the catalog, plans and the keys file put in their :class:`~symposia.errors.ConfigError`.

    src = TomlFile.read(path, "plan")      # ConfigError when missing, unreadable or not UTF-8
    data = src.parse()                     # ConfigError "invalid TOML" with tomllib's line
    raise src.error("voice 'kimi' is unknown", "steps", 1, "voice")
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symposia.errors import ConfigError
from symposia.redact import redact

__all__ = ["KeyPath", "TomlFile", "dotted", "locate"]

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class TomlFile:
    """TOML ``text`` and the ``path`` it came from (None for text that has no file)."""

    path: Path | None
    text: str

    @classmethod
    def read(cls, path: Path, what: str = "file") -> TomlFile:
        """Read ``path`` as UTF-8; ``what`` names the file in errors ("config file", "plan")."""
        try:
            return cls(path, path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{what} not found", path=path) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{what} is not UTF-8 text: {exc.reason}", path=path) from None
        except OSError as exc:
            raise ConfigError(f"cannot read {what}: {exc.strerror or type(exc).__name__}", path=path) from None

    def parse(self) -> dict[str, Any]:
        """The parsed table; a syntax error becomes a ConfigError at tomllib's line (redacted)."""
        try:
            return tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"at line (\d+)", str(exc))
            raise ConfigError(redact(f"invalid TOML: {exc}"), path=self.path,
                              line=int(m.group(1)) if m else None) from None

    def line(self, *path: str | int) -> int | None:
        """The line that sets ``path`` (see :func:`locate`)."""
        return locate(self.text, path)

    def error(self, message: str, *path: str | int, field: str | None = None) -> ConfigError:
        """A ConfigError at the line of ``path``; its field is ``field`` or the dotted ``path``."""
        return ConfigError(redact(message), path=self.path, line=self.line(*path),
                           field=field if field is not None else (dotted(path) or None))


def dotted(path: Iterable[str | int]) -> str:
    """``("voices", "kimi", "labels", 0, "since")`` -> ``voices.kimi.labels[0].since``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


_KEYPART = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_KEY_LINE = re.compile(rf"^\s*({_KEYPART}(?:\s*\.\s*{_KEYPART})*)\s*=")
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_KEYPART}(?:\s*\.\s*{_KEYPART})*)\s*\]\]?\s*(?:#.*)?$")
_PART = re.compile(_KEYPART)


def _split_key(text: str) -> tuple[str, ...]:
    parts: list[str] = []
    for m in _PART.finditer(text):
        p = m.group(0)
        if p[:1] in "\"'":
            p = p[1:-1]
        parts.append(p.casefold())
    return tuple(parts)


def locate(text: str, path: Iterable[str | int]) -> int | None:
    """1-based line where key ``path`` is set in TOML ``text``, or None.

    Prefers the exact key, then the first line setting something inside it, then the closest
    enclosing table or key (so ``rows[0].voice`` of an inline ``rows = [...]`` is the ``rows`` line).
    Handles ``[a.b]`` headers, arrays of tables (``[[steps]]``, indexed by position), dotted and
    quoted keys, and skips the inside of multi-line strings. Keys compare case-insensitively.
    """
    target: KeyPath = tuple(p.casefold() if isinstance(p, str) else p for p in path)
    if not target:
        return None
    header: KeyPath = ()
    arrays: dict[KeyPath, int] = {}  # array-of-tables path -> how many elements so far
    in_multiline: str | None = None
    exact: int | None = None
    inside: int | None = None
    best_outer: tuple[int, int] | None = None  # (depth, line)
    for lineno, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        at: KeyPath | None = None
        hm = _HEADER.match(line)
        if hm and not _KEY_LINE.match(line):
            header = _resolve(_split_key(hm.group(2)), arrays, append=hm.group(1) == "[[")
            at = header
        else:
            km = _KEY_LINE.match(line)
            if km:
                at = header + _split_key(km.group(1))
        for quote in ('"""', "'''"):
            if line.count(quote) % 2 == 1:
                in_multiline = quote
                break
        if at is None:
            continue
        if at == target:
            exact = exact or lineno
        elif at[: len(target)] == target:
            inside = inside or lineno
        elif target[: len(at)] == at and (best_outer is None or len(at) > best_outer[0]):
            best_outer = (len(at), lineno)
    if exact is not None:
        return exact
    if inside is not None:
        return inside
    return best_outer[1] if best_outer else None


def _resolve(keys: tuple[str, ...], arrays: dict[KeyPath, int], *, append: bool) -> KeyPath:
    """A header's key path with array-of-tables indices; ``[[...]]`` (``append``) adds an element."""
    out: KeyPath = ()
    for i, k in enumerate(keys):
        out = (*out, k)
        if i == len(keys) - 1 and append:
            arrays[out] = arrays.get(out, 0) + 1
            return (*out, arrays[out] - 1)
        if out in arrays:
            out = (*out, arrays[out] - 1)
    return out
