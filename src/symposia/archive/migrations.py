"""Numbered schema migrations for the archive, applied in order and recorded in ``_migrations``.

Each migration is a function ``mNNN_name(conn)`` registered with :func:`migration`; its name is
its identity, so never rename or reorder one that has shipped: add a new one at the end. Each runs
in its own transaction together with the row that records it, so a crash mid-migration leaves the
archive at the previous version. An archive that has a migration this code does not know was
written by a newer symposia and is refused rather than misread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from symposia.archive.schema_publish import m004_publications
from symposia.archive.schema_search import m002_fts, m003_embeddings
from symposia.codec import datetime_to_iso
from symposia.errors import ArchiveError
from symposia.records import utcnow

__all__ = ["MIGRATIONS", "Migration", "applied_migrations", "m001_initial", "m005_session_incomplete", "migrate",
           "migration"]

Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next migration (module order is application order)."""
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_initial(conn: sqlite3.Connection) -> None:
    """Sessions and turns: one row per model call, with exactly what the voice saw."""
    conn.execute(
        """
        CREATE TABLE sessions (
            id          TEXT PRIMARY KEY,
            kind        TEXT NOT NULL,
            title       TEXT NOT NULL DEFAULT '',
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL,
            status      TEXT NOT NULL DEFAULT 'running'
                        CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),
            plan_json   TEXT NOT NULL DEFAULT '{}',
            meta_json   TEXT NOT NULL DEFAULT '{}'
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE turns (
            id                INTEGER PRIMARY KEY,
            session_id        TEXT NOT NULL REFERENCES sessions(id),
            seq               INTEGER NOT NULL,
            step_key          TEXT,
            role              TEXT NOT NULL DEFAULT 'voice' CHECK (role IN ('voice', 'host', 'chair')),
            voice             TEXT NOT NULL,
            voice_name        TEXT NOT NULL,
            provider          TEXT NOT NULL,
            model_requested   TEXT NOT NULL,
            model_reported    TEXT,
            request_id        TEXT,
            params_json       TEXT NOT NULL DEFAULT '{}',
            system_prompt     TEXT,
            messages_json     TEXT NOT NULL,
            answer            TEXT NOT NULL DEFAULT '',
            reasoning         TEXT NOT NULL DEFAULT '',
            finish_reason     TEXT NOT NULL DEFAULT 'unknown',
            prompt_tokens     INTEGER,
            completion_tokens INTEGER,
            reasoning_tokens  INTEGER,
            cost              REAL,
            ttft_ms           REAL,
            latency_ms        REAL NOT NULL DEFAULT 0,
            attempts          INTEGER NOT NULL DEFAULT 1,
            error_json        TEXT,
            flags             TEXT NOT NULL DEFAULT '',
            status            TEXT NOT NULL CHECK (status IN ('ok', 'error', 'flagged')),
            started_at        TEXT NOT NULL,
            ended_at          TEXT NOT NULL,
            meta_json         TEXT NOT NULL DEFAULT '{}'
        )
        """
    )
    # One *successful* turn per step of a session; failed attempts of a step are kept beside it (a
    # resumed run retries a failed step, and the record keeps both).
    conn.execute(
        "CREATE UNIQUE INDEX turns_step ON turns (session_id, step_key) WHERE status != 'error'"
    )
    conn.execute("CREATE INDEX turns_session_seq ON turns (session_id, seq)")
    conn.execute("CREATE INDEX turns_voice ON turns (voice)")
    conn.execute("CREATE INDEX turns_started_at ON turns (started_at)")


def _ensure_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )


def _rollback(conn: sqlite3.Connection) -> None:
    # SQLite may already have rolled back on its own (e.g. SQLITE_FULL); a second ROLLBACK would fail.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """Names recorded in ``_migrations``, in the order they were applied."""
    rows = conn.execute("SELECT name FROM _migrations ORDER BY rowid").fetchall()
    return [str(r[0]) for r in rows]


def migrate(conn: sqlite3.Connection, where: str = "the archive",
            migrations: list[Migration] | None = None) -> list[str]:
    """Apply every pending migration, each in its own transaction; return the names applied now.

    ``conn`` must be in autocommit mode (``isolation_level=None``) so that transactions here are
    explicit. Safe to call on every open, and from two processes at once: ``BEGIN IMMEDIATE`` takes
    the write lock before re-reading what is applied.
    """
    todo = MIGRATIONS if migrations is None else migrations
    known = [fn.__name__ for fn in todo]
    conn.execute("BEGIN IMMEDIATE")
    try:
        _ensure_table(conn)
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise

    unknown = [n for n in applied_migrations(conn) if n not in known]
    if unknown:
        raise ArchiveError(
            f"{where} was written by a newer version of symposia (it has migration "
            f"{', '.join(unknown)}, which this version does not know). Upgrade symposia "
            f"(pip install -U symposia) or point --archive / SYMPOSIA_ARCHIVE at another file."
        )

    done_now: list[str] = []
    for fn in todo:
        name = fn.__name__
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                conn.execute("COMMIT")
                continue
            fn(conn)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime_to_iso(utcnow())),
            )
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            _rollback(conn)
            raise ArchiveError(f"could not apply migration {name} to {where}: {e}") from e
        except BaseException:
            _rollback(conn)
            raise
        done_now.append(name)
    return done_now


# The other schema modules (search, publications) cannot import this one (it imports them), so they
# are registered here, after m001, in shipping order: one ordered list for the whole archive.
migration(m002_fts)
migration(m003_embeddings)
migration(m004_publications)


@migration
def m005_session_incomplete(conn: sqlite3.Connection) -> None:
    """Session status ``incomplete``: it ran to the end, but a step was refused or failed."""
    # SQLite cannot ALTER a CHECK constraint, and rebuilding the table would fight the turns' foreign key
    # inside this transaction. The new check only admits one more value, so every stored row satisfies
    # it: rewrite the table's schema text in place (sqlite.org/lang_altertable.html, "other kinds of
    # table schema changes") and bump the schema version so every connection re-reads it.
    old = "CHECK (status IN ('running', 'complete', 'failed', 'interrupted'))"
    new = "CHECK (status IN ('running', 'complete', 'incomplete', 'failed', 'interrupted'))"
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'sessions'").fetchone()
    if row is None or old not in row[0]:
        raise sqlite3.DatabaseError("the sessions table does not have the expected status check")
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute("UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'sessions'",
                     (old, new))
        conn.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")


from symposia.archive.batches import m006_batches  # noqa: E402

migration(m006_batches)


from symposia.archive.lease import m007_session_leases, m008_lease_fencing  # noqa: E402

migration(m007_session_leases)
migration(m008_lease_fencing)


from symposia.archive.batches import m009_batch_recovery  # noqa: E402

migration(m009_batch_recovery)


from symposia.archive.tokens import m010_answer_terms  # noqa: E402

migration(m010_answer_terms)
