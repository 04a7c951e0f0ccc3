"""The batch ledger: every provider batch a run submitted, and what became of each request in it.

Written before and after each step so that a killed process can pick up where it stopped:

* a job row is written (``submitting``) *before* the batch is sent, with its tag; the provider's id is
  recorded the moment it answers (``running``). A job still ``submitting`` on resume is looked up at
  the provider by its tag before anything is sent again;
* each request is an item keyed by its stable ``custom_id``; when a batch ends, every item's outcome
  (``ok``, ``error``: final; ``retry``: expired, cancelled or a transient failure, to be resubmitted)
  and its result are written in one transaction together with the job's cost.

So a request is never in two live batches, and a result once downloaded is never downloaded, or paid
for, again. The migration is registered at the end of :mod:`symposia.archive.migrations`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from symposia.archive.store import Archive  # noqa: TC001 - used at run time by BatchLedger
from symposia.codec import datetime_from_iso, datetime_to_iso, result_from_dict, result_to_dict
from symposia.records import TurnResult, utcnow

__all__ = ["OPEN_STATUSES", "BatchItem", "BatchJob", "BatchLedger", "m006_batches", "m009_batch_recovery"]

OPEN_STATUSES = ("submitting", "running", "ended")
JOB_STATUSES = (*OPEN_STATUSES, "collected", "abandoned")
OUTCOMES = ("submitted", "ok", "error", "retry")


def m006_batches(conn: sqlite3.Connection) -> None:
    """Provider batches (``batch_jobs``) and the requests in them (``batch_items``)."""
    conn.execute(
        """
        CREATE TABLE batch_jobs (
            id             INTEGER PRIMARY KEY,
            tag            TEXT NOT NULL UNIQUE,
            provider       TEXT NOT NULL,
            remote_id      TEXT UNIQUE,
            status         TEXT NOT NULL
                           CHECK (status IN ('submitting', 'running', 'ended', 'collected', 'abandoned')),
            remote_status  TEXT,
            requests       INTEGER NOT NULL,
            bytes          INTEGER NOT NULL,
            succeeded      INTEGER NOT NULL DEFAULT 0,
            failed         INTEGER NOT NULL DEFAULT 0,
            cost           REAL,
            created_at     TEXT NOT NULL,
            submitted_at   TEXT,
            ended_at       TEXT,
            updated_at     TEXT NOT NULL
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE batch_items (
            job_id       INTEGER NOT NULL REFERENCES batch_jobs(id),
            custom_id    TEXT NOT NULL,
            session_id   TEXT NOT NULL,
            step_key     TEXT,
            voice        TEXT NOT NULL,
            model        TEXT NOT NULL,
            outcome      TEXT NOT NULL DEFAULT 'submitted'
                         CHECK (outcome IN ('submitted', 'ok', 'error', 'retry')),
            result_json  TEXT,
            PRIMARY KEY (job_id, custom_id)
        )
        """
    )
    conn.execute("CREATE INDEX batch_items_custom_id ON batch_items (custom_id)")
    conn.execute("CREATE INDEX batch_jobs_status ON batch_jobs (status)")


def m009_batch_recovery(conn: sqlite3.Connection) -> None:
    """How a job's provider id was learnt (``found``: NULL, the provider's answer to the submission;
    ``tag``: a batch carrying the job's tag; ``match``: the one batch created then with as many
    requests, to be checked against the results), and ``note``: why a job was abandoned or adopted."""
    conn.execute("ALTER TABLE batch_jobs ADD COLUMN found TEXT")
    conn.execute("ALTER TABLE batch_jobs ADD COLUMN note TEXT")


@dataclass(frozen=True)
class BatchJob:
    id: int
    tag: str
    provider: str
    remote_id: str | None
    status: str
    remote_status: str | None
    requests: int
    bytes: int
    succeeded: int
    failed: int
    cost: float | None
    created_at: datetime
    submitted_at: datetime | None
    ended_at: datetime | None
    found: str | None = None  # None: the provider's answer; "tag" or "match": recovered after a crash
    note: str | None = None  # why it was abandoned or adopted


@dataclass(frozen=True)
class BatchItem:
    job_id: int
    custom_id: str
    session_id: str
    step_key: str | None
    voice: str
    model: str
    outcome: str
    result: TurnResult | None


def _job(row: sqlite3.Row) -> BatchJob:
    def when(v: Any) -> datetime | None:
        return datetime_from_iso(v) if v else None

    return BatchJob(id=row["id"], tag=row["tag"], provider=row["provider"], remote_id=row["remote_id"],
                    status=row["status"], remote_status=row["remote_status"], requests=row["requests"],
                    bytes=row["bytes"], succeeded=row["succeeded"], failed=row["failed"], cost=row["cost"],
                    created_at=datetime_from_iso(row["created_at"]), submitted_at=when(row["submitted_at"]),
                    ended_at=when(row["ended_at"]), found=row["found"], note=row["note"])


def _item(row: sqlite3.Row) -> BatchItem:
    result = result_from_dict(json.loads(row["result_json"])) if row["result_json"] else None
    return BatchItem(job_id=row["job_id"], custom_id=row["custom_id"], session_id=row["session_id"],
                     step_key=row["step_key"], voice=row["voice"], model=row["model"], outcome=row["outcome"],
                     result=result)


class BatchLedger:
    """Reads and writes the batch tables of one archive."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    def create_job(self, tag: str, provider: str, items: Sequence[tuple[str, str, str | None, str, str]],
                   size: int) -> int:
        """Record a batch about to be sent: ``items`` are (custom_id, session, step, voice, model)."""
        now = datetime_to_iso(utcnow())
        with self.archive.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO batch_jobs (tag, provider, status, requests, bytes, created_at, updated_at) "
                "VALUES (?, ?, 'submitting', ?, ?, ?, ?)", (tag, provider, len(items), size, now, now))
            job_id = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT INTO batch_items (job_id, custom_id, session_id, step_key, voice, model) "
                "VALUES (?, ?, ?, ?, ?, ?)", [(job_id, *item) for item in items])
        return job_id

    def set_submitted(self, job_id: int, remote_id: str, *, found: str | None = None,
                      note: str | None = None) -> None:
        """The provider's id of the job's batch: from its answer, or ``found`` after a crash (``tag``,
        ``match``; see :func:`m009_batch_recovery`)."""
        now = datetime_to_iso(utcnow())
        with self.archive.transaction() as conn:
            conn.execute("UPDATE batch_jobs SET remote_id = ?, status = 'running', submitted_at = ?, updated_at = ?, "
                         "found = ?, note = ? WHERE id = ?", (remote_id, now, now, found, note, job_id))

    def set_remote_status(self, job_id: int, remote_status: str) -> None:
        with self.archive.transaction() as conn:
            conn.execute("UPDATE batch_jobs SET remote_status = ?, updated_at = ? WHERE id = ?",
                         (remote_status, datetime_to_iso(utcnow()), job_id))

    def abandon(self, job_id: int, note: str | None = None) -> None:
        """A job whose batch is not (or not known to be) at the provider: its items become retries.

        A job that had adopted a batch which turned out not to be its own keeps that batch's id (so it is
        never adopted again) with ``note`` saying why."""
        with self.archive.transaction() as conn:
            conn.execute("UPDATE batch_jobs SET status = 'abandoned', note = coalesce(?, note), updated_at = ? "
                         "WHERE id = ?", (note, datetime_to_iso(utcnow()), job_id))
            conn.execute("UPDATE batch_items SET outcome = 'retry' WHERE job_id = ? AND outcome = 'submitted'",
                         (job_id,))

    def collect(self, job_id: int, remote_status: str, outcomes: Mapping[str, tuple[str, TurnResult | None]],
                cost: float | None) -> None:
        """Write every item's outcome and result and close the job, in one transaction."""
        now = datetime_to_iso(utcnow())
        ok = sum(1 for o, _ in outcomes.values() if o == "ok")
        with self.archive.transaction() as conn:
            conn.executemany(
                "UPDATE batch_items SET outcome = ?, result_json = ? WHERE job_id = ? AND custom_id = ?",
                [(o, json.dumps(result_to_dict(r), ensure_ascii=False) if r is not None else None, job_id, cid)
                 for cid, (o, r) in outcomes.items()])
            conn.execute("UPDATE batch_items SET outcome = 'retry' WHERE job_id = ? AND outcome = 'submitted'",
                         (job_id,))  # requests the provider did not report back
            conn.execute("UPDATE batch_jobs SET status = 'collected', remote_status = ?, succeeded = ?, failed = ?, "
                         "cost = ?, ended_at = ?, updated_at = ? WHERE id = ?",
                         (remote_status, ok, len(outcomes) - ok, cost, now, now, job_id))

    def open_job_of(self, custom_id: str) -> BatchJob | None:
        """The job still holding ``custom_id`` (submitted, running or not yet collected), if any."""
        rows = self.archive.query(
            "SELECT j.* FROM batch_jobs j JOIN batch_items i ON i.job_id = j.id "
            f"WHERE i.custom_id = ? AND j.status IN ({', '.join('?' * len(OPEN_STATUSES))}) "
            "ORDER BY j.id DESC LIMIT 1", (custom_id, *OPEN_STATUSES))
        return _job(rows[0]) if rows else None

    def knows_remote(self, remote_id: str) -> bool:
        return bool(self.archive.query("SELECT 1 FROM batch_jobs WHERE remote_id = ?", (remote_id,)))

    def latest_item(self, custom_id: str) -> BatchItem | None:
        rows = self.archive.query("SELECT * FROM batch_items WHERE custom_id = ? ORDER BY job_id DESC LIMIT 1",
                                  (custom_id,))
        return _item(rows[0]) if rows else None

    def attempts(self, custom_id: str) -> int:
        """How many batches this request was sent in (abandoned ones, never sent, do not count)."""
        rows = self.archive.query(
            "SELECT count(*) FROM batch_items i JOIN batch_jobs j ON j.id = i.job_id "
            "WHERE i.custom_id = ? AND j.status != 'abandoned'", (custom_id,))
        return int(rows[0][0])

    def items(self, job_id: int) -> list[BatchItem]:
        return [_item(r) for r in self.archive.query("SELECT * FROM batch_items WHERE job_id = ? ORDER BY custom_id",
                                                     (job_id,))]

    def job(self, job_id: int) -> BatchJob:
        return _job(self.archive.query("SELECT * FROM batch_jobs WHERE id = ?", (job_id,))[0])

    def jobs(self, *, open_only: bool = False, limit: int = 100) -> list[BatchJob]:
        where = f"WHERE status IN ({', '.join('?' * len(OPEN_STATUSES))})" if open_only else ""
        params: tuple[Any, ...] = OPEN_STATUSES if open_only else ()
        rows = self.archive.query(f"SELECT * FROM batch_jobs {where} ORDER BY id DESC LIMIT ?", (*params, limit))
        return [_job(r) for r in rows]
