"""JSON of a shape nobody told us about: a list of messages with role/content-like fields.

Reception logs and home-made scripts write ``[{"role": "user", "content": "..."}, ...]`` or
``{"messages": [{"speaker": "Claude", "text": "..."}]}`` and many variants. The first list of
objects (breadth first, bounded depth) whose items have a speaker-like field (``role``,
``sender``, ``speaker``, ``author``, ``from``, ``name``, ``user``) and a text-like field
(``content``, ``text``, ``message``, ``body``, ``response``, ``value``) is imported; the fields
used are reported. Speakers are mapped like any name (user/human/you are the host); a ``model``
field names the model. Otherwise the file is refused with the keys it holds.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from symposia.importers.dates import parse_date
from symposia.importers.exchange import Exchange
from symposia.importers.labelled import HOST_WORDS
from symposia.importers.records import NO_DATE, ImportedSession, ImportError_
from symposia.importers.speakers import VoiceMapper

__all__ = ["find_messages", "parse_json"]

SPEAKER_KEYS = ("role", "sender", "speaker", "author", "from", "name", "user", "participant")
TEXT_KEYS = ("content", "text", "message", "body", "response", "value", "utterance")
TIME_KEYS = ("timestamp", "created_at", "time", "date", "datetime", "created")
_MAX_DEPTH = 8
_HOST_ROLES = HOST_WORDS | {"prompt", "question", "human_user"}
_SKIP_ROLES = frozenset(("system", "tool", "function"))


def _speaker(item: dict[str, Any], key: str) -> str:
    v = item.get(key)
    if isinstance(v, dict):
        v = v.get("name") or v.get("role") or v.get("username")
    return str(v) if v is not None else ""


def _text(item: dict[str, Any], key: str) -> str | None:
    v = item.get(key)
    if isinstance(v, str):
        return v
    if isinstance(v, list):  # content blocks: [{"type": "text", "text": ...}] or a list of strings
        parts = [p if isinstance(p, str) else p.get("text") for p in v if isinstance(p, str | dict)]
        texts = [p for p in parts if isinstance(p, str)]
        return "\n\n".join(texts) if texts else None
    if isinstance(v, dict):
        inner = v.get("text") if v.get("text") is not None else v.get("parts")
        if isinstance(inner, str):
            return inner
        if isinstance(inner, list):
            return "\n\n".join(p for p in inner if isinstance(p, str))
    return None


def _fields(items: list[Any]) -> tuple[str, str] | None:
    """The (speaker field, text field) most items of a list have, if any."""
    dicts = [i for i in items if isinstance(i, dict)]
    if len(dicts) < 2 or len(dicts) < len(items) * 0.8:
        return None
    for sk in SPEAKER_KEYS:
        for tk in TEXT_KEYS:
            if sk == tk:
                continue
            hits = sum(1 for d in dicts if _speaker(d, sk) and _text(d, tk) is not None)
            if hits >= max(2, int(len(dicts) * 0.8)):
                return sk, tk
    return None


def find_messages(data: Any) -> tuple[str, list[dict[str, Any]], str, str] | None:
    """(JSON path, the items, speaker field, text field) of the first message-like list, breadth first."""
    queue: deque[tuple[Any, str, int]] = deque([(data, "$", 0)])
    while queue:
        value, path, depth = queue.popleft()
        if isinstance(value, list):
            f = _fields(value)
            if f is not None:
                return path, [v for v in value if isinstance(v, dict)], f[0], f[1]
            if depth < _MAX_DEPTH:
                queue.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value[:50]))
        elif isinstance(value, dict) and depth < _MAX_DEPTH:
            queue.extend((v, f"{path}.{k}", depth + 1) for k, v in value.items() if isinstance(v, dict | list))
    return None


def parse_json(data: Any, *, filename: str, mapper: VoiceMapper) -> ImportedSession:
    found = find_messages(data)
    if found is None:
        keys = sorted(data.keys())[:12] if isinstance(data, dict) else []
        what = f"keys seen: {', '.join(map(str, keys))}" if keys else f"a JSON {type(data).__name__}"
        raise ImportError_(f"JSON of an unknown shape: no list of messages with role/content-like fields ({what}; "
                           "shapes in docs/FORMATS.md)")
    path, items, sk, tk = found
    title = str(data.get("title") or data.get("name") or filename) if isinstance(data, dict) else filename
    when = None
    if isinstance(data, dict):
        when = next((d for k in TIME_KEYS if (d := parse_date(data.get(k))) is not None), None)
    session = ImportedSession(format="roles", kind="chat", title=title, created_at=when or NO_DATE,
                              meta={"date_source": "json" if when else "unknown",
                                    "fields_used": {"messages": path, "speaker": sk, "text": tk}})
    model_key = next((k for k in ("model", "model_id", "model_name") if any(k in d for d in items)), None)
    if model_key:
        session.meta["fields_used"]["model"] = model_key
    talk = Exchange(session, host="Host")
    for item in items:
        who = _speaker(item, sk)
        text = _text(item, tk)
        if text is None or not who or who.casefold() in _SKIP_ROLES:
            continue
        at = next((d for k in TIME_KEYS if (d := parse_date(item.get(k))) is not None), None)
        if who.casefold() in _HOST_ROLES:
            talk.person(text, at)
            continue
        model = str(item.get(model_key) or "") if model_key else ""
        generic = who.casefold() in ("assistant", "model", "ai", "bot")
        sp = mapper.resolve("Assistant") if generic and not model else mapper.resolve("" if generic else who, model)
        talk.answer(sp, text, at, flag_unknown=True)
    return talk.finish()
