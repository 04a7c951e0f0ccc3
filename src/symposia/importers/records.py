"""The parsed form of an imported file: an :class:`ImportedSession` of :class:`ImportedTurn` s.

Parsers turn text into these (pure data, no I/O) so they can be tested with exact expected output;
:mod:`symposia.importers.pipeline` validates and stores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from symposia.errors import ImportError_, NotADialogue
from symposia.records import ErrorInfo, Message, TurnRecord, Usage

__all__ = [
    "NO_DATE",
    "ImportError_",
    "ImportedSession",
    "ImportedTurn",
    "NotADialogue",
    "TurnRole",
    "HISTORY_LIMIT",
    "add_flag",
    "history_window",
    "messages_of",
]

# How much history an imported turn's request keeps: the first message (the topic, the opening
# question) and the latest ones. Whole histories would make a long transcript quadratic to read
# and to store (every turn repeating all before it); a turn that lost some says how many.
HISTORY_LIMIT = 64

TurnRole = Literal["voice", "host", "chair"]
# Placeholder date of a parse that found none; the importer replaces it (file time) and flags it.
NO_DATE = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class ImportedTurn:
    """One contribution as the file tells it: a voice's answer, or a host's question/observation/table."""

    role: TurnRole
    voice: str  # catalog shortcut, a slug for an unknown model, or "host"
    voice_name: str
    text: str
    kind: str | None = None  # host turns: "question", "observation", "context", "formulations", ...
    messages: tuple[Message, ...] = ()  # what the voice was shown, as far as the file tells
    system: str | None = None
    model: str = ""  # model id the file names, "" when it names none
    usage: Usage = field(default_factory=Usage)
    error: ErrorInfo | None = None
    at: datetime | None = None  # when, if the file says more precisely than the session date
    latency_s: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)  # import flags: problems seen in the file
    record: TurnRecord | None = None  # our own export: the stored turn, kept whole


@dataclass
class ImportedSession:
    """A whole file, parsed: a session header plus its turns in order.

    ``formulations`` host turns carry ``meta["rows"]`` with ``turn_index`` (the index in ``turns`` of
    the answer the quote was found in, or None); storing replaces it with the archive's ``turn_id``.
    """

    format: str  # "single", "council", "chat", "arena", "symposium", "heteronyms", "reception", "native"
    kind: str  # the original kind: "ask", "council", "chat", "arena", "symposium", ...
    title: str
    created_at: datetime
    turns: list[ImportedTurn] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    session_id: str | None = None  # set only when the file carries its own id (our JSON export)
    # One conversation of a file that holds several (an account export): a key derived from its own
    # content, so the same conversation in a later, larger export gets the same session id.
    source_key: str | None = None
    # For structured sources (JSON, SQLite): the texts the file says were said, in the part of it
    # this session covers; the coverage check measures them. None for text files (the text is used).
    prose: list[str] | None = None

    def all_flags(self) -> list[str]:
        """Session flags plus every turn's flags, each once, in order of appearance."""
        out = list(self.flags)
        for t in self.turns:
            out += t.flags
        return list(dict.fromkeys(out))

    def flag(self, name: str) -> None:
        if name not in self.flags:
            self.flags.append(name)


def add_flag(turn: ImportedTurn, name: str) -> None:
    if name not in turn.flags:
        turn.flags.append(name)


def messages_of(*pairs: tuple[str, str]) -> tuple[Message, ...]:
    """Messages from (role, text) pairs, dropping empty texts."""
    out: list[Message] = []
    for role, text in pairs:
        if text.strip():
            out.append(Message(role="system" if role == "system" else
                               "assistant" if role == "assistant" else "user", content=text))
    return tuple(out)


def history_window(history: list[Message], limit: int = HISTORY_LIMIT) -> tuple[tuple[Message, ...], int]:
    """What a turn's request keeps of the history before it, and how many messages were left out."""
    if len(history) <= limit:
        return tuple(history), 0
    return (history[0], *history[len(history) - limit + 1:]), len(history) - limit
