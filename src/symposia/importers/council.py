"""Format B: an automated council (``## The Question``, one ``## Voice i: NAME — *label*`` per voice
with ``**Model:**``/``**Status:**``/``**Response time:**`` fields, a chair's ``## Synthesis``).

Multi-round files put ``# Round k`` above the voices and drop "Voice i:" from their headings.
Answers may carry their own headings, so a voice section ends only at a heading this format writes
itself. A failed voice (``**Status:** Failed``, ``*Error: …*`` body) becomes a failed turn.
"""

from __future__ import annotations

import re
from typing import Any

from symposia.importers.dates import find_date
from symposia.importers.markdown import (
    code_or_text,
    fenced_mask,
    fields,
    is_rule,
    number,
    parse_table,
    strip_md,
    strip_rules,
    title_and_head,
    unquote,
)
from symposia.importers.records import NO_DATE, ImportedSession, ImportedTurn, ImportError_, add_flag
from symposia.importers.speakers import VoiceMapper
from symposia.records import ErrorInfo, Message

_FIELD_LINE = re.compile(r"^\s*\*\*(Model|Status|Response time|Tokens|Cost|Label|Error)\s*:\*\*.*$", re.IGNORECASE)


def detect(body: str) -> bool:
    return bool(re.search(r"^#\s+.*Council\b", body, re.MULTILINE)) and bool(
        re.search(r"^##\s+(The Question|Council Statistics|Voice \d+:)", body, re.MULTILINE))


def _boundaries(lines: list[str]) -> list[tuple[int, str, str]]:
    """(line index, what, heading text) of every heading this format writes itself."""
    mask = fenced_mask(lines)
    out: list[tuple[int, str, str]] = []
    for i, line in enumerate(lines):
        if mask[i]:
            continue
        m = re.match(r"^(#{1,2})\s+(.*?)\s*$", line)
        if not m:
            continue
        level, text = len(m.group(1)), m.group(2)
        if level == 1 and re.match(r"Round\s+\d+", text, re.IGNORECASE):
            out.append((i, "round", text))
        elif level == 2 and text.startswith("The Question"):
            out.append((i, "question", text))
        elif level == 2 and text.startswith("Council Statistics"):
            out.append((i, "stats", text))
        elif level == 2 and text.startswith("Synthesis"):
            out.append((i, "synthesis", text))
        elif level == 2 and text.startswith("Quick Comparison"):
            out.append((i, "comparison", text))
        elif level == 2 and re.match(r"Voice\s+\d+\s*:", text):
            out.append((i, "voice", text))
        elif level == 2:
            nxt = next((ln for ln in lines[i + 1:i + 6] if ln.strip()), "")
            if re.match(r"^\s*\*\*(Model|Status)\s*:\*\*", nxt):
                out.append((i, "voice", text))
    return out


def _preface(lines: list[str]) -> str:
    """The text between the title (and its italic subtitle line) and the first section."""
    body: list[str] = []
    for line in lines:
        if not body and (not line.strip() or line.startswith("# ") or is_rule(line)
                         or re.fullmatch(r"\s*[*_][^*_\n].*[*_]\s*", line)):
            continue
        body.append(line)
    return strip_rules("\n".join(body)).strip("\n")


def _voice_name(heading: str) -> tuple[str, str | None]:
    """``Voice 1: GLM47 — *Prism*`` -> ("GLM47", "Prism")."""
    h = re.sub(r"^Voice\s+\d+\s*:\s*", "", heading)
    parts = re.split(r"\s+[—–-]\s+", h, maxsplit=1)
    label = strip_md(parts[1]) if len(parts) > 1 else None
    return strip_md(parts[0]), label


