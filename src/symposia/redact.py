"""Keep secrets out of everything we write: archive rows, exports, logs and error messages.

Every key symposia loads is registered here; :func:`redact` replaces registered values and
anything shaped like a vendor key before text leaves the process or reaches the disk.
"""

from __future__ import annotations

import re
import threading

_KEY_SHAPES = re.compile(
    r"(sk-or-v1-[A-Za-z0-9]{16,}|sk-ant-[A-Za-z0-9_\-]{16,}|moltbook_sk_[A-Za-z0-9_\-]{12,}"
    r"|xai-[A-Za-z0-9]{20,}|sk-proj-[A-Za-z0-9_\-]{16,}|sk-[A-Za-z0-9]{20,})"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-\.]{12,}")
MASK = "[REDACTED]"

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value so that :func:`redact` removes it wherever it appears."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret and key-shaped token masked."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for s in known:
        if s in text:
            text = text.replace(s, MASK)
    text = _KEY_SHAPES.sub(MASK, text)
    return _BEARER.sub(lambda m: m.group(1) + MASK, text)
