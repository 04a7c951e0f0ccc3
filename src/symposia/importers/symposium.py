"""Format E: a curated symposium (the seed's shape) — hand-edited, the richest and least regular.

Voices are named in ``##`` headings ("Voice: Qwen 3 Max", "Voice 2: DeepSeek (v3)", "GLM 4.7 (The
Prism)", ``Qwen — "Threshold"``). Under a voice heading:

- ``**Question from HOST:**`` + blockquote is the host's question (a host turn, kind ``question``);
- ``**Qwen's Response:**`` + blockquote, any other label followed by a blockquote ("**On
  recognition:**"), and a fenced block (a poem) are the voice's words (one voice turn);
- ``**Key image:** value`` lines (a label with its value on the same line) are the curator's notes,
  kept in the voice turn's ``meta["fields"]``; ``**Claude:** …`` lines naming a speaker are that
  speaker's words;
- other prose is the curator's commentary (a host ``note`` about that voice).

Host sections: Context, "What This Instance (…) Observes", Key Formulations (``| Source |
Formulation |``), Synthesis (``| Architecture | Role | Key Formulation |`` + "What … revealed"
list), Closing. Any other section is kept as a host note under its heading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from symposia.importers.dates import find_date
from symposia.importers.markdown import (
    fenced_mask,
    parse_table,
    sections,
    strip_md,
    strip_rules,
    title_and_head,
    unquote,
)
from symposia.importers.records import NO_DATE, ImportedSession, ImportedTurn, ImportError_, add_flag
from symposia.importers.speakers import Speaker, VoiceMapper
from symposia.records import Message
from symposia.text import locate

_LABEL = re.compile(r"^\*\*([^*\n]{1,80}?):\*\*[ \t]*(.*)$")
_VOICE_HEADING = re.compile(r"^Voice(?:\s+\d+)?\s*:\s*(.+)$", re.IGNORECASE)
_QUOTE_EDGES = "\"'“”‘’ "


def detect(body: str) -> bool:
    return bool(re.search(r"^##\s+Voice(?:\s+\d+)?\s*:", body, re.MULTILINE)) or bool(
        re.search(r"^\*\*(Question from .+|.+'s Response):\*\*", body, re.MULTILINE))


@dataclass
class _Ctx:
    session: ImportedSession
    mapper: VoiceMapper
    host: str
    host_voice: str | None

    def host_turn(self, text: str, kind: str, **meta: Any) -> ImportedTurn:
        turn = ImportedTurn(role="host", voice="host", voice_name=self.host, text=text, kind=kind, meta=dict(meta))
        self.session.turns.append(turn)
        return turn

    def is_host(self, name: str) -> bool:
        n = strip_md(name).casefold()
        if not n:
            return False
        if n in (self.host.casefold(), "host") or self.host.casefold().startswith(n + " "):
            return True
        sp = self.mapper.resolve(name)
        return sp.mapped and sp.voice == self.host_voice

    def voices(self) -> list[str]:
        return list(dict.fromkeys(t.voice for t in self.session.turns if t.role == "voice"))


def _find_host(body: str, front: dict[str, Any]) -> str:
    if front.get("host"):
        return str(front["host"])
    m = re.search(r"^\*\*Question from ([^*\n]+?):\*\*", body, re.MULTILINE)
    if m:
        return strip_md(m.group(1))
    m = re.search(r"^##\s+What This Instance \(([^)]+)\) Observes", body, re.MULTILINE)
    if m:
        return strip_md(m.group(1))
    return "Host"


def _segments(text: str) -> list[tuple[str | None, str, str]]:
    """(label, inline value, block under it) for each ``**Label:**`` line; label None for leading text."""
    out: list[tuple[str | None, str, str]] = []
    lines = text.split("\n")
    mask = fenced_mask(lines)
    label: str | None = None
    inline = ""
    buf: list[str] = []
    for line, fenced in zip(lines, mask, strict=True):
        m = None if fenced else _LABEL.match(line)
        if m:
            if label is not None or "\n".join(buf).strip():
                out.append((label, inline, strip_rules("\n".join(buf))))
            label, inline, buf = m.group(1).strip(), m.group(2).strip(), []
        else:
            buf.append(line)
    if label is not None or "\n".join(buf).strip():
        out.append((label, inline, strip_rules("\n".join(buf))))
    return out


def _words(block: str) -> tuple[str, str]:
    """Split a block into (quoted or fenced words, remaining prose)."""
    lines = block.split("\n")
    mask = fenced_mask(lines)
    quoted: list[str] = []
    prose: list[str] = []
    in_quote = False
    for line, fenced in zip(lines, mask, strict=True):
        if fenced:
            if not re.match(r"^\s{0,3}(`{3,}|~{3,})", line):
                quoted.append(line)
            in_quote = False
        elif line.lstrip().startswith(">"):
            quoted.append(unquote(line))
            in_quote = True
        elif in_quote and line.strip():  # lazy continuation of a blockquote
            quoted.append(line)
        else:
            in_quote = False
            (quoted if not line.strip() and quoted and not prose else prose).append(line)
    return strip_rules("\n".join(quoted)).strip(), strip_rules("\n".join(prose)).strip()


def _voice_section(ctx: _Ctx, heading: str, name: str, text: str, asked: ImportedTurn | None = None) -> None:
    """One voice's section; ``asked`` is the blind round's question it answered, if it was one."""
    sp = ctx.mapper.resolve(name)
    question: ImportedTurn | None = asked
    if asked is not None:
        asked.meta.setdefault("to", []).append(sp.voice)
    words: list[str] = []
    notes: list[str] = []
    fields: dict[str, str] = {}
    family = sp.family
    for label, inline, block in _segments(text):
        quoted, prose = _words(block)
        if label is None:
            if quoted:
                words.append(quoted)
            if prose:
                notes.append(prose)
            continue
        qm = re.match(r"Question(?: from (.+))?$", label, re.IGNORECASE)
        if qm:
            q = unquote((inline + "\n" + block).strip("\n"))
            question = ctx.host_turn(q, "question", to=sp.voice, heading=heading)
            continue
        rm = re.match(r"(?:(.+?)['\u2019]s )?(?:Response|Answer|Reply)$", label, re.IGNORECASE)
        if rm:
            if rm.group(1):
                family = strip_md(rm.group(1))
            words.append(unquote((inline + "\n" + block).strip("\n")))
            continue
        if inline and ctx.is_host(label):  # "**Claude:** ..." – the host speaking
            ctx.host_turn(unquote((inline + "\n" + block).strip("\n")), "question", to=sp.voice, heading=heading)
            continue
        speaker = ctx.mapper.resolve(label)
        if inline and speaker.mapped and speaker.voice == sp.voice:
            words.append(unquote((inline + "\n" + block).strip("\n")))
            continue
        if inline:  # "**Key image:** the membrane": the curator's note about the voice
            fields[label] = inline
            if quoted:
                words.append(quoted)
        elif quoted:  # "**On recognition:**" over a blockquote: the voice's words under a label
            words.append(f"**{label}:**\n\n{quoted}")
        if prose:
            notes.append(prose)
    if not words and notes:  # a voice answering in plain prose (its own headings, lists, tables): its words
        words, notes = notes, []
    meta: dict[str, Any] = {**sp.meta(), "family": family, "heading": heading}
    if fields:
        meta["fields"] = fields
    if words or question is not None:
        turn = ImportedTurn(role="voice", voice=sp.voice, voice_name=sp.name, text="\n\n".join(words),
                            model=sp.model, meta=meta,
                            messages=(Message("user", question.text),) if question is not None else ())
        if not turn.text.strip():
            add_flag(turn, "empty")
        ctx.session.turns.append(turn)
    elif fields:
        ctx.host_turn("\n".join(f"{k}: {v}" for k, v in fields.items()), "note", about=sp.voice, heading=heading,
                      fields=fields)
    for note in notes:
        ctx.host_turn(note, "note", about=sp.voice, heading=heading)


_BLIND_QUESTION = re.compile(r"^\*\*Question from (.+?) to (.+?):\*\*\s*$", re.MULTILINE)
_SUB_VOICE = re.compile(r"^###\s+Voice\s*:\s*(.+?)\s*$")


def _blind_round(ctx: _Ctx, heading: str, text: str) -> None:
    """Our export's ``## Blind Round``: one question to several voices, then a ``### Voice: NAME``
    section per voice (its answer, without the question repeated)."""
    lines = text.split("\n")
    mask = fenced_mask(lines)
    starts = [i for i, (ln, f) in enumerate(zip(lines, mask, strict=True)) if not f and _SUB_VOICE.match(ln)]
    head = "\n".join(lines[: starts[0] if starts else len(lines)])
    qm = _BLIND_QUESTION.search(head)
    asked: ImportedTurn | None = None
    if qm:
        rest = head[qm.end():]
        note = re.search(r"^\s*\*(Asked blind[^*\n]*)\*\s*$", rest, re.MULTILINE)
        words = rest[: note.start()] if note else rest
        asked = ctx.host_turn(unquote(strip_rules(words).strip("\n")), "question", to=[], blind=True, heading=heading,
                              **({"note": note.group(1)} if note else {}))
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        name = _SUB_VOICE.match(lines[start]).group(1)  # type: ignore[union-attr]
        _voice_section(ctx, f"Voice: {name}", name, strip_rules("\n".join(lines[start + 1:end])), asked)


def _clean_quote(cell: str) -> str:
    return strip_md(cell).strip(_QUOTE_EDGES)


def _speaker_of(ctx: _Ctx, label: str) -> Speaker | None:
    """The voice a table's source cell names; None for the host."""
    if ctx.is_host(label):
        return None
    return ctx.mapper.resolve(label)


