"""The ``publications`` table of the archive (migration m004): one row per attempt to publish a session.

A repository and nothing else: :class:`PublicationStore` reads and writes rows, and answers the two
questions the rate limit asks (when did Moltbook last accept a post; when may the next one go). What to
send, when and how is the workflow's (:mod:`symposia.publish.queue`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from symposia.archive.store import Archive
from symposia.codec import datetime_from_iso, datetime_to_iso
from symposia.errors import PublishError
from symposia.publish.content import Post
from symposia.records import utcnow
from symposia.redact import redact

__all__ = ["MIN_INTERVAL", "TARGET", "Publication", "PublicationStore", "last_post_time", "publications",
           "waiting_posts"]

TARGET = "moltbook"
MIN_INTERVAL = timedelta(minutes=30)
"""Moltbook accepts one post per 30 minutes."""


@dataclass(frozen=True)
class Publication:
    """One row of ``publications``."""

    id: int
    session_id: str
    target: str
    submolt: str
    title: str
    part: str
    content: str
    content_sha256: str
    status: str
    created_at: datetime
    post_id: str | None = None
    url: str | None = None
    posted_at: datetime | None = None
    not_before: datetime | None = None
    error: str | None = None
    verification_code: str | None = None
    challenge_text: str | None = None
    expires_at: datetime | None = None


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return datetime_to_iso((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC))


def _dt(text: Any) -> datetime | None:
    return datetime_from_iso(text) if isinstance(text, str) and text else None


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else _iso(value) if isinstance(value, datetime) else value


_UPDATABLE = frozenset({"status", "post_id", "url", "posted_at", "not_before", "error", "verification_code",
                        "challenge_text", "expires_at"})


def _row(r: sqlite3.Row) -> Publication:
    return Publication(
        id=int(r["id"]), session_id=r["session_id"], target=r["target"], submolt=r["submolt"], title=r["title"],
        part=r["part"], content=r["content"], content_sha256=r["content_sha256"], status=r["status"],
        created_at=_dt(r["created_at"]) or utcnow(), post_id=r["post_id"], url=r["url"],
        posted_at=_dt(r["posted_at"]), not_before=_dt(r["not_before"]), error=r["error"],
        verification_code=r["verification_code"], challenge_text=r["challenge_text"],
        expires_at=_dt(r["expires_at"]),
    )


@dataclass(frozen=True)
class PublicationStore:
    """The publications of one archive. Text is redacted and times are stored as UTC ISO strings."""

    archive: Archive

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (errors name the publication, not a bare sqlite message)."""
        with self.archive.transaction(f"cannot record the publication in {self.archive.path}") as conn:
            yield conn

    def insert(self, post: Post, *, status: str, now: datetime, not_before: datetime | None = None,
               error: str | None = None) -> int:
        """Record an attempt; returns its id."""
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO publications (session_id, target, submolt, title, part, content, content_sha256,"
                " status, created_at, not_before, error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_clean(v) for v in (post.session_id, TARGET, post.submolt, post.title, post.part, post.content,
                                     post.sha256, status, now, not_before, error, now)],
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def update(self, pub_id: int, now: datetime, **fields: Any) -> None:
        """Set some of a row's mutable columns (status, post_id, url, posted_at, not_before, error, ...)."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not a publications column: {sorted(unknown)}")
        cols = sorted(fields)
        sets = ", ".join(f"{c} = ?" for c in [*cols, "updated_at"])
        with self._write() as c:
            c.execute(f"UPDATE publications SET {sets} WHERE id = ?",
                      [*(_clean(fields[c]) for c in cols), _iso(now), pub_id])

    def all(self, session_id: str | None = None) -> list[Publication]:
        """Every publication attempt (of one session, if given), oldest first."""
        if session_id is None:
            rows = self.archive.query("SELECT * FROM publications ORDER BY id")
        else:
            rows = self.archive.query("SELECT * FROM publications WHERE session_id = ? ORDER BY id", (session_id,))
        return [_row(r) for r in rows]

    def get(self, pub_id: int) -> Publication:
        rows = self.archive.query("SELECT * FROM publications WHERE id = ?", (pub_id,))
        if not rows:
            raise PublishError(f"no publication with id {pub_id} in {self.archive.path}")
        return _row(rows[0])

    def waiting(self) -> list[Publication]:
        """Queued posts, soonest first."""
        rows = self.archive.query("SELECT * FROM publications WHERE target = ? AND status = 'queued' "
                                  "ORDER BY not_before, id", (TARGET,))
        return [_row(r) for r in rows]

    def last_post_time(self) -> datetime | None:
        """When Moltbook last accepted a post from us (the rate limit counts from it)."""
        rows = self.archive.query("SELECT MAX(posted_at) FROM publications WHERE target = ? "
                                  "AND posted_at IS NOT NULL", (TARGET,))
        return _dt(rows[0][0]) if rows else None

    def earliest_slot(self, now: datetime) -> datetime | None:
        """None when a post may go now; else when it may (after the last post, behind waiting ones)."""
        candidates: list[datetime] = []
        last = self.last_post_time()
        if last is not None and now < last + MIN_INTERVAL:
            candidates.append(last + MIN_INTERVAL)
        waiting = self.waiting()
        if waiting:
            # behind the waiting posts, keeping their order
            latest = max(p.not_before or now for p in waiting)
            candidates.append(max(now, latest + MIN_INTERVAL))
        return max(candidates) if candidates else None


def publications(archive: Archive, session_id: str | None = None) -> list[Publication]:
    """Every publication attempt (of one session, if given), oldest first."""
    return PublicationStore(archive).all(session_id)


def waiting_posts(archive: Archive) -> list[Publication]:
    """Queued posts, soonest first."""
    return PublicationStore(archive).waiting()


def last_post_time(archive: Archive) -> datetime | None:
    """When Moltbook last accepted a post from us."""
    return PublicationStore(archive).last_post_time()
