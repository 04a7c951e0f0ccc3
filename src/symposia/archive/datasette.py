"""Metadata that makes `datasette archive.db` read like the archive's documentation.

``symposia datasette-metadata > metadata.json`` then ``datasette archive.db -m metadata.json``:
tables get titles and descriptions, columns their meaning (as in docs/ARCHIVE.md), the turns
table the full-text search over answers and questions (``turns_fts``), and the machinery tables
(FTS shadow tables, migrations) are hidden.
"""

from __future__ import annotations

from typing import Any

__all__ = ["datasette_metadata"]

_TURN_COLUMNS = {
    "session_id": "the session (→ sessions.id)",
    "seq": "order within the session",
    "step_key": "unique within a session: lets a resumed run skip finished calls",
    "role": "voice, host or chair",
    "voice": "catalog shortcut, e.g. qwen",
    "voice_name": "display name, e.g. Qwen 3 Max",
    "provider": "the provider that served the call",
    "model_requested": "the model id sent",
    "model_reported": "the model id the provider reported back",
    "messages_json": "exactly what the voice was shown (JSON list of role/content)",
    "answer": "the voice's answer",
    "reasoning": "reasoning text, when the provider returned it",
    "finish_reason": "stop, length, error, content_filter, …",
    "prompt_tokens": "tokens in, as the provider reported them",
    "completion_tokens": "tokens out (reasoning included)",
    "cost": "provider-reported cost (USD or credits); estimates are marked in meta_json",
    "latency_ms": "the whole call, retries included",
    "ttft_ms": "time to the first token",
    "attempts": "whole-turn attempts made",
    "error_json": "why the call failed (redacted)",
    "status": "ok, error or flagged",
    "started_at": "UTC, ISO-8601",
    "meta_json": "round, relays, estimates and other annotations",
}

_SESSION_COLUMNS = {
    "id": "readable, sortable: UTC time, kind, 4 hex digits",
    "kind": "ask, chat, council, symposium, arena, study, import, …",
    "title": "a human title (often the question)",
    "status": "running, complete, failed, interrupted",
    "plan_json": "what the run was asked to do: enough to resume it",
    "meta_json": "anything else the run attached",
}

_HIDDEN = ("turns_fts", "turns_fts_data", "turns_fts_idx", "turns_fts_docsize", "turns_fts_config",
           "turns_fts_vocab", "_migrations", "embedded_turns", "turn_chunks")


def datasette_metadata(database: str = "archive") -> dict[str, Any]:
    """Datasette metadata for a symposia archive opened as ``database`` (its file name without .db)."""
    tables: dict[str, Any] = {
        "sessions": {
            "title": "Sessions",
            "description": "One row per run: an ask, a chat, a council, a symposium, an arena, a study, an import.",
            "sort_desc": "created_at",
            "label_column": "title",
            "columns": _SESSION_COLUMNS,
        },
        "turns": {
            "title": "Turns",
            "description": "One row per model call (or host contribution), with exactly what the voice saw.",
            "sort_desc": "id",
            "label_column": "voice_name",
            "fts_table": "turns_fts",
            "fts_pk": "id",
            "searchmode": "raw",
            "columns": _TURN_COLUMNS,
        },
        "publications": {
            "title": "Publications",
            "description": "Each attempt to post a session (Moltbook), with what was sent.",
        },
    }
    for name in _HIDDEN:
        tables[name] = {"hidden": True}
    return {
        "title": "symposia archive",
        "description": "Dialogues across language models, every word with provenance. See docs/ARCHIVE.md.",
        "databases": {database: {"tables": tables}},
    }
