"""Dialogue glue for quotes: which of a voice's answers a formulation row quotes.

The matching itself (what counts as the same words, quotations and their attribution, the check of
a host's quotes against the record) lives in :mod:`symposia.text`; this module only ties its
verdicts to the turns of a dialogue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from symposia.records import TurnRecord
from symposia.text import locate

__all__ = ["attribute_formulations"]


def attribute_formulations(rows: Sequence[Mapping[str, Any]],
                           turns: Sequence[TurnRecord]) -> list[dict[str, Any]]:
    """Give each ``{voice, quote}`` row the id of that voice's answer that contains the quote.

    The result is what a ``formulations`` host turn stores in ``meta["rows"]``; ``turn_id`` is None
    for a quote the voice never said (the renderer leaves such rows out, and says so).
    """
    out: list[dict[str, Any]] = []
    for row in rows:
        voice = str(row["voice"])
        quote = str(row["quote"])
        texts = {t.id: t.result.text for t in turns
                 if t.id is not None and t.role == "voice" and t.voice == voice and t.result.ok}
        match = locate(quote, texts)
        out.append({"turn_id": match.turn_id if match else None, "voice": voice, "quote": quote})
    return out
