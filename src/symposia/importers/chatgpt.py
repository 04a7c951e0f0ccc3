"""ChatGPT's account export (``conversations.json``): a list of conversations, each a ``mapping`` tree.

Each node is ``{"id", "message", "parent", "children"}``; a message has ``author.role`` (``user``,
``assistant``, ``system``, ``tool``), ``content`` (``content_type`` ``text`` with ``parts``, or
other types), ``create_time`` (epoch seconds) and ``metadata.model_slug``. A conversation that was
edited or regenerated branches; ``current_node`` is the leaf the person last saw, and that branch
(followed up through ``parent`` links) is what is imported. Each answer keeps the model slug it
was written by. Hidden system messages, tool calls and empty parts are not turns; the number of
messages on other branches is kept in meta (``branches_not_followed``).
"""

from __future__ import annotations

from typing import Any

from symposia.importers.dates import parse_epoch
from symposia.importers.exchange import Exchange, branch, content_key
from symposia.importers.records import NO_DATE, ImportedSession, ImportError_
from symposia.importers.speakers import VoiceMapper

__all__ = ["detect_json", "parse_json"]


def _conversations(data: Any) -> list[dict[str, Any]] | None:
    if isinstance(data, dict) and isinstance(data.get("mapping"), dict):
        return [data]
    if isinstance(data, list) and data and all(isinstance(c, dict) and isinstance(c.get("mapping"), dict)
                                               for c in data):
        return data
    return None


def detect_json(data: Any) -> bool:
    return _conversations(data) is not None


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if not isinstance(content, dict):
        return str(content) if isinstance(content, str) else ""
    if content.get("content_type") not in (None, "text", "multimodal_text", "code"):
        return ""
    parts = content.get("parts")
    if isinstance(parts, list):
        return "\n\n".join(p for p in parts if isinstance(p, str) and p)
    text = content.get("text")
    return text if isinstance(text, str) else ""


def _branch(conv: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """The nodes from the root down to ``current_node`` (or the newest leaf when it is missing)."""
    mapping: dict[str, Any] = conv["mapping"]
    leaf = conv.get("current_node")
    if not isinstance(leaf, str) or leaf not in mapping:
        leaves = [k for k, n in mapping.items() if isinstance(n, dict) and not n.get("children")]
        if not leaves:
            raise ImportError_(f"{where}: a mapping tree without a leaf")

        def stamp(k: str) -> float:
            msg = mapping[k].get("message") or {}
            t = msg.get("create_time") if isinstance(msg, dict) else None
            return float(t) if isinstance(t, int | float) else 0.0

        leaf = max(leaves, key=stamp)
    return branch(mapping, leaf, "parent")


def _one(conv: dict[str, Any], index: int, mapper: VoiceMapper) -> ImportedSession:
    where = f"conversation {index + 1}"
    title = str(conv.get("title") or f"ChatGPT conversation {index + 1}")
    when = parse_epoch(conv.get("create_time"))
    session = ImportedSession(format="chatgpt", kind="chat", title=title, created_at=when or NO_DATE,
                              meta={"date_source": "create_time" if when else "unknown"})
    conv_id = conv.get("conversation_id") or conv.get("id")
    if isinstance(conv_id, str):
        session.meta["conversation_id"] = conv_id
    path = _branch(conv, where)
    on_branch = sum(1 for n in path if n.get("message"))
    total = sum(1 for n in conv["mapping"].values() if isinstance(n, dict) and n.get("message"))
    if total > on_branch:
        session.meta["branches_not_followed"] = total - on_branch
    talk = Exchange(session)
    default_model = str(conv.get("default_model_slug") or "")
    for node in path:
        msg = node.get("message")
        if not isinstance(msg, dict):
            continue
        author: dict[str, Any] = msg["author"] if isinstance(msg.get("author"), dict) else {}
        role = str(author.get("role") or "")
        text = _text(msg)
        hidden = (msg.get("metadata") or {}).get("is_visually_hidden_from_conversation") if isinstance(
            msg.get("metadata"), dict) else False
        if role not in ("user", "assistant") or not text.strip() or hidden:
            continue
        at = parse_epoch(msg.get("create_time"))
        if role == "user":
            talk.person(text, at)
            continue
        meta: dict[str, Any] = msg["metadata"] if isinstance(msg.get("metadata"), dict) else {}
        slug = str(meta.get("model_slug") or default_model)
        if slug:
            talk.answer(mapper.resolve("", slug), text, at, model=slug, model_slug=slug)
        else:
            talk.answer(mapper.resolve("ChatGPT"), text, at)
    return talk.finish(content_key("chatgpt", conv))


def parse_json(data: Any, *, filename: str, mapper: VoiceMapper) -> list[ImportedSession]:
    convs = _conversations(data) or []
    return [_one(c, i, mapper) for i, c in enumerate(convs)]
