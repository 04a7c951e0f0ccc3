"""Our own JSON export (``{"format": "symposia.transcript/1", "session", "turns"}``), read back whole.

The session keeps its id (so links to it still hold); turns keep every field, and references
between turns (formulation rows, ``question_turn``, retries, undos) are re-pointed at the new ids
when stored.
"""

from __future__ import annotations

from typing import Any

from symposia.codec import session_from_dict, turn_from_dict
from symposia.importers.records import ImportedSession, ImportedTurn, ImportError_
from symposia.importers.validation import check_export
from symposia.render.transcript import JSON_FORMAT


def detect_json(data: Any) -> bool:
    return isinstance(data, dict) and str(data.get("format", "")).startswith("symposia.transcript/")


def parse_json(data: dict[str, Any], *, filename: str) -> ImportedSession:
    if data.get("format") != JSON_FORMAT:
        raise ImportError_(f"transcript format {data.get('format')!r} is not one this version reads ({JSON_FORMAT})")
    check_export(data)  # typed, field by field: a bad file is refused here, never stored
    try:
        session = session_from_dict(data["session"])
        turns = [turn_from_dict(t) for t in data.get("turns") or []]
    except (KeyError, TypeError, ValueError) as e:
        raise ImportError_(f"not a valid symposia transcript: {e}") from None
    out = ImportedSession(format="native", kind=session.kind, title=session.title, created_at=session.created_at,
                          plan=dict(session.plan), meta={**session.meta, "date_source": "export",
                                                         "original_status": session.status},
                          session_id=session.id)
    for t in sorted(turns, key=lambda t: (t.seq, t.id or 0)):
        out.turns.append(ImportedTurn(role=t.role, voice=t.voice, voice_name=t.voice_name, text=t.result.text,
                                      kind=t.meta.get("kind"), record=t))
    return out
