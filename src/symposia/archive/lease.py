"""One session, one runner: a lease row in the archive names the process running a session.

Two ``symposia resume`` of the same session at once would both make the remaining calls (paying
twice) and the second would fail to store its answers. So whoever runs a session first takes its
lease: ``holder`` (host, pid and a random token per runtime), a heartbeat renewed while it runs
and an expiry. Another runner finds the lease held and waits or refuses, naming the holder.

A lease is live while it has not expired *and* its session is ``running``: an orchestrator that
finishes (complete, failed, interrupted) frees the session even if its process lives on (the web
server). A holder on this host whose pid is gone (kill -9) is taken over at once; one elsewhere
after its expiry. Taking the lease marks the session ``running`` in the same transaction, so no
second runner can slip in between.

The migration is registered at the end of :mod:`symposia.archive.migrations`; this module must not
import that one.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import time
from dataclasses import dataclass

from symposia.codec import datetime_to_iso
from symposia.errors import ArchiveError, SessionBusy
from symposia.records import utcnow

__all__ = ["DEFAULT_TTL_S", "Holder", "m007_session_leases", "new_holder", "release",
           "renew", "try_acquire"]

DEFAULT_TTL_S = 30.0


def m007_session_leases(conn: sqlite3.Connection) -> None:
    """Who is running a session now: one row per session, renewed by the runner's heartbeat."""
    conn.execute(
        """
        CREATE TABLE session_leases (
            session_id   TEXT PRIMARY KEY REFERENCES sessions(id),
            holder       TEXT NOT NULL,
            host         TEXT NOT NULL,
            pid          INTEGER NOT NULL,
            acquired_at  TEXT NOT NULL,
            heartbeat_at TEXT NOT NULL,
            expires_at   REAL NOT NULL
        )
        """
    )


@dataclass(frozen=True)
class Holder:
    """A runner: this host, this process, and a token telling apart two runtimes in one process."""

    host: str
    pid: int
    token: str

    @property
    def id(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"


def new_holder() -> Holder:
    return Holder(socket.gethostname(), os.getpid(), secrets.token_hex(4))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:
        return True
    return True


def try_acquire(conn: sqlite3.Connection, session_id: str, me: Holder, ttl_s: float = DEFAULT_TTL_S,
                *, now: float | None = None) -> None:
    """Take (or renew) the lease on ``session_id`` inside the caller's write transaction, and mark the
    session ``running``. Raises :class:`~symposia.errors.SessionBusy` when a live runner holds it."""
    t = time.time() if now is None else now
    row = conn.execute(
        "SELECT l.holder, l.host, l.pid, l.acquired_at, l.expires_at, s.status FROM session_leases l "
        "JOIN sessions s ON s.id = l.session_id WHERE l.session_id = ?", (session_id,),
    ).fetchone()
    if row is not None and row[0] != me.id:
        holder, host, pid, since, expires_at, status = row
        live = status == "running" and float(expires_at) > t
        if live and host == me.host and not _pid_alive(int(pid)):
            live = False  # killed without releasing: its process is gone
        if live:
            raise SessionBusy(session_id, str(host), int(pid), str(since), float(expires_at) - t)
    stamp = datetime_to_iso(utcnow())
    conn.execute(
        "INSERT INTO session_leases (session_id, holder, host, pid, acquired_at, heartbeat_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET holder = excluded.holder, "
        "host = excluded.host, pid = excluded.pid, acquired_at = CASE WHEN session_leases.holder = "
        "excluded.holder THEN session_leases.acquired_at ELSE excluded.acquired_at END, "
        "heartbeat_at = excluded.heartbeat_at, "
        "expires_at = excluded.expires_at",
        (session_id, me.id, me.host, me.pid, stamp, stamp, t + ttl_s),
    )
    cur = conn.execute("UPDATE sessions SET status = 'running', updated_at = ? WHERE id = ?",
                       (stamp, session_id))
    if cur.rowcount == 0:
        raise ArchiveError(f"no session with id {session_id!r} to run")


def renew(conn: sqlite3.Connection, session_ids: list[str], me: Holder, ttl_s: float = DEFAULT_TTL_S) -> list[str]:
    """Push the expiry of our leases forward; return the ids we no longer hold (taken over or finished)."""
    stamp = datetime_to_iso(utcnow())
    lost: list[str] = []
    for sid in session_ids:
        cur = conn.execute(
            "UPDATE session_leases SET heartbeat_at = ?, expires_at = ? WHERE session_id = ? AND holder = ? "
            "AND (SELECT status FROM sessions WHERE id = ?) = 'running'",
            (stamp, time.time() + ttl_s, sid, me.id, sid),
        )
        if cur.rowcount == 0:
            lost.append(sid)
    return lost


def release(conn: sqlite3.Connection, session_id: str, me: Holder) -> None:
    conn.execute("DELETE FROM session_leases WHERE session_id = ? AND holder = ?", (session_id, me.id))
