"""Moltbook API JSON: a post with its comment tree, as ``GET /api/v1/posts/{id}`` returns it.

``{"success": true, "post": {"id", "title", "content", "author": {"name"}, "submolt": {"name"},
"created_at", ...}, "comments": [{"id", "content", "author": {"name"}, "parent_id", "created_at",
"replies": [...]}]}`` (the comments may also sit in ``post.comments``, nested in ``replies`` or flat
with ``parent_id``). A thread becomes one session; every agent is a speaker (mapped to a catalog
voice when its name is one, else kept under its own name); the post is the first turn. Each
turn keeps ``meta["parent"]`` (the index of the turn it answers) and ``meta["moltbook_parent_id"]``,
so later analysis knows what each agent was shown: the chain from the post down to its parent,
which is also the turn's request messages.
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

_MAX_DEPTH = 200


def _post(data: Any) -> tuple[dict[str, Any], list[Any]] | None:
    """The post and its comments, in any of the wrappers the API uses (``{"success", "post"}``,
    ``{"data": post}``, ``{"data": {"post"}}``, the bare post with ``comments``)."""
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        inner = data["data"]
        data = inner if "post" in inner else {"post": inner, "comments": inner.get("comments")}
    if not isinstance(data, dict):
        return None
    post = data.get("post")
    if post is None and isinstance(data.get("comments"), list) and "author" in data and "content" in data:
        post = data
    if isinstance(post, dict) and ("content" in post or "title" in post) and isinstance(post.get("author"), dict | str):
        comments: Any = data.get("comments")
        if not isinstance(comments, list):
            comments = post.get("comments") if isinstance(post.get("comments"), list) else []
        return post, list(comments)
    return None


def detect_json(data: Any) -> bool:
    return _post(data) is not None


def _author(obj: dict[str, Any]) -> str:
    a = obj.get("author")
    if isinstance(a, dict):
        return str(a.get("name") or a.get("username") or a.get("displayName") or "unknown agent")
    return str(a or obj.get("author_name") or "unknown agent")


def _flatten(comments: list[Any]) -> list[tuple[dict[str, Any], Any]]:
    """Comments in thread order (depth first, as shown), each with the id of what it replies to."""
    out: list[tuple[dict[str, Any], Any]] = []
    stack: list[tuple[dict[str, Any], Any, int]] = [(c, c.get("parent_id"), 0) for c in reversed(comments)
                                                    if isinstance(c, dict)]
    while stack:
        c, parent, depth = stack.pop()
        out.append((c, c.get("parent_id", parent)))
        replies = c.get("replies")
        if isinstance(replies, list) and depth < _MAX_DEPTH:
            stack += [(r, c.get("id"), depth + 1) for r in reversed(replies) if isinstance(r, dict)]
    return out


def parse_json(data: Any, *, filename: str, mapper: VoiceMapper) -> list[ImportedSession]:
    found = _post(data)
    assert found is not None
    post, comments = found
    when = parse_date(post.get("created_at"))
    submolt = post.get("submolt")
    session = ImportedSession(format="moltbook", kind="thread", title=str(post.get("title") or "Moltbook thread"),
                              created_at=when or NO_DATE, meta={"date_source": "created_at" if when else "unknown"})
    if post.get("id") is not None:
        session.meta["post_id"] = str(post["id"])
    if isinstance(submolt, dict) and submolt.get("name"):
        session.meta["submolt"] = str(submolt["name"])
    elif isinstance(submolt, str):
        session.meta["submolt"] = submolt
    index_of: dict[str, int] = {}
    prose: list[str] = []

    def add(obj: dict[str, Any], parent: int | None, parent_id: Any) -> None:
        title = str(obj.get("title") or "") if parent is None and obj is post else ""
        content = str(obj.get("content") or "")
        text = f"{title}\n\n{content}".strip() if title else content
        prose.append(text)
        name = _author(obj)
        sp = mapper.resolve(name)
        chain: list[Message] = []
        p = parent
        while p is not None:  # what this agent was shown: the thread down to what it replies to
            chain.append(Message("user", session.turns[p].text))
            p = session.turns[p].meta.get("parent")
        meta: dict[str, Any] = {**sp.meta(), "agent": name, "parent": parent}
        if parent_id is not None:
            meta["moltbook_parent_id"] = str(parent_id)
        if obj.get("id") is not None:
            meta["moltbook_id"] = str(obj["id"])
        for key in ("upvotes", "downvotes", "score"):
            if isinstance(obj.get(key), int):
                meta[key] = obj[key]
        turn = ImportedTurn(role="voice", voice=sp.voice, voice_name=sp.name if sp.mapped else name, text=text,
                            at=parse_date(obj.get("created_at")), messages=tuple(reversed(chain)), meta=meta,
                            kind="post" if parent is None else "comment")
        if obj.get("id") is not None:
            index_of[str(obj["id"])] = len(session.turns)
        session.turns.append(turn)

    add(post, None, None)
    thread = _flatten(comments)
    stamps = [parse_date(c.get("created_at")) for c, _ in thread]
    if all(s is not None for s in stamps):  # in the order the agents wrote (parents always come first)
        order = sorted(range(len(thread)), key=lambda i: stamps[i])  # type: ignore[arg-type,return-value]
        thread = [thread[i] for i in order]
    for c, parent_id in thread:
        parent = index_of.get(str(parent_id)) if parent_id is not None else 0
        add(c, 0 if parent is None else parent, parent_id)
    session.prose = prose
    session.source_key = "moltbook:" + hashlib.sha256(
        json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
    session.plan = {"kind": "thread", "voices": list(dict.fromkeys(t.voice for t in session.turns))}
    return [session]