def parse(body: str, *, filename: str, mapper: VoiceMapper, front: dict[str, Any]) -> ImportedSession:
    title, head = title_and_head(body)
    found = find_date(front, head[1:], body, filename)
    lines = body.split("\n")
    bounds = _boundaries(lines)
    session = ImportedSession(format="council", kind="council", title=title or "Council",
                              created_at=found.when or NO_DATE, meta=found.meta())
    m = re.search(r"—\s*Automated via\s+(\S+)", "\n".join(head))
    if m:
        session.meta["generator"] = strip_md(m.group(1))
    question = ""
    rnd = 1
    voices: list[str] = []
    question_index: int | None = None
    preface = _preface(lines[: bounds[0][0] if bounds else len(lines)])
    if preface:  # words before the question (why it was convened): the host's, not to be lost
        session.turns.append(ImportedTurn(role="host", voice="host", voice_name="Host", text=preface, kind="context"))
    for n, (start, what, heading) in enumerate(bounds):
        end = bounds[n + 1][0] if n + 1 < len(bounds) else len(lines)
        text = strip_rules("\n".join(lines[start + 1:end]))
        if what == "round":
            rnd = int(re.search(r"\d+", heading).group(0))  # type: ignore[union-attr]
        elif what == "question":
            question = unquote(text)
            question_index = len(session.turns)
            session.turns.append(ImportedTurn(role="host", voice="host", voice_name="Host", text=question,
                                              kind="question", meta={"to": [], "blind": True}))
        elif what == "stats":
            session.meta["statistics"] = fields(text)
        elif what == "comparison":
            table, _ = parse_table([ln for ln in text.split("\n") if ln.strip()])
            if table is not None:
                session.meta.setdefault("comparison", []).append(
                    {"heading": heading, "rows": [dict(zip(table.header, r, strict=False)) for r in table.rows]})
                if table.broken:
                    session.flag("broken_table")
        elif what == "voice":
            name, label = _voice_name(heading)
            f = fields(text)
            speaker = mapper.resolve(name, code_or_text(f.get("Model", "")))
            body_lines = text.split("\n")
            while body_lines and (not body_lines[0].strip() or _FIELD_LINE.match(body_lines[0])):
                body_lines.pop(0)
            answer = strip_rules("\n".join(body_lines))
            status = f.get("Status", "").strip().lower()
            meta: dict[str, Any] = {"round": rnd, "order": len([t for t in session.turns
                                                                 if t.meta.get("round") == rnd and t.role == "voice"]),
                                    **speaker.meta()}
            if label:
                meta["label"] = label
            turn = ImportedTurn(role="voice", voice=speaker.voice, voice_name=speaker.name, text=answer,
                                model=speaker.model, latency_s=number(f.get("Response time")) or 0.0, meta=meta,
                                messages=(Message("user", question),) if question else ())
            if rnd > 1:
                turn.meta["saw_previous_round"] = "unknown"  # the file does not keep what was relayed
            if status.startswith("fail") or status.startswith("error"):
                em = re.search(r"\*?Error:\s*(.*?)\*?\s*$", answer, re.MULTILINE | re.DOTALL)
                turn.error = ErrorInfo(kind="error", message=strip_md(em.group(1)) if em else (answer or "failed"))
                turn.text = ""
                add_flag(turn, "failed")
            elif not answer.strip():
                add_flag(turn, "empty")
            session.turns.append(turn)
            if speaker.voice not in voices:
                voices.append(speaker.voice)
        elif what == "synthesis":
            cm = re.search(r"\((?:Chair(?:man)?|by)\s*:?\s*([^)]+)\)", heading)
            chair = mapper.resolve(cm.group(1)) if cm else mapper.resolve("Chair")
            session.turns.append(ImportedTurn(role="chair", voice=chair.voice, voice_name=chair.name, text=text,
                                              kind="synthesis", model=chair.model,
                                              meta={"kind": "synthesis", **chair.meta()}))
    if question_index is not None:
        session.turns[question_index].meta["to"] = voices
    if not any(t.role == "voice" for t in session.turns):
        raise ImportError_("a council file without any voice section")
    session.plan = {"kind": "council", "voices": voices, "question": question, "rounds": rnd,
                    "host": {"name": "Host", "mode": "human"}}
    return session
