"""Calls through the providers' batch APIs: collect, submit, poll, collect results, resume after a kill.

:class:`BatchExecutor` is the :class:`~symposia.dialogue.runtime.Runtime`'s call executor for
``--batch`` runs. Each call a study or council makes is held for ``collect_s`` (until no new call has
arrived for that long), then every held call of a provider is written as the provider's batch lines,
split at its limits, and submitted; the caller's ``await`` ends when that batch's results are in.

Every step is in the archive's batch ledger (:mod:`symposia.archive.batches`) before the next one, and
a call's ``custom_id`` is a hash of (session, step, voice, request), so a run that was killed and is
started again (``--resume``) never pays twice: a call whose result was downloaded is answered from the
ledger; a call in a batch still running waits for that batch (by its stored id); a batch whose id was
lost in the crash (or whose answer was lost) is found at the provider by its tag, or, where batches
carry none (Anthropic), adopted only when exactly one batch matches it and used only when its results
name exactly its custom_ids (else its calls are sent again, and the ledger's note says why); only calls
that expired, were cancelled or failed transiently are submitted again (up to the provider's
``max_attempts``). Providers without a batch API are called live, with a note saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from symposia.archive import Archive
from symposia.archive.batches import BatchJob, BatchLedger
from symposia.catalog import Voice
from symposia.catalog.prices import PriceTable
from symposia.errors import ProviderError
from symposia.keys import resolve_key
from symposia.providers.base import Provider, ProviderSpec
from symposia.providers.batch import BatchClient, batch_cost, batch_limits, custom_id, poll_interval, split_lines
from symposia.providers.registry import make_batch_client
from symposia.providers.runner import OnEvent, error_info, run_turn
from symposia.records import TurnRequest, TurnResult, Usage, utcnow

__all__ = ["BatchExecutor"]

log = logging.getLogger(__name__)

Note = Callable[[str], None]
ClientFactory = Callable[[ProviderSpec], BatchClient | None]


def _default_client(spec: ProviderSpec) -> BatchClient | None:
    return make_batch_client(spec, resolve_key(spec))


@dataclass
class _Call:
    cid: str
    session_id: str
    step_key: str | None
    voice: Voice
    request: TurnRequest
    spec: ProviderSpec
    future: asyncio.Future[TurnResult]


def _error_result(model: str, voice: str, exc: ProviderError, attempts: int) -> TurnResult:
    now = utcnow()
    return TurnResult(text="", finish_reason="error", model_requested=model, attempts=max(1, attempts),
                      error=error_info(exc, voice), started_at=now, ended_at=now)


class BatchExecutor:
    """Runs a runtime's calls in provider batches (see the module docstring)."""

    def __init__(self, archive: Archive, *, collect_s: float = 0.5, note: Note | None = None,
                 clients: ClientFactory = _default_client, prices: PriceTable | None = None) -> None:
        self.archive = archive
        self.prices = prices  # the shared live price table, for models the provider's options do not price
        self.ledger = BatchLedger(archive)
        self.collect_s = collect_s
        self._note = note or (lambda text: log.info("%s", text))
        self._client_factory = clients
        self._clients: dict[str, BatchClient | None] = {}
        self._pending: dict[str, list[_Call]] = {}
        self._last_arrival: dict[str, float] = {}
        self._flushers: dict[str, asyncio.Task[None]] = {}
        self._watchers: dict[int, asyncio.Task[None]] = {}
        self._waiting: dict[str, list[_Call]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.live_fallbacks: set[str] = set()

    def slots(self, wanted: int) -> int:
        """How many calls a caller should let wait at once: all of them, so that they share batches."""
        return 1_000_000

    def _client(self, spec: ProviderSpec) -> BatchClient | None:
        if spec.name not in self._clients:
            self._clients[spec.name] = self._client_factory(spec)
        return self._clients[spec.name]

    # -- the one entry point -----------------------------------------------------------------------

    async def run(self, provider: Provider, voice: Voice, request: TurnRequest, *, session_id: str,
                  step_key: str | None, on_event: OnEvent | None = None) -> TurnResult:
        """The result of one call, made in a batch (or live where the provider has no batch API)."""
        spec = provider.spec
        client = self._client(spec)
        if client is None:
            if spec.name not in self.live_fallbacks:
                self.live_fallbacks.add(spec.name)
                self._note(f"provider {spec.name!r} has no batch API (set [providers.{spec.name}.options] "
                           "batch = true if its endpoint has one): its calls are made live, at the live price")
            return await run_turn(provider, request, voice=voice.shortcut, on_event=on_event)
        cid = custom_id(session_id, step_key, voice.shortcut, request)
        done = self._undelivered(cid)
        if done is not None:
            return done
        call = _Call(cid, session_id, step_key, voice, request, spec,
                     asyncio.get_running_loop().create_future())
        self._waiting.setdefault(cid, []).append(call)
        job = self.ledger.open_job_of(cid)
        if job is not None:
            self._watch(job, client)
        elif len(self._waiting[cid]) == 1:
            self._enqueue(call, client)
        return await call.future

    def _undelivered(self, cid: str) -> TurnResult | None:
        """A final result already in the ledger that the archive does not hold yet (the run was killed
        between downloading it and storing the turn)."""
        item = self.ledger.latest_item(cid)
        if item is None or item.outcome not in ("ok", "error") or item.result is None:
            return None
        if item.outcome == "error" and item.step_key is not None:
            stored = self.archive.find_turn(item.session_id, item.step_key)
            if stored is not None and stored.result.ended_at == item.result.ended_at:
                return None  # that failure was delivered; a new run retries the step
        return item.result

    # -- collecting and submitting -----------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _enqueue(self, call: _Call, client: BatchClient) -> None:
        name = call.spec.name
        self._pending.setdefault(name, []).append(call)
        self._last_arrival[name] = time.monotonic()
        if name not in self._flushers or self._flushers[name].done():
            self._flushers[name] = self._spawn(self._flush(name, client))

    async def _flush(self, name: str, client: BatchClient) -> None:
        try:
            await self._flush_unguarded(name, client)
        except Exception as exc:  # never leave a caller waiting on a batch that will not be sent
            log.exception("sending batches to %s failed", name)
            self._fail_all(name, ProviderError(f"internal error sending the batch: {type(exc).__name__}: {exc}",
                                               provider=name, kind="internal"))

    def _fail_all(self, provider: str, failure: ProviderError) -> None:
        """Answer every call still waiting on ``provider`` with ``failure`` (stored as a failed turn; a
        resumed run picks the calls up again from the ledger)."""
        for cid, calls in list(self._waiting.items()):
            if calls and calls[0].spec.name == provider:
                self._deliver(cid, _error_result(calls[0].request.model, calls[0].voice.shortcut, failure, 1))

    async def _flush_unguarded(self, name: str, client: BatchClient) -> None:
        while True:  # wait until no new call has arrived for collect_s
            quiet = time.monotonic() - self._last_arrival.get(name, 0.0)
            if quiet >= self.collect_s:
                break
            await asyncio.sleep(self.collect_s - quiet)
        calls = self._pending.pop(name, [])
        if not calls:
            return
        spec = calls[0].spec
        by_cid = {c.cid: c for c in calls}
        lines = [(c.request.model, client.line(c.cid, c.request)) for c in by_cid.values()]
        chunks = list(split_lines(lines, batch_limits(spec), one_model=spec.kind == "openai"))
        for chunk in chunks:
            await self._submit(spec, client, [by_cid[line["custom_id"]] for _, line in chunk],
                               [line for _, line in chunk])

    async def _submit(self, spec: ProviderSpec, client: BatchClient, calls: list[_Call],
                      lines: list[dict[str, object]]) -> None:
        tag = "sy-" + secrets.token_hex(8)
        size = sum(len(json.dumps(x, ensure_ascii=False).encode()) + 1 for x in lines)
        job_id = self.ledger.create_job(tag, spec.name, [(c.cid, c.session_id, c.step_key, c.voice.shortcut,
                                                          c.request.model) for c in calls], size)
        since = time.time()
        remote_id: str | None
        try:
            remote_id = await client.submit(lines, tag)
        except ProviderError as exc:
            # A timeout or dropped connection may hide a batch that was created: look before resending.
            unsure = exc.retryable or exc.status is None
            try:
                remote_id = await self._recover(client, job_id, tag, since, len(calls)) if unsure else None
            except ProviderError as listing:  # cannot tell whether it arrived: resend nothing now
                self._note(f"could not submit a batch of {len(calls)} to {spec.name} ({exc.detail}), nor tell "
                           f"whether it arrived ({listing.detail}): resume to look again")
                for c in calls:
                    self._deliver(c.cid, _error_result(c.request.model, c.voice.shortcut, listing, 1))
                return
            if remote_id is None:
                if not unsure:
                    self.ledger.abandon(job_id, f"refused: {exc.detail}")
                self._note(f"could not submit a batch of {len(calls)} to {spec.name}: {exc.detail}")
                for c in calls:
                    self._fail_or_retry(c, exc, client)
                return
        else:
            self.ledger.set_submitted(job_id, remote_id)
        self._note(f"batch {remote_id}: {len(calls)} requests ({size:,} bytes) submitted to {spec.name}")
        self._watch(self.ledger.job(job_id), client)

    async def _recover(self, client: BatchClient, job_id: int, tag: str, since: float, count: int) -> str | None:
        """After the answer to a submission was lost: the provider's id of the job's batch, recorded in
        the ledger; or None, with the job abandoned and the reason in its note (then its requests are
        sent again). Where batches carry our tag the id is certain; where they cannot (Anthropic) the
        one batch created then with as many requests is adopted, on trial: :meth:`_collect` uses its
        results only if their custom_ids are exactly the job's. Two or more such batches: none is
        adopted. A :class:`ProviderError` (the listing failed) leaves the job as it was."""
        name = client.spec.name
        found = [c for c in await client.candidates(tag, since, count) if not self.ledger.knows_remote(c)]
        if found and client.tagged:
            note = None if len(found) == 1 else f"{len(found)} batches carry this tag ({', '.join(found)})"
            self.ledger.set_submitted(job_id, found[0], found="tag", note=note)
            return found[0]
        if len(found) == 1:
            self.ledger.set_submitted(job_id, found[0], found="match", note=(
                f"adopted as the only batch at {name} created then with {count} requests; its results are "
                "used only if their custom_ids are exactly this job's"))
            return found[0]
        if found:
            note = (f"not adopted: {len(found)} batches at {name} were created then with {count} requests "
                    f"({', '.join(found)}) and none can be told to be this one; its requests are sent again")
        else:
            note = f"no batch at {name} {'carries its tag' if client.tagged else 'matches it'}: it never arrived"
        self.ledger.abandon(job_id, note)
        self._note(f"batch {tag}: {note}")
        return None

    def _fail_or_retry(self, call: _Call, exc: ProviderError, client: BatchClient) -> None:
        """After a failed submission: send the call again while it has attempts left, else fail it."""
        attempts = self.ledger.attempts(call.cid)
        if exc.retryable and attempts < max(1, call.spec.max_attempts):
            self._enqueue(call, client)
        else:
            self._deliver(call.cid, _error_result(call.request.model, call.voice.shortcut, exc, attempts))

    def _deliver(self, cid: str, result: TurnResult) -> None:
        for c in self._waiting.pop(cid, []):
            if not c.future.done():
                c.future.set_result(result)

    # -- waiting for a batch -----------------------------------------------------------------------

    def _watch(self, job: BatchJob, client: BatchClient) -> None:
        task = self._watchers.get(job.id)
        if task is None or task.done():
            self._watchers[job.id] = self._spawn(self._follow(job, client))

    async def _follow(self, job: BatchJob, client: BatchClient) -> None:
        try:
            await self._follow_unguarded(job, client)
        except Exception as exc:  # the batch cannot be followed: its callers get the failure, never a hang
            failure = exc if isinstance(exc, ProviderError) else ProviderError(
                f"internal error following the batch: {type(exc).__name__}: {exc}", provider=client.spec.name,
                kind="internal")
            if not isinstance(exc, ProviderError):
                log.exception("following batch %s failed", job.remote_id or job.tag)
            self._note(f"batch {job.remote_id or job.tag} at {client.spec.name}: {failure.detail}")
            self._fail_all(client.spec.name, failure)

    async def _follow_unguarded(self, job: BatchJob, client: BatchClient) -> None:
        spec = client.spec
        remote_id = job.remote_id
        if remote_id is None:  # the process died between sending the batch and hearing its id
            remote_id = await self._recover(client, job.id, job.tag, job.created_at.timestamp(), job.requests)
            if remote_id is None:
                self._requeue([i.custom_id for i in self.ledger.items(job.id)], client)
                return
            self._note(f"batch {remote_id} (submitted before the restart) found at {spec.name}")
        delay, longest = poll_interval(spec)
        seen = job.remote_status
        while True:
            try:
                state = await client.state(remote_id)
            except ProviderError as exc:
                if not exc.retryable:
                    raise
                await asyncio.sleep(delay)
                continue
            if state.status != seen:
                seen = state.status
                self.ledger.set_remote_status(job.id, state.status)
            if state.phase == "ended":
                break
            await asyncio.sleep(delay)
            delay = min(longest, delay * 1.5)
        await self._collect(job, remote_id, state.status, client)

    async def _collect(self, job: BatchJob, remote_id: str, status: str, client: BatchClient) -> None:
        spec = client.spec
        items = self.ledger.items(job.id)
        raw = await client.results(remote_id, {i.custom_id: i.model for i in items})
        fresh = self.ledger.job(job.id)
        ours = {i.custom_id for i in items}
        foreign, lacking = set(raw) - ours, ours - set(raw)
        if foreign or (fresh.found == "match" and lacking):
            note = (f"batch {remote_id} is not this job's: its results name {len(foreign)} custom_ids the job never "
                    f"sent and lack {len(lacking)} it did; none is used, and its requests are sent again")
            self.ledger.abandon(job.id, note)
            self._note(note)
            self._requeue(sorted(ours), client)
            return
        started = fresh.submitted_at or fresh.created_at
        now = utcnow()
        outcomes: dict[str, tuple[str, TurnResult | None]] = {}
        total = 0.0
        priced = False
        for item in items:
            got = raw.get(item.custom_id)
            attempts = self.ledger.attempts(item.custom_id)
            if isinstance(got, TurnResult):
                estimate = self.prices.estimate(item.model, got.usage) if self.prices is not None else None
                cost = batch_cost(spec, item.model, got.usage, estimate[0] if estimate else None)
                if cost is not None:
                    total += cost
                    priced = True
                usage = Usage(got.usage.prompt_tokens, got.usage.completion_tokens, got.usage.reasoning_tokens, cost)
                outcomes[item.custom_id] = ("ok", replace(got, usage=usage, attempts=attempts, started_at=started,
                                                          ended_at=now,
                                                          latency_s=(now - started).total_seconds()))
                continue
            failure = got if isinstance(got, ProviderError) else ProviderError(
                "the batch returned no result for this request", provider=spec.name, retryable=True,
                kind="batch_missing")
            final = not failure.retryable or attempts >= max(1, spec.max_attempts)
            outcomes[item.custom_id] = ("error" if final else "retry",
                                        _error_result(item.model, item.voice, failure, attempts))
        self.ledger.collect(job.id, status, outcomes, round(total, 10) if priced else None)
        retry = [cid for cid, (o, _) in outcomes.items() if o == "retry"]
        ok = sum(1 for o, _ in outcomes.values() if o == "ok")
        self._note(f"batch {remote_id} {status}: {ok} ok, {len(outcomes) - ok - len(retry)} failed, "
                   f"{len(retry)} to resubmit" + (f", cost {total:.4f}" if priced else ""))
        for cid, (outcome, result) in outcomes.items():
            if outcome in ("ok", "error") and result is not None:
                self._deliver(cid, result)
        self._requeue(retry, client)

    def _requeue(self, cids: list[str], client: BatchClient) -> None:
        for cid in cids:
            waiting = self._waiting.get(cid)
            if waiting:
                self._enqueue(waiting[0], client)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):  # closing: errors were reported
                await task
        for client in self._clients.values():
            if client is not None:
                await client.aclose()
        self._clients.clear()
