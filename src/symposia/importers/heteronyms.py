"""Format F: one model playing several characters (``**TESSERA:** …`` lines, often "heteronyms").

Every speaker is the same model: each line is that model's turn with ``meta["character"]``. When a
character quotes another model ("as Qwen put it, '…'"), that is still this model writing: quotes add
no speaker and no architecture. The model is found in front matter (``model``/``author``), a
``**Model:**``/``**Author:**``/``**Written by:**`` field, or a catalog name in the title or subtitle;
if none names it, the turns are kept under ``unknown-model`` and the session is flagged.
"""

from __future__ import annotations

import re
from typing import Any

from symposia.importers.dates import find_date
from symposia.importers.markdown import code_or_text, fenced_mask, fields, strip_md, title_and_head
from symposia.importers.records import NO_DATE, ImportedSession, ImportedTurn, ImportError_
from symposia.importers.speakers import Speaker, VoiceMapper

_LINE = re.compile(r"^\*\*([A-Z][A-Z0-9 .'\u2019-]{1,40}?)(?:\*\*\s*:|:\*\*)[ \t]*(.*)$")
_INTRO = re.compile(r"^\*\*([A-Z][A-Z0-9 .'\u2019-]{1,40}?)\*\*\s*[—–-]\s*(.+)$")


def detect(body: str) -> bool:
    names = {m.group(1) for line in body.split("\n") if (m := _LINE.match(line))}
    names -= {"USER", "ASSISTANT", "SYSTEM", "MODEL", "NOTE"}
    # the person, or model names ("GPT-5.2", "GLM 4.7"): people and models talking, not characters
    if names & {"ME", "YOU", "HUMAN", "HOST", "I"} or any(re.search(r"\d", n) for n in names):
        return False
    return len(names) >= 2 or (bool(re.search(r"heteronym", body, re.IGNORECASE)) and len(names) >= 1)


def _model(mapper: VoiceMapper, front: dict[str, Any], head: list[str]) -> Speaker | None:
    for key in ("model", "author", "voice", "written_by"):
        if front.get(key):
            return mapper.resolve(str(front[key]), str(front[key]) if "/" in str(front[key]) else "")
    f = fields("\n".join(head))
    for key in ("Model", "Author", "Written by", "Voice"):
        if f.get(key):
            value = f[key]
            model = code_or_text(value) if "`" in value else ""
            return mapper.resolve(re.sub(r"`[^`]*`", "", value).strip() or model, model)
    for line in head:
        text = strip_md(line)
        for v in mapper.catalog.voices.values():
            for name in (v.name, *v.aliases):
                if len(name) > 3 and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text):
                    return mapper.resolve(name)
    return None


def parse(body: str, *, filename: str, mapper: VoiceMapper, front: dict[str, Any]) -> ImportedSession:
    title, head = title_and_head(body)
    found = find_date(front, head, body, filename)
    session = ImportedSession(format="heteronyms", kind="heteronyms", title=title or filename,
                              created_at=found.when or NO_DATE, meta=found.meta())
    sp = _model(mapper, front, head)
    if sp is None:
        sp = Speaker("unknown-model", "Unknown model", "", "", False, "")
        session.flag("model_unknown")
    lines = body.split("\n")
    mask = fenced_mask(lines)
    characters: dict[str, str] = {}
    current: ImportedTurn | None = None

    for line, fenced in zip(lines, mask, strict=True):
        intro = None if fenced else _INTRO.match(line)
        said = None if fenced else _LINE.match(line)
        if intro and not said:
            characters[intro.group(1).strip()] = intro.group(2).strip()
            current = None
            continue
        if said:
            current = ImportedTurn(role="voice", voice=sp.voice, voice_name=sp.name, text=said.group(2).strip(),
                                   model=sp.model, meta={**sp.meta(), "character": said.group(1).strip()})
            session.turns.append(current)
            continue
        if line.startswith("#") and not fenced:
            session.meta.setdefault("headings", []).append(line.lstrip("#").strip())
        if line.startswith("#") or (not line.strip() and current is None):
            current = None
            continue
        if current is not None:
            if re.fullmatch(r"\s*(?:-{3,}|\*{3,}|[─━═]{3,})\s*", line):
                current = None
            else:
                current.text = (current.text + "\n" + line).rstrip() if line.strip() or current.text else current.text
    for t in session.turns:
        t.text = t.text.strip()
    if not session.turns:
        raise ImportError_("no character lines ('**NAME:** …') found")
    session.meta["characters"] = characters or sorted({str(t.meta["character"]) for t in session.turns})
    session.plan = {"kind": "heteronyms", "voices": [sp.voice], "characters": session.meta["characters"],
                    "host": {"name": sp.name, "mode": "llm" if sp.mapped else "human"}}
    return session
