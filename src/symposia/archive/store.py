"""The archive: one SQLite file holding every session and every model call, written as it happens.

Durability: each ``add_turn`` is its own transaction, committed before the call returns, so a
crash later (even SIGKILL) loses nothing already recorded. WAL mode with ``synchronous=NORMAL``
makes that cheap; a committed turn survives a process crash, and an OS crash or power cut can lose
at most the last few commits, never corrupt the file. Secrets: every text field goes through
:func:`symposia.redact.redact` on the way in, so no key ever reaches the disk.

The class is synchronous and guarded by one lock: the async orchestrator calls it from its single
event-loop thread, and each call is a few milliseconds of local disk.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from symposia.archive.migrations import MIGRATIONS, migrate
from symposia.archive.postgres import connect as pg_connect
from symposia.archive.postgres import is_postgres_url, safe_url
from symposia.archive.tokens import answer_index
from symposia.codec import (
    SESSION_STATUSES,
    datetime_to_iso,
    session_from_dict,
    turn_from_dict,
)
from symposia.errors import ArchiveError, ArchiveIntegrityError, ArchiveLocked, ArchiveUnavailable, NotFoundError
from symposia.paths import archive_path
from symposia.records import SessionRecord, TurnRecord, utcnow
from symposia.redact import redact, redact_tree

__all__ = ["Archive", "new_session_id", "turn_status"]

BUSY_TIMEOUT_MS = 5000


def new_session_id(kind: str, now: datetime | None = None) -> str:
    """A sortable, readable id: UTC time, kind, 4 random hex chars, e.g. ``20261125-194428-ask-3f9a``."""
    slug = re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-") or "session"
    when = (now or utcnow()).astimezone(UTC)
    return f"{when:%Y%m%d-%H%M%S}-{slug}-{secrets.token_hex(2)}"


def turn_status(turn: TurnRecord) -> str:
    """``error`` if the call failed, ``flagged`` if its answer is empty/truncated, else ``ok``."""
    if turn.result.error is not None:
        return "error"
    return "flagged" if turn.result.flags else "ok"


def _utc_iso(dt: datetime) -> str:
    # Stored in UTC with a fixed width so that text order is time order in plain SQL.
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return datetime_to_iso(dt.astimezone(UTC))


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(redact_tree(value), ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise ArchiveError(f"cannot store {what}: it is not plain JSON data ({e})") from e


def _opt_redact(text: str | None) -> str | None:
    return redact(text) if text is not None else None


def _turn_row(t: TurnRecord) -> dict[str, Any]:
    req, res = t.request, t.result
    return {
        "session_id": t.session_id,
        "seq": t.seq,
        "step_key": t.step_key,
        "role": t.role,
        "voice": redact(t.voice),
        "voice_name": redact(t.voice_name),
        "provider": redact(t.provider),
        "model_requested": redact(req.model),
        "model_reported": _opt_redact(res.model_reported),
        "request_id": _opt_redact(res.request_id),
        "params_json": _json(req.params.to_dict(), "the call's params"),
        "system_prompt": _opt_redact(req.system),
        "messages_json": _json([m.to_dict() for m in req.messages], "the call's messages"),
        "answer": redact(res.text),
        "reasoning": redact(res.reasoning),
        "finish_reason": res.finish_reason,
        "prompt_tokens": res.usage.prompt_tokens,
        "completion_tokens": res.usage.completion_tokens,
        "reasoning_tokens": res.usage.reasoning_tokens,
        "cost": res.usage.cost,
        "ttft_ms": res.ttft_s * 1000.0 if res.ttft_s is not None else None,
        "latency_ms": res.latency_s * 1000.0,
        "attempts": res.attempts,
        "error_json": _json(res.error.to_dict(), "the call's error") if res.error is not None else None,
        "flags": " ".join(res.flags),
        "status": turn_status(t),
        "started_at": _utc_iso(res.started_at),
        "ended_at": _utc_iso(res.ended_at),
        "meta_json": _json(t.meta, "the turn's meta"),
    }


_TURN_COLUMNS = (
    "session_id", "seq", "step_key", "role", "voice", "voice_name", "provider", "model_requested",
    "model_reported", "request_id", "params_json", "system_prompt", "messages_json", "answer",
    "reasoning", "finish_reason", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cost",
    "ttft_ms", "latency_ms", "attempts", "error_json", "flags", "status", "started_at", "ended_at",
    "meta_json",
)
_INSERT_TURN = (
    f"INSERT INTO turns ({', '.join(_TURN_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _TURN_COLUMNS)})"
)
# PostgreSQL also stores the answer's terms (FTS5 indexes them itself on SQLite): archive/tokens.py
_INSERT_TURN_PG = (
    f"INSERT INTO turns ({', '.join(_TURN_COLUMNS)}, terms, words) "
    f"VALUES ({', '.join(':' + c for c in _TURN_COLUMNS)}, :terms, :words)"
)


def _turn_from_row(row: sqlite3.Row) -> TurnRecord:
    ttft_ms = row["ttft_ms"]
    error_json = row["error_json"]
    return turn_from_dict(
        {
            "id": row["id"],
            "session_id": row["session_id"],
            "seq": row["seq"],
            "step_key": row["step_key"],
            "role": row["role"],
            "voice": row["voice"],
            "voice_name": row["voice_name"],
            "provider": row["provider"],
            "request": {
                "model": row["model_requested"],
                "system": row["system_prompt"],
                "messages": json.loads(row["messages_json"]),
                "params": json.loads(row["params_json"]),
            },
            "result": {
                "text": row["answer"],
                "reasoning": row["reasoning"],
                "finish_reason": row["finish_reason"],
                "model_requested": row["model_requested"],
                "model_reported": row["model_reported"],
                "request_id": row["request_id"],
                "usage": {
                    "prompt_tokens": row["prompt_tokens"],
                    "completion_tokens": row["completion_tokens"],
                    "reasoning_tokens": row["reasoning_tokens"],
                    "cost": row["cost"],
                },
                "ttft_s": ttft_ms / 1000.0 if ttft_ms is not None else None,
                "latency_s": row["latency_ms"] / 1000.0,
                "attempts": row["attempts"],
                "error": json.loads(error_json) if error_json is not None else None,
                "started_at": row["started_at"],
                "ended_at": row["ended_at"],
                "flags": (row["flags"] or "").split(),
            },
            "meta": json.loads(row["meta_json"]),
        }
    )


def _session_from_row(row: sqlite3.Row) -> SessionRecord:
    return session_from_dict(
        {
            "id": row["id"],
            "kind": row["kind"],
            "title": row["title"],
            "created_at": row["created_at"],
            "status": row["status"],
            "plan": json.loads(row["plan_json"]),
            "meta": json.loads(row["meta_json"]),
        }
    )


def _read_only_file(p: Path) -> bool:
    """True when ``p`` exists but this process cannot write it or create its journal beside it."""
    if not p.is_file():
        return False
    return not os.access(p, os.W_OK) or not os.access(p.parent, os.W_OK | os.X_OK)


def _open_read_only(p: Path) -> sqlite3.Connection:
    """Open an archive we may not write: ``mode=ro``, else ``immutable=1`` (a read-only folder cannot
    hold the WAL's shared-memory file). Every migration must already be there: none can be applied."""
    last: Exception | None = None
    for flags in ("mode=ro", "immutable=1"):
        try:
            conn = sqlite3.connect(f"{p.resolve().as_uri()}?{flags}", uri=True, isolation_level=None,
                                   check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
            conn.row_factory = sqlite3.Row
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as e:
            last = e
            continue
        if "_migrations" not in names:
            conn.close()
            raise ArchiveError(f"{p} is read-only and is not a symposia archive (it has no _migrations table)")
        applied = {str(r[0]) for r in conn.execute("SELECT name FROM _migrations")}
        pending = [fn.__name__ for fn in MIGRATIONS if fn.__name__ not in applied]
        if pending:
            conn.close()
            raise ArchiveError(
                f"the archive {p} is read-only (this process cannot write the file or its folder) and was "
                f"written by an older symposia: it needs {', '.join(pending)}, which cannot be applied here. "
                "Copy it to a writable place and open the copy with --archive."
            )
        return conn
    if isinstance(last, sqlite3.DatabaseError) and _looks_damaged(last):
        raise _damaged(p, last) from last
    raise ArchiveError(f"cannot open the read-only archive {p}: {last}. Copy it to a writable place "
                       "and open the copy with --archive.")


_OURS = {"sessions", "turns", "_migrations"}


def _check_is_ours(conn: sqlite3.Connection, p: Path, *, adopt: bool) -> None:
    """Refuse another program's database: one with tables, none of them ours."""
    names = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    names = {n for n in names if not n.startswith("sqlite_")}
    if not names or "_migrations" in names or adopt:
        return
    shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
    raise ArchiveError(
        f"{p} is a SQLite database but not a symposia archive (its tables: {shown}); symposia will not add "
        "its own tables to it. Point --archive or SYMPOSIA_ARCHIVE at another file, or pass "
        "--force-archive to use this one anyway."
    )


def _cannot_write(e: sqlite3.Error) -> bool:
    msg = str(e).lower()
    return "readonly" in msg or "read-only" in msg or "unable to open" in msg


def _looks_damaged(e: sqlite3.DatabaseError) -> bool:
    msg = str(e).lower()
    return "not a database" in msg or "malformed" in msg or "corrupt" in msg


def _damaged(p: Path | str, e: sqlite3.DatabaseError) -> ArchiveError:
    if not _looks_damaged(e):
        return ArchiveError(f"cannot open the archive {p}: {e}")
    return ArchiveError(
        f"cannot open the archive {p}: it is damaged or is not a SQLite file ({e}). Nothing was changed. "
        f"Restore it from a backup or try `sqlite3 {p} .recover > recovered.sql`; or point --archive or "
        "SYMPOSIA_ARCHIVE at another file to start a new symposia archive."
    )


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except (sqlite3.Error, ArchiveUnavailable):
        pass  # the connection is gone: the error being raised says so


_CONSTRAINT = (("UNIQUE", "unique"), ("FOREIGN KEY", "foreign_key"), ("CHECK", "check"), ("NOT NULL", "not_null"))


def _sqlite_error(e: sqlite3.Error, path: Path | str, doing: str) -> ArchiveError:
    """A sqlite3 exception as the archive's own (:mod:`symposia.errors`), so that callers catch one
    tree whatever the backend (PostgreSQL's are translated in :mod:`symposia.archive.postgres`)."""
    if isinstance(e, sqlite3.IntegrityError):
        kind = next((k for mark, k in _CONSTRAINT if mark in str(e).upper()), "other")
        return ArchiveIntegrityError(f"{doing}: {e}", constraint=kind)
    low = str(e).lower()
    if isinstance(e, sqlite3.OperationalError) and ("locked" in low or "busy" in low):
        return ArchiveLocked(f"{doing}: another process held the archive longer than "
                             f"{BUSY_TIMEOUT_MS // 1000} s ({e}). Nothing was written; run the command again.")
    if isinstance(e, sqlite3.DatabaseError) and _looks_damaged(e):
        return _damaged(path, e)
    return ArchiveError(f"{doing}: {e}")


class Archive:
    """The SQLite archive. Open with :meth:`open`; use as a context manager or call :meth:`close`."""

    def __init__(self, conn: sqlite3.Connection, path: Path | str, *, readonly: bool = False) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path  # the file, or a PostgreSQL URL without its password
        self.readonly = readonly

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``: which database holds this archive."""
        return str(getattr(self._conn, "dialect", "sqlite"))

    # -- lifecycle ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str | None = None, *, adopt: bool = False) -> Archive:
        """Open (creating if needed) and migrate the archive at ``path``.

        ``None`` means the default from :func:`symposia.paths.archive_path` (``SYMPOSIA_ARCHIVE``
        or the user data dir). A ``postgresql://`` URL (as ``path`` or in ``SYMPOSIA_ARCHIVE``) opens a
        PostgreSQL archive instead (:mod:`symposia.archive.postgres`).

        A file that cannot be written (a read-only disk, a file mode) is opened read-only: everything
        can be read, nothing written. Another program's SQLite file is refused unless ``adopt``
        (``--force-archive``): adding our tables to it is not ours to do. A damaged file is reported
        as such.
        """
        url = path if path is not None else os.environ.get("SYMPOSIA_ARCHIVE")
        if is_postgres_url(url):
            assert isinstance(url, str)
            return cls(cast(sqlite3.Connection, pg_connect(url)), safe_url(url))
        p = archive_path(path)
        in_memory = str(p) == ":memory:"
        if not in_memory and _read_only_file(p):
            return cls(_open_read_only(p), p, readonly=True)
        if not in_memory:
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise ArchiveError(f"cannot create the folder {p.parent} for the archive: {e}") from e
        try:
            conn = sqlite3.connect(
                str(p), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
        except sqlite3.Error as e:
            raise ArchiveError(f"cannot open the archive {p}: {e}") from e
        conn.row_factory = sqlite3.Row
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _check_is_ours(conn, p, adopt=adopt)
            # WAL: readers never block the writer, and a commit is one append to the -wal file.
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn, where=f"the archive {p}")
        except ArchiveError:
            conn.close()
            raise
        except sqlite3.DatabaseError as e:
            conn.close()
            if not in_memory and p.is_file() and _cannot_write(e):
                return cls(_open_read_only(p), p, readonly=True)
            raise _damaged(p, e) from e
        except sqlite3.Error as e:
            conn.close()
            if not in_memory and p.is_file() and _cannot_write(e):  # e.g. root on a read-only mount
                return cls(_open_read_only(p), p, readonly=True)
            raise ArchiveError(
                f"cannot open the archive {p}: {e}. Is it a symposia archive? "
                f"Point --archive or SYMPOSIA_ARCHIVE at another file to start a new one."
            ) from e
        return cls(conn, p)

    def close(self) -> None:
        """Close the connection (idempotent). WAL content is checkpointed into the main file."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Archive({str(self.path)!r})"

    # -- plumbing ----------------------------------------------------------------------------------

    @contextmanager
    def transaction(self, doing: str | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction on the archive's connection, committed on exit and rolled back on any
        error (``BEGIN IMMEDIATE`` takes the lock up front). For modules that keep tables of their own.

        A database error inside is raised as the archive's own (:class:`~symposia.errors.ArchiveError`
        and its subclasses, ``doing`` in front), on either backend."""
        if self.readonly:
            raise ArchiveError(
                f"the archive {self.path} is read-only (this process cannot write the file or its folder): "
                "reading works, recording does not. Use a writable --archive to record."
            )
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                self._conn.execute("COMMIT")
            except sqlite3.Error as e:
                _rollback(self._conn)
                raise _sqlite_error(e, self.path, doing or f"cannot write to the archive {self.path}") from e
            except BaseException:
                _rollback(self._conn)
                raise

    _write = transaction

    def _read(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                raise _sqlite_error(e, self.path, f"cannot read the archive {self.path}") from e

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Run a read-only query and return its rows (for other modules' views over the archive)."""
        return self._read(sql, params)

    # -- sessions ----------------------------------------------------------------------------------

    def create_session(self, session: SessionRecord) -> None:
        """Record a new session; its id must not exist yet."""
        if session.status not in SESSION_STATUSES:
            raise ArchiveError(f"invalid session status {session.status!r}")
        created = _utc_iso(session.created_at)
        try:
            with self._write(f"cannot record session {session.id!r} in {self.path}") as c:
                c.execute(
                    "INSERT INTO sessions (id, kind, title, created_at, updated_at, status, plan_json,"
                    " meta_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (session.id, redact(session.kind), redact(session.title), created,
                     _utc_iso(utcnow()), session.status, _json(session.plan, "the session plan"),
                     _json(session.meta, "the session meta")),
                )
        except ArchiveIntegrityError as e:
            if e.constraint != "unique":
                raise
            raise ArchiveIntegrityError(f"a session with id {session.id!r} already exists in {self.path}",
                                        constraint="unique") from e

    def set_session_status(self, session_id: str, status: str) -> None:
        """Mark a session ``running``/``complete``/``failed``/``interrupted``."""
        if status not in SESSION_STATUSES:
            expected = ", ".join(repr(s) for s in SESSION_STATUSES)
            raise ArchiveError(f"invalid value for status, expected one of {expected} (not {status!r})")
        with self._write(f"cannot update session {session_id!r} in {self.path}") as c:
            cur = c.execute(
                "UPDATE sessions SET status = ?, updated_at = ? WHERE id = ?",
                (status, _utc_iso(utcnow()), session_id),
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no session with id {session_id!r} in {self.path}")

    def set_session_plan(self, session_id: str, plan: dict[str, Any], meta: dict[str, Any]) -> None:
        """Replace a session's plan and meta (``symposia resume --plan``: the meta keeps every version)."""
        with self._write(f"cannot update session {session_id!r} in {self.path}") as c:
            cur = c.execute(
                "UPDATE sessions SET plan_json = ?, meta_json = ?, updated_at = ? WHERE id = ?",
                (_json(plan, "the session plan"), _json(meta, "the session meta"), _utc_iso(utcnow()),
                 session_id),
            )
            if cur.rowcount == 0:
                raise ArchiveError(f"no session with id {session_id!r} in {self.path}")

    def get_session(self, id_or_prefix: str) -> SessionRecord:
        """The session with this id, or the only one whose id starts with it."""
        if not id_or_prefix:
            raise NotFoundError("empty session id")
        rows = self._read("SELECT * FROM sessions WHERE id = ?", (id_or_prefix,))
        if not rows:
            rows = self._read(
                "SELECT * FROM sessions WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 6",
                (len(id_or_prefix), id_or_prefix),
            )
        if not rows:
            raise NotFoundError(f"no session with id or id prefix {id_or_prefix!r} in {self.path}")
        if len(rows) > 1:
            ids = ", ".join(r["id"] for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
            raise NotFoundError(
                f"session id prefix {id_or_prefix!r} is ambiguous: it matches {ids}. Give more of the id."
            )
        return _session_from_row(rows[0])

    def list_sessions(self, limit: int = 50, kind: str | None = None) -> list[SessionRecord]:
        """Newest first."""
        if kind is None:
            rows = self._read(
                "SELECT * FROM sessions ORDER BY created_at DESC, id DESC LIMIT ?", (limit,)
            )
        else:
            rows = self._read(
                "SELECT * FROM sessions WHERE kind = ? ORDER BY created_at DESC, id DESC LIMIT ?",
                (kind, limit),
            )
        return [_session_from_row(r) for r in rows]

    # -- turns -------------------------------------------------------------------------------------

    def add_turn(self, turn: TurnRecord, *, guard: Callable[[sqlite3.Connection], None] | None = None) -> int:
        """Store one model call and return its new id; committed (durable) when this returns.

        ``guard`` runs first inside the same transaction: what it raises (a runner that lost the
        session's lease) stores nothing and propagates."""
        if turn.id is not None:
            raise ArchiveError(
                f"add_turn stores new turns and assigns their id; this one already has id {turn.id}"
            )
        row = _turn_row(turn)
        insert = _INSERT_TURN
        if self.dialect == "postgresql":
            row["terms"], row["words"] = answer_index(row["answer"])
            insert = _INSERT_TURN_PG
        try:
            with self._write(f"cannot record the turn of {turn.voice!r} in {self.path}") as c:
                if guard is not None:
                    guard(c)
                cur = c.execute(insert, row)
                c.execute(
                    "UPDATE sessions SET updated_at = ? WHERE id = ?",
                    (_utc_iso(utcnow()), turn.session_id),
                )
                new_id = cur.lastrowid
        except ArchiveIntegrityError as e:
            if e.constraint == "foreign_key":
                raise ArchiveIntegrityError(
                    f"no session {turn.session_id!r} in {self.path}: create_session() before add_turn()",
                    constraint="foreign_key") from e
            if e.constraint == "unique" and turn.step_key is not None:
                raise ArchiveIntegrityError(
                    f"session {turn.session_id!r} already has a turn for step {turn.step_key!r}; "
                    f"use find_turn() to reuse it instead of calling the voice again", constraint="unique") from e
            raise
        assert new_id is not None
        return new_id

    def set_turn_meta(self, turn_id: int, meta: dict[str, Any]) -> None:
        """Replace a turn's meta (what was judged about it afterwards: a refused draft, a superseded call).
        The call itself — what was sent, what came back — is never rewritten."""
        with self._write(f"cannot update turn {turn_id} in {self.path}") as c:
            cur = c.execute("UPDATE turns SET meta_json = ? WHERE id = ?", (_json(meta, "the turn meta"), turn_id))
            if cur.rowcount == 0:
                raise ArchiveError(f"no turn with id {turn_id} in {self.path}")

    def retire_turn(self, turn_id: int, reason: str) -> None:
        """Keep a finished turn but free its step for a new call (its inputs changed: ``resume --plan``).

        Its step key becomes ``<key>~<id>`` and its meta says ``superseded`` and why; transcripts
        leave it out, the record keeps it."""
        turn = self.get_turn(turn_id)
        with self._write(f"cannot update turn {turn_id} in {self.path}") as c:
            c.execute("UPDATE turns SET step_key = ?, meta_json = ? WHERE id = ?",
                      (f"{turn.step_key}~{turn_id}" if turn.step_key else None,
                       _json({**turn.meta, "superseded": reason}, "the turn meta"), turn_id))

    def get_turn(self, turn_id: int) -> TurnRecord:
        rows = self._read("SELECT * FROM turns WHERE id = ?", (turn_id,))
        if not rows:
            raise NotFoundError(f"no turn with id {turn_id} in {self.path}")
        return _turn_from_row(rows[0])

    def session_turns(self, session_id: str) -> list[TurnRecord]:
        """Every turn of a session, in ``seq`` order (then insertion order)."""
        rows = self._read("SELECT * FROM turns WHERE session_id = ? ORDER BY seq, id", (session_id,))
        return [_turn_from_row(r) for r in rows]

    def find_turn(self, session_id: str, step_key: str) -> TurnRecord | None:
        """The turn recorded for this step, if any — the successful one when there is one, else the latest
        failed attempt. A resumed run skips (and does not re-pay for) a successful step."""
        rows = self._read(
            "SELECT * FROM turns WHERE session_id = ? AND step_key = ? "
            "ORDER BY (status = 'error'), id DESC LIMIT 1",
            (session_id, step_key),
        )
        return _turn_from_row(rows[0]) if rows else None

    def recent_turns(self, n: int = 10, voice: str | None = None) -> list[TurnRecord]:
        """The ``n`` latest turns by start time, newest first, optionally of one voice."""
        if voice is None:
            rows = self._read("SELECT * FROM turns ORDER BY started_at DESC, id DESC LIMIT ?", (n,))
        else:
            rows = self._read(
                "SELECT * FROM turns WHERE voice = ? ORDER BY started_at DESC, id DESC LIMIT ?",
                (voice, n),
            )
        return [_turn_from_row(r) for r in rows]

    def next_seq(self, session_id: str) -> int:
        """The ``seq`` for the next turn of a session: 1 for the first, then max + 1."""
        rows = self._read("SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE session_id = ?", (session_id,))
        return int(rows[0][0])