def _formulations(ctx: _Ctx, heading: str, text: str) -> None:
    lines = text.split("\n")
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("|")), None)
    table, used = parse_table(lines[start:]) if start is not None else (None, 0)
    if table is None:
        ctx.host_turn(strip_rules(text), "note", heading=heading)
        return
    rows: list[dict[str, Any]] = []
    for r in table.rows:
        label, quote = strip_md(r[0]), _clean_quote(r[-1])
        sp = _speaker_of(ctx, label)
        voice = sp.voice if sp is not None else (ctx.host_voice or "host")
        texts = {i: t.text for i, t in enumerate(ctx.session.turns) if t.role == "voice" and t.voice == voice}
        hit = locate(quote, texts) if quote else None
        rows.append({"turn_index": hit.turn_id if hit else None, "voice": voice, "label": label, "quote": quote})
    turn = ctx.host_turn(strip_rules(text), "formulations", rows=rows, heading=heading)
    if table.broken:
        add_flag(turn, "broken_table")
    rest = strip_rules("\n".join(lines[(start or 0) + used:]))
    if rest.strip():
        ctx.host_turn(rest, "note", heading=heading)


def _synthesis(ctx: _Ctx, heading: str, text: str) -> None:
    title = re.sub(r"^Synthesis\s*:?\s*", "", heading).strip() or None
    lines = text.split("\n")
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("|")), None)
    table, used = parse_table(lines[start:]) if start is not None else (None, 0)
    rows: list[dict[str, Any]] = []
    if table is not None:
        for r in table.rows:
            label = strip_md(r[0])
            sp = _speaker_of(ctx, label)
            row: dict[str, Any] = {"voice": sp.voice if sp is not None else (ctx.host_voice or "host"),
                                   "label": label, "role": strip_md(r[1]) if len(r) > 2 else "",
                                   "formulation": r[-1].strip()}
            if sp is not None and not sp.mapped:
                row["unmapped"] = True
            rows.append(row)
        rest = lines[:start] + lines[(start or 0) + used:]
    else:
        rest = lines
    revealed: list[str] = []
    note: list[str] = []
    for line in rest:
        m = re.match(r"^\s*\d+[.)]\s+(.*)$", line)
        if m:
            revealed.append(m.group(1).strip())
        elif re.match(r"^\s*\*\*What .*reveal(?:ed|s)?:?\*\*:?\s*$", line, re.IGNORECASE):
            continue
        else:
            note.append(line)
    meta: dict[str, Any] = {"title": title, "rows": rows, "revealed": revealed}
    note_text = strip_rules("\n".join(note)).strip()
    if note_text:
        meta["note"] = note_text
    turn = ctx.host_turn(strip_rules(text), "synthesis", **meta)
    if table is not None and table.broken:
        add_flag(turn, "broken_table")


