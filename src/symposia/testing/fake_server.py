"""A fake LLM provider on loopback that speaks the OpenAI and Anthropic wires, live and batched.

Tests, benchmarks and users checking a config script its replies (:class:`Reply`), latency and
faults (:class:`Fault`); the official ``openai`` and ``anthropic`` SDKs parse what it sends. Both
batch APIs (OpenAI files + batches, Anthropic Message Batches) resolve the same script, with the
processing time, failures, expiry and cancellation set in :attr:`FakeServer.batch_settings`.

The parts: :mod:`~symposia.testing.script` (replies, faults, plans), :mod:`~symposia.testing.transport`
(HTTP plumbing), :mod:`~symposia.testing.openai_wire` and :mod:`~symposia.testing.anthropic_wire`
(chat formats), :mod:`~symposia.testing.batches` with :mod:`~symposia.testing.openai_batch` and
:mod:`~symposia.testing.anthropic_batch` (batch formats), :mod:`~symposia.testing.handler` (routes).
"""

from __future__ import annotations

import ssl
import threading
from collections import deque
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from symposia.testing.batches import BatchService, BatchSettings
from symposia.testing.handler import Handler
from symposia.testing.script import FAULT_KINDS, Fault, RecordedRequest, Reply, reply_at
from symposia.testing.transport import HTTPServer

__all__ = [
    "FAULT_KINDS",
    "BatchSettings",
    "FakeServer",
    "Fault",
    "RecordedRequest",
    "Reply",
]


