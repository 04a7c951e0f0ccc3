"""Workers on several machines: calls queued in the shared PostgreSQL archive, run by `symposia worker`.

The queue is procrastinate's (PostgreSQL ``FOR UPDATE SKIP LOCKED`` under the hood, with worker
heartbeats), in the archive's own database. A study or council run with ``--queue`` does not call the
providers: :class:`QueueExecutor` defers one ``symposia_call`` job per call (its ``queueing_lock`` is the
call's ``custom_id``, so a resumed run never queues a call twice) and waits until a worker has stored
the turn. Each worker (:func:`run_worker`) runs jobs through its own :class:`Runtime` (its own catalog
and keys), which stores the turn the moment it ends and never repeats a step already stored.

* Per-provider concurrency across all workers: a call's job carries the lock ``provider:slot`` with
  ``slot`` one of the provider's ``concurrency`` slots, taken in turn; procrastinate runs at most one job
  per lock at a time, so at most ``concurrency`` calls of a provider run at once, however many workers
  there are.
* A killed worker stops sending heartbeats; any live worker finds its jobs stalled after
  ``stalled_s`` and puts them back in the queue. A call that had finished was stored, and is not made
  again: the job sees the stored step and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from symposia.archive import Archive
from symposia.catalog import Voice
from symposia.codec import request_from_dict, request_to_dict
from symposia.errors import SymposiaError
from symposia.providers.base import Provider
from symposia.providers.batch import custom_id
from symposia.providers.runner import OnEvent
from symposia.records import TurnRecord, TurnRequest

__all__ = ["QueueExecutor", "ensure_schema", "make_app", "run_worker"]

log = logging.getLogger(__name__)

TASK = "symposia_call"
HEARTBEAT_S = 2.0


def make_app(url: str) -> Any:
    """A procrastinate app on the archive's database, its schema created once."""
    try:
        import procrastinate  # deferred: the optional [postgres] extra
    except ImportError as exc:
        raise SymposiaError("workers need procrastinate: pip install 'symposia[postgres]'") from exc
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))


_POLL_CHUNK = 500  # step keys per query while waiting for queued calls
_SCHEMA_LOCK = 0x73796D70  # an advisory-lock key of our own ("symp")
_HAS_SCHEMA = "SELECT 1 FROM information_schema.tables WHERE table_name = 'procrastinate_jobs'"


async def ensure_schema(app: Any, archive: Archive) -> None:
    """Create procrastinate's tables in the archive's database unless they are there.

    Workers and `--queue` runs start at once: the first takes an advisory lock and applies the schema,
    the others wait on the lock and then find it committed. The check is made under the lock only: the
    schema is applied statement by statement, so its first table exists before its last type does, and
    a process that saw the table without waiting deferred jobs into a half-made schema.
    """
    archive.query("SELECT pg_advisory_lock(?)", (_SCHEMA_LOCK,))
    try:
        if not archive.query(_HAS_SCHEMA):
            await app.schema_manager.apply_schema_async()
    finally:
        archive.query("SELECT pg_advisory_unlock(?)", (_SCHEMA_LOCK,))


def _check(archive: Archive) -> None:
    if archive.dialect != "postgresql":
        raise SymposiaError("--queue and `symposia worker` need a PostgreSQL archive: "
                            "--archive postgresql://user:pass@host/db (or SYMPOSIA_ARCHIVE)")


