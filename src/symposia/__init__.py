"""symposia: convene dialogues across language models, record every word, measure what they share.

The Python API mirrors the CLI: ``Symposia().ask(...)``, ``.council(...)``, ``.arena(...)``,
``.resume(...)``, ``.export(...)``, ``.log(...)``, ``.show(...)``, ``.voices()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from symposia.version import __version__

__all__ = ["Symposia", "__version__"]

if TYPE_CHECKING:
    from symposia.api import Symposia


def __getattr__(name: str) -> Any:
    # Lazy, so `import symposia` (and the CLI's start-up) stays light.
    if name == "Symposia":
        from symposia.api import Symposia

        return Symposia
    raise AttributeError(name)
