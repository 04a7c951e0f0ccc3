"""The leases a runtime holds: one runner per session, kept by a heartbeat, fenced when lost.

:mod:`symposia.archive.lease` is the rule in the archive (who may take a session over); this is the
runner's side of it. A :class:`Tenure` takes a session's lease before anything is written or called
(:meth:`~Tenure.hold`, :meth:`~Tenure.claim`), renews it from a heartbeat thread, and keeps the
lease's generation, so that every answer is stored only while it is still the holder
(:meth:`~Tenure.guard`, checked in the answer's own transaction).

A runner that finds the lease lost — its heartbeat is refused, or an answer's store is — was asleep
while a runner elsewhere took the session over. From then on it makes no new call (:meth:`~Tenure.ensure`
raises :class:`~symposia.errors.LeaseLost`), stores an answer it had already paid for only if that
step is not stored yet (never a second turn for one step key), never writes the session's status
(:meth:`~Tenure.finish`), and says so: the error lists what it kept and what it left out.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from sqlite3 import Connection

from symposia.archive import Archive, lease
from symposia.errors import LeaseLost, SessionBusy

log = logging.getLogger(__name__)

__all__ = ["Tenure"]


def _count(n: int) -> str:
    return f"{n} {'was' if n == 1 else 'were'}"


@dataclass
class Tenure:
    """The sessions one runtime runs, with their lease generation and how long each is known good."""

    archive: Archive
    ttl_s: float = lease.DEFAULT_TTL_S
    holder: lease.Holder = field(default_factory=lease.new_holder)
    _held: dict[str, int] = field(default_factory=dict)  # session -> lease generation
    _good_until: dict[str, float] = field(default_factory=dict)  # session -> expiry we last wrote
    _lost: dict[str, LeaseLost] = field(default_factory=dict)
    _kept: dict[str, list[str]] = field(default_factory=dict)  # paid answers stored after the loss
    _left_out: dict[str, list[str]] = field(default_factory=dict)  # ... and left out (step stored by the other)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    # -- taking and giving back ------------------------------------------------------------------------
    def hold(self, session_id: str) -> None:
        """Take (or renew) the lease of ``session_id`` now and mark it ``running``; raise
        :class:`~symposia.errors.SessionBusy` naming the live runner that holds it."""
        with self.archive.transaction() as conn:
            generation = lease.try_acquire(conn, session_id, self.holder, self.ttl_s)
        with self._lock:
            self._held[session_id] = generation
            self._good_until[session_id] = time.time() + self.ttl_s
            self._lost.pop(session_id, None)
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="symposia-lease-heartbeat", daemon=True)
            self._thread.start()

    async def claim(self, session_id: str, *, wait: float = 0.0,
                    on_wait: Callable[[SessionBusy], None] | None = None) -> None:
        """:meth:`hold`, waiting up to ``wait`` seconds for a live runner to finish (``on_wait`` is
        told once), then raising :class:`~symposia.errors.SessionBusy`."""
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                self.hold(session_id)
                return
            except SessionBusy as busy:
                if time.monotonic() >= deadline:
                    raise
                if on_wait is not None and not told:
                    on_wait(busy)
                    told = True
            await asyncio.sleep(min(1.0, max(0.05, self.ttl_s / 10)))

    def holds(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._held

    def release(self, session_id: str) -> None:
        """Give up the lease of ``session_id`` (it is also freed by :meth:`finish`)."""
        with self._lock:
            held = self._held.pop(session_id, None) is not None
        if held:
            with self.archive.transaction() as conn:
                lease.release(conn, session_id, self.holder)

    def finish(self, session_id: str, status: str) -> None:
        """Set the session's final status and free its lease — unless the lease was lost, in which case
        the status is the new holder's and :class:`~symposia.errors.LeaseLost` says what happened."""
        with self._lock:
            generation = self._held.pop(session_id, None)
            lost = session_id in self._lost
        if lost:
            raise self.error(session_id)
        if generation is None:  # a session this runtime never leased (an older caller): write it as before
            self.archive.set_session_status(session_id, status)
            return
        with self.archive.transaction() as conn:
            written = lease.finish(conn, session_id, self.holder, status)
            now = None if written else lease.current(conn, session_id)
        if not written:
            self._lose(session_id, lease.lost_to(session_id, now))
            raise self.error(session_id)

    # -- while running -------------------------------------------------------------------------------------
    def ensure(self, session_id: str) -> None:
        """Before a call: raise :class:`~symposia.errors.LeaseLost` if the lease is lost. When our last
        heartbeat is older than it should be (this process was paused, the machine slept), ask the
        archive before paying for anything; otherwise this costs nothing."""
        with self._lock:
            lost = session_id in self._lost
            generation = self._held.get(session_id)
            fresh = time.time() < self._good_until.get(session_id, 0.0) - self.ttl_s / 3
        if lost:
            raise self.error(session_id)
        if generation is None or fresh:
            return
        try:
            with self.archive.transaction() as conn:
                lease.check(conn, session_id, self.holder, generation)
                lease.renew(conn, [session_id], self.holder, self.ttl_s)
        except LeaseLost as exc:
            self._lose(session_id, exc)
            raise self.error(session_id) from None
        with self._lock:
            self._good_until[session_id] = time.time() + self.ttl_s

    def guard(self, session_id: str) -> Callable[[Connection], None] | None:
        """The check to run in the transaction that stores an answer of ``session_id`` (None when this
        runtime holds no lease on it)."""
        with self._lock:
            lost = self._lost.get(session_id)
            generation = self._held.get(session_id)
        if lost is not None:  # found out (by the heartbeat) a moment ago

            def refuse(conn: Connection) -> None:
                raise lost

            return refuse
        if generation is None:
            return None
        return lambda conn: lease.check(conn, session_id, self.holder, generation)

    def lost(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._lost

    def fenced(self, session_id: str, step: str, *, stored: bool) -> None:
        """Note an answer paid for after the lease was lost: ``stored``, or left out (the step was stored)."""
        with self._lock:
            (self._kept if stored else self._left_out).setdefault(session_id, []).append(step)
        if not stored:
            log.warning("session %s: the answer to step %s was paid for after this process lost the session; "
                        "the new runner had stored that step, so this one is not kept", session_id, step)

    def lose(self, session_id: str, exc: LeaseLost) -> None:
        self._lose(session_id, exc)

    def _lose(self, session_id: str, exc: LeaseLost) -> None:
        with self._lock:
            self._held.pop(session_id, None)
            self._lost.setdefault(session_id, exc)

    def error(self, session_id: str) -> LeaseLost:
        """The :class:`~symposia.errors.LeaseLost` for ``session_id``, with what happened to the answers
        that were in flight when the lease was lost."""
        with self._lock:
            base = self._lost.get(session_id) or LeaseLost(session_id, None, None, None)
            kept = list(self._kept.get(session_id, []))
            left = list(self._left_out.get(session_id, []))
        parts = []
        if kept:
            parts.append(f"{_count(len(kept))} stored ({', '.join(kept)})")
        if left:
            steps = "that step" if len(left) == 1 else "those steps"
            parts.append(f"{_count(len(left))} not{'' if kept else ' stored'}, because the new runner had stored "
                         f"{steps} ({', '.join(left)})")
        detail = f"; of the answers it had already paid for, {' and '.join(parts)}" if parts else ""
        return LeaseLost(session_id, base.host, base.pid, base.generation, detail)

    # -- the heartbeat -----------------------------------------------------------------------------------
    def _beat(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            with self._lock:
                held = sorted(self._held)
            if not held:
                continue
            now = time.time()
            try:
                with self.archive.transaction() as conn:
                    gone = lease.renew(conn, held, self.holder, self.ttl_s, now=now)
                    rows = {sid: lease.current(conn, sid) for sid in gone}
            except Exception:  # a closed archive or a busy disk: the next beat tries again
                log.debug("lease heartbeat failed", exc_info=True)
                continue
            with self._lock:
                for sid in held:
                    if sid not in gone and sid in self._held:
                        self._good_until[sid] = now + self.ttl_s
            for sid, row in rows.items():
                if self.holds(sid):  # not released meanwhile: someone else has it now
                    self._lose(sid, lease.lost_to(sid, row))

    def close(self) -> None:
        """Stop the heartbeat and release every lease still held (a closed archive: they then expire)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            # joined, so that no heartbeat touches the archive while it closes or the interpreter exits
            self._thread.join(timeout=max(5.0, self.ttl_s))
        with self._lock:
            held = list(self._held)
        for sid in held:
            try:
                self.release(sid)
            except Exception:  # the archive may already be closed; the lease then simply expires
                log.debug("could not release the lease of %s", sid, exc_info=True)
        with self._lock:
            self._held.clear()
