"""The fake server's batch service: jobs that resolve scripted replies on a clock, shared by both wires.

A job's requests are resolved against the script when the job is created (in input order); their
results then *appear* over time: the job waits ``validating_s``, spreads the requests evenly over
``processing_s``, then waits ``finalizing_s``. A cancelled job stops at the moment of cancellation
(``cancelling_s`` later it is final); a job whose window (``expire_after_s``) closes first expires,
keeping what finished. ``failure_rate`` errors a deterministic share of requests (chosen by a hash of
job id and ``custom_id``, so a resubmission is a fresh draw); ``drop_create_responses`` creates the next
jobs but loses the answers (the connection closes), as if the client had died before hearing back.
Rendering each wire's objects and files is left to :mod:`symposia.testing.openai_batch` and
:mod:`symposia.testing.anthropic_batch`.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from symposia.testing.script import HTTP_FAULTS, Plan, Reply, Wire

__all__ = ["BatchItem", "BatchJob", "BatchService", "BatchSettings", "ItemState", "JobState", "page"]

ItemState = Literal["processing", "succeeded", "errored", "canceled", "expired"]
JobState = Literal["validating", "in_progress", "finalizing", "cancelling", "ended"]
Ending = Literal["completed", "cancelled", "expired", "failed"]

# Published limits (requests per batch, bytes per batch input).
DEFAULT_LIMITS: dict[Wire, tuple[int, int]] = {
    "openai": (50_000, 200 * 1024 * 1024),
    "anthropic": (100_000, 256 * 1024 * 1024),
}
_DAY_S = 24 * 3600.0


@dataclass
class BatchSettings:
    """How the fake batch service behaves; change ``FakeServer.batch_settings`` between jobs."""

    validating_s: float = 0.0  # OpenAI "validating" (Anthropic starts in_progress at once)
    processing_s: float = 0.0  # time over which the requests' results appear, evenly spaced
    finalizing_s: float = 0.0  # after the last result, before the job ends
    cancelling_s: float = 0.0  # after a cancel, before the job ends
    expire_after_s: float | None = None  # the completion window; None: 24 h (never, in a test)
    failure_rate: float = 0.0  # share of requests that error with HTTP 500 (deterministic per job)
    max_requests: int | None = None  # None: the provider's published limit
    max_bytes: int | None = None  # None: the provider's published limit
    # the next N batch creations are carried out, but the connection closes before the answer: the
    # client never learns the batch's id (as when it dies between sending and hearing back)
    drop_create_responses: int = 0

    def __post_init__(self) -> None:
        for name in ("validating_s", "processing_s", "finalizing_s", "cancelling_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"invalid value for BatchSettings.{name}, expected >= 0")
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("invalid value for BatchSettings.failure_rate, expected 0..1")

    def limits(self, wire: Wire) -> tuple[int, int]:
        max_requests, max_bytes = DEFAULT_LIMITS[wire]
        return (self.max_requests if self.max_requests is not None else max_requests,
                self.max_bytes if self.max_bytes is not None else max_bytes)


@dataclass
class BatchItem:
    """One request of a job with its outcome decided at creation."""

    custom_id: str
    body: dict[str, Any]
    plan: Plan
    error_kind: str | None  # an HTTP_FAULTS kind when the request errors
    error_message: str
    done_at: float  # monotonic time its result appears


@dataclass
class BatchJob:
    """One batch: its requests, clock and fate. Times are ``time.monotonic()`` values."""

    id: str
    wire: Wire
    items: list[BatchItem]
    created: float
    created_wall: float
    settings: BatchSettings
    endpoint: str = ""
    input_file_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    validation_errors: list[dict[str, Any]] = field(default_factory=list)  # non-empty: the job failed
    cancel_at: float | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None

    @property
    def in_progress_at(self) -> float:
        return self.created + (self.settings.validating_s if self.wire == "openai" else 0.0)

    @property
    def processed_at(self) -> float:
        return max((i.done_at for i in self.items), default=self.in_progress_at)

    @property
    def expires_at(self) -> float:
        window = self.settings.expire_after_s
        return self.created + (window if window is not None else _DAY_S)

    def _cutoff(self) -> float:
        """The moment after which no result appears (cancel or expiry)."""
        return min(self.cancel_at if self.cancel_at is not None else float("inf"), self.expires_at)

    def item_state(self, item: BatchItem, now: float) -> ItemState:
        if item.done_at <= min(now, self._cutoff()):
            return "succeeded" if item.error_kind is None else "errored"
        if self.cancel_at is not None and self.cancel_at <= now and self.cancel_at < self.expires_at:
            return "canceled"
        if self.expires_at <= now:
            return "expired"
        return "processing"

    def ended_at(self) -> float | None:
        """When the job is (or will be) final, or None while it can still change."""
        if self.validation_errors:
            return self.created + self.settings.validating_s
        if self.cancel_at is not None and self.cancel_at < min(self.processed_at, self.expires_at):
            return self.cancel_at + self.settings.cancelling_s
        if self.expires_at < self.processed_at:
            return self.expires_at
        return self.processed_at + self.settings.finalizing_s

    def ending(self) -> Ending:
        if self.validation_errors:
            return "failed"
        if self.cancel_at is not None and self.cancel_at < min(self.processed_at, self.expires_at):
            return "cancelled"
        if self.expires_at < self.processed_at:
            return "expired"
        return "completed"

    def state(self, now: float) -> JobState:
        ended = self.ended_at()
        if ended is not None and ended <= now:
            return "ended"
        if self.cancel_at is not None and self.cancel_at <= now:
            return "cancelling"
        if now < self.in_progress_at:
            return "validating"
        if now >= self.processed_at:
            return "finalizing"
        return "in_progress"

    def counts(self, now: float) -> dict[ItemState, int]:
        out: dict[ItemState, int] = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0,
                                     "expired": 0}
        for item in self.items:
            out[self.item_state(item, now)] += 1
        return out

    def wall(self, t: float) -> float:
        """A monotonic time as a Unix time."""
        return self.created_wall + (t - self.created)


class BatchService:
    """Every batch job and uploaded file of one fake server (thread-safe)."""

    def __init__(self, next_reply: Callable[[str | None], Reply]) -> None:
        self.settings = BatchSettings()
        self._next_reply = next_reply
        self._lock = threading.Lock()
        self._jobs: dict[str, BatchJob] = {}
        self._files: dict[str, tuple[str, str, bytes, float]] = {}  # id -> (purpose, filename, data, wall)
        self.submitted: list[tuple[str, str]] = []  # (job id, custom_id) of every accepted request

    # -- files -----------------------------------------------------------------------------------

    def put_file(self, purpose: str, filename: str, data: bytes) -> str:
        file_id = "file-" + secrets.token_hex(12)
        with self._lock:
            self._files[file_id] = (purpose, filename, data, time.time())
        return file_id

    def file(self, file_id: str) -> tuple[str, str, bytes, float] | None:
        with self._lock:
            return self._files.get(file_id)

    def delete_file(self, file_id: str) -> bool:
        with self._lock:
            return self._files.pop(file_id, None) is not None

    # -- jobs ------------------------------------------------------------------------------------

    def create(self, wire: Wire, requests: list[tuple[str, dict[str, Any]]], *, prefix: str,
               validation_errors: list[dict[str, Any]] | None = None, **extra: Any) -> BatchJob:
        """Accept a job of ``(custom_id, body)`` requests; resolve each against the script now."""
        settings = BatchSettings(**vars(self.settings))  # a snapshot: later changes leave it alone
        now = time.monotonic()
        job_id = prefix + secrets.token_hex(12)
        job = BatchJob(id=job_id, wire=wire, items=[], created=now, created_wall=time.time(),
                       settings=settings, validation_errors=list(validation_errors or []), **extra)
        if not job.validation_errors:
            n = len(requests)
            start = job.in_progress_at
            for i, (custom_id, body) in enumerate(requests):
                model = body.get("model") if isinstance(body.get("model"), str) else None
                plan = Plan.build(wire, self._next_reply(model), body, model)
                kind, message = _error_of(plan, job_id, custom_id, settings.failure_rate)
                done = start + settings.processing_s * (i + 1) / n
                job.items.append(BatchItem(custom_id, body, plan, kind, message, done))
        with self._lock:
            self._jobs[job_id] = job
            if not job.validation_errors:
                self.submitted.extend((job_id, i.custom_id) for i in job.items)
        return job

    def get(self, job_id: str) -> BatchJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self, wire: Wire) -> list[BatchJob]:
        """This wire's jobs, newest first."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.wire == wire]
        return sorted(jobs, key=lambda j: j.created, reverse=True)

    def cancel(self, job_id: str) -> BatchJob | None:
        """Cancel a job still running (a no-op on an ended one); None when there is no such job."""
        now = time.monotonic()
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.cancel_at is None and job.state(now) != "ended":
                job.cancel_at = now
            return job

    def drop_create_response(self) -> bool:
        """Whether the answer to the batch just created is to be lost (``drop_create_responses``)."""
        with self._lock:
            if self.settings.drop_create_responses > 0:
                self.settings.drop_create_responses -= 1
                return True
            return False

    def submissions(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self.submitted)

    def reset(self) -> None:
        with self._lock:
            self._jobs.clear()
            self._files.clear()
            self.submitted.clear()


