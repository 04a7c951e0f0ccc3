"""The Python API: every CLI verb as a method, usable from a script or a notebook.

    >>> from symposia import Symposia
    >>> with Symposia() as s:
    ...     turn = s.ask("local", "What is play?")
    ...     print(turn.result.text)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from symposia.archive import Archive
from symposia.catalog import Catalog, Preset, Voice, load_catalog
from symposia.catalog.status import VoiceStatus, all_statuses
from symposia.dialogue.runtime import OnEvent, Runtime
from symposia.records import Message, Params, TurnRecord

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, also from inside a running loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class Symposia:
    """A catalog, an archive and the providers behind them."""

    def __init__(self, archive: str | Path | None = None, *, config: Path | None = None,
                 catalog: Catalog | None = None) -> None:
        self.catalog = catalog if catalog is not None else load_catalog(config)
        self.archive = Archive.open(archive)
        self.runtime = Runtime(self.catalog, self.archive)

    def __enter__(self) -> Symposia:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        run_sync(self.runtime.aclose())
        self.archive.close()

    # -- voices -------------------------------------------------------------------------------
    def voice(self, name: str) -> Voice:
        return self.catalog.voice(name)

    def voices(self) -> list[VoiceStatus]:
        return all_statuses(self.catalog)

    def presets(self) -> list[Preset]:
        return list(self.catalog.presets.values())

    # -- ask ----------------------------------------------------------------------------------
    async def ask_async(self, voice: str, question: str, *, system: str | None = None,
                        temperature: float | None = None, max_tokens: int | None = None,
                        on_event: OnEvent | None = None) -> TurnRecord:
        """Put one question to one voice; the turn is stored in a new ``ask`` session."""
        v = self.catalog.voice(voice)
        request = self.runtime.request_for(
            v, [Message("user", question)], system=system,
            params=Params(temperature=temperature, max_tokens=max_tokens),
        )
        title = " ".join(question.split())[:80]
        session = self.runtime.start_session("ask", title, meta={"voices": [v.shortcut]})
        turn = await self.runtime.call(session.id, v, request, step_key="ask", on_event=on_event)
        self.archive.set_session_status(session.id, "complete" if turn.result.ok else "failed")
        return turn

    def ask(self, voice: str, question: str, **kwargs: Any) -> TurnRecord:
        return run_sync(self.ask_async(voice, question, **kwargs))

    # -- the record ---------------------------------------------------------------------------
    def log(self, n: int = 10, voice: str | None = None) -> list[TurnRecord]:
        return self.archive.recent_turns(n, voice=self.catalog.voice(voice).shortcut if voice else None)

    def show(self, turn_id: int) -> TurnRecord:
        return self.archive.get_turn(turn_id)
