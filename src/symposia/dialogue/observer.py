"""How an orchestrator reports progress: the live view, the web page and tests implement this."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from symposia.catalog import Voice
from symposia.records import ReasoningChunk, Restart, TextChunk, TurnRecord, TurnRequest


class Observer(Protocol):
    def note(self, text: str) -> None:
        """A line of progress ("Round 2 of 3")."""

    def turn_started(self, key: str, voice: Voice, label: str) -> None:
        """A call for step ``key`` begins (or is found already finished in the record)."""

    def event(self, key: str, event: TextChunk | ReasoningChunk | Restart) -> None:
        """A streamed chunk of step ``key``."""

    def turn_finished(self, key: str, turn: TurnRecord) -> None:
        """Step ``key`` ended and is stored."""


@runtime_checkable
class RequestObserver(Protocol):
    """An observer that also wants each request as it is sent (the analysis warm-up embeds what a voice
    is shown while it answers). Orchestrators call it only on observers that have it."""

    def request_ready(self, key: str, request: TurnRequest) -> None:
        """The request for step ``key`` is about to be sent."""


class NullObserver:
    def note(self, text: str) -> None:
        pass

    def turn_started(self, key: str, voice: Voice, label: str) -> None:
        pass

    def event(self, key: str, event: TextChunk | ReasoningChunk | Restart) -> None:
        pass

    def turn_finished(self, key: str, turn: TurnRecord) -> None:
        pass
