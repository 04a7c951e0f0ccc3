"""Relay events from blocking code in a worker thread to the event loop, as they happen.

In-process models (llama.cpp, `llm` plugins) generate tokens synchronously; the runner wants an
async stream. :func:`from_thread` runs ``work(emit)`` in the default executor and yields every
``emit(kind, value)`` in order; an exception in ``work`` is re-raised in the consumer after the
events emitted before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

__all__ = ["Emit", "from_thread"]

Emit = Callable[[str, Any], None]

_DONE = "__done__"
_RAISED = "__raised__"


async def from_thread(work: Callable[[Emit], None]) -> AsyncIterator[tuple[str, Any]]:
    """Yield ``(kind, value)`` pairs emitted by ``work`` running in a thread."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def emit(kind: str, value: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    def run() -> None:
        try:
            work(emit)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            emit(_RAISED, exc)
        finally:
            emit(_DONE, None)

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
        await worker
    if raised is not None:
        raise raised
