"""`symposia worker` processes on one PostgreSQL archive: queued calls made once each, the provider's
concurrency held across workers, and a killed worker's calls taken over by the others."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from support import numbered, voice_tables, write_user_config
from symposia.api import Symposia, run_sync
from symposia.archive import Archive
from symposia.dialogue.workers import QueueExecutor
from symposia.records import Message, TurnRecord, TurnResult, utcnow
from symposia.testing import FakeServer, Reply
from symposia.testing.workers import WorkerPool

ROOT = Path(__file__).resolve().parents[1]


def config(home: Path, srv: FakeServer, concurrency: int) -> None:
    write_user_config(home, f'[providers.fake]\nkind = "openai"\nbase_url = "{srv.openai_base_url}"\n'
                            f'key_env = "FAKE_API_KEY"\nconcurrency = {concurrency}\nmax_attempts = 2\n'
                      + voice_tables("fake", [v[:3] for v in numbered(("alpha", "beta"))]))


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FAKE_API_KEY": "k-fake-123456",
            "SYMPOSIA_CONFIG_DIR": str(home / "config"), "SYMPOSIA_DATA_DIR": str(home / "data")}


def workers(url: str, env: dict[str, str], n: int, log: Path, stalled_s: int = 20) -> WorkerPool:
    return WorkerPool(url, env, n, log, concurrency=8, stalled_s=stalled_s, cwd=ROOT)


def study(url: str, env: dict[str, str], tmp: Path, samples: int) -> subprocess.CompletedProcess[str]:
    prompts = tmp / "p.txt"
    prompts.write_text("Name a colour.\nName a tree.\n")
    return subprocess.run([sys.executable, "-m", "symposia", "--archive", url, "study", str(prompts), "--voices",
                           "alpha,beta", "--samples", str(samples), "--queue", "--no-report"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)


def stored(url: str) -> tuple[int, int, dict[str, int]]:
    with Archive.open(url) as a:
        ok, distinct = a.query("SELECT count(*), count(DISTINCT step_key) FROM turns WHERE status = 'ok'")[0]
        by = {str(r[0]): int(r[1]) for r in a.query(
            "SELECT meta_json::jsonb ->> 'worker', count(*) FROM turns GROUP BY 1")}
    return int(ok), int(distinct), by


def test_two_workers_make_each_queued_call_once_within_the_provider_limit(
        pg_url: str, isolated_user_dirs: Path, tmp_path: Path) -> None:
    with FakeServer() as srv:
        config(isolated_user_dirs, srv, concurrency=3)
        # every reply waits until 3 calls are in flight at once: the workers must run them side by side
        srv.default = Reply(text="An answer.", hold_until_in_flight=3, ttft=0.05)
        env = env_for(isolated_user_dirs)
        with workers(pg_url, env, 2, tmp_path / "w.log"):
            done = study(pg_url, env, tmp_path, samples=6)
        assert done.returncode == 0, done.stdout + done.stderr
        assert srv.request_count == 24
        assert srv.peak_in_flight == 3  # the provider's concurrency, held across both workers (8 slots each)
    ok, distinct, by = stored(pg_url)
    assert ok == distinct == 24
    assert sum(by.values()) == 24


def test_a_killed_workers_calls_are_taken_over_and_none_is_stored_twice(
        pg_url: str, isolated_user_dirs: Path, tmp_path: Path) -> None:
    with FakeServer() as srv:
        config(isolated_user_dirs, srv, concurrency=8)
        srv.default = Reply(text="An answer.", ttft=0.3)
        env = env_for(isolated_user_dirs)
        with workers(pg_url, env, 2, tmp_path / "w.log", stalled_s=4) as pool:
            prompts = tmp_path / "p.txt"
            prompts.write_text("Name a colour.\nName a tree.\n")
            log = (tmp_path / "study.log").open("w")
            queued = subprocess.Popen([sys.executable, "-m", "symposia", "--archive", pg_url, "study", str(prompts),
                                       "--voices", "alpha,beta", "--samples", "10", "--queue", "--no-report"],
                                      env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            assert srv.wait_for_requests(6, timeout=120), (
                (tmp_path / "study.log").read_text() + (tmp_path / "w.log").read_text())
            pool.kill(0)  # with calls in flight
            assert queued.wait(timeout=300) == 0
    ok, distinct, by = stored(pg_url)
    assert ok == distinct == 40  # every call stored, none twice
    assert by.get("w1", 0) > 0
    assert srv.request_count >= 40  # calls in flight in the killed worker were made again


def test_queue_needs_a_postgresql_archive(isolated_user_dirs: Path, tmp_path: Path) -> None:
    env = env_for(isolated_user_dirs)
    done = subprocess.run([sys.executable, "-m", "symposia", "--archive", str(tmp_path / "a.db"), "worker"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0 and "PostgreSQL archive" in done.stderr


@pytest.fixture(autouse=True)
def _no_stray_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYMPOSIA_ARCHIVE", raising=False)


def test_calls_queued_at_once_end_when_turns_commit_out_of_id_order(pg_url: str, isolated_user_dirs: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Through ``QueueExecutor.run``, two calls queued at once (they share one opening of the queue: the
    second must not defer before the first has created its schema) and two workers storing their turns
    with the lower id committed last (PostgreSQL hands out ids at insert): both calls end."""
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    with FakeServer() as srv:
        config(isolated_user_dirs, srv, concurrency=2)
        with Symposia(pg_url) as s, Symposia(pg_url) as worker_a, Symposia(pg_url) as worker_b, \
                psycopg.connect(pg_url) as lock, psycopg.connect(pg_url, autocommit=True) as watch:
            voice = s.catalog.voice("alpha")
            first, second = (s.runtime.start_session("study", t, voices=[voice]).id for t in ("one", "two"))
            request = s.runtime.request_for(voice, [Message("user", "Name a colour.")])
            executor = QueueExecutor(s.archive, pg_url, poll_s=0.05)

            def turn(session_id: str) -> TurnRecord:
                now = utcnow()
                return TurnRecord(id=None, session_id=session_id, seq=1, voice="alpha", voice_name="Alpha 1",
                                  provider="fake", request=request, step_key="p1:alpha:s1",
                                  result=TurnResult(text="Blue.", model_requested=request.model, started_at=now,
                                                    ended_at=now))

            def a_is_waiting() -> bool:
                rows = watch.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").fetchone()
                return rows is not None and rows[0] > 0

            async def scenario() -> None:
                provider = s.runtime.provider(voice)
                waits = [asyncio.ensure_future(executor.run(provider, voice, request, session_id=sid,
                                                            step_key="p1:alpha:s1")) for sid in (first, second)]
                # worker A inserts its turn (taking the lower id), then waits on the session row we hold
                lock.execute("SELECT 1 FROM sessions WHERE id = %s FOR NO KEY UPDATE", (first,))
                store_a = asyncio.ensure_future(asyncio.to_thread(worker_a.archive.add_turn, turn(first)))
                for _ in range(3000):
                    if a_is_waiting():
                        break
                    await asyncio.sleep(0.02)
                try:
                    await asyncio.to_thread(worker_b.archive.add_turn, turn(second))  # a higher id, committed first
                    await asyncio.wait_for(waits[1], timeout=60)  # the run has seen it: its tail is past A's id
                finally:
                    lock.rollback()  # now A commits, below the tail
                low = await store_a
                got = await asyncio.wait_for(waits[0], timeout=60)
                assert got.id == low and got.session_id == first
                await executor.aclose()

            run_sync(scenario())
