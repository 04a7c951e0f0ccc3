"""Open WebUI's chat export (JSON): a list of ``{"id", "title", "chat": {...}, "created_at", ...}``.

``chat`` holds ``models`` (the model ids the chat used), ``history: {"messages": {id: message},
"currentId"}`` and, in older exports, a flat ``messages`` list. A message is ``{"id", "parentId",
"childrenIds", "role": "user" | "assistant" | "system", "content", "timestamp", "model"}``. The
branch ending at ``currentId`` (followed up through ``parentId``) is imported; each answer keeps
the model that wrote it. Times are epoch seconds.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from symposia.importers.dates import parse_epoch
from symposia.importers.records import NO_DATE, ImportedSession, ImportedTurn
from symposia.importers.speakers import VoiceMapper
from symposia.records import Message

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
        path: list[dict[str, Any]] = []
        seen: set[str] = set()
        node: Any = current
        while isinstance(node, str) and node in messages and node not in seen:
            seen.add(node)
            msg = messages[node]
            if not isinstance(msg, dict):
                break
            path.append(msg)
            node = msg.get("parentId")
        return path[::-1]
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
    prose: list[str] = []
    prev: ImportedTurn | None = None
    for msg in path:
        role = str(msg.get("role") or "")
        content = msg.get("content")
        text = content if isinstance(content, str) else ""
        if role not in ("user", "assistant") or not text.strip():
            continue
        prose.append(text)
        at = parse_epoch(msg.get("timestamp"))
        if role == "user":
            turn = ImportedTurn(role="host", voice="host", voice_name="You", text=text, kind="question", at=at)
        else:
            model = str(msg.get("model") or (models[0] if models else ""))
            sp = mapper.resolve(str(msg.get("modelName") or ""), model)
            turn = ImportedTurn(role="voice", voice=sp.voice, voice_name=sp.name, text=text, model=model, at=at,
                                messages=(Message("user", prev.text),) if prev is not None else (), meta=sp.meta())
            if prev is not None and prev.role == "host":
                prev.meta.setdefault("to", sp.voice)
        session.turns.append(turn)
        prev = turn
    session.prose = prose
    session.source_key = "openwebui:" + hashlib.sha256(
        json.dumps(item, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
    voices = list(dict.fromkeys(t.voice for t in session.turns if t.role == "voice"))
    session.plan = {"kind": "chat", "voices": voices, "host": {"name": "You", "mode": "human"}}
    return session


def parse_json(data: Any, *, filename: str, mapper: VoiceMapper) -> list[ImportedSession]:
    return [_one(c, i, mapper) for i, c in enumerate(_chats(data) or [])]