def _error_of(plan: Plan, job_id: str, custom_id: str, failure_rate: float) -> tuple[str | None, str]:
    fault = plan.fault
    if fault is not None and fault.kind in HTTP_FAULTS:
        return fault.kind, fault.message
    if fault is not None and fault.kind in ("midstream_error", "drop", "hang", "hang_stream"):
        return "http_500", fault.message
    if failure_rate > 0:
        digest = hashlib.sha256(f"{job_id}\0{custom_id}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 < failure_rate:
            return "http_500", ""
    return None, ""


def page(jobs: list[BatchJob], query: Mapping[str, list[str]], after_key: str,
         before_key: str | None = None) -> tuple[list[BatchJob], bool]:
    """Cursor pagination over newest-first jobs: ``limit`` (1..100, default 20), after / before an id."""
    raw_limit = (query.get("limit") or ["20"])[0]
    limit = max(1, min(100, int(raw_limit))) if raw_limit.isdigit() else 20
    ids = [j.id for j in jobs]
    after = (query.get(after_key) or [""])[0]
    before = (query.get(before_key) or [""])[0] if before_key else ""
    if after in ids:
        jobs = jobs[ids.index(after) + 1:]
    elif before in ids:
        jobs = jobs[: ids.index(before)]
        return jobs[-limit:], len(jobs) > limit
    return jobs[:limit], len(jobs) > limit
