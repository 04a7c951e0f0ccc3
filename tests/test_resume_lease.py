"""One session has one runner: a second `resume` refuses (naming the holder) or waits; never pays twice.

A runner stopped past its heartbeat's expiry keeps its session while its process lives (this host);
one that lost its session to a runner elsewhere makes no new call and stores no second turn for a
step; `chat --resume` and `ask -c` take the same lease. Tests use real processes and the loopback
fake server, and go by events (requests seen, lease rows written), never by durations.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support import fake_config, numbered
from symposia.api import Symposia, run_sync
from symposia.archive import Archive, lease
from symposia.dialogue.council import step_key
from symposia.dialogue.runtime import Runtime
from symposia.errors import LeaseLost, SessionBusy
from symposia.records import Message, SessionRecord, TurnRecord, TurnRequest, TurnResult, utcnow
from symposia.testing import FakeServer, Reply

VOICES = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")


@pytest.fixture(params=["sqlite", "postgresql"])
def archive_at(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The archive a lease test runs on: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "lease.db")


def _interrupted_council(db: Path | str) -> str:
    sid = "20261201-120000-council-lease"
    plan = {"kind": "council", "question": "What persists?", "voices": list(VOICES), "rounds": 2}
    with Archive.open(db) as a:
        a.create_session(SessionRecord(id=sid, kind="council", title="lease", created_at=utcnow(), plan=plan,
                                       status="interrupted"))
    return sid


def test_two_resumes_at_once_make_each_call_once(isolated_user_dirs: Path, archive_at: str) -> None:
    db = archive_at
    sid = _interrupted_council(db)
    env = {**os.environ, "FAKE_API_KEY": "k-lease-000000", "SYMPOSIA_ARCHIVE": str(db)}
    cmd = [sys.executable, "-m", "symposia", "resume", sid]
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(VOICES), max_attempts=1)
        srv.default = Reply(text="an answer", ttft=1.5)
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert srv.wait_for_requests(1, timeout=60)
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        waiter = subprocess.Popen([*cmd, "--wait", "60"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        out1, err1 = first.communicate(timeout=60)
        out3, err3 = waiter.communicate(timeout=60)
        requests = srv.request_count
    assert first.returncode == 0, err1
    assert second.returncode == 2, second.stderr
    assert f"being run by process {first.pid}" in second.stderr and "--wait" in second.stderr
    assert waiter.returncode == 0, err3  # waited for the first, then found every step done
    assert requests == 12  # 6 voices x 2 rounds, each once
    with Archive.open(db) as a:
        turns = a.session_turns(sid)
        assert len(turns) == 12 and len({t.step_key for t in turns}) == 12
        assert a.get_session(sid).status == "complete"
        assert a.query("SELECT COUNT(*) FROM session_leases")[0][0] == 0  # released at the end


def test_a_dead_holder_on_this_host_is_taken_over(isolated_user_dirs: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-lease-000000")
    db = tmp_path / "dead.db"
    sid = _interrupted_council(db)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = lease.Holder(lease.new_holder().host, int(gone.stdout), "dead0000")
    with Archive.open(db) as a, a.transaction() as conn:
        lease.try_acquire(conn, sid, dead, ttl_s=3600)  # as if killed with -9: never released
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(VOICES), max_attempts=1)
        with Symposia(db) as s:
            run_sync(s.resume_async(sid))
        assert srv.request_count == 12


def test_a_live_holder_elsewhere_is_refused_until_it_expires(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    sid = _interrupted_council(db)
    other = lease.Holder("another-host", 4242, "abcd0000")
    me = lease.new_holder()
    with Archive.open(db) as a:
        with a.transaction() as conn:
            lease.try_acquire(conn, sid, other, ttl_s=30, now=1000.0)
        with pytest.raises(SessionBusy, match="process 4242 on another-host"), a.transaction() as conn:
            lease.try_acquire(conn, sid, me, now=1010.0)
        with a.transaction() as conn:  # its heartbeat stopped 30 s ago: the lease expired
            lease.try_acquire(conn, sid, me, now=1031.0)
        with a.transaction() as conn:
            assert lease.renew(conn, [sid], other) == [sid]  # the old holder learns it lost it


# -- a stopped runner, a lost lease, pid reuse -------------------------------------------------------------


def _lease_row(db: Path | str, sid: str) -> tuple[str, int, float] | None:
    with Archive.open(db) as a:
        rows = a.query("SELECT holder, pid, expires_at FROM session_leases WHERE session_id = ?", (sid,))
    return (str(rows[0][0]), int(rows[0][1]), float(rows[0][2])) if rows else None


def _until(what: str, ok: object) -> None:
    """Wait for a condition (an event, not a duration: the bound only stops a broken run)."""
    deadline = time.monotonic() + 120
    while not callable(ok) or not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


@contextmanager
def _stopped(proc: subprocess.Popen[str]) -> Iterator[None]:
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(proc.pid, signal.SIGCONT)


def _resume_env(db: Path | str) -> dict[str, str]:
    # a 1 s lease, so that a stopped runner's heartbeat expires at once (the rule does not depend on it)
    return {**os.environ, "FAKE_API_KEY": "k-lease-000000", "SYMPOSIA_ARCHIVE": str(db), "SYMPOSIA_LEASE_TTL": "1"}


def test_a_stopped_runner_on_this_host_keeps_its_session_past_its_expiry(isolated_user_dirs: Path,
                                                                         archive_at: str) -> None:
    db = archive_at
    sid = _interrupted_council(db)
    env = _resume_env(db)
    cmd = [sys.executable, "-m", "symposia", "resume", sid]
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(VOICES), max_attempts=1)
        srv.hold_replies()
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert srv.wait_for_requests(len(VOICES), timeout=120)  # round 1 in flight, paid for
        with _stopped(first):  # kill -STOP: a laptop asleep, a debugger
            _until("the stopped runner's lease expired",
                   lambda: (row := _lease_row(db, sid)) is not None and row[2] < time.time())
            srv.release_replies()
            second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
            assert srv.request_count == len(VOICES)  # the second made no call while the first was stopped
        out1, err1 = first.communicate(timeout=120)
        requests = srv.request_count
    assert second.returncode == 2, second.stderr
    assert f"being run by process {first.pid}" in second.stderr and f"kill -CONT {first.pid}" in second.stderr
    assert first.returncode == 0, err1  # woken up, it finished its own session
    assert requests == 12  # 6 voices x 2 rounds, each paid once
    with Archive.open(db) as a:
        turns = a.session_turns(sid)
        assert len(turns) == 12 and len({t.step_key for t in turns}) == 12
        assert a.get_session(sid).status == "complete"


def _turn(sid: str, key: str, text: str) -> TurnRecord:
    now = utcnow()
    return TurnRecord(id=None, session_id=sid, seq=99, voice="alpha", voice_name="Alpha 1", provider="fake",
                      request=TurnRequest(model="fake/alpha", messages=(Message("user", "What persists?"),)),
                      result=TurnResult(text=text, finish_reason="stop", model_requested="fake/alpha",
                                        started_at=now, ended_at=now), step_key=key, meta={"round": 1})


def test_a_runner_that_lost_its_session_elsewhere_stops_and_stores_no_step_twice(isolated_user_dirs: Path,
                                                                                 archive_at: str) -> None:
    db = archive_at
    sid = _interrupted_council(db)
    env = _resume_env(db)
    other = lease.Holder("another-host", 4242, "0ther000")
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(VOICES), max_attempts=1)
        srv.hold_replies()
        first = subprocess.Popen([sys.executable, "-m", "symposia", "resume", sid], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert srv.wait_for_requests(len(VOICES), timeout=120)  # round 1 in flight
        with _stopped(first):
            _until("the stopped runner's lease expired",
                   lambda: (row := _lease_row(db, sid)) is not None and row[2] < time.time())
            with Archive.open(db) as a:  # a runner on another host takes the session over ...
                with a.transaction() as conn:
                    generation = lease.try_acquire(conn, sid, other, ttl_s=3600)
                a.add_turn(_turn(sid, step_key(1, "alpha"), "stored by the other runner"))  # ... and stores a step
            srv.release_replies()
        out1, err1 = first.communicate(timeout=120)
        requests = srv.request_count
    assert requests == len(VOICES)  # round 1's calls were in flight; round 2 was never started
    assert first.returncode == 1, err1
    assert "lost session" in err1 and "process 4242 on another-host" in err1  # told, clearly
    assert "Resume with" not in err1  # the session is the new runner's to finish, not ours to resume
    assert "of the answers it had already paid for, 5 were stored" in err1, err1
    assert f"and 1 was not, because the new runner had stored that step ({step_key(1, 'alpha')})" in err1
    assert generation == 2
    with Archive.open(db) as a:
        turns = a.session_turns(sid)
        keys = [t.step_key for t in turns]
        assert sorted(keys) == sorted(step_key(1, v) for v in VOICES)  # one turn per step, no duplicate
        assert a.find_turn(sid, step_key(1, "alpha")).result.text == "stored by the other runner"  # type: ignore[union-attr]
        assert a.get_session(sid).status == "running"  # the new holder's status was left alone
        assert a.query("SELECT holder, generation FROM session_leases")[0][:] == (other.id, 2)


def test_a_live_process_on_this_host_is_never_taken_over_and_a_reused_pid_is(tmp_path: Path) -> None:
    db = tmp_path / "pid.db"
    sid = _interrupted_council(db)
    alive = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    me = lease.new_holder()
    try:
        started = lease.process_started(alive.pid)
        assert started is not None and started != lease.process_started(os.getpid())
        holder = lease.Holder(me.host, alive.pid, "alive000", started)
        with Archive.open(db) as a:
            with a.transaction() as conn:
                assert lease.try_acquire(conn, sid, holder, ttl_s=30, now=1000.0) == 1
            for later in (1031.0, 10.0**10):  # its heartbeat is long expired: it may be stopped, not dead
                with pytest.raises(SessionBusy, match=f"process {alive.pid} on .*kill -CONT"), \
                        a.transaction() as conn:
                    lease.try_acquire(conn, sid, me, now=later)
            # as if the lease had been taken by an earlier process given the same pid: not this one
            with a.transaction() as conn:
                conn.execute("UPDATE session_leases SET started = 'another-boot:1'")
            with a.transaction() as conn:  # the pid is alive, but it is not the process that took the lease
                assert lease.try_acquire(conn, sid, me, now=1001.0) == 2
            with a.transaction() as conn:
                assert lease.renew(conn, [sid], holder) == [sid]  # the old holder learns it lost it
                with pytest.raises(LeaseLost, match=f"process {me.pid} on {me.host}"):
                    lease.check(conn, sid, holder, 1)
                lease.check(conn, sid, me, 2)
    finally:
        alive.kill()
        alive.wait()


def test_a_runtime_whose_lease_was_taken_keeps_the_paid_answer_once_and_stops(isolated_user_dirs: Path,
                                                                             tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-lease-000000")
    db = tmp_path / "guard.db"
    sid = _interrupted_council(db)
    other = lease.Holder("another-host", 4242, "0ther000")
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(VOICES), max_attempts=1)
        with Symposia(db) as s:
            rt: Runtime = s.runtime
            rt.hold(sid)
            alpha, beta = rt.catalog.voice("alpha"), rt.catalog.voice("beta")
            ask = [Message("user", "What persists?")]

            async def in_flight_when_taken_over() -> tuple[TurnRecord, TurnRecord]:
                srv.hold_replies()
                calls = [asyncio.create_task(rt.call(sid, v, rt.request_for(v, ask), step_key=step_key(1, v.shortcut)))
                         for v in (alpha, beta)]
                assert await asyncio.to_thread(srv.wait_for_requests, 2, 60)  # both paid for, in flight
                with s.archive.transaction() as conn:  # taken over behind its back (a skewed clock elsewhere)
                    lease.try_acquire(conn, sid, other, ttl_s=3600, now=time.time() + 3600)
                s.archive.add_turn(_turn(sid, step_key(1, "alpha"), "the other runner's"))  # it stored a step
                srv.release_replies()
                return await calls[0], await calls[1]

            kept, new = run_sync(in_flight_when_taken_over())
            assert srv.request_count == 2
            assert kept.result.text == "the other runner's"  # its step was stored: ours is not added
            assert new.id is not None and new.step_key == step_key(1, "beta")  # not stored yet: kept
            with pytest.raises(LeaseLost, match="process 4242 on another-host"):
                run_sync(rt.call(sid, beta, rt.request_for(beta, ask), step_key=step_key(2, "beta")))
            with pytest.raises(LeaseLost, match=r"paid for, 1 was stored \(r1:beta\) and 1 was not, because "
                                                r"the new runner had stored that step \(r1:alpha\)"):
                rt.finish(sid, "complete")
            assert srv.request_count == 2  # no call after it knew
            assert s.archive.get_session(sid).status == "running"
            assert [t.step_key for t in s.archive.session_turns(sid)] == [step_key(1, "alpha"), step_key(1, "beta")]


# -- every verb that adds to a session takes the lease ------------------------------------------------------


def test_chat_resume_and_ask_continue_take_the_lease(isolated_user_dirs: Path, tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    env = {**os.environ, "FAKE_API_KEY": "k-lease-000000", "SYMPOSIA_ARCHIVE": str(db)}

    def symposia(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "symposia", *args], input=stdin, env=env,
                              capture_output=True, text=True, timeout=120)

    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(("alpha", "beta")), max_attempts=1)
        srv.default = Reply(text="an answer")
        assert symposia("ask", "alpha", "What persists?").returncode == 0
        with Archive.open(db) as a:
            (session,) = a.list_sessions()
        sid = session.id
        chat = subprocess.Popen([sys.executable, "-m", "symposia", "chat", "--resume", sid], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _until("the chat took the session's lease", lambda: (row := _lease_row(db, sid)) is not None
               and row[1] == chat.pid)
        others = [symposia("chat", "--resume", sid, stdin="And then?\n"),
                  symposia("ask", "-c", "And then?"),
                  symposia("ask", "--cid", sid, "beta", "And you?")]
        assert srv.request_count == 1  # none of them called anyone
        out, err = chat.communicate("Go on?\n", timeout=120)
        assert chat.returncode == 0, err
        after = symposia("ask", "--cid", sid, "And now?")  # the chat ended: the session is free again
        requests = srv.request_count
    for other in others:
        assert other.returncode == 2, other.stderr
        assert f"being run by process {chat.pid}" in other.stderr
    assert after.returncode == 0, after.stderr
    assert requests == 3
    with Archive.open(db) as a:
        asked = [t.request.messages[-1].content for t in a.session_turns(sid)]
        assert asked == ["What persists?", "Go on?", "And now?"]
        assert a.get_session(sid).status == "complete"
        assert a.query("SELECT COUNT(*) FROM session_leases")[0][0] == 0


def test_annotate_takes_the_lease_and_gives_the_status_back(isolated_user_dirs: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-lease-000000")
    db = tmp_path / "annotate.db"
    sid = _interrupted_council(db)
    alive = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(VOICES), max_attempts=1)
        try:
            me = lease.new_holder()
            holder = lease.Holder(me.host, alive.pid, "annot000")  # its start unknown: its pid alone counts
            with Archive.open(db) as a, a.transaction() as conn:
                lease.try_acquire(conn, sid, holder)  # a live runner on this host has it
            with Symposia(db) as s, pytest.raises(SessionBusy, match=f"being run by process {alive.pid}"):
                s.annotate(sid, ["observation"], host="alpha")
            assert srv.request_count == 0
            with Archive.open(db) as a, a.transaction() as conn:
                lease.finish(conn, sid, holder, "complete")  # it finished
        finally:
            alive.kill()
            alive.wait()
        with Symposia(db) as s:
            s.annotate(sid, ["observation"], host="alpha")
            assert srv.request_count >= 1
            assert s.archive.get_session(sid).status == "complete"  # given back
            assert s.archive.query("SELECT COUNT(*) FROM session_leases")[0][0] == 0


_RACER = """
import sys
from symposia.archive import Archive, lease
from symposia.errors import SessionBusy
with Archive.open(sys.argv[1]) as a:
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        with a.transaction() as conn:
            lease.try_acquire(conn, sys.argv[2], lease.new_holder())
        print("won", flush=True)
    except SessionBusy:
        print("busy", flush=True)
    sys.stdin.readline()  # alive (holding) until every racer has tried
"""


def test_runners_racing_for_one_session_leave_one_holder(archive_at: str) -> None:
    sid = _interrupted_council(archive_at)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    racers = [subprocess.Popen([sys.executable, "-c", _RACER, archive_at, sid], env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True) for _ in range(6)]
    try:
        for r in racers:
            assert r.stdout is not None and r.stdout.readline().strip() == "ready"
        for r in racers:  # go, all at once
            assert r.stdin is not None
            r.stdin.write("go\n")
            r.stdin.flush()
        said = [r.stdout.readline().strip() for r in racers if r.stdout is not None]
    finally:
        for r in racers:
            if r.stdin is not None:
                r.stdin.close()
            r.wait(timeout=60)
    assert sorted(said) == ["busy"] * 5 + ["won"]
    with Archive.open(archive_at) as a:
        (row,) = a.query("SELECT pid, generation FROM session_leases")
    winner = next(r for r, word in zip(racers, said, strict=True) if word == "won")
    assert tuple(row) == (winner.pid, 1)
