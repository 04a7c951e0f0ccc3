"""The one place where a planned call meets a provider and the archive.

``Runtime.call`` runs one turn (with retries, through the runner) and stores it the moment it ends,
in its own transaction. Given a ``step_key`` it is idempotent: a call already recorded for that step
of the session is returned from the archive instead of being made (and paid for) again — that is
what makes an interrupted session resumable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from symposia.archive import Archive, new_session_id
from symposia.catalog import Catalog, Voice
from symposia.catalog.prices import PriceTable, load_prices
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
    calls through the runner) decides how each call is made."""

    catalog: Catalog
    archive: Archive
    prices: PriceTable = field(default_factory=load_prices)
    _providers: dict[str, Provider] = field(default_factory=dict)
    calls_made: int = 0  # model calls made by this runtime
    calls_kept: int = 0  # finished calls found in the record with the same inputs, not made again
    executor: CallExecutor | None = None

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
        return rec

    async def call(self, session_id: str, voice: Voice, request: TurnRequest, *,
                   role: Literal["voice", "host", "chair"] = "voice", step_key: str | None = None,
                   on_event: OnEvent | None = None, meta: dict[str, Any] | None = None) -> TurnRecord:
        """Run one turn and store it; with ``step_key``, never repeat a finished call.

        A call to a seeded provider (the embedded models) without a seed gets a fresh one, drawn here so
        that the stored request carries it; a finished call whose seed was drawn that way still counts
        as the same call on resume.
        """
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
        if self.executor is not None:
            outcome = await self.executor.run(provider, voice, request, session_id=session_id, step_key=step_key,
                                              on_event=on_event)
            if isinstance(outcome, TurnRecord):  # made and stored elsewhere (a worker)
                return outcome
            result = outcome
        else:
            result = await run_turn(provider, request, voice=voice.shortcut, on_event=on_event)
        meta = dict(meta or {})
        if result.usage.cost is None:
            estimate = self.prices.estimate(request.model, result.usage)
            if estimate is not None:
                # The provider reported no cost: fill it from the price table, and say so.
                result = replace(result, usage=replace(result.usage, cost=estimate[0]))
                meta["cost_estimated"] = estimate[1].note()
        record = TurnRecord(
            id=None,
            session_id=session_id,
            seq=self.archive.next_seq(session_id),
            voice=voice.shortcut,
            voice_name=voice.name,
            provider=provider.spec.name,
            request=request,
            result=result,
            role=role,
            step_key=step_key,
            meta=meta,
        )
        turn_id = self.archive.add_turn(record)
        return self.archive.get_turn(turn_id)

    def record_host(self, session_id: str, text: str, *, kind: str, step_key: str, host_name: str,
                    provider: str = "plan", role: Literal["host", "chair"] = "host",
                    meta: dict[str, Any] | None = None, error: ErrorInfo | None = None) -> TurnRecord:
        """Store a contribution that is not a model call (a person's or a plan's words), idempotently."""
        done = self.archive.find_turn(session_id, step_key)
        if done is not None and done.result.ok:
            if done.result.text == text and error is None:
                return done
            assert done.id is not None
            self.archive.retire_turn(done.id, "the host's text changed")
        now = utcnow()
        record = TurnRecord(
            id=None, session_id=session_id, seq=self.archive.next_seq(session_id), voice="host",
            voice_name=host_name, provider=provider, request=TurnRequest(model=provider, messages=()),
            result=TurnResult(text=text, finish_reason="stop", model_requested=provider, started_at=now,
                              ended_at=now, error=error),
            role=role, step_key=step_key, meta={"kind": kind, **(meta or {})},
        )
        return self.archive.get_turn(self.archive.add_turn(record))

    async def aclose(self) -> None:
        if self.executor is not None:
            await self.executor.aclose()
        for p in self._providers.values():
            await p.aclose()
        self._providers.clear()
