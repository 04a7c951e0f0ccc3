"""Schema for searching the archive: a full-text index over turns and a table of chunk embeddings.

These migrations are registered at the end of :mod:`symposia.archive.migrations` (this module must
not import it: that module imports this one).

``turns_fts`` is an FTS5 *external-content* table: it stores only the index, and reads the text
back from the view ``turns_fts_source`` (over ``turns``) when it needs it for a snippet. So the
answers are stored once, and the index is kept in step by triggers on ``turns``, which also fire
when another tool (sqlite3, an importer) writes the file. ``question`` is the last user message
the voice was shown, computed in plain SQL so that those triggers need no symposia function.

``turn_chunks`` holds one embedding per chunk of an answer (int8, with a per-vector scale), filled
lazily by ``symposia index`` / ``symposia search --semantic``, never while a session records turns.
``embedded_turns`` marks the turns already done (also those with no text, which have no chunk).
"""

from __future__ import annotations

import sqlite3

__all__ = ["FTS_COLUMNS", "QUESTION_SQL", "m002_fts", "m003_embeddings"]

FTS_COLUMNS = ("answer", "question", "voice", "voice_name", "role")

# The last user message of a messages_json list (in practice always the last message; a request
# that ends with an assistant message uses the one before it). ``{m}`` is the column expression.
QUESTION_SQL = (
    "COALESCE(CASE "
    "WHEN json_extract({m}, '$[#-1].role') = 'user' THEN json_extract({m}, '$[#-1].content') "
    "WHEN json_extract({m}, '$[#-2].role') = 'user' THEN json_extract({m}, '$[#-2].content') "
    "END, '')"
)


def _question(col: str) -> str:
    return QUESTION_SQL.format(m=col)


def m002_fts(conn: sqlite3.Connection) -> None:
    """Full-text index over answers and the questions the voices were shown, kept in sync by triggers."""
    conn.execute(
        "CREATE VIEW turns_fts_source AS SELECT id, answer, "
        f"{_question('messages_json')} AS question, voice, voice_name, role FROM turns"
    )
    # unicode61 without stemming: a search finds the words as written (quotes are the point of
    # this archive); diacritics are folded, case is ignored. Use word* for prefixes.
    conn.execute(
        "CREATE VIRTUAL TABLE turns_fts USING fts5("
        "answer, question, voice, voice_name, role, "
        "content='turns_fts_source', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    new_vals = (f"new.id, new.answer, {_question('new.messages_json')}, new.voice, new.voice_name, "
                "new.role")
    old_vals = (f"'delete', old.id, old.answer, {_question('old.messages_json')}, old.voice, "
                "old.voice_name, old.role")
    cols = ", ".join(FTS_COLUMNS)
    conn.execute(
        "CREATE TRIGGER turns_fts_ai AFTER INSERT ON turns BEGIN "
        f"INSERT INTO turns_fts (rowid, {cols}) VALUES ({new_vals}); END"
    )
    conn.execute(
        "CREATE TRIGGER turns_fts_ad AFTER DELETE ON turns BEGIN "
        f"INSERT INTO turns_fts (turns_fts, rowid, {cols}) VALUES ({old_vals}); END"
    )
    conn.execute(
        "CREATE TRIGGER turns_fts_au AFTER UPDATE OF answer, messages_json, voice, voice_name, role "
        "ON turns BEGIN "
        f"INSERT INTO turns_fts (turns_fts, rowid, {cols}) VALUES ({old_vals}); "
        f"INSERT INTO turns_fts (rowid, {cols}) VALUES ({new_vals}); END"
    )
    # Document frequencies per column, for "distinctive" formulations (symposia recall).
    conn.execute("CREATE VIRTUAL TABLE turns_fts_vocab USING fts5vocab(turns_fts, 'col')")
    conn.execute("INSERT INTO turns_fts (turns_fts) VALUES ('rebuild')")


def m003_embeddings(conn: sqlite3.Connection) -> None:
    """Chunk embeddings of answers (int8 + scale), filled lazily; dropped when an answer changes."""
    conn.execute(
        """
        CREATE TABLE turn_chunks (
            id          INTEGER PRIMARY KEY,
            turn_id     INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
            chunk       INTEGER NOT NULL,
            char_start  INTEGER,
            char_end    INTEGER,
            dim         INTEGER NOT NULL,
            scale       REAL NOT NULL,
            vector      BLOB NOT NULL,
            UNIQUE (turn_id, chunk)
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE embedded_turns (
            turn_id     INTEGER PRIMARY KEY REFERENCES turns(id) ON DELETE CASCADE,
            model       TEXT NOT NULL,
            chunks      INTEGER NOT NULL,
            embedded_at TEXT NOT NULL
        )
        """
    )
    conn.execute(
        "CREATE TRIGGER turn_chunks_au AFTER UPDATE OF answer ON turns BEGIN "
        "DELETE FROM turn_chunks WHERE turn_id = old.id; "
        "DELETE FROM embedded_turns WHERE turn_id = old.id; END"
    )
    conn.execute(
        "CREATE TRIGGER turn_chunks_ad AFTER DELETE ON turns BEGIN "
        "DELETE FROM turn_chunks WHERE turn_id = old.id; "
        "DELETE FROM embedded_turns WHERE turn_id = old.id; END"
    )
