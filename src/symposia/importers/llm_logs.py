"""simonw/llm's ``logs.db`` (SQLite): every prompt and response the ``llm`` tool logged.

``conversations(id, name, model)`` and ``responses(id, model, prompt, system, response,
conversation_id, datetime_utc, input_tokens, output_tokens, duration_ms, ...)``; newer versions
also keep ``messages``/``parts``/``nodes`` tables (the structured content of each call), and
still write ``prompt`` and ``response`` on every row, which is what is read here. Each
conversation becomes a session: each response row is the person's prompt (a host turn) and the
model's answer (a voice turn, with its model id, tokens and duration). Rows without a
conversation each become their own session. The database is read from its bytes (never opened
on disk), so importing it changes nothing there.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from symposia.importers.dates import parse_date
from symposia.importers.exchange import Exchange, content_key
from symposia.importers.records import NO_DATE, ImportedSession, ImportError_
from symposia.importers.speakers import VoiceMapper
from symposia.records import Usage

__all__ = ["MAGIC", "parse_db"]

MAGIC = b"SQLite format 3\x00"


def _connect(raw: bytes) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(raw)
    except sqlite3.Error as e:
        conn.close()
        raise ImportError_(f"a SQLite file that cannot be read: {e}") from None
    conn.row_factory = sqlite3.Row
    return conn


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in conn.execute(f"PRAGMA table_info([{table}])")}


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def parse_db(raw: bytes, *, filename: str, mapper: VoiceMapper) -> list[ImportedSession]:
    conn = _connect(raw)
    try:
        try:
            tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as e:
            raise ImportError_(f"a SQLite file that cannot be read: {e}") from None
        if "responses" not in tables or not {"prompt", "response"} <= _columns(conn, "responses"):
            raise ImportError_(f"a SQLite database, but not an llm logs.db (tables: {', '.join(sorted(tables))}; "
                               "shapes in docs/FORMATS.md)")
        names: dict[str, str] = {}
        if "conversations" in tables:
            names = {str(r["id"]): str(r["name"] or "") for r in conn.execute("SELECT id, name FROM conversations")}
        # rowid order is logging order: chronological, and stable where two rows share a timestamp
        rows = [dict(r) for r in conn.execute("SELECT rowid AS _rowid, * FROM responses ORDER BY rowid")]
    finally:
        conn.close()
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        key = str(r.get("conversation_id") or f"response:{r.get('id') or r['_rowid']}")
        groups.setdefault(key, []).append(r)
    sessions: list[ImportedSession] = []
    for key, items in groups.items():
        first = items[0]
        when = parse_date(first.get("datetime_utc"))
        title = names.get(key) or str(first.get("prompt") or "")[:60].split("\n")[0] or "llm conversation"
        session = ImportedSession(format="llm_logs", kind="chat", title=title, created_at=when or NO_DATE,
                                  meta={"date_source": "datetime_utc" if when else "unknown", "conversation_id": key})
        talk = Exchange(session)
        for r in items:
            prompt = str(r.get("prompt") or "")
            answer = str(r.get("response") or "")
            model = str(r.get("resolved_model") or r.get("model") or "")
            sp = mapper.resolve("", model) if model else mapper.resolve("unknown model")
            at = parse_date(r.get("datetime_utc"))
            system = r.get("system") if isinstance(r.get("system"), str) and r.get("system") else None
            if prompt.strip():
                talk.person(prompt, at)
            else:
                talk.prev = None  # a response logged without its prompt answered nothing the file shows
            turn = talk.answer(sp, answer, at, model=model, llm_response_id=str(r.get("id") or ""))
            duration = r.get("duration_ms")
            turn.system = system
            turn.usage = Usage(prompt_tokens=_int(r.get("input_tokens")),
                               completion_tokens=_int(r.get("output_tokens")))
            turn.latency_s = duration / 1000 if isinstance(duration, int | float) else 0.0
        sessions.append(talk.finish(content_key("llm", [(r.get("id"), r.get("prompt"), r.get("response"))
                                                        for r in items])))
    if not sessions:
        raise ImportError_("an llm logs.db with no responses logged")
    return sessions