class FakeServer:
    """A scripted LLM provider on 127.0.0.1, served from a background thread.

    ``openai_base_url`` serves ``POST /v1/chat/completions`` (any path ending in
    ``/chat/completions`` works too); ``anthropic_base_url`` serves ``POST /v1/messages``. The batch
    APIs live under the same addresses (``/v1/files``, ``/v1/batches``, ``/v1/messages/batches``).
    """

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1", require_auth: bool = True,
                 tls: ssl.SSLContext | None = None) -> None:
        self.require_auth = require_auth
        self.default: Reply = Reply()
        self.models: list[str] = ["fake-model"]  # listed by GET /v1/models
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._global: deque[Reply] = deque()
        self._per_model: dict[str, deque[Reply]] = {}
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self._peak_in_flight = 0
        self._stopping = threading.Event()
        self._gate = threading.Event()  # set: replies go out; cleared by hold_replies()
        self._gate.set()
        self._thread: threading.Thread | None = None
        self.batches = BatchService(self._next_reply)
        self._httpd = HTTPServer((host, port), Handler, self, tls)
        self._scheme = "https" if tls is not None else "http"
        self.host = host
        self.port: int = self._httpd.server_address[1]

    @property
    def stopping(self) -> threading.Event:
        """Set once :meth:`stop` is called; handlers end hanging responses on it."""
        return self._stopping

    @property
    def batch_settings(self) -> BatchSettings:
        """How batches created from now on behave (processing time, failures, expiry, limits)."""
        return self.batches.settings

    @batch_settings.setter
    def batch_settings(self, settings: BatchSettings) -> None:
        self.batches.settings = settings

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeServer:
        """Start serving in a daemon thread; returns self."""
        if self._thread is not None:
            raise RuntimeError("FakeServer.start() was already called; create a new FakeServer instead")
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"symposia-fake-server:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end hanging responses and close every open connection. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.close_connections()
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self._scheme}://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.base_url  # the anthropic SDK appends /v1/messages itself

    # -- scripting -------------------------------------------------------------------------------

    def enqueue(self, *replies: Reply, model: str | None = None) -> None:
        """Queue replies (FIFO) for requests naming ``model``, or for any request when model is None."""
        for r in replies:
            if not isinstance(r, Reply):
                raise TypeError(f"enqueue() takes Reply objects (not {type(r).__name__})")
        with self._lock:
            queue = self._global if model is None else self._per_model.setdefault(model, deque())
            queue.extend(replies)

    def pending(self, model: str | None = None) -> int:
        """How many queued replies are left for ``model`` (None: the global queue)."""
        with self._lock:
            queue = self._global if model is None else self._per_model.get(model, deque())
            return len(queue)

    def load_script(self, script: Mapping[str, Any]) -> None:
        """Apply a script (CLI ``--script``): ``{"default": {..}, "queue": [..], "models": {"id": [..]}}``."""
        if not isinstance(script, Mapping):
            raise ValueError("a script must be a JSON object with keys default, queue, models")
        unknown = sorted(set(script) - {"default", "queue", "models"})
        if unknown:
            raise ValueError(f"unknown script key(s) {', '.join(map(repr, unknown))}; "
                             "expected default, queue, models")
        # Parse everything before applying anything, so a bad script changes nothing.
        default = reply_at("default", script["default"]) if "default" in script else None
        queue = script.get("queue", [])
        if not isinstance(queue, list):
            raise ValueError("script 'queue' must be a list of replies")
        replies = [reply_at(f"queue[{i}]", r) for i, r in enumerate(queue)]
        per_model = script.get("models", {})
        if not isinstance(per_model, Mapping):
            raise ValueError("script 'models' must map model ids to lists of replies")
        by_model: dict[str, list[Reply]] = {}
        for model, items in per_model.items():
            if not isinstance(items, list):
                raise ValueError(f"script models[{model!r}] must be a list of replies")
            by_model[model] = [reply_at(f"models[{model!r}][{i}]", r) for i, r in enumerate(items)]
        if default is not None:
            self.default = default
        self.enqueue(*replies)
        for model, items in by_model.items():
            self.enqueue(*items, model=model)

    def hold_replies(self) -> None:
        """Requests from now on are recorded (counted, :meth:`wait_for_requests`) but get no reply until
        :meth:`release_replies`: calls stay in flight for as long as a test needs, by events, not sleeps."""
        self._gate.clear()

    def release_replies(self) -> None:
        """Let the held requests (and every later one) be answered."""
        self._gate.set()

    def reset(self) -> None:
        """Forget queued replies, recorded requests, batches and files (``default`` is kept);
        batch settings return to their defaults."""
        with self._lock:
            self._global.clear()
            self._per_model.clear()
            self._requests.clear()
            self._peak_in_flight = self._in_flight
        self.batches.reset()
        self.batches.settings = BatchSettings()

    # -- observation -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every live call (POST outside the batch and file APIs) so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """How many live-call POSTs arrived (faulted and unauthorised ones included)."""
        with self._lock:
            return len(self._requests)

    @property
    def connection_count(self) -> int:
        """How many TCP connections were accepted: fewer than requests means clients reuse them."""
        return self._httpd.accepted

    @property
    def in_flight(self) -> int:
        """POSTs received whose handler has not finished (a client may already hold the whole reply)."""
        with self._lock:
            return self._in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most POSTs that were in flight at once (since start or :meth:`reset`). A handler finishes a
        moment after its client has the whole reply, so a request just answered may still count."""
        with self._lock:
            return self._peak_in_flight

    @property
    def batch_submissions(self) -> list[tuple[str, str]]:
        """``(batch id, custom_id)`` of every request accepted into a batch, oldest first."""
        return self.batches.submissions()

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> bool:
        """Block until at least ``n`` POSTs have arrived; False on timeout."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self._requests) >= n, timeout=timeout)

    # -- used by the handler ---------------------------------------------------------------------

    def _record(self, req: RecordedRequest) -> None:
        with self._arrived:
            self._requests.append(req)
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
            self._arrived.notify_all()

    def _done(self) -> None:
        with self._arrived:
            self._in_flight -= 1
            self._arrived.notify_all()

    def _hold_until_in_flight(self, n: int) -> None:
        with self._arrived:
            # the peak, not the current count: once reached, every waiter goes on (even if one already finished)
            self._arrived.wait_for(lambda: self._peak_in_flight >= n or self._stopping.is_set(), timeout=10.0)

    def _wait_for_gate(self) -> None:
        while not self._gate.wait(0.05):
            if self._stopping.is_set():
                return

    def _next_reply(self, model: str | None) -> Reply:
        with self._lock:
            queue = self._per_model.get(model) if model is not None else None
            if queue:
                return queue.popleft()
            if self._global:
                return self._global.popleft()
            return self.default