class QueueExecutor:
    """The runtime's call executor for ``--queue``: calls become jobs; workers make them."""

    def __init__(self, archive: Archive, url: str, *, poll_s: float = 0.2) -> None:
        _check(archive)
        self.archive = archive
        self.url = url
        self.poll_s = poll_s
        self._app: Any = None
        self._open: Any = None
        self._opening: asyncio.Task[Any] | None = None
        self._queued: dict[str, int] = {}  # calls queued per provider: the next job lock (slot) to use
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[tuple[str, str], list[asyncio.Future[None]]] = {}
        self._poller: asyncio.Task[None] | None = None

    def slots(self, wanted: int) -> int:
        return 1_000_000  # every call waits in the queue at once; the workers pace them

    async def _get_app(self) -> Any:
        """The app, opened once per event loop (its connection pool belongs to the loop). Every call of
        a study arrives at once: they all wait for the one opening, schema included, before deferring."""
        loop = asyncio.get_running_loop()
        if self._opening is None or self._loop is not loop:
            self._loop = loop
            self._opening = loop.create_task(self._open_app())
        return await self._opening

    async def _open_app(self) -> Any:
        app = make_app(self.url)
        self._open = app.open_async()
        await self._open.__aenter__()
        self._app = app
        await ensure_schema(app, self.archive)
        return app

    async def run(self, provider: Provider, voice: Voice, request: TurnRequest, *, session_id: str,
                  step_key: str | None, on_event: OnEvent | None = None) -> TurnRecord:
        import procrastinate.exceptions  # deferred: the optional [postgres] extra

        if step_key is None:
            raise SymposiaError("only calls with a step key can be queued")
        app = await self._get_app()
        cid = custom_id(session_id, step_key, voice.shortcut, request)
        # round robin, not a hash of the call: a lock runs its jobs one after another, so the fullest
        # lock sets the pace; a hash left some locks with half as many calls again as others
        queued = self._queued.get(provider.spec.name, 0)
        self._queued[provider.spec.name] = queued + 1
        slot = queued % max(1, provider.spec.slots)
        deferrer = app.configure_task(TASK, lock=f"{provider.spec.name}:{slot}", queueing_lock=cid)
        with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):  # queued by an earlier run
            await deferrer.defer_async(session_id=session_id, step_key=step_key, voice=voice.shortcut,
                                       request=request_to_dict(request))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault((session_id, step_key), []).append(future)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.ensure_future(self._poll())
        await future  # a turn for this step was stored (by a worker)
        while True:
            turn = self.archive.find_turn(session_id, step_key)
            if turn is not None and (turn.result.ok or self._job_done(cid)):
                return turn
            await asyncio.sleep(self.poll_s)  # a failed attempt: the job may still try again

    async def _poll(self) -> None:
        """A few queries for all waiting calls: which of their steps now have a stored turn.

        It asks by step, not "turns with an id above the last seen": ids are handed out when a row is
        inserted but become visible when its transaction commits, so with several workers writing, a
        turn can appear after one with a higher id, and a watermark skips it (a study then waits forever).
        """
        while self._waiting:
            by_session: dict[str, list[str]] = {}
            for sid, key in list(self._waiting):
                by_session.setdefault(sid, []).append(key)
            for sid, keys in by_session.items():
                for i in range(0, len(keys), _POLL_CHUNK):
                    part = keys[i:i + _POLL_CHUNK]
                    marks = ", ".join("?" * len(part))
                    rows = self.archive.query(f"SELECT DISTINCT step_key FROM turns WHERE session_id = ? "
                                              f"AND step_key IN ({marks})", (sid, *part))
                    for r in rows:
                        for f in self._waiting.pop((sid, str(r["step_key"])), []):
                            if not f.done():
                                f.set_result(None)
            await asyncio.sleep(self.poll_s)

    def _job_done(self, cid: str) -> bool:
        rows = self.archive.query("SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = ? "
                                  "AND status IN ('todo', 'doing')", (cid,))
        return not rows

    async def aclose(self) -> None:
        if self._poller is not None and self._loop is asyncio.get_running_loop():
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        self._poller = None
        opened, self._open, self._app, self._opening = self._open, None, None, None
        if opened is not None and self._loop is asyncio.get_running_loop():
            await opened.__aexit__(None, None, None)
        # else: its loop has ended (a study runs in one asyncio.run, closing in another) and took the
        # pool's connections with it


async def run_worker(runtime: Any, url: str, *, concurrency: int = 8, stalled_s: float = 10.0,
                     name: str | None = None, until_idle: bool = False) -> None:
    """Run queued calls through ``runtime`` (whose archive is the database at ``url``) until stopped
    (SIGINT/SIGTERM), or until the queue is empty with ``until_idle``."""
    archive: Archive = runtime.archive
    _check(archive)
    app = make_app(url)

    async def symposia_call(session_id: str, step_key: str, voice: str, request: Mapping[str, Any]) -> None:
        v = runtime.catalog.voice(voice)
        await runtime.call(session_id, v, request_from_dict(request), step_key=step_key,
                           meta={"worker": name or "worker"})

    app.task(name=TASK, pass_context=False)(symposia_call)
    async with app.open_async():
        await ensure_schema(app, archive)
        rescuer = asyncio.ensure_future(_retry_stalled(app, stalled_s))
        try:
            await app.run_worker_async(concurrency=concurrency, wait=not until_idle, name=name,
                                       update_heartbeat_interval=min(HEARTBEAT_S, stalled_s / 4),
                                       stalled_worker_timeout=stalled_s, fetch_job_polling_interval=0.5)
        finally:
            rescuer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rescuer


async def _retry_stalled(app: Any, stalled_s: float) -> None:
    """Put the jobs of workers that stopped sending heartbeats back in the queue (every few seconds)."""
    while True:
        await asyncio.sleep(max(1.0, stalled_s / 2))
        try:
            for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_s):
                log.warning("job %s of a stopped worker goes back in the queue", job.id)
                await app.job_manager.retry_job(job)
        except Exception:  # a failed sweep is retried at the next one
            log.exception("looking for stalled jobs failed")

