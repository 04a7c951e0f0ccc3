"""One session has one runner: a second `resume` refuses (naming the holder) or waits; never pays twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import fake_config, numbered
from symposia.api import Symposia, run_sync
from symposia.archive import Archive, lease
from symposia.errors import SessionBusy
from symposia.records import SessionRecord, utcnow
from symposia.testing import FakeServer, Reply

VOICES = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")


def _interrupted_council(db: Path) -> str:
    sid = "20261201-120000-council-lease"
    plan = {"kind": "council", "question": "What persists?", "voices": list(VOICES), "rounds": 2}
    with Archive.open(db) as a:
        a.create_session(SessionRecord(id=sid, kind="council", title="lease", created_at=utcnow(), plan=plan,
                                       status="interrupted"))
    return sid


def test_two_resumes_at_once_make_each_call_once(isolated_user_dirs: Path, tmp_path: Path) -> None:
    db = tmp_path / "lease.db"
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
