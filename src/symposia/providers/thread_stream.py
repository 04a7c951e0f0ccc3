"""Relay events from blocking code in a worker thread to the event loop, as they happen.

In-process models (llama.cpp, `llm` plugins) generate tokens synchronously; the runner wants an
async stream. :func:`from_thread` runs ``work(emit)`` in the default executor and yields every
``emit(kind, value)`` in order; an exception in ``work`` is re-raised in the consumer after the
events emitted before it.

When the consumer stops early (a timeout, Ctrl-C, a cancelled council), the next ``emit`` raises
:class:`Abandoned` in the worker thread, so the generation unwinds (its ``finally`` blocks run, its
locks are released) instead of running on unseen; the consumer returns once the thread has ended.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable
from typing import Any

__all__ = ["Abandoned", "Emit", "from_thread"]

Emit = Callable[[str, Any], None]

_DONE = "__done__"
_RAISED = "__raised__"


class Abandoned(BaseException):  # noqa: N818 - a signal, like GeneratorExit: `except Exception` must not catch it
    """Raised by ``emit`` in the worker thread once nobody reads the stream any more."""


async def from_thread(work: Callable[[Emit], None]) -> AsyncGenerator[tuple[str, Any], None]:
    """Yield ``(kind, value)`` pairs emitted by ``work`` running in a thread."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    abandoned = threading.Event()

    def put(kind: str, value: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    def emit(kind: str, value: Any) -> None:
        if abandoned.is_set():
            raise Abandoned
        put(kind, value)

    def run() -> None:
        try:
            work(emit)
        except Abandoned:
            pass
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_RAISED, exc)
        finally:
            put(_DONE, None)

    worker = loop.run_in_executor(None, run)
    raised: BaseException | None = None
    try:
        while True:
            kind, value = await queue.get()
            if kind == _DONE:
                break
            if kind == _RAISED:
                raised = value
                continue
            yield kind, value
    finally:
        abandoned.set()
        await worker
    if raised is not None:
        raise raised
