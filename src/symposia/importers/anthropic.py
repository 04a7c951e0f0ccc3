"""Anthropic's account export of Claude.ai (``conversations.json``): a list of conversations.

Each is ``{"uuid", "name", "created_at", "updated_at", "chat_messages": [...]}``; a message is
``{"uuid", "sender": "human" | "assistant", "text", "content": [{"type": "text", "text"}, ...],
"created_at", "attachments", "files"}`` (newer exports add ``parent_message_uuid`` and the
conversation's ``current_leaf_message_uuid``: then the branch ending there is imported). The
export names no model, so answers are Claude's (a ``model`` field, where an exporter adds one,
is used). The person is the host.
"""

from __future__ import annotations

from typing import Any

from symposia.importers.dates import parse_date
from symposia.importers.exchange import Exchange, branch, content_key
from symposia.importers.records import NO_DATE, ImportedSession
from symposia.importers.speakers import VoiceMapper

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
    return branch(by_id, leaf, "parent_message_uuid")


def _one(conv: dict[str, Any], index: int, mapper: VoiceMapper) -> ImportedSession:
    when = parse_date(conv.get("created_at"))
    session = ImportedSession(format="anthropic", kind="chat",
                              title=str(conv.get("name") or f"Claude conversation {index + 1}"),
                              created_at=when or NO_DATE, meta={"date_source": "created_at" if when else "unknown"})
    if isinstance(conv.get("uuid"), str):
        session.meta["conversation_id"] = conv["uuid"]
    model = str(conv.get("model") or "")
    claude = mapper.resolve("Claude", model)
    talk = Exchange(session)
    path = _branch(conv)
    if len(path) < len(conv["chat_messages"]):
        session.meta["branches_not_followed"] = len(conv["chat_messages"]) - len(path)
    for msg in path:
        text = _text(msg)
        sender = str(msg.get("sender") or "")
        if sender not in ("human", "assistant") or not text.strip():
            continue
        at = parse_date(msg.get("created_at"))
        if sender == "human":
            talk.person(text, at, to=claude.voice)
        else:
            talk.answer(claude, text, at, model=model)
    session = talk.finish(content_key("anthropic", conv))
    session.plan["voices"] = [claude.voice]
    return session


def parse_json(data: Any, *, filename: str, mapper: VoiceMapper) -> list[ImportedSession]:
    return [_one(c, i, mapper) for i, c in enumerate(_conversations(data) or [])]