def _speaker_lines(ctx: _Ctx, heading: str, text: str) -> bool:
    """A section written as ``**Name:** words`` lines; True when it was one."""
    segs = _segments(text)
    named = [(lab, inl, blk) for lab, inl, blk in segs if lab is not None]
    speakers = [lab for lab, _, _ in named if ctx.is_host(lab) or ctx.mapper.resolve(lab).mapped]
    if not named or len(speakers) < len(named) or len(speakers) < 2:
        return False
    for lab, inline, block in segs:
        words = unquote((inline + "\n" + block).strip("\n"))
        if lab is None:
            if words.strip():
                ctx.host_turn(words, "note", heading=heading)
            continue
        if ctx.is_host(lab):
            ctx.host_turn(words, "question", to=None, heading=heading)
            continue
        sp = ctx.mapper.resolve(lab)
        prev = next((t for t in reversed(ctx.session.turns) if t.role == "host" and t.kind == "question"), None)
        if prev is not None and prev.meta.get("to") is None:
            prev.meta["to"] = sp.voice
        ctx.session.turns.append(ImportedTurn(
            role="voice", voice=sp.voice, voice_name=sp.name, text=words, model=sp.model,
            messages=(Message("user", prev.text),) if prev is not None else (),
            meta={**sp.meta(), "heading": heading}))
    return True


