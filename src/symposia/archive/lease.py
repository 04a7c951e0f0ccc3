"""One session, one runner: a lease row in the archive names the process running a session.

Two ``symposia resume`` of the same session at once would both make the remaining calls (paying
twice) and the second would fail to store its answers. So whoever runs a session first takes its
lease: ``holder`` (host, pid and a random token per runtime), the holder process's start (to tell
it from a later process given the same pid), a heartbeat renewed while it runs, an expiry, and a
``generation`` that grows by one each time another runner takes the lease over. Another runner
finds the lease held and waits or refuses, naming the holder.

When a lease is held (the rule, :func:`holder_is_live`):

- only while its session is ``running``: an orchestrator that finishes (complete, failed,
  interrupted) frees the session even if its process lives on (the web server);
- a holder on **this host** is held for as long as its process lives — same pid, same start time —
  whatever its heartbeat's age: a runner stopped (``kill -STOP``, a debugger) or a laptop asleep
  loses nothing, and nobody pays its in-flight calls a second time. Its process gone (``kill -9``)
  or its pid reused by another process, it is taken over at once;
- a holder on **another host**, whose process cannot be seen from here, is held until its
  heartbeat expires.

Fencing: a runner checks, in the transaction that stores each answer, that it still holds the lease
(its holder id and generation; :func:`check`). One that finds it lost (a runner elsewhere took it
over while this one was asleep) makes no new calls, stores an answer it already paid for only if
that step is not stored yet, and leaves the session's status to the new holder.

Taking the lease marks the session ``running`` in the same transaction (on PostgreSQL the session
row is locked first), so no second runner can slip in between.

The migrations are registered at the end of :mod:`symposia.archive.migrations`; this module must not
import that one.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from symposia.codec import datetime_to_iso
from symposia.errors import ArchiveError, LeaseLost, SessionBusy
from symposia.records import utcnow

__all__ = ["DEFAULT_TTL_S", "Holder", "check", "current", "finish", "holder_is_live", "lost_to",
           "m007_session_leases", "m008_lease_fencing", "new_holder", "process_started", "release", "renew",
           "try_acquire", "ttl_from_env"]

DEFAULT_TTL_S = 30.0
TTL_ENV = "SYMPOSIA_LEASE_TTL"  # seconds a heartbeat keeps a lease (for a holder on another host)


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


def m008_lease_fencing(conn: sqlite3.Connection) -> None:
    """The holder process's start (pid reuse) and the lease's generation (fencing a runner that lost it)."""
    conn.execute("ALTER TABLE session_leases ADD COLUMN started TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE session_leases ADD COLUMN generation INTEGER NOT NULL DEFAULT 1")


def ttl_from_env() -> float:
    """The lease expiry: ``SYMPOSIA_LEASE_TTL`` seconds (at least 0.5), else 30."""
    raw = os.environ.get(TTL_ENV, "").strip()
    if not raw:
        return DEFAULT_TTL_S
    try:
        value = float(raw)
    except ValueError:
        raise ArchiveError(f"{TTL_ENV}={raw!r} is not a number of seconds; unset it or give e.g. 30") from None
    if not value >= 0.5:
        raise ArchiveError(f"{TTL_ENV}={raw!r}: a lease must last at least 0.5 s; unset it or give e.g. 30")
    return value


def process_started(pid: int) -> str | None:
    """When process ``pid`` started, as text that differs for a later process given the same pid
    (boot id and start tick from /proc; psutil's create time elsewhere); None when it cannot be told."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"  # field 22, starttime (fields after comm)
    except (OSError, IndexError):
        pass
    try:
        import psutil  # type: ignore[import-untyped]  # optional: no /proc here (macOS, Windows); if installed
    except ImportError:
        return None
    try:
        return f"{psutil.Process(pid).create_time():.3f}"
    except Exception:  # no such process, or no access to it
        return None


@dataclass(frozen=True)
class Holder:
    """A runner: this host, this process (and when it started), and a token telling apart two
    runtimes in one process."""

    host: str
    pid: int
    token: str
    started: str = field(default="")

    @property
    def id(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"


def new_holder() -> Holder:
    pid = os.getpid()
    return Holder(socket.gethostname(), pid, secrets.token_hex(4), process_started(pid) or "")


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


def holder_is_live(host: str, pid: int, started: str, expires_at: float, me: Holder, now: float) -> bool:
    """Whether a lease row (of a ``running`` session) still belongs to its holder, seen from ``me``:
    on this host while its process lives (same pid and start), elsewhere until it expires."""
    if host != me.host:
        return expires_at > now
    if not _pid_alive(pid):
        return False  # killed without releasing: its process is gone
    seen = process_started(pid)
    return not (started and seen is not None and seen != started)  # a different process with that pid


_SELECT = ("SELECT l.holder, l.host, l.pid, l.started, l.generation, l.acquired_at, l.expires_at, s.status "
           "FROM session_leases l JOIN sessions s ON s.id = l.session_id WHERE l.session_id = ?")


def _busy(session_id: str, row: sqlite3.Row, me: Holder, now: float) -> SessionBusy:
    _, host, pid, _, _, since, expires_at, _ = row
    return SessionBusy(session_id, str(host), int(pid), str(since), float(expires_at) - now,
                       same_host=host == me.host)


def try_acquire(conn: sqlite3.Connection, session_id: str, me: Holder, ttl_s: float = DEFAULT_TTL_S,
                *, now: float | None = None) -> int:
    """Take (or renew) the lease on ``session_id`` inside the caller's write transaction, mark the
    session ``running``, and return the lease's generation. Raises :class:`~symposia.errors.SessionBusy`
    when a live runner holds it (:func:`holder_is_live`)."""
    t = time.time() if now is None else now
    if getattr(conn, "dialect", "sqlite") == "postgresql":  # SQLite's BEGIN IMMEDIATE already serialises us
        conn.execute("SELECT id FROM sessions WHERE id = ? FOR UPDATE", (session_id,))
    row = conn.execute(_SELECT, (session_id,)).fetchone()
    generation = 1
    if row is not None:
        holder, host, pid, started, gen, _, expires_at, status = row
        if holder == me.id:
            generation = int(gen)
        else:
            if status == "running" and holder_is_live(str(host), int(pid), str(started), float(expires_at), me, t):
                raise _busy(session_id, row, me, t)
            generation = int(gen) + 1
    stamp = datetime_to_iso(utcnow())
    conn.execute(
        "INSERT INTO session_leases (session_id, holder, host, pid, started, generation, acquired_at, "
        "heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET "
        "holder = excluded.holder, host = excluded.host, pid = excluded.pid, started = excluded.started, "
        "generation = excluded.generation, acquired_at = CASE WHEN session_leases.holder = "
        "excluded.holder THEN session_leases.acquired_at ELSE excluded.acquired_at END, "
        "heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at",
        (session_id, me.id, me.host, me.pid, me.started, generation, stamp, stamp, t + ttl_s),
    )
    cur = conn.execute("UPDATE sessions SET status = 'running', updated_at = ? WHERE id = ?",
                       (stamp, session_id))
    if cur.rowcount == 0:
        raise ArchiveError(f"no session with id {session_id!r} to run")
    return generation


def renew(conn: sqlite3.Connection, session_ids: list[str], me: Holder, ttl_s: float = DEFAULT_TTL_S,
          *, now: float | None = None) -> list[str]:
    """Push the expiry of our leases forward; return the ids we no longer hold (taken over or finished)."""
    t = time.time() if now is None else now
    stamp = datetime_to_iso(utcnow())
    lost: list[str] = []
    for sid in session_ids:
        cur = conn.execute(
            "UPDATE session_leases SET heartbeat_at = ?, expires_at = ? WHERE session_id = ? AND holder = ? "
            "AND (SELECT status FROM sessions WHERE id = ?) = 'running'",
            (stamp, t + ttl_s, sid, me.id, sid),
        )
        if cur.rowcount == 0:
            lost.append(sid)
    return lost


def check(conn: sqlite3.Connection, session_id: str, me: Holder, generation: int) -> None:
    """Inside the caller's transaction: raise :class:`~symposia.errors.LeaseLost` unless ``me`` still
    holds generation ``generation`` of the session's lease and the session is ``running``."""
    row = conn.execute(_SELECT, (session_id,)).fetchone()
    if row is not None and row[0] == me.id and int(row[4]) == generation and row[7] == "running":
        return
    raise lost_to(session_id, row)


def lost_to(session_id: str, row: sqlite3.Row | None) -> LeaseLost:
    """The error telling a runner that it no longer holds ``session_id`` (``row``: the lease now)."""
    if row is None or row[7] != "running":
        return LeaseLost(session_id, None, None, None)
    return LeaseLost(session_id, str(row[1]), int(row[2]), int(row[4]))


def current(conn: sqlite3.Connection, session_id: str) -> sqlite3.Row | None:
    """The session's lease row as :func:`check` reads it (None: nobody holds it)."""
    row: sqlite3.Row | None = conn.execute(_SELECT, (session_id,)).fetchone()
    return row


def finish(conn: sqlite3.Connection, session_id: str, me: Holder, status: str) -> bool:
    """Set the session's final ``status`` and free its lease, only if ``me`` still holds it (a runner
    that lost the lease must not overwrite the new holder's ``running``). True when written."""
    cur = conn.execute(
        "UPDATE sessions SET status = ?, updated_at = ? WHERE id = ? AND EXISTS "
        "(SELECT 1 FROM session_leases WHERE session_id = ? AND holder = ?)",
        (status, datetime_to_iso(utcnow()), session_id, session_id, me.id),
    )
    release(conn, session_id, me)
    return bool(cur.rowcount)


def release(conn: sqlite3.Connection, session_id: str, me: Holder) -> None:
    conn.execute("DELETE FROM session_leases WHERE session_id = ? AND holder = ?", (session_id, me.id))
