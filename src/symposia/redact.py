"""Keep secrets out of everything we write: archive rows, exports, logs, the terminal and the live page.

Every key symposia loads is registered here; :func:`redact` replaces registered values and
anything shaped like a vendor key before text leaves the process or reaches the disk.

A key can reach us in pieces (a provider that echoes it back streams it over several chunks) or
transformed (a key with a newline shows up split over two lines, or escaped as ``\\n`` inside an
error message). So a registered secret is also remembered in its escaped forms and line by line,
and streamed text goes through a :class:`StreamRedactor`, which holds back the end of a chunk while
it could still be the start of a secret. :class:`RedactingStream` puts one in front of a terminal.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, TextIO

_KEY_SHAPES = re.compile(
    r"(sk-or-v1-[A-Za-z0-9]{16,}|sk-ant-[A-Za-z0-9_\-]{16,}|moltbook_sk_[A-Za-z0-9_\-]{12,}"
    r"|xai-[A-Za-z0-9]{20,}|sk-proj-[A-Za-z0-9_\-]{16,}|sk-[A-Za-z0-9]{20,})"
)
# How vendor-shaped keys begin: streamed text ending in (a prefix of) one of these is held back.
_KEY_PREFIXES = ("sk-", "xai-", "moltbook_sk_")
_KEY_CHARS = re.compile(r"[A-Za-z0-9_\-]*\Z")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-\.]{12,}")
_BEARER_TAIL = re.compile(r"(?i)b(?:e(?:a(?:r(?:e(?:r(?:\s+[A-Za-z0-9_\-\.]*)?)?)?)?)?)?\Z")
MASK = "[REDACTED]"
MIN_SECRET = 6  # shorter values would mask ordinary words
MAX_HOLD = 512  # never hold back more than this much streamed text

_lock = threading.Lock()
_secrets: set[str] = set()
_ordered: tuple[str, ...] = ()  # longest first, rebuilt on registration


def _forms(value: str) -> set[str]:
    """The value, its escaped spellings (JSON, Python repr), and each line of a multi-line value."""
    forms = {value, json.dumps(value)[1:-1], value.encode("unicode_escape").decode("ascii")}
    forms.update(part.strip() for part in re.split(r"[\r\n]+", value))
    return {f for f in forms if len(f) >= MIN_SECRET}


def register_secret(value: str | None) -> None:
    """Remember a secret value so that :func:`redact` removes it wherever it appears."""
    global _ordered
    if not value or len(value.strip()) < MIN_SECRET:
        return
    new = _forms(value) | _forms(value.strip())
    with _lock:
        if new <= _secrets:
            return
        _secrets.update(new)
        _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def redact(text: str) -> str:
    """Return ``text`` with every registered secret and key-shaped token masked."""
    if not text:
        return text
    for s in _ordered:
        if s in text:
            text = text.replace(s, MASK)
    text = _KEY_SHAPES.sub(MASK, text)
    return _BEARER.sub(lambda m: m.group(1) + MASK, text)


def redact_tree(value: Any) -> Any:
    """Redact every string inside a JSON-able value (keys too).

    Redacting the structure rather than the serialised text matters: JSON escaping could hide a
    secret containing quotes, newlines or non-ASCII characters from a text search.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {(redact(k) if isinstance(k, str) else k): redact_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v) for v in value]
    return value


def _hold_from(text: str) -> int:
    """Where the part of ``text`` that could still grow into a secret begins (``len(text)``: none)."""
    n = len(text)
    start = n
    lo = max(0, n - MAX_HOLD)
    # A registered secret whose beginning ends the text.
    last = text[-1:]
    for s in _ordered if last else ():
        k = min(len(s) - 1, n - lo)
        while k > 0:
            j = s.rfind(last, 0, k)  # only prefixes ending in the text's last character can match
            if j < 0:
                break
            if n - (j + 1) < start and text.endswith(s[: j + 1]):
                start = n - (j + 1)
                break
            k = j
    # A vendor-shaped key under way: the trailing run of key characters from where a prefix begins.
    run = _KEY_CHARS.search(text, lo)
    if run is not None:
        for i in range(run.start(), n):
            if i >= start:
                break
            tail = text[i:]
            if any(tail.startswith(p) or p.startswith(tail) for p in _KEY_PREFIXES):
                start = i
                break
    # "Bearer TOKEN" whose token may not have fully arrived yet.
    m = _BEARER_TAIL.search(text, lo)
    if m is not None:
        start = min(start, lo + m.start())
    return start


class StreamRedactor:
    """Redact text that arrives in pieces: :meth:`feed` returns what is safe to show now and keeps
    back the end that could still become a secret; :meth:`flush` releases it (redacted) at the end."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str) -> str:
        buf = self._held + text
        if not buf:
            return ""
        cut = _hold_from(buf)
        self._held = buf[cut:]
        return redact(buf[:cut])

    def flush(self) -> str:
        out, self._held = redact(self._held), ""
        return out

    def reset(self) -> None:
        """Forget what is held (the stream was restarted and its text discarded)."""
        self._held = ""


class RedactingStream:
    """A text stream (stdout, stderr) that redacts everything written through it.

    ``flush()`` flushes the underlying stream but keeps back a possible secret's beginning; call
    :meth:`drain` when nothing more will be written. Everything else is the wrapped stream's.
    """

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self._redactor = StreamRedactor()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            out = self._redactor.feed(text)
            if out:
                self.inner.write(out)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.inner.flush()

    def drain(self) -> None:
        with self._lock:
            tail = self._redactor.flush()
            if tail:
                self.inner.write(tail)
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
