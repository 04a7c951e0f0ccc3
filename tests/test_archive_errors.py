"""Both backends raise the archive's own exceptions (symposia.errors), never sqlite3's or psycopg's, and a
PostgreSQL error never shows the password of the URL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from click.testing import CliRunner

from symposia.archive import Archive
from symposia.archive.postgres import safe_url
from symposia.cli.main import cli
from symposia.errors import ArchiveError, ArchiveIntegrityError, ArchiveLocked, ArchiveUnavailable
from symposia.records import SessionRecord, TurnRecord, TurnRequest, TurnResult

PLANTED = "Pl4nted-s3cret"


def _with_password(url: str, password: str = PLANTED, **changes: str) -> str:
    """``url`` with a password (the test cluster trusts any) and other parts changed."""
    p = urlsplit(url)
    host = changes.get("host", f"{p.hostname}:{changes.get('port', p.port)}")
    user = changes.get("user", p.username or "postgres")
    path = changes.get("path", p.path)
    return urlunsplit(p._replace(netloc=f"{user}:{password}@{host}", path=path))


def _session() -> SessionRecord:
    return SessionRecord(id="s1", kind="council", title="t", created_at=datetime(2026, 1, 1, tzinfo=UTC))


def _turn(sid: str, step: str | None = "r1:a") -> TurnRecord:
    return TurnRecord(id=None, session_id=sid, seq=1, voice="qwen", voice_name="Qwen", provider="fake",
                      request=TurnRequest(model="m", messages=()), result=TurnResult(text="hello"), step_key=step)


def _violations(a: Archive) -> list[ArchiveIntegrityError]:
    """A duplicate session, a turn for no session, a duplicate step, and a raw insert breaking a key."""
    a.create_session(_session())
    a.add_turn(_turn("s1"))
    caught: list[ArchiveIntegrityError] = []
    for attempt in (lambda: a.create_session(_session()),
                    lambda: a.add_turn(_turn("nope")),
                    lambda: a.add_turn(_turn("s1"))):
        with pytest.raises(ArchiveIntegrityError) as info:
            attempt()
        caught.append(info.value)
    with pytest.raises(ArchiveIntegrityError) as raw, a.transaction() as c:
        c.execute("INSERT INTO sessions (id, kind, title, created_at, updated_at, status) VALUES "
                  "('s1', 'council', '', 'x', 'x', 'running')")
    caught.append(raw.value)
    return caught


def _check(caught: list[ArchiveIntegrityError]) -> None:
    assert [e.constraint for e in caught] == ["unique", "foreign_key", "unique", "unique"]
    assert "already exists" in str(caught[0]) and "create_session() before add_turn()" in str(caught[1])
    assert "find_turn()" in str(caught[2])
    for e in caught:
        assert not isinstance(e, sqlite3.Error | psycopg.Error) and "sqlite3" not in str(e)


def test_sqlite_constraint_violations_are_archive_integrity_errors(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        _check(_violations(a))


def test_postgresql_constraint_violations_are_the_same_errors_without_the_password(pg_url: str) -> None:
    with Archive.open(_with_password(pg_url)) as a:
        assert PLANTED not in str(a.path) and "***" in str(a.path)
        caught = _violations(a)
        _check(caught)
        assert all(PLANTED not in str(e) for e in caught)
        assert "refused the write (unique constraint)" in str(caught[3]) and "***" in str(caught[3])


@pytest.mark.parametrize("change", ["port", "database", "user", "malformed"])
def test_a_wrong_url_says_what_to_check_and_hides_the_password(pg_url: str, change: str) -> None:
    url = {"port": lambda: _with_password(pg_url, port="1"),
           "database": lambda: _with_password(pg_url, path="/no_such_db"),
           "user": lambda: _with_password(pg_url, user="nobody"),
           "malformed": lambda: f"postgresql://me:{PLANTED}@[::1/db"}[change]()
    with pytest.raises(ArchiveUnavailable) as info:
        Archive.open(url)
    text = str(info.value)
    assert PLANTED not in text and "***" in text
    assert "cannot connect to the archive" in text and "user, password and database" in text
    assert info.value.__cause__ is None and info.value.__suppress_context__  # the driver's message stays out
    shown = CliRunner().invoke(cli, ["--archive", url, "log"])
    assert shown.exit_code == 1 and PLANTED not in shown.output and "cannot connect" in shown.output


def test_a_lost_connection_is_archive_unavailable_and_says_to_run_again(pg_url: str, pg_server: str) -> None:
    with Archive.open(_with_password(pg_url)) as a:
        a.create_session(_session())
        pid = int(a.query("SELECT pg_backend_pid()")[0][0])
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(ArchiveUnavailable) as read:
            a.list_sessions()
        with pytest.raises(ArchiveUnavailable) as write:
            a.add_turn(_turn("s1"))
    for e in (read.value, write.value):
        assert PLANTED not in str(e) and "lost the connection" in str(e) and "run the command again" in str(e)
        assert isinstance(e, ArchiveError) and not isinstance(e, sqlite3.Error | psycopg.Error)


def test_safe_url_masks_every_spelling_of_a_password() -> None:
    assert safe_url(f"postgresql://me:{PLANTED}@db:5432/x") == "postgresql://me:***@db:5432/x"
    assert safe_url(f"postgresql://me:{PLANTED}@[::1/x") == "postgresql://me:***@[::1/x"
    assert safe_url("postgresql://me@db/x") == "postgresql://me@db/x"
    assert PLANTED not in safe_url(f"host=db password={PLANTED} dbname=x")


def test_a_writer_held_up_past_the_busy_timeout_gets_archive_locked(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        other = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock past the 5 s wait
        try:
            with pytest.raises(ArchiveLocked, match="run the command again") as info:
                a.create_session(_session())
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert not isinstance(info.value, sqlite3.Error)
        a.create_session(_session())  # nothing was written: the same call now succeeds
