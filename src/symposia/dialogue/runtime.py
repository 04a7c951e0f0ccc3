"""The one place where a planned call meets a provider and the archive.

``Runtime.call`` runs one turn (with retries, through the runner) and stores it the moment it ends,
in its own transaction. Given a ``step_key`` it is idempotent: a call already recorded for that step
of the session is returned from the archive instead of being made (and paid for) again — that is
what makes an interrupted session resumable.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from symposia.archive import Archive, lease, new_session_id
from symposia.catalog import Catalog, Voice
from symposia.catalog.prices import PriceTable, load_prices
from symposia.dialogue.tenure import Tenure
from symposia.errors import ArchiveError, LeaseLost, SessionBusy
from symposia.keys import resolve_key
from symposia.providers.base import Provider
from symposia.providers.registry import SEED_LIMIT, SEEDED_KINDS, fresh_seed, make_provider
from symposia.providers.runner import run_turn
from symposia.records import (
    ErrorInfo,
    Message,
    Params,
    ReasoningChunk,
    Restart,
    SessionRecord,
    TextChunk,
    TurnRecord,
    TurnRequest,
    TurnResult,
    utcnow,
)

log = logging.getLogger(__name__)

OnEvent = Callable[[TextChunk | ReasoningChunk | Restart], None]


class CallExecutor(Protocol):
    """How a runtime makes its calls when not one by one, live (e.g. in provider batches)."""

    def slots(self, wanted: int) -> int:
        """How many calls an orchestrator asking for ``wanted`` at once should let wait together."""
        ...

    async def run(self, provider: Provider, voice: Voice, request: TurnRequest, *, session_id: str,
                  step_key: str | None, on_event: OnEvent | None = None) -> TurnResult | TurnRecord:
        """The call's result, or its turn when someone else (a worker) made and stored it."""
        ...

    async def aclose(self) -> None: ...
