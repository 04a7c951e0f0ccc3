"""Format D: two voices talking (``# LLM Arena: A vs B``, ``## Turn k — name (A)``), and its JSON twin
(``{"timestamp", "metadata": {...}, "transcript": [{turn, speaker, model, content, usage, error}]}``).

Each voice saw the topic, then the other side's words as user messages and its own as assistant
messages. The JSON's heuristics and LLM analysis are kept in the session's meta.
"""

from __future__ import annotations

import re
from typing import Any

from symposia.importers.chat import _usage
from symposia.importers.dates import FoundDate, find_date, parse_date_precise
from symposia.importers.markdown import code_or_text, fields, sections_at, strip_md, strip_rules, title_and_head
from symposia.importers.records import NO_DATE, ImportedSession, ImportedTurn, ImportError_, add_flag, history_window
from symposia.importers.speakers import Speaker, VoiceMapper
from symposia.records import ErrorInfo, Message, Role

# The headings this shape writes: turns, and the analysis sections after them. Any other heading
# is part of the answer it sits in.
_OWN_HEADING = re.compile(r"^##\s+(?:Turn\s+\d+\s*[—–-]|(?:LLM\s+)?(?:Analysis|Heuristics|Summary|Verdict|Scores?|"
                          r"Statistics|Metrics|Notes)\b)", re.IGNORECASE)


def detect(body: str) -> bool:
    return bool(re.search(r"^#\s+LLM Arena\b", body, re.MULTILINE))


def detect_json(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("transcript"), list) and isinstance(
        data.get("metadata"), dict)


class _Histories:
    """What each side has seen so far: the topic, the other side's words as user messages and its
    own as assistant messages (consecutive ones of one role merged), built as the turns come."""

    def __init__(self, topic: str) -> None:
        self.seen: dict[str, list[Message]] = {}
        self.topic = topic

    def of(self, side: str) -> list[Message]:
        return self.seen.setdefault(side, [Message("user", self.topic)] if self.topic else [])

    def said(self, who: str, text: str) -> None:
        for side in {*self.seen, who}:
            out = self.of(side)
            role: Role = "assistant" if who == side else "user"
            if out and out[-1].role == role:  # keep roles alternating, as the arena sent them
                out[-1] = Message(role, out[-1].content + "\n\n" + text)
            else:
                out.append(Message(role, text))


def _turns(session: ImportedSession, items: list[tuple[int, str, str, dict[str, Any]]],
           sides: dict[str, Speaker], topic: str) -> None:
    seen = _Histories(topic)
    for side in sides:
        seen.of(side)
    for k, side, text, extra in items:
        sp = sides.get(side)
        if sp is None:
            raise ImportError_(f"turn {k} is by side {side!r}, which the file does not name")
        turn = ImportedTurn(role="voice", voice=sp.voice, voice_name=sp.name, text=text, model=sp.model,
                            messages=(), usage=extra.get("usage") or _usage(None),
                            meta={"arena_turn": k, "side": side.lower(), **sp.meta()})
        if extra.get("error"):
            turn.error = ErrorInfo(kind="error", message=str(extra["error"]))
            turn.text = ""
            add_flag(turn, "failed")
        elif not text.strip():
            add_flag(turn, "empty")
            if turn.usage.completion_tokens == 0:
                add_flag(turn, "zero_completion_tokens")
        session.turns.append(turn)
        turn.messages, dropped = history_window(seen.of(side))
        if dropped:
            turn.meta["history_left_out"] = dropped
        if turn.error is None:
            seen.said(side, text)


def parse(body: str, *, filename: str, mapper: VoiceMapper, front: dict[str, Any]) -> ImportedSession:
    title, head = title_and_head(body)
    f = fields("\n".join(head))
    found = find_date(front, head[1:], body, filename)
    sides: dict[str, Speaker] = {}
    for side in ("A", "B"):
        value = f.get(f"Model {side}", "")
        nick = re.search(r"\(([^)]+)\)\s*$", value)
        sides[side] = mapper.resolve(nick.group(1) if nick else "", code_or_text(value))
    topic = f.get("Topic", "")
    mode = f.get("Mode", "free")
    session = ImportedSession(format="arena", kind="arena", title=title or "Arena", created_at=found.when or NO_DATE,
                              meta={**found.meta(), "mode": mode})
    items: list[tuple[int, str, str, dict[str, Any]]] = []
    notes: list[str] = []
    for sec in sections_at(body, _OWN_HEADING):
        m = re.match(r"Turn\s+(\d+)\s*[—–-]\s*(.*?)\s*\(([AB])\)\s*$", sec.heading or "")
        if m:
            text = strip_rules(sec.text)
            em = re.fullmatch(r"\s*\*\[?Error:?\s*(.*?)\]?\*\s*", text, re.DOTALL)
            items.append((int(m.group(1)), m.group(3), "" if em else text,
                          {"error": strip_md(em.group(1)) or "failed"} if em else {}))
        elif sec.heading and sec.level == 2 and strip_rules(sec.text).strip():
            notes.append(f"## {sec.heading}\n\n{strip_rules(sec.text)}")
    if not items:
        raise ImportError_("an arena file without any '## Turn k — name (A)' section")
    if notes:
        session.meta["analysis"] = "\n\n".join(notes)
    _turns(session, items, sides, topic)
    session.plan = {"kind": "arena", "mode": mode, "topic": topic, "voices": [sides["A"].voice, sides["B"].voice],
                    "names": [sides["A"].name, sides["B"].name]}
    return session


def parse_json(data: dict[str, Any], *, filename: str, mapper: VoiceMapper) -> ImportedSession:
    md = data["metadata"]
    sides = {
        "A": mapper.resolve(str(md.get("name_a") or ""), str(md.get("model_a_id") or "")),
        "B": mapper.resolve(str(md.get("name_b") or ""), str(md.get("model_b_id") or "")),
    }
    stamp, day = parse_date_precise(data.get("timestamp"))
    found = FoundDate(stamp, "json_timestamp", day) if stamp else find_date({}, [], "", filename)
    topic = str(md.get("topic") or "")
    mode = str(md.get("mode") or "free")
    session = ImportedSession(format="arena", kind="arena", title=f"LLM Arena: {sides['A'].name} vs {sides['B'].name}",
                              created_at=found.when or NO_DATE, meta={**found.meta(), "mode": mode})
    for key in ("heuristics", "llm_analysis"):
        if data.get(key) is not None:
            session.meta[key] = data[key]
    for key in ("temperature", "total_cost", "num_turns"):
        if md.get(key) is not None:
            session.meta[key] = md[key]
    if "status" in data:
        session.meta["file_status"] = data["status"]
    items: list[tuple[int, str, str, dict[str, Any]]] = []
    for i, t in enumerate(data["transcript"], 1):
        if not isinstance(t, dict):
            raise ImportError_(f"transcript entry {i} of the JSON is not an object")
        side = str(t.get("speaker") or "").upper()
        err = t.get("error")
        items.append((int(t.get("turn") or i), side, "" if err else str(t.get("content") or ""),
                      {"usage": _usage(t.get("usage")),
                       "error": (err if isinstance(err, str) else str(t.get("content") or "failed")) if err else None}))
    _turns(session, items, sides, topic)
    session.plan = {"kind": "arena", "mode": mode, "topic": topic, "voices": [sides["A"].voice, sides["B"].voice],
                    "names": [sides["A"].name, sides["B"].name]}
    return session
