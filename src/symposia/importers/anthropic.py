"""Anthropic's account export of Claude.ai (``conversations.json``): a list of conversations.

Each is ``{"uuid", "name", "created_at", "updated_at", "chat_messages": [...]}``; a message is
``{"uuid", "sender": "human" | "assistant", "text", "content": [{"type": "text", "text"}, ...],
"created_at", "attachments", "files"}`` (newer exports add ``parent_message_uuid`` and the
conversation's ``current_leaf_message_uuid``: then the branch ending there is imported). The
export names no model, so answers are Claude's (a ``model`` field, where an exporter adds one,
is used). The person is the host.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from symposia.importers.dates import parse_date
from symposia.importers.records import NO_DATE, ImportedSession, ImportedTurn
from symposia.importers.speakers import VoiceMapper
from symposia.records import Message

__all__ = ["detect_json", "parse_json"]


def _conversations(data: Any) -> list[dict[str, Any]] | None:
    if isinstance(data, dict) and isinstance(data.get("chat_messages"), list):
        return [data]
    if isinstance(data, dict) and isinstance(data.get("conversations"), list):
        data = data["conversations"]
    if isinstance(data, list) and data and all(isinstance(c, dict) and isinstance(c.get("chat_messages"), list)
                                               for c in data):
        return data
    return None


def detect_json(data: Any) -> bool:
    return _conversations(data) is not None


def _text(msg: dict[str, Any]) -> str:
    blocks = msg.get("content")
    if isinstance(blocks, list):
        texts = [b["text"] for b in blocks if isinstance(b, dict) and b.get("type") == "text"
                 and isinstance(b.get("text"), str)]
        if texts:
            return "\n\n".join(texts)
    text = msg.get("text")
    return text if isinstance(text, str) else ""


def _branch(conv: dict[str, Any]) -> list[dict[str, Any]]:
    msgs = [m for m in conv["chat_messages"] if isinstance(m, dict)]
    leaf = conv.get("current_leaf_message_uuid")
    by_id = {m.get("uuid"): m for m in msgs}
    if not isinstance(leaf, str) or leaf not in by_id or not any("parent_message_uuid" in m for m in msgs):
        return msgs
    path: list[dict[str, Any]] = []
    seen: set[str] = set()
    node: Any = leaf
    while isinstance(node, str) and node in by_id and node not in seen:
        seen.add(node)
        path.append(by_id[node])
        node = by_id[node].get("parent_message_uuid")
    return path[::-1]


def _one(conv: dict[str, Any], index: int, mapper: VoiceMapper) -> ImportedSession:
    when = parse_date(conv.get("created_at"))
    session = ImportedSession(format="anthropic", kind="chat",
                              title=str(conv.get("name") or f"Claude conversation {index + 1}"),
                              created_at=when or NO_DATE, meta={"date_source": "created_at" if when else "unknown"})
    if isinstance(conv.get("uuid"), str):
        session.meta["conversation_id"] = conv["uuid"]
    model = str(conv.get("model") or "")
    claude = mapper.resolve("Claude", model)
    prose: list[str] = []
    prev: ImportedTurn | None = None
    path = _branch(conv)
    if len(path) < len(conv["chat_messages"]):
        session.meta["branches_not_followed"] = len(conv["chat_messages"]) - len(path)
    for msg in path:
        text = _text(msg)
        sender = str(msg.get("sender") or "")
        if sender not in ("human", "assistant") or not text.strip():
            continue
        prose.append(text)
        at = parse_date(msg.get("created_at"))
        if sender == "human":
            turn = ImportedTurn(role="host", voice="host", voice_name="You", text=text, kind="question", at=at,
                                meta={"to": claude.voice})
        else:
            turn = ImportedTurn(role="voice", voice=claude.voice, voice_name=claude.name, text=text, model=model,
                                at=at, messages=(Message("user", prev.text),) if prev is not None else (),
                                meta=claude.meta())
        session.turns.append(turn)
        prev = turn
    session.prose = prose
    session.source_key = "anthropic:" + hashlib.sha256(
        json.dumps(conv, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
    session.plan = {"kind": "chat", "voices": [claude.voice], "host": {"name": "You", "mode": "human"}}
    return session


def parse_json(data: Any, *, filename: str, mapper: VoiceMapper) -> list[ImportedSession]:
    return [_one(c, i, mapper) for i, c in enumerate(_conversations(data) or [])]
