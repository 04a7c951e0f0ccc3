"""``symposia worker`` processes for tests and benchmarks: started on one archive, stopped (or killed)
one by one, with the CPU seconds each one used.

    with WorkerPool(url, env, 3, log_path, concurrency=16) as pool:
        ...                       # queue a study; pool.kill(0) to SIGKILL the first worker
    pool.cpu_s                    # {"w0": 1.9, "w1": 12.3, ...}: user + system seconds of each worker
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

__all__ = ["WorkerPool"]


class WorkerPool:
    """``n`` worker processes named ``w0``…, each running up to ``concurrency`` calls at once; their
    output goes to ``log``. Leaving the ``with`` block stops the live ones (SIGTERM, then SIGKILL after
    ``grace_s``) and reaps every one, recording its CPU time in :attr:`cpu_s`. With ``profile_dir``, each
    worker runs under :mod:`cProfile` and writes ``NAME.prof`` there when it stops (not when killed)."""

    def __init__(self, url: str, env: dict[str, str], n: int, log: Path, *, concurrency: int = 8,
                 stalled_s: float = 20, cwd: Path | None = None, grace_s: float = 30.0,
                 profile_dir: Path | None = None) -> None:
        self.url, self.env, self.n, self.log = url, env, n, log
        self.profile_dir = profile_dir  # set: each worker runs under cProfile, writing DIR/NAME.prof on exit
        self.concurrency, self.stalled_s, self.cwd, self.grace_s = concurrency, stalled_s, cwd, grace_s
        self.procs: list[subprocess.Popen[bytes]] = []
        self.names: list[str] = [f"w{k}" for k in range(n)]
        self.cpu_s: dict[str, float] = {}
        self.killed: set[str] = set()

    def command(self, name: str) -> list[str]:
        profile = ["-m", "cProfile", "-o", str(self.profile_dir / f"{name}.prof")] if self.profile_dir else []
        return [sys.executable, *profile, "-m", "symposia", "--archive", self.url, "worker", "--concurrency",
                str(self.concurrency), "--name", name, "--stalled-s", f"{self.stalled_s:g}"]

    def __enter__(self) -> WorkerPool:
        with self.log.open("ab") as fh:
            self.procs = [subprocess.Popen(self.command(name), env=self.env, stdout=fh, stderr=subprocess.STDOUT,
                                           cwd=self.cwd) for name in self.names]
        return self

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Block until every worker has registered with the queue (procrastinate's ``procrastinate_workers``
        rows, one per running worker); False on timeout."""
        import psycopg  # deferred: the optional [postgres] extra

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
                if row is not None and int(row[0]) >= self.n:
                    return True
            except psycopg.Error:
                pass  # the queue's tables are not there yet
            time.sleep(0.1)
        return False

    def cpu_so_far(self) -> dict[str, float]:
        """User + system CPU seconds each live worker has used so far (Linux ``/proc``)."""
        tick = os.sysconf("SC_CLK_TCK")
        out: dict[str, float] = {}
        for name, p in zip(self.names, self.procs, strict=True):
            try:
                raw = Path(f"/proc/{p.pid}/stat").read_text()
            except OSError:
                continue
            fields = raw[raw.rindex(")") + 2:].split()
            out[name] = (int(fields[11]) + int(fields[12])) / tick
        return out

    def kill(self, k: int) -> None:
        """SIGKILL worker ``k`` (it gets no chance to finish or release anything)."""
        self.procs[k].send_signal(signal.SIGKILL)
        self.killed.add(self.names[k])

    def stop(self) -> dict[str, float]:
        """Stop every worker still running and reap them all; returns :attr:`cpu_s`."""
        for p in self.procs:
            if p.returncode is None:
                p.send_signal(signal.SIGTERM)  # a worker already dead (and unreaped) ignores it
        deadline = time.monotonic() + self.grace_s
        for name, p in zip(self.names, self.procs, strict=True):
            if p.returncode is not None:
                continue
            while True:
                pid, status, usage = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    p.returncode = os.waitstatus_to_exitcode(status)
                    self.cpu_s[name] = round(usage.ru_utime + usage.ru_stime, 3)
                    break
                if time.monotonic() > deadline:
                    p.send_signal(signal.SIGKILL)
                time.sleep(0.05)
        return self.cpu_s

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
