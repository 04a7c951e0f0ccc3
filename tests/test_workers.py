"""`symposia worker` processes on one PostgreSQL archive: queued calls made once each, the provider's
concurrency held across workers, and a killed worker's calls taken over by the others."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support import numbered, voice_tables, write_user_config
from symposia.archive import Archive
from symposia.testing import FakeServer, Reply

ROOT = Path(__file__).resolve().parents[1]


def config(home: Path, srv: FakeServer, concurrency: int) -> None:
    write_user_config(home, f'[providers.fake]\nkind = "openai"\nbase_url = "{srv.openai_base_url}"\n'
                            f'key_env = "FAKE_API_KEY"\nconcurrency = {concurrency}\nmax_attempts = 2\n'
                      + voice_tables("fake", [v[:3] for v in numbered(("alpha", "beta"))]))


def env_for(home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FAKE_API_KEY": "k-fake-123456",
            "SYMPOSIA_CONFIG_DIR": str(home / "config"), "SYMPOSIA_DATA_DIR": str(home / "data")}


@contextmanager
def workers(url: str, env: dict[str, str], n: int, log: Path,
            stalled_s: int = 20) -> Iterator[list[subprocess.Popen[bytes]]]:
    with log.open("ab") as fh:
        procs = [subprocess.Popen([sys.executable, "-m", "symposia", "--archive", url, "worker", "--concurrency",
                                   "8", "--name", f"w{k}", "--stalled-s", str(stalled_s)], env=env, stdout=fh,
                                  stderr=subprocess.STDOUT, cwd=ROOT) for k in range(n)]
        try:
            yield procs
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


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
        with workers(pg_url, env, 2, tmp_path / "w.log", stalled_s=4) as procs:
            prompts = tmp_path / "p.txt"
            prompts.write_text("Name a colour.\nName a tree.\n")
            log = (tmp_path / "study.log").open("w")
            queued = subprocess.Popen([sys.executable, "-m", "symposia", "--archive", pg_url, "study", str(prompts),
                                       "--voices", "alpha,beta", "--samples", "10", "--queue", "--no-report"],
                                      env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            assert srv.wait_for_requests(6, timeout=120), (
                (tmp_path / "study.log").read_text() + (tmp_path / "w.log").read_text())
            procs[0].send_signal(signal.SIGKILL)  # with calls in flight
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