def step_seed(base: int | None, step_key: str) -> int | None:
    """The seed of one step of a session run with ``--seed base``: fixed by both, different per step
    (so the samples of a study differ, and the same command reproduces every one of them)."""
    if base is None:
        return None
    digest = hashlib.sha256(f"{base}:{step_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SEED_LIMIT


@dataclass
class Runtime:
    """Catalog + archive + one provider instance per configured provider; ``executor`` (None: live
    calls through the runner) decides how each call is made.

    A runtime holds the lease (:mod:`symposia.archive.lease`) of every session it runs, through its
    :class:`~symposia.dialogue.tenure.Tenure`: taken when it starts a session, :meth:`hold` s an
    existing one (every verb that adds to a session: resume, chat --resume, ask -c, annotate) or
    :meth:`claim` s one to resume it, renewed by a heartbeat thread, released when the session
    :meth:`finish` es or the runtime closes. Each answer is stored only while the lease is still this
    runtime's; one that lost it makes no new call (:class:`~symposia.errors.LeaseLost`).
    """

    catalog: Catalog
    archive: Archive
    prices: PriceTable = field(default_factory=load_prices)
    lease_ttl_s: float = field(default_factory=lease.ttl_from_env)
    _providers: dict[str, Provider] = field(default_factory=dict)
    calls_made: int = 0  # model calls made by this runtime
    calls_kept: int = 0  # finished calls found in the record with the same inputs, not made again
    executor: CallExecutor | None = None
    tenure: Tenure = field(init=False)
    _store_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.tenure = Tenure(self.archive, self.lease_ttl_s)

    def slots(self, wanted: int) -> int:
        """How many calls an orchestrator should have in flight at once (its own limit when live)."""
        return wanted if self.executor is None else self.executor.slots(wanted)

    def provider(self, voice: Voice) -> Provider:
        spec = self.catalog.provider_for(voice)
        if spec.name not in self._providers:
            self._providers[spec.name] = make_provider(spec, resolve_key(spec))
        return self._providers[spec.name]

    def ready(self, voices: Iterable[Voice]) -> None:
        """Resolve every voice's provider and key now, so that a missing key or a broken provider stops
        a session before anything is written (MissingKeyError, ConfigError)."""
        for voice in voices:
            self.provider(voice)

    def request_for(self, voice: Voice, messages: list[Message], *, system: str | None = None,
                    params: Params | None = None) -> TurnRequest:
        """The exact request a voice will see: catalog defaults overridden by call parameters."""
        merged = voice.params.merged(params) if params is not None else voice.params
        return TurnRequest(model=voice.model, messages=tuple(messages), system=system, params=merged)

    def start_session(self, kind: str, title: str, *, voices: Iterable[Voice], plan: dict[str, Any] | None = None,
                      meta: dict[str, Any] | None = None, session_id: str | None = None) -> SessionRecord:
        """Record a new session, once every voice it will call is :meth:`ready` (fail before side effects)."""
        self.ready(voices)
        rec = SessionRecord(id=session_id or new_session_id(kind), kind=kind, title=title, created_at=utcnow(),
                            plan=plan or {}, meta=meta or {})
        self.archive.create_session(rec)
        self.tenure.hold(rec.id)
        return rec

    # -- one runner per session -----------------------------------------------------------------------
    def hold(self, session_id: str) -> None:
        """Become the one runner of an existing ``session_id`` now (marking it ``running``), before
        adding anything to it; :class:`~symposia.errors.SessionBusy` names a live runner holding it."""
        self.tenure.hold(session_id)

    async def claim(self, session_id: str, *, wait: float = 0.0,
                    on_wait: Callable[[SessionBusy], None] | None = None) -> None:
        """Become the one runner of ``session_id`` (marking it ``running``). When another live runner
        holds it: wait up to ``wait`` seconds for it to finish (``on_wait`` is told once), then raise
        :class:`~symposia.errors.SessionBusy` naming the holder."""
        await self.tenure.claim(session_id, wait=wait, on_wait=on_wait)

    def release(self, session_id: str) -> None:
        """Give up the lease of ``session_id`` (it is also freed by :meth:`finish`)."""
        self.tenure.release(session_id)

    def finish(self, session_id: str, status: str) -> None:
        """Record the session's final ``status`` and free its lease; a runtime that lost the lease
        leaves the status to the new holder and raises :class:`~symposia.errors.LeaseLost`."""
        self.tenure.finish(session_id, status)

    async def call(self, session_id: str, voice: Voice, request: TurnRequest, *,
                   role: Literal["voice", "host", "chair"] = "voice", step_key: str | None = None,
                   on_event: OnEvent | None = None, meta: dict[str, Any] | None = None) -> TurnRecord:
        """Run one turn and store it; with ``step_key``, never repeat a finished call.

        A call to a seeded provider (the embedded models) without a seed gets a fresh one, drawn here so
        that the stored request carries it; a finished call whose seed was drawn that way still counts
        as the same call on resume.
        """
        self.tenure.ensure(session_id)  # a runner that lost the session makes no new call
        draw = request.params.seed is None and self.catalog.provider_for(voice).kind in SEEDED_KINDS
        if step_key is not None:
            done = self.archive.find_turn(session_id, step_key)
            if done is not None and done.result.ok:
                asked = replace(request, params=replace(request.params, seed=done.request.params.seed)) \
                    if draw else request
                if done.request == asked:
                    self.calls_kept += 1
                    return done
                # the plan (or an earlier answer) changed what this call would be sent: keep the old
                # call in the record, out of the transcript, and make the new one
                assert done.id is not None
                self.archive.retire_turn(done.id, "its inputs changed")
        self.calls_made += 1
        provider = self.provider(voice)
        if draw:
            request = replace(request, params=replace(request.params, seed=fresh_seed()))
        attempts: list[dict[str, Any]] = []
        if self.executor is not None:
            outcome = await self.executor.run(provider, voice, request, session_id=session_id, step_key=step_key,
                                              on_event=on_event)
            if isinstance(outcome, TurnRecord):  # made and stored elsewhere (a worker)
                return outcome
            result = outcome
        else:
            result = await run_turn(provider, request, voice=voice.shortcut, on_event=on_event,
                                    attempt_log=attempts)
        meta = dict(meta or {})
        if attempts and (len(attempts) > 1 or not result.ok):
            meta["attempts"] = attempts  # every try of a retried or failed call: when, how, how much
        if result.usage.cost is None:
            estimate = self.prices.estimate(request.model, result.usage)
            if estimate is not None:
                # The provider reported no cost: fill it from the price table, and say so.
                result = replace(result, usage=replace(result.usage, cost=estimate[0]))
                meta["cost_estimated"] = estimate[1].note()
        record = TurnRecord(
            id=None,
            session_id=session_id,
            seq=0,  # the next free one, given when it is stored
            voice=voice.shortcut,
            voice_name=voice.name,
            provider=provider.spec.name,
            request=request,
            result=result,
            role=role,
            step_key=step_key,
            meta=meta,
        )
        # Off the event loop: the other voices keep streaming while this one is committed.
        return await asyncio.to_thread(self._store, record)

    def _store(self, record: TurnRecord) -> TurnRecord:
        """Give ``record`` the session's next ``seq`` and store it (one at a time: seq stays unique),
        while this runtime still holds the session's lease."""
        sid = record.session_id
        with self._store_lock:
            if self.tenure.lost(sid):
                return self._store_fenced(record)
            record = replace(record, seq=self.archive.next_seq(sid))
            try:
                turn_id = self.archive.add_turn(record, guard=self.tenure.guard(sid))
            except LeaseLost as lost:
                self.tenure.lose(sid, lost)
                return self._store_fenced(record)
            except ArchiveError:
                # Another runner stored this step meanwhile (only possible without the lease, e.g. an
                # older symposia on the same file). This answer was paid for: keep it, unkeyed.
                key = record.step_key
                other = self.archive.find_turn(sid, key) if key is not None else None
                if other is None or not other.result.ok:
                    raise
                self.archive.add_turn(replace(record, step_key=None, meta={**record.meta, "superseded_step": key},
                                              seq=self.archive.next_seq(sid)))
                return other
            return self.archive.get_turn(turn_id)

    def _store_fenced(self, record: TurnRecord) -> TurnRecord:
        """Store an answer that arrived after the lease was lost, only if its step is not stored yet:
        never two turns for one step key (the new holder's stands)."""
        sid, key = record.session_id, record.step_key
        other = self.archive.find_turn(sid, key) if key is not None else None
        if other is not None and other.result.ok:
            self.tenure.fenced(sid, key or "", stored=False)
            return other
        try:
            turn_id = self.archive.add_turn(replace(record, seq=self.archive.next_seq(sid)))
        except ArchiveError:
            other = self.archive.find_turn(sid, key) if key is not None else None
            if other is None:
                raise
            self.tenure.fenced(sid, key or "", stored=False)  # stored by the new holder a moment ago
            return other
        self.tenure.fenced(sid, key or f"turn {turn_id}", stored=True)
        return self.archive.get_turn(turn_id)

    def record_host(self, session_id: str, text: str, *, kind: str, step_key: str, host_name: str,
                    provider: str = "plan", role: Literal["host", "chair"] = "host",
                    meta: dict[str, Any] | None = None, error: ErrorInfo | None = None) -> TurnRecord:
        """Store a contribution that is not a model call (a person's or a plan's words), idempotently."""
        self.tenure.ensure(session_id)
        done = self.archive.find_turn(session_id, step_key)
        if done is not None and done.result.ok:
            if done.result.text == text and error is None:
                return done
            assert done.id is not None
            self.archive.retire_turn(done.id, "the host's text changed")
        now = utcnow()
        record = TurnRecord(
            id=None, session_id=session_id, seq=0, voice="host",
            voice_name=host_name, provider=provider, request=TurnRequest(model=provider, messages=()),
            result=TurnResult(text=text, finish_reason="stop", model_requested=provider, started_at=now,
                              ended_at=now, error=error),
            role=role, step_key=step_key, meta={"kind": kind, **(meta or {})},
        )
        return self._store(record)

    async def aclose(self) -> None:
        if self.executor is not None:
            await self.executor.aclose()
        for p in self._providers.values():
            await p.aclose()
        self._providers.clear()
        self.tenure.close()
