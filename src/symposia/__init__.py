"""symposia: convene dialogues across language models, record every word, measure what they share."""

from __future__ import annotations

__version__ = "0.1.0"
