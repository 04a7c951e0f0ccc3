"""from_thread: a worker thread's events reach the loop in order, its error after them, and a consumer
that stops early makes the thread unwind (its finally blocks run) before it returns."""

from __future__ import annotations

import asyncio
import threading

import pytest

from symposia.providers.thread_stream import Emit, from_thread


def test_events_in_order_then_the_error() -> None:
    def work(emit: Emit) -> None:
        for i in range(50):
            emit("n", i)
        raise ValueError("the model failed")

    async def consume() -> list[int]:
        seen: list[int] = []
        with pytest.raises(ValueError, match="the model failed"):
            async for _, value in from_thread(work):
                seen.append(value)
        return seen

    assert asyncio.run(consume()) == list(range(50))


@pytest.mark.parametrize("how", ["break", "cancel"])
def test_a_consumer_that_stops_early_unwinds_the_thread(how: str) -> None:
    released = threading.Event()
    lock = threading.Lock()  # stands for the model's generate lock
    caught: list[str] = []

    def work(emit: Emit) -> None:
        with lock:
            try:
                i = 0
                while True:  # a generation that would never end on its own
                    emit("n", i)
                    i += 1
            except Exception as exc:  # a plugin's `except Exception` must not swallow the signal
                caught.append(type(exc).__name__)
                raise
            finally:
                released.set()

    async def consume() -> None:
        stream = from_thread(work)
        if how == "break":
            async for _, value in stream:
                if value == 3:
                    break
            await stream.aclose()  # what `async for` leaves to the generator's owner
        else:
            async def reader() -> None:  # as the runner reads a provider: closed on any early exit
                try:
                    async for _ in stream:
                        await asyncio.sleep(0)
                finally:
                    await stream.aclose()

            task = asyncio.ensure_future(reader())
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        # Returned only after the thread ended: its finally ran and the lock is free.
        assert released.is_set() and not lock.locked()

    asyncio.run(consume())
    assert caught == []