def parse(body: str, *, filename: str, mapper: VoiceMapper, front: dict[str, Any]) -> ImportedSession:
    title, head = title_and_head(body)
    found = find_date(front, head, body, filename)
    session = ImportedSession(format="symposium", kind="symposium", title=title or filename,
                              created_at=found.when or NO_DATE, meta=found.meta())
    host = _find_host(body, front)
    host_sp = mapper.resolve(host)
    ctx = _Ctx(session, mapper, host, host_sp.voice if host_sp.mapped else None)
    if ctx.host_voice:
        mapper.hints.append(ctx.host_voice)
    subtitle: str | None = None
    for sec in sections(body):
        if sec.level == 1 or sec.heading is None:
            text = strip_rules(sec.text)
            m = re.match(r"^\s*[*_]([^*_\n].*?)[*_]\s*$", text.split("\n")[0]) if text else None
            if m and subtitle is None:
                subtitle = m.group(1).strip()
                text = strip_rules("\n".join(text.split("\n")[1:]))
            if text.strip():
                ctx.host_turn(text, "context")
            continue
        heading = sec.heading
        text = strip_rules(sec.text)
        low = heading.casefold()
        vm = _VOICE_HEADING.match(heading)
        if vm:
            _voice_section(ctx, heading, vm.group(1), text)
        elif low.startswith("blind round"):
            _blind_round(ctx, heading, text)
        elif low in ("context", "background", "introduction", "preface"):
            ctx.host_turn(text, "context", heading=heading)
        elif "observ" in low:
            ctx.host_turn(text, "observation", heading=heading)
        elif "formulation" in low and not low.startswith("synthesis"):
            _formulations(ctx, heading, text)
        elif low.startswith("synthesis"):
            _synthesis(ctx, heading, text)
        elif low in ("closing", "coda", "epilogue", "closing note", "closing words"):
            ctx.host_turn(text, "closing", heading=heading)
        elif (mapper.resolve(heading).mapped and not ctx.is_host(heading)) or re.search(
                r"^\*\*(Question from .+|.+'s Response):\*\*", text, re.MULTILINE):
            _voice_section(ctx, heading, heading, text)
        elif _speaker_lines(ctx, heading, text):
            pass
        elif text.strip():
            ctx.host_turn(text, "note", heading=heading)
    if not any(t.role == "voice" for t in session.turns):
        raise ImportError_("no recognisable structure: no voice section ('## Voice: NAME', "
                           "'**NAME's Response:**', '**NAME:** …') found")
    closing = next((t for t in session.turns if t.kind == "closing"), None)
    if closing is not None and found.source in ("filename", "unknown"):  # the document before the filename
        in_closing = find_date({}, [closing.text], "", "")
        if in_closing.when is not None:
            session.created_at = in_closing.when
            for key in ("date", "date_precision"):
                session.meta.pop(key, None)
            session.meta.update(in_closing.meta())
            session.meta["date_source"] = "closing"
    session.plan = {"kind": "symposium", "title": title, "subtitle": subtitle,
                    "voices": ctx.voices(),
                    "host": {"name": host, "mode": "llm" if ctx.host_voice else "human",
                             **({"voice": ctx.host_voice} if ctx.host_voice else {})}}
    if not subtitle:
        del session.plan["subtitle"]
    return session
