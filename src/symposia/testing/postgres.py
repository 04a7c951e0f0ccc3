"""A throwaway PostgreSQL server for tests and benchmarks: ``initdb`` in a temporary folder, ``pg_ctl``
on a free loopback port, stopped and deleted on exit. Needs Debian's ``postgresql`` package (its
binaries under ``/usr/lib/postgresql/*/bin`` or on PATH). As root, the server runs as the ``postgres``
user (PostgreSQL refuses to run as root).

    with TempCluster() as pg:
        url = pg.create_database()      # postgresql://postgres@127.0.0.1:PORT/test_xxxx
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

__all__ = ["TempCluster", "create_database", "pg_bin"]


def pg_bin(name: str) -> str | None:
    """The path of a PostgreSQL server program (``initdb``, ``pg_ctl``), or None when not installed."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_database(server_url: str) -> str:
    """A new empty database on the server of ``server_url`` (any database there); returns its URL."""
    import psycopg  # deferred: the optional [postgres] extra

    name = "test_" + secrets.token_hex(6)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


class TempCluster:
    """A PostgreSQL cluster of its own, trusting loopback connections from user ``postgres``."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="symposia-pg-"))
        self.port = _free_port()
        self.started = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> TempCluster:
        initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
        data = self.dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._run(pg_ctl, "-D", str(data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")
        self.started = True
        return self

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        return create_database(self.url)

    def stop(self) -> None:
        if self.started:
            pg_ctl = pg_bin("pg_ctl")
            if pg_ctl is not None:
                with contextlib.suppress(RuntimeError):  # already stopped
                    self._run(pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "stop")
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> TempCluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
