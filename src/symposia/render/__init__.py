"""Views of the record: Markdown (and other formats) rendered from records, never parsed back."""

from __future__ import annotations

from symposia.render.turns import turn_detail_markdown, turns_markdown

__all__ = ["turn_detail_markdown", "turns_markdown"]
