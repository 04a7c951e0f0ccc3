"""Format A: one question, one answer (``# Voice Conversation: <model id>`` with USER/ASSISTANT blocks).

USER is the host, ASSISTANT the voice, an optional SYSTEM block the system prompt. A file with more
than one exchange is imported as a chat; each answer's request holds the history before it (the
first message and the latest ones for long files).
"""

from __future__ import annotations

import re
from typing import Any

from symposia.importers.dates import find_date
from symposia.importers.markdown import strip_rules, title_and_head
from symposia.importers.records import NO_DATE, ImportedSession, ImportedTurn, add_flag, history_window
from symposia.importers.speakers import VoiceMapper
from symposia.records import Message

_BLOCK = re.compile(r"^\s*\*\*(USER|ASSISTANT|SYSTEM|HUMAN|AI)\s*:\*\*[ \t]*(.*)$", re.MULTILINE | re.IGNORECASE)


def detect(body: str) -> bool:
    return bool(re.search(r"^#\s+Voice Conversation\b", body, re.MULTILINE)) or (
        bool(re.search(r"^\s*\*\*USER:\*\*", body, re.MULTILINE))
        and bool(re.search(r"^\s*\*\*ASSISTANT:\*\*", body, re.MULTILINE)))


def parse(body: str, *, filename: str, mapper: VoiceMapper, front: dict[str, Any]) -> ImportedSession:
    title, head = title_and_head(body)
    m = re.match(r"Voice Conversation:\s*(.+)", title)
    model = str(front.get("model") or (m.group(1).strip() if m else ""))
    if not model:  # the filename ends with the last part of the model id
        fm = re.search(r"\d{6}-(.+?)\.md$", filename)
        model = fm.group(1) if fm else ""
    speaker = mapper.resolve("" if "/" in model else model, model if "/" in model else "")
    found = find_date(front, head[1:], body, filename)
    session = ImportedSession(format="single", kind="ask", title=title or f"Conversation with {speaker.name}",
                              created_at=found.when or NO_DATE, meta=found.meta())
    host = str(front.get("host") or "Host")
    session.plan = {"kind": "ask", "voices": [speaker.voice], "host": {"name": host, "mode": "human"}}
    blocks = list(_BLOCK.finditer(body))
    system: str | None = None
    history: list[Message] = []
    for i, b in enumerate(blocks):
        end = blocks[i + 1].start() if i + 1 < len(blocks) else len(body)
        text = strip_rules((b.group(2) + "\n" + body[b.end():end]).strip("\n"))
        who = b.group(1).upper()
        if who == "SYSTEM":
            system = text
            continue
        if who in ("USER", "HUMAN"):
            session.turns.append(ImportedTurn(role="host", voice="host", voice_name=host, text=text,
                                              kind="question", meta={"to": speaker.voice}))
            history.append(Message("user", text))
            continue
        turn = ImportedTurn(role="voice", voice=speaker.voice, voice_name=speaker.name, text=text,
                            messages=history_window(history)[0], system=system, model=speaker.model,
                            meta=speaker.meta())
        if not text.strip():
            add_flag(turn, "empty")
        session.turns.append(turn)
        history.append(Message("assistant", text))
    if sum(1 for t in session.turns if t.role == "voice") > 1:
        session.kind = "chat"
        session.plan["kind"] = "chat"
    return session
