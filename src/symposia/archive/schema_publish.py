"""The archive migration for publishing: one ``publications`` row per attempt to post a session.

Registered in order by :mod:`symposia.archive.migrations` (all of the archive's migrations live in
``archive/``; the publishing workflow in :mod:`symposia.publish` reads and writes this table).
"""

from __future__ import annotations

import sqlite3

__all__ = ["PUBLICATION_STATUSES", "m004_publications"]

PUBLICATION_STATUSES = ("posted", "queued", "failed", "awaiting_verification")


def m004_publications(conn: sqlite3.Connection) -> None:
    """Posts of sessions to outside targets (Moltbook): what was sent, where it landed, what waits.

    ``content`` is kept (already redacted) so that a queued post is sent exactly as previewed;
    ``posted_at`` is when the target accepted the post (the rate limit counts from it), ``not_before``
    when a queued post may go.
    """
    conn.execute(
        """
        CREATE TABLE publications (
            id                INTEGER PRIMARY KEY,
            session_id        TEXT NOT NULL REFERENCES sessions(id),
            target            TEXT NOT NULL,
            submolt           TEXT NOT NULL DEFAULT '',
            title             TEXT NOT NULL,
            part              TEXT NOT NULL DEFAULT 'full',
            content           TEXT NOT NULL,
            content_sha256    TEXT NOT NULL,
            post_id           TEXT,
            url               TEXT,
            status            TEXT NOT NULL
                              CHECK (status IN ('posted', 'queued', 'failed', 'awaiting_verification')),
            created_at        TEXT NOT NULL,
            posted_at         TEXT,
            not_before        TEXT,
            error             TEXT,
            verification_code TEXT,
            challenge_text    TEXT,
            expires_at        TEXT,
            updated_at        TEXT NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX publications_session ON publications (session_id)")
    conn.execute("CREATE INDEX publications_queue ON publications (target, status, not_before)")
    conn.execute("CREATE INDEX publications_posted ON publications (target, posted_at)")
