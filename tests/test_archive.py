"""The archive on real SQLite files: round-trips, migrations, durability, redaction."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import symposia
from symposia.archive import Archive, new_session_id
from symposia.archive.migrations import MIGRATIONS, applied_migrations, migrate, migration
from symposia.codec import turn_from_dict, turn_to_dict
from symposia.errors import ArchiveError
from symposia.records import (
    ErrorInfo,
    Message,
    Params,
    SessionRecord,
    TurnRecord,
    TurnRequest,
    TurnResult,
    Usage,
)
from symposia.redact import register_secret

IST = timezone(timedelta(hours=5, minutes=30))
T0 = datetime(2026, 1, 31, 19, 44, 28, 123456, tzinfo=IST)


def session(id: str = "20260131-141428-symposium-3f9a", kind: str = "symposium",
            created_at: datetime = T0) -> SessionRecord:
    return SessionRecord(id=id, kind=kind, title="Altars", created_at=created_at,
                         plan={"voices": ["qwen", "deepseek"]}, meta={"host": "claude"})


def turn(session_id: str = "20260131-141428-symposium-3f9a", seq: int = 1, *, voice: str = "qwen",
         text: str = "The offering burns AS the altar.", step_key: str | None = None,
         started_at: datetime = T0, **result_changes: object) -> TurnRecord:
    result = TurnResult(
        text=text, reasoning="", finish_reason="stop", model_requested=f"{voice}/model",
        model_reported=f"{voice}/model-0528", request_id="gen-1",
        usage=Usage(prompt_tokens=10, completion_tokens=20), ttft_s=0.5, latency_s=2.25,
        started_at=started_at, ended_at=started_at + timedelta(seconds=2.25),
    )
    result = dataclasses.replace(result, **result_changes)  # type: ignore[arg-type]
    return TurnRecord(
        id=None, session_id=session_id, seq=seq, voice=voice, voice_name=voice.title(),
        provider="openrouter",
        request=TurnRequest(model=f"{voice}/model", messages=(Message("user", "What burns?"),)),
        result=result, step_key=step_key,
    )


def full_turn(session_id: str = "20260131-141428-symposium-3f9a") -> TurnRecord:
    """Every field away from its default, reasoning apart from the answer, a non-UTC offset."""
    return TurnRecord(
        id=None, session_id=session_id, seq=7, voice="deepseek", voice_name="DeepSeek R1 «Threshold»",
        provider="openrouter",
        request=TurnRequest(
            model="deepseek/deepseek-r1",
            messages=(Message("user", "What burns?"), Message("assistant", "The offering."),
                      Message("user", "Qwen said: 'AS the altar.' Is this hallucination?")),
            system="You are one voice among several. Ünïcødé ✓",
            params=Params(temperature=0.7, max_tokens=800, top_p=0.9, stop=("###",), seed=11,
                          extra={"reasoning": {"effort": "high"}}),
        ),
        result=TurnResult(
            text="Not hallucination: convergence.", reasoning="Let me think about altars…",
            finish_reason="length", model_requested="deepseek/deepseek-r1",
            model_reported="deepseek/deepseek-r1-0528", request_id="gen-123",
            usage=Usage(prompt_tokens=120, completion_tokens=800, reasoning_tokens=790, cost=0.00213),
            ttft_s=0.8125, latency_s=12.5, attempts=3,
            error=ErrorInfo(kind="server_error", message="upstream 502", status=502, code="bad_gateway",
                            retryable=True),
            started_at=T0, ended_at=T0 + timedelta(seconds=12.5),
        ),
        role="chair", step_key="round-2/deepseek", meta={"round": 2, "relayed_from": ["qwen"]},
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "archive.db"


@pytest.fixture
def archive(db: Path) -> Archive:
    a = Archive.open(db)
    a.create_session(session())
    return a


def raw(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return conn


# -- round trips -----------------------------------------------------------------------------------


def test_every_field_round_trips(archive: Archive, db: Path) -> None:
    t = full_turn()
    tid = archive.add_turn(t)
    back = archive.get_turn(tid)
    assert back == dataclasses.replace(t, id=tid)
    assert back.result.reasoning == "Let me think about altars…"
    assert back.result.text == "Not hallucination: convergence."
    assert back.result.flags == ("error", "truncated")
    assert back.result.started_at.tzinfo is not None
    assert back.result.started_at == T0
    archive.close()

    row = raw(db).execute("SELECT * FROM turns WHERE id = ?", (tid,)).fetchone()
    # Stored in UTC so that text order is time order for anyone querying with sqlite3.
    assert row["started_at"] == "2026-01-31T14:14:28.123456+00:00"
    assert row["ended_at"] == "2026-01-31T14:14:40.623456+00:00"
    assert row["flags"] == "error truncated"
    assert row["status"] == "error"
    assert row["answer"] == "Not hallucination: convergence."
    assert row["reasoning"] == "Let me think about altars…"
    assert (row["ttft_ms"], row["latency_ms"], row["attempts"]) == (812.5, 12500.0, 3)
    assert (row["prompt_tokens"], row["completion_tokens"], row["reasoning_tokens"], row["cost"]) == (
        120, 800, 790, 0.00213)
    assert row["model_requested"] == "deepseek/deepseek-r1"
    assert row["model_reported"] == "deepseek/deepseek-r1-0528"
    assert row["role"] == "chair"
    assert json.loads(row["messages_json"])[2] == {
        "role": "user", "content": "Qwen said: 'AS the altar.' Is this hallucination?"}
    assert json.loads(row["params_json"]) == {
        "temperature": 0.7, "max_tokens": 800, "top_p": 0.9, "stop": ["###"], "seed": 11,
        "extra": {"reasoning": {"effort": "high"}}}
    assert json.loads(row["error_json"])["code"] == "bad_gateway"
    assert row["system_prompt"].endswith("✓")


def test_minimal_turn_keeps_its_nones(archive: Archive) -> None:
    t = turn(ttft_s=None, model_reported=None, request_id=None, usage=Usage())
    back = archive.get_turn(archive.add_turn(t))
    assert back == dataclasses.replace(t, id=back.id)
    assert back.request.system is None
    assert back.result.usage == Usage()


def test_timings_keep_sub_microsecond_precision(archive: Archive) -> None:
    back = archive.get_turn(archive.add_turn(turn(ttft_s=0.123456789, latency_s=3.3333333)))
    assert back.result.ttft_s == pytest.approx(0.123456789, abs=1e-12)
    assert back.result.latency_s == pytest.approx(3.3333333, abs=1e-12)


def test_status_column_follows_flags(archive: Archive, db: Path) -> None:
    ok = archive.add_turn(turn(seq=1))
    empty = archive.add_turn(turn(seq=2, text="   ", reasoning="thinking only"))
    failed = archive.add_turn(turn(seq=3, text="", error=ErrorInfo(kind="timeout", message="idle 120 s")))
    rows = {r["id"]: r for r in raw(db).execute("SELECT id, status, flags FROM turns")}
    assert (rows[ok]["status"], rows[ok]["flags"]) == ("ok", "")
    assert (rows[empty]["status"], rows[empty]["flags"]) == ("flagged", "empty reasoning_only")
    assert (rows[failed]["status"], rows[failed]["flags"]) == ("error", "error empty")


def test_a_providers_mark_is_stored_as_a_flag_and_read_back(archive: Archive, db: Path) -> None:
    t = turn(text="Memory persists.", marks=("speaker_cut",))
    back = archive.get_turn(archive.add_turn(t))
    assert back.result.marks == ("speaker_cut",) and back.result.flags == ("speaker_cut",)
    assert turn_from_dict(turn_to_dict(back)).result.marks == ("speaker_cut",)  # the JSON export keeps it
    row = raw(db).execute("SELECT status, flags FROM turns").fetchone()
    assert (row["status"], row["flags"]) == ("flagged", "speaker_cut")


def test_session_round_trip_and_status(archive: Archive) -> None:
    s = archive.get_session("20260131-141428-symposium-3f9a")
    assert s == session()
    archive.set_session_status(s.id, "complete")
    assert archive.get_session(s.id).status == "complete"
    with pytest.raises(ArchiveError, match="invalid value for status"):
        archive.set_session_status(s.id, "done")
    with pytest.raises(ArchiveError, match="no session with id 'nope'"):
        archive.set_session_status("nope", "failed")
    with pytest.raises(ArchiveError, match="already exists"):
        archive.create_session(session())


def test_list_sessions_newest_first_with_kind_and_limit(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        for i, kind in enumerate(["ask", "council", "ask"]):
            a.create_session(session(id=f"s{i}", kind=kind, created_at=T0 + timedelta(minutes=i)))
        assert [s.id for s in a.list_sessions()] == ["s2", "s1", "s0"]
        assert [s.id for s in a.list_sessions(kind="ask")] == ["s2", "s0"]
        assert [s.id for s in a.list_sessions(limit=1)] == ["s2"]


# -- turns: order, lookup, resume --------------------------------------------------------------------


def test_session_turns_recent_turns_and_next_seq(archive: Archive) -> None:
    sid = "20260131-141428-symposium-3f9a"
    assert archive.next_seq(sid) == 1
    archive.add_turn(turn(seq=2, voice="grok", started_at=T0 + timedelta(seconds=20)))
    archive.add_turn(turn(seq=1, voice="qwen", started_at=T0 + timedelta(seconds=10)))
    archive.add_turn(turn(seq=3, voice="qwen", started_at=T0 + timedelta(seconds=30)))
    assert [t.seq for t in archive.session_turns(sid)] == [1, 2, 3]
    assert archive.next_seq(sid) == 4
    assert [t.seq for t in archive.recent_turns()] == [3, 2, 1]
    assert [t.seq for t in archive.recent_turns(n=2)] == [3, 2]
    assert [t.seq for t in archive.recent_turns(voice="qwen")] == [3, 1]
    assert archive.session_turns("other") == []


def test_step_key_is_unique_per_session(archive: Archive) -> None:
    sid = "20260131-141428-symposium-3f9a"
    first = archive.add_turn(turn(seq=1, step_key="r1/qwen"))
    with pytest.raises(ArchiveError, match="already has a turn for step 'r1/qwen'.*find_turn"):
        archive.add_turn(turn(seq=2, step_key="r1/qwen", text="a second, paid-for answer"))
    # NULL step keys never collide.
    archive.add_turn(turn(seq=3))
    archive.add_turn(turn(seq=4))
    # The same step in another session is fine.
    archive.create_session(session(id="other"))
    archive.add_turn(turn(session_id="other", seq=1, step_key="r1/qwen"))

    found = archive.find_turn(sid, "r1/qwen")
    assert found is not None and found.id == first
    assert found.result.text == "The offering burns AS the altar."
    assert archive.find_turn(sid, "r2/qwen") is None
    assert len(archive.session_turns(sid)) == 3


def test_a_failed_step_can_be_retried_and_both_attempts_are_kept(archive: Archive) -> None:
    sid = "20260131-141428-symposium-3f9a"
    failed = archive.add_turn(turn(seq=1, step_key="r1/grok", voice="grok", text="",
                                   error=ErrorInfo(kind="server_error", message="boom", status=500)))
    assert archive.find_turn(sid, "r1/grok").id == failed  # type: ignore[union-attr]
    ok = archive.add_turn(turn(seq=2, step_key="r1/grok", voice="grok", text="Synchrony, not solipsism."))
    found = archive.find_turn(sid, "r1/grok")
    assert found is not None and found.id == ok and found.result.ok
    # A later failure of the same step does not shadow the success, and a second success is refused.
    archive.add_turn(turn(seq=3, step_key="r1/grok", voice="grok", text="",
                          error=ErrorInfo(kind="timeout", message="slow")))
    assert archive.find_turn(sid, "r1/grok").id == ok  # type: ignore[union-attr]
    with pytest.raises(ArchiveError, match="already has a turn"):
        archive.add_turn(turn(seq=4, step_key="r1/grok", voice="grok", text="again"))
    assert len(archive.session_turns(sid)) == 3


def test_add_turn_refuses_unknown_session_and_preset_id(archive: Archive) -> None:
    with pytest.raises(ArchiveError, match="no session 'ghost'.*create_session"):
        archive.add_turn(turn(session_id="ghost"))
    with pytest.raises(ArchiveError, match="already has id 5"):
        archive.add_turn(dataclasses.replace(turn(), id=5))
    with pytest.raises(ArchiveError, match="no turn with id 999"):
        archive.get_turn(999)


def test_session_prefix_lookup(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        for sid in ["20260101-000000-ask-aaaa", "20260101-000000-ask-aabb", "20260102-000000-ask-cccc",
                    "abc", "abcd"]:
            a.create_session(session(id=sid))
        assert a.get_session("20260102").id == "20260102-000000-ask-cccc"
        assert a.get_session("20260101-000000-ask-aab").id == "20260101-000000-ask-aabb"
        assert a.get_session("abc").id == "abc"  # an exact id wins over being a prefix
        with pytest.raises(ArchiveError, match="ambiguous: it matches 20260101-000000-ask-aaaa, "
                                               "20260101-000000-ask-aabb"):
            a.get_session("20260101-000000-ask-aa")
        with pytest.raises(ArchiveError, match="no session with id or id prefix '2027'"):
            a.get_session("2027")
        with pytest.raises(ArchiveError, match="no session"):
            a.get_session("_")  # LIKE wildcards mean nothing here


def test_new_session_id_is_sortable_and_readable() -> None:
    when = datetime(2026, 11, 25, 20, 44, 28, tzinfo=timezone(timedelta(hours=1)))
    sid = new_session_id("Council", now=when)
    assert sid.startswith("20261125-194428-council-")
    assert len(sid.rsplit("-", 1)[1]) == 4
    assert len({new_session_id("ask", now=when) for _ in range(5)}) > 1  # the random suffix varies
    assert new_session_id("my kind!", now=when).startswith("20261125-194428-my-kind-")


# -- opening, pragmas, migrations --------------------------------------------------------------------


def test_open_default_path_creates_parent_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "deep" / "er" / "archive.db"
    monkeypatch.setenv("SYMPOSIA_ARCHIVE", str(target))
    with Archive.open() as a:
        assert a.path == target
    assert target.exists()


def test_pragmas_wal_and_foreign_keys(archive: Archive, db: Path) -> None:
    assert raw(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert archive.query("PRAGMA foreign_keys")[0][0] == 1
    assert archive.query("PRAGMA synchronous")[0][0] == 1  # NORMAL
    assert archive.query("PRAGMA busy_timeout")[0][0] == 5000


def test_migrations_are_recorded_once(db: Path) -> None:
    Archive.open(db).close()
    Archive.open(db).close()
    with Archive.open(db) as a:
        names = [r["name"] for r in a.query("SELECT name FROM _migrations")]
        assert names == [fn.__name__ for fn in MIGRATIONS]
        assert names[0] == "m001_initial"
    conn = sqlite3.connect(db, isolation_level=None)
    assert migrate(conn) == []
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"sessions", "turns", "_migrations"} <= tables
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"turns_session_seq", "turns_voice", "turns_started_at"} <= indexes


def test_newer_archive_is_refused(db: Path) -> None:
    Archive.open(db).close()
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO _migrations (name, applied_at) VALUES ('m999_from_the_future', 'x')")
    conn.commit()
    conn.close()
    with pytest.raises(ArchiveError, match=r"written by a newer version of symposia.*m999_from_the_future"
                                           r".*Upgrade symposia"):
        Archive.open(db)


def test_failed_migration_rolls_back_and_later_ones_apply_in_order(db: Path) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    applied: list[str] = []

    def m002_extra(c: sqlite3.Connection) -> None:
        applied.append("m002")
        c.execute("CREATE TABLE extra (x)")

    def m003_broken(c: sqlite3.Connection) -> None:
        c.execute("CREATE TABLE half_done (x)")
        c.execute("THIS IS NOT SQL")

    steps = [*MIGRATIONS, m002_extra, m003_broken]
    with pytest.raises(ArchiveError, match="could not apply migration m003_broken"):
        migrate(conn, migrations=steps)
    assert applied_migrations(conn) == [*(m.__name__ for m in MIGRATIONS), "m002_extra"]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "extra" in tables and "half_done" not in tables
    assert migrate(conn, migrations=steps[:-1]) == []
    assert applied == ["m002"]


def test_migration_decorator_appends_in_order() -> None:
    before = list(MIGRATIONS)
    try:
        @migration
        def m999_probe(c: sqlite3.Connection) -> None:
            pass

        assert [*before, m999_probe] == MIGRATIONS
    finally:
        MIGRATIONS[:] = before


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("these are my notes, not a database " * 100)
    with pytest.raises(ArchiveError, match=r"cannot open the archive .*notes\.db.*symposia archive"):
        Archive.open(bogus)


# -- secrets ---------------------------------------------------------------------------------------

PLANTED = "sk-or-v1-PLANTEDPLANTEDPLANTED0000"
UNREGISTERED = "sk-ant-api03-UNREGISTEREDxxxxxxxxxxxxAA"
PLAIN_SECRET = "hunter2-plain-PLANTED-passphrase"  # no vendor shape: only registration catches it


def test_no_key_reaches_the_disk(db: Path) -> None:
    register_secret(PLANTED)
    register_secret(PLAIN_SECRET)
    keys = (PLANTED, UNREGISTERED, PLAIN_SECRET)
    leak = " / ".join(keys)
    a = Archive.open(db)
    a.create_session(SessionRecord(id="s", kind="ask", title=f"title {leak}", created_at=T0,
                                   plan={"key": leak, leak: [leak]}, meta={"m": leak}))
    t = TurnRecord(
        id=None, session_id="s", seq=1, voice="qwen", voice_name="Qwen", provider="openrouter",
        request=TurnRequest(
            model="qwen/qwen3-max",
            messages=(Message("user", f"my key is {leak}"), Message("assistant", leak)),
            system=f"system {leak}",
            params=Params(stop=(leak,), extra={"headers": {"Authorization": f"Bearer {PLAIN_SECRET}"},
                                               leak: leak}),
        ),
        result=TurnResult(
            text=f"answer {leak}", reasoning=f"reasoning {leak}", model_reported=leak, request_id=leak,
            error=ErrorInfo(kind="auth", message=f"invalid key {leak}", code=leak),
            started_at=T0, ended_at=T0,
        ),
        meta={"note": leak},
    )
    tid = a.add_turn(t)

    wal = Path(f"{db}-wal")
    assert wal.exists() and wal.stat().st_size > 0
    files = [db, wal]
    for f in files:
        data = f.read_bytes()
        for k in keys:
            assert k.encode() not in data, f"{k} leaked into {f.name}"
    back = a.get_turn(tid)
    assert back.result.text == "answer [REDACTED] / [REDACTED] / [REDACTED]"
    assert back.result.error is not None and "[REDACTED]" in back.result.error.message
    assert back.request.messages[0].content == "my key is [REDACTED] / [REDACTED] / [REDACTED]"
    a.close()  # checkpoints the WAL into the main file
    data = db.read_bytes()
    for k in keys:
        assert k.encode() not in data
    assert b"[REDACTED]" in data


# -- crash safety ----------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import UTC, datetime
    from symposia.archive import Archive
    from symposia.archive.store import _INSERT_TURN, _turn_row
    from symposia.records import Message, SessionRecord, TurnRecord, TurnRequest, TurnResult

    def turn(seq, text):
        now = datetime.now(UTC)
        return TurnRecord(id=None, session_id="crash", seq=seq, voice="qwen", voice_name="Qwen",
                          provider="openrouter", step_key=f"step-{seq}",
                          request=TurnRequest(model="qwen/qwen3-max", messages=(Message("user", "q"),)),
                          result=TurnResult(text=text, started_at=now, ended_at=now))

    a = Archive.open(sys.argv[1])
    a.create_session(SessionRecord(id="crash", kind="ask", title="", created_at=datetime.now(UTC)))
    for seq in (1, 2, 3):
        a.add_turn(turn(seq, f"answer {seq}"))
    print("3 committed", flush=True)
    # The 4th turn is being written, exactly as add_turn writes it, when the process dies. A tiny
    # page cache makes SQLite spill the uncommitted pages into the -wal file before the kill.
    conn = a._conn
    conn.execute("PRAGMA cache_size = 8")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(_INSERT_TURN, _turn_row(turn(4, "x" * 4_000_000)))
    os.kill(os.getpid(), signal.SIGKILL)
    print("unreachable", flush=True)
    """
)


def test_a_killed_run_keeps_exactly_what_was_committed(db: Path) -> None:
    src = str(Path(symposia.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(db)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert proc.stdout == "3 committed\n"
    # The uncommitted 4 MB answer really was on disk, in the WAL, when the process died.
    assert Path(f"{db}-wal").stat().st_size > 1_000_000

    with Archive.open(db) as a:
        turns = a.session_turns("crash")
        assert [(t.seq, t.result.text) for t in turns] == [(1, "answer 1"), (2, "answer 2"), (3, "answer 3")]
        assert a.query("PRAGMA integrity_check")[0][0] == "ok"
        assert a.next_seq("crash") == 4
        assert a.find_turn("crash", "step-4") is None
        # The resumed run can now record the 4th step.
        a.add_turn(dataclasses.replace(turns[0], id=None, seq=4, step_key="step-4"))
        assert len(a.session_turns("crash")) == 4
