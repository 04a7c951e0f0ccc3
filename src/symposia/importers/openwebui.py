"""Open WebUI's chat export (JSON): a list of ``{"id", "title", "chat": {...}, "created_at", ...}``.

``chat`` holds ``models`` (the model ids the chat used), ``history: {"messages": {id: message},
"currentId"}`` and, in older exports, a flat ``messages`` list. A message is ``{"id", "parentId",
"childrenIds", "role": "user" | "assistant" | "system", "content", "timestamp", "model"}``. The
branch ending at ``currentId`` (followed up through ``parentId``) is imported; each answer keeps
the model that wrote it. Times are epoch seconds.
"""

from __future__ import annotations

from typing import Any

from symposia.importers.dates import parse_epoch
from symposia.importers.exchange import Exchange, branch, content_key
from symposia.importers.records import NO_DATE, ImportedSession
from symposia.importers.speakers import VoiceMapper

__all__ = ["detect_json", "parse_json"]


def _is_chat(c: Any) -> bool:
    return isinstance(c, dict) and isinstance(c.get("chat"), dict) and (
        isinstance(c["chat"].get("history"), dict) or isinstance(c["chat"].get("messages"), list))


def _chats(data: Any) -> list[dict[str, Any]] | None:
    if _is_chat(data):
        return [data]
    if isinstance(data, list) and data and all(_is_chat(c) for c in data):
        return data
    return None


def detect_json(data: Any) -> bool:
    return _chats(data) is not None


def _branch(chat: dict[str, Any]) -> list[dict[str, Any]]:
    history: dict[str, Any] = chat["history"] if isinstance(chat.get("history"), dict) else {}
    messages: dict[str, Any] = history["messages"] if isinstance(history.get("messages"), dict) else {}
    current = history.get("currentId")
    if messages and isinstance(current, str) and current in messages:
        return branch(messages, current, "parentId")
    flat = chat.get("messages")
    return [m for m in flat if isinstance(m, dict)] if isinstance(flat, list) else []


def _one(item: dict[str, Any], index: int, mapper: VoiceMapper) -> ImportedSession:
    chat = item["chat"]
    when = parse_epoch(item.get("created_at")) or parse_epoch(chat.get("timestamp"))
    title = str(item.get("title") or chat.get("title") or f"Open WebUI chat {index + 1}")
    session = ImportedSession(format="openwebui", kind="chat", title=title, created_at=when or NO_DATE,
                              meta={"date_source": "created_at" if when else "unknown"})
    if isinstance(item.get("id"), str):
        session.meta["chat_id"] = item["id"]
    models = [str(m) for m in chat.get("models") or [] if isinstance(m, str)]
    path = _branch(chat)
    total = len(chat["history"]["messages"]) if isinstance(chat.get("history"), dict) and isinstance(
        chat["history"].get("messages"), dict) else len(path)
    if total > len(path):
        session.meta["branches_not_followed"] = total - len(path)
    talk = Exchange(session)
    for msg in path:
        role = str(msg.get("role") or "")
        content = msg.get("content")
        text = content if isinstance(content, str) else ""
        if role not in ("user", "assistant") or not text.strip():
            continue
        at = parse_epoch(msg.get("timestamp"))
        if role == "user":
            talk.person(text, at)
            continue
        model = str(msg.get("model") or (models[0] if models else ""))
        talk.answer(mapper.resolve(str(msg.get("modelName") or ""), model), text, at, model=model)
    return talk.finish(content_key("openwebui", item))


def parse_json(data: Any, *, filename: str, mapper: VoiceMapper) -> list[ImportedSession]:
    return [_one(c, i, mapper) for i, c in enumerate(_chats(data) or [])]
