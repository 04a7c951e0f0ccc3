"""A person talking with models, turn by turn: how the exporters' message lists become turns.

Every exporter (ChatGPT, Claude.ai, Open WebUI, llm's logs, message logs of unknown shape) says the
same thing in its own fields: the person wrote this, a model answered that. :class:`Exchange`
turns that into host and voice turns: each answer's request holds the turn before it (what the
file says it answered), a question names the voice that answered it, the texts are kept for the
coverage check, and the session gets its plan and a key derived from the conversation's content.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from symposia.importers.records import ImportedSession, ImportedTurn, add_flag
from symposia.importers.speakers import Speaker
from symposia.records import Message

__all__ = ["Exchange", "branch", "content_key"]


def content_key(prefix: str, value: Any) -> str:
    """A key for one conversation derived from its content (the same conversation in a later,
    larger export gets the same session id)."""
    raw = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()
    return f"{prefix}:{hashlib.sha256(raw).hexdigest()}"


def branch(nodes: dict[Any, Any], leaf: Any, parent_key: str) -> list[dict[str, Any]]:
    """The messages from the root down to ``leaf``, following ``parent_key`` links up (a conversation
    that was edited or regenerated is a tree; the branch the person last saw is the conversation).
    Stops at a missing or repeated id, or a node that is not an object."""
    path: list[dict[str, Any]] = []
    seen: set[Any] = set()
    node: Any = leaf
    while isinstance(node, str) and node in nodes and node not in seen and isinstance(nodes[node], dict):
        seen.add(node)
        path.append(nodes[node])
        node = nodes[node].get(parent_key)
    return path[::-1]


class Exchange:
    """Builds the turns of one session; :meth:`finish` completes it."""

    def __init__(self, session: ImportedSession, host: str = "You") -> None:
        self.session = session
        self.host = host
        self.prose: list[str] = []
        self.prev: ImportedTurn | None = None
        self.unknown: list[str] = []

    def _add(self, turn: ImportedTurn) -> ImportedTurn:
        self.prose.append(turn.text)
        self.session.turns.append(turn)
        self.prev = turn
        return turn

    def person(self, text: str, at: datetime | None = None, **meta: Any) -> ImportedTurn:
        """The person's message: a host question."""
        return self._add(ImportedTurn(role="host", voice="host", voice_name=self.host, text=text, kind="question",
                                      at=at, meta=dict(meta)))

    def answer(self, sp: Speaker, text: str, at: datetime | None = None, *, model: str | None = None,
               flag_unknown: bool = False, **meta: Any) -> ImportedTurn:
        """A model's (or another speaker's) answer to the turn before it."""
        prev = self.prev
        turn = ImportedTurn(role="voice", voice=sp.voice, voice_name=sp.name, text=text,
                            model=sp.model if model is None else model, at=at,
                            messages=(Message("user", prev.text),) if prev is not None else (),
                            meta={**sp.meta(), **meta})
        if prev is not None and prev.role == "host":
            prev.meta.setdefault("to", sp.voice)
        if flag_unknown and not sp.mapped:
            add_flag(turn, "unknown_speaker")
            if sp.name not in self.unknown:
                self.unknown.append(sp.name)
        return self._add(turn)

    def finish(self, key: str | None = None) -> ImportedSession:
        s = self.session
        s.prose = self.prose
        if key is not None:
            s.source_key = key
        if self.unknown:
            s.meta["unknown_speakers"] = self.unknown
        s.plan = {"kind": s.kind, "voices": list(dict.fromkeys(t.voice for t in s.turns if t.role == "voice")),
                  "host": {"name": self.host, "mode": "human"}}
        return s
