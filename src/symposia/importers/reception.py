"""Format G: reception notes (``# Reception: <title>`` with ``**Received:**``, ``**Source:**``,
``**Original Timestamp:**``, ``**Channel:**``): a text another model wrote, brought over by a person.

The text is the source model's turn, dated by its original timestamp; the session is dated when it
was received. Sections after the text whose heading says they are notes or a response are the
receiving host's words.
"""

from __future__ import annotations

import re
from typing import Any

from symposia.importers.dates import FoundDate, parse_date_precise
from symposia.importers.markdown import fields, sections, strip_rules, title_and_head
from symposia.importers.records import NO_DATE, ImportedSession, ImportedTurn, ImportError_
from symposia.importers.speakers import VoiceMapper

_FIELD = re.compile(r"^\s*\*\*[^*\n]+:\*\*.*$")
_HOST_HEADINGS = re.compile(r"note|response|reflection|reply|commentary|context|reception", re.IGNORECASE)


def detect(body: str) -> bool:
    return bool(re.search(r"^#\s+Reception\b", body, re.MULTILINE)) and "**Source:**" in body


def parse(body: str, *, filename: str, mapper: VoiceMapper, front: dict[str, Any]) -> ImportedSession:
    title, head = title_and_head(body)
    f = fields(body)
    source = f.get("Source", "")
    m = re.match(r"(.*?)\s*\(([^)]+)\)\s*$", source)
    name, model = (m.group(1), m.group(2)) if m else (source, "")
    sp = mapper.resolve(name, model)
    received, received_day = parse_date_precise(front.get("received") or f.get("Received"))
    original, original_day = parse_date_precise(f.get("Original Timestamp") or f.get("Original timestamp"))
    date_source = "received" if received else ("original_timestamp" if original else "unknown")
    session = ImportedSession(format="reception", kind="reception", title=re.sub(r"^Reception:\s*", "", title),
                              created_at=received or original or NO_DATE,
                              meta=FoundDate(received or original, date_source,
                                             received_day if received else original_day).meta())
    for key in ("Channel", "Received", "Original Timestamp"):
        if f.get(key):
            session.meta[key.lower().replace(" ", "_")] = f[key]
    host = str(front.get("host") or "Host")
    words: list[str] = []
    for sec in sections(body):
        lines = sec.text.split("\n")
        text = strip_rules("\n".join(ln for ln in lines if not _FIELD.match(ln)))
        if not text.strip():
            continue
        if sec.heading is not None and sec.level == 2 and _HOST_HEADINGS.search(sec.heading):
            session.turns.append(ImportedTurn(role="host", voice="host", voice_name=host, text=text, kind="note",
                                              meta={"heading": sec.heading}))
        elif sec.heading is not None and sec.level == 2:
            words.append(f"## {sec.heading}\n\n{text}")
        else:
            words.append(text)
    if not words:
        raise ImportError_("a reception note without the received text")
    session.turns.insert(0, ImportedTurn(role="voice", voice=sp.voice, voice_name=sp.name, text="\n\n".join(words),
                                         model=sp.model, at=original, meta=sp.meta()))
    session.plan = {"kind": "reception", "voices": [sp.voice], "host": {"name": host, "mode": "human"}}
    return session
