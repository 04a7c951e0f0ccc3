"""The last resort before refusing a file: any text whose speakers are labelled.

One marker style per file, the one whose names look most like speakers:

- ``**Name:** words`` / ``**Name**: words`` (bold labels; Claude.ai browser exporters write
  ``**You**:`` / ``**Claude**:`` with an italic timestamp line under each);
- ``Name: words`` at the start of a line;
- headings of one level: ``## Name``, ``## Name — "Title"``, ``## Round k: Name's Response``,
  ``## Voice k: Name``.

A name is a speaker when it is the person (You, Me, Human, User, I, Host, or the host the front
matter names), a catalog voice (marketing name, id, alias, family), or a name that recurs as a
marker. Only those markers start a turn: a heading, rule, table, fence or blockquote anywhere
else belongs to the turn it sits in. The person is the host, never a model; a name that is
neither the person nor a catalog voice stays an unknown speaker and is flagged. A file with no
such structure is refused as "not a dialogue".
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from symposia.importers.dates import find_date, parse_date
from symposia.importers.markdown import code_or_text, fenced_mask, fields, is_rule, strip_md, unquote
from symposia.importers.records import NO_DATE, ImportedSession, ImportedTurn, NotADialogue, add_flag
from symposia.importers.speakers import Speaker, VoiceMapper
from symposia.records import Message

__all__ = ["HOST_WORDS", "detect", "parse"]

HOST_WORDS = frozenset(("you", "me", "human", "user", "i", "host", "person", "myself"))
_BOLD = re.compile(r"^\s{0,3}\*\*([^*\n]{1,60}?)(?::\*\*|\*\*\s*:)[ \t]*(.*)$")
_PLAIN = re.compile(r"^([A-Z][\w.'’-]*(?: [\w.'’()-]+){0,4}):(?:[ \t]+(.*)|[ \t]*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ROUND = re.compile(r"^(?:Round|Turn|Part|Exchange)\s+\d+\s*[:.—–-]\s*(.+?)(?:['’]s?\s+(?:Response|Opening|Reply|"
                    r"Answer|Turn|Closing|Rebuttal|Statement|Question|Remarks?|Words?|Thoughts?))?\s*$", re.IGNORECASE)
_CHAIR = re.compile(r"^Synthesis\s*\((?:Chair(?:man)?|by)\s*:?\s*(.+?)\)\s*$", re.IGNORECASE)
_VOICE = re.compile(r"^Voice(?:\s+\d+)?\s*:\s*(.+)$", re.IGNORECASE)
_STAMP = re.compile(r"^\s*[*_]([^*_\n]{4,60})[*_]\s*$")
ASSISTANT_WORDS = frozenset(("assistant", "ai", "bot", "claude", "chatgpt", "gpt", "gemini", "llm",
                             "copilot", "grok", "deepseek"))
_HEADER_KEYS = frozenset(("title", "date", "created", "updated", "model", "participants", "topic", "source",
                          "exported", "url", "link"))
_NOT_NAMES = frozenset(("note", "notes", "http", "https", "example", "warning", "tip", "summary", "todo", "source",
                        "sources", "see", "update", "edit", "ps", "p.s", "nb", "q", "a", "step", "answer", "question"))


@dataclass
class _Marker:
    line: int
    name: str
    rest: str  # the words after the label on the same line ("" for headings)
    extra: str = ""  # a heading's title after the name


def _heading_name(text: str) -> tuple[str, str]:
    """``Round 1: GLM 4.7's Response`` -> ("GLM 4.7", ""); ``Qwen — "Threshold"`` -> ("Qwen", "Threshold")."""
    t = strip_md(text)
    chair = _CHAIR.match(t)
    if chair:
        return chair.group(1).strip(), "synthesis"
    m = _ROUND.match(t) or _VOICE.match(t)
    if m:
        t = m.group(1).strip()
    parts = re.split(r"\s+[—–]\s+|\s+-\s+", t, maxsplit=1)
    name = re.sub(r"['’]s?\s+(?:Response|Opening|Reply|Answer|Turn|Closing|Rebuttal|Statement)$", "", parts[0],
                  flags=re.IGNORECASE).strip()
    return name, (parts[1].strip(" \"'“”") if len(parts) > 1 else "")


class _Names:
    """Classifies names once: the person, a catalog voice, or neither."""

    def __init__(self, mapper: VoiceMapper, host: str | None) -> None:
        self.mapper = mapper
        self.host = (host or "").casefold()
        self._cache: dict[str, Speaker | None] = {}
        # assistants named by their product or family ("Claude", "ChatGPT"): speakers, even if unmapped
        self.families = {v.family.casefold() for v in mapper.catalog.voices.values()} | ASSISTANT_WORDS

    def is_host(self, name: str) -> bool:
        n = strip_md(name).casefold()
        return n in HOST_WORDS or (bool(self.host) and (n == self.host or self.host.startswith(n + " ")))

    def voice(self, name: str) -> Speaker | None:
        if name not in self._cache:
            sp = self.mapper.resolve(name)
            self._cache[name] = sp if sp.mapped else None
        return self._cache[name]

    def known(self, name: str) -> bool:
        n = strip_md(name).casefold()
        return self.is_host(name) or n in self.families or self.voice(name) is not None


def _plausible(name: str) -> bool:
    n = strip_md(name)
    return bool(n) and len(n) <= 40 and len(n.split()) <= 5 and n.casefold() not in _NOT_NAMES and not n.isdigit()


def _candidates(lines: list[str], mask: list[bool]) -> dict[str, list[_Marker]]:
    """Every possible marker, by style ("bold", "plain", "h1".."h6")."""
    out: dict[str, list[_Marker]] = {}
    for i, (line, fenced) in enumerate(zip(lines, mask, strict=True)):
        if fenced:
            continue
        m = _BOLD.match(line)
        if m and _plausible(m.group(1)):
            out.setdefault("bold", []).append(_Marker(i, strip_md(m.group(1)), m.group(2)))
            continue
        m = _PLAIN.match(line)
        if m and _plausible(m.group(1)):
            out.setdefault("plain", []).append(_Marker(i, m.group(1).strip(), m.group(2) or ""))
            continue
        m = _HEADING.match(line)
        if m:
            name, extra = _heading_name(m.group(2))
            if _plausible(name):
                out.setdefault(f"h{len(m.group(1))}", []).append(_Marker(i, name, "", extra))
    return out


def _choose(cands: dict[str, list[_Marker]], names: _Names) -> list[_Marker]:
    """The markers of the style that looks most like speakers (empty when none does)."""
    best: tuple[int, list[_Marker]] = (0, [])
    # on a tie a label that carries the words (``**Name:**``) wins over a heading above it
    for style, markers in sorted(cands.items(), key=lambda kv: ("bold", "plain").index(kv[0])
                                 if kv[0] in ("bold", "plain") else 2):
        counts = Counter(m.name.casefold() for m in markers)
        known = {n for n in counts if names.known(n)}
        recurring = {n for n, c in counts.items() if c >= 2}
        speakers = known | recurring
        chosen = [m for m in markers if m.name.casefold() in speakers]
        if len(chosen) < 2 or not (known or len(recurring) >= 2):
            continue
        if style.startswith("h") and style != "h1" and len({m.name.casefold() for m in chosen}) < 2 and not known:
            continue
        if style.startswith("h"):  # a known speaker's heading one level up (a chair's "## Synthesis (Chair: …)")
            level = int(style[1:])
            chosen += [m for s, ms in cands.items() if s.startswith("h") and int(s[1:]) < level
                       for m in ms if names.known(m.name)]
            chosen.sort(key=lambda m: m.line)
        score = sum(2 if m.name.casefold() in known else 1 for m in chosen)
        if score > best[0]:
            best = (score, chosen)
    return best[1]


def detect(body: str) -> bool:
    """Always a candidate: it is the last reader tried, and refuses what has no speakers."""
    return True


def _trim(block: list[str]) -> tuple[str, str | None, str | None]:
    """A turn's lines without the separators around it; a timestamp line right under the marker; and
    a heading left at its end (``## Turn 2 — GLM 4.7`` over the next marker labels what follows).

    A turn that is one blockquote throughout (our own export quotes every message) is unquoted.
    """
    while block and (not block[0].strip() or is_rule(block[0])):
        block.pop(0)
    stamp: str | None = None
    if block:
        m = _STAMP.match(block[0])
        if m and parse_date(m.group(1)) is not None and len(re.sub(r"[\d/:,.\sAPMapmTZ+-]", "", m.group(1))) <= 12:
            stamp = m.group(1)
            block.pop(0)
    while block and (not block[0].strip()):
        block.pop(0)
    heading: str | None = None
    while block and (not block[-1].strip() or is_rule(block[-1])):
        block.pop()
    if block and _HEADING.match(block[-1]) and not fenced_mask(block)[-1]:
        heading = strip_md(_HEADING.match(block[-1]).group(2))  # type: ignore[union-attr]
        block.pop()
        while block and (not block[-1].strip() or is_rule(block[-1])):
            block.pop()
    if block and all(not ln.strip() or ln.lstrip().startswith(">") for ln in block):
        block = [unquote(ln) if ln.strip() else "" for ln in block]
    return "\n".join(block), stamp, heading


def parse(body: str, *, filename: str, mapper: VoiceMapper, front: dict[str, Any]) -> ImportedSession:
    lines = body.split("\n")
    mask = fenced_mask(lines)
    names = _Names(mapper, str(front.get("host") or "") or None)
    markers = _choose(_candidates(lines, mask), names)
    if not markers:
        raise NotADialogue("not a dialogue: no speaker structure ('**Name:**', 'Name:' lines or speaker "
                           "headings; shapes in docs/FORMATS.md)")
    pre = lines[: markers[0].line]
    title = ""
    head: list[str] = []
    context: list[str] = []
    pre_mask = mask[: markers[0].line]
    plain_fields: dict[str, str] = {}
    for line, fenced in zip(pre, pre_mask, strict=True):
        m = None if fenced else _HEADING.match(line)
        if m and not title and len(m.group(1)) == 1:
            title = strip_md(m.group(2))
            continue
        if not fenced and re.match(r"^\s*(?:[-*]\s+)?\*\*[^*\n]+?:?\*\*:?", line) and fields(line):
            head.append(line)
            continue
        pm = None if fenced else _PLAIN.match(line)
        if pm and pm.group(1).casefold() in _HEADER_KEYS and pm.group(2):
            plain_fields.setdefault(pm.group(1).title(), pm.group(2).strip())
            head.append(line)
            continue
        if not fenced and not context and _STAMP.match(line):  # an italic subtitle/date line under the title
            head.append(line)
            continue
        if context or line.strip():
            context.append(line)
    header = {**plain_fields, **fields("\n".join(head))}
    title = title or header.get("Title", "")
    found = find_date(front, [title, *head], "", filename)
    bold_claude = any(m.name.casefold() == "you" for m in markers) and "Created" in header
    fmt = "claude_web" if bold_claude else "labelled"
    session = ImportedSession(format=fmt, kind="chat", title=title or re.sub(r"\.\w+$", "", filename),
                              created_at=found.when or NO_DATE, meta=found.meta())
    for key in ("Created", "Updated", "Exported", "Model", "Link", "URL"):
        if header.get(key):
            session.meta[key.lower()] = header[key]
    subtitle = next((m.group(1).strip() for ln in head if (m := _STAMP.match(ln))), None)
    if subtitle:
        session.meta["subtitle"] = subtitle
    model = code_or_text(header.get("Model", "")) or str(front.get("model") or "")
    distinct = {m.name.casefold() for m in markers if not names.is_host(m.name)}
    host_name = str(front.get("host") or "") or next((m.name for m in markers if names.is_host(m.name)), "Host")
    first = next((i for i, ln in enumerate(context) if ln.strip() and not is_rule(ln)), None)
    context_heading: str | None = None
    if first is not None and (hm := _HEADING.match(context[first])):  # "## The Question" over the preamble
        context_heading = strip_md(hm.group(2))
        context = context[first + 1:]
    context_text, _, next_heading = _trim(context)
    if context_heading and not context_text.strip():  # "## The Voices" over the first speaker: kept
        session.meta["headings"] = [context_heading]
    if context_text.strip():
        asked = bool(context_heading and re.search(r"question|prompt|topic", context_heading, re.IGNORECASE))
        session.turns.append(ImportedTurn(role="host", voice="host", voice_name=host_name, text=context_text,
                                          kind="question" if asked else "context",
                                          meta={"heading": context_heading} if context_heading else {}))
    speakers: dict[str, Speaker] = {}
    unknown: list[str] = []
    prev: ImportedTurn | None = None
    for k, mk in enumerate(markers):
        end = markers[k + 1].line if k + 1 < len(markers) else len(lines)
        block = ([mk.rest] if mk.rest else []) + lines[mk.line + 1:end]
        text, stamp, heading = _trim(block)
        at = parse_date(stamp) if stamp else None
        if names.is_host(mk.name):
            turn = ImportedTurn(role="host", voice="host", voice_name=host_name, text=text, kind="question", at=at,
                                meta={"name_in_file": mk.name} if mk.name != host_name else {})
        else:
            key = mk.name.casefold()
            if key not in speakers:
                sp = mapper.resolve(mk.name, model if len(distinct) == 1 else "")
                speakers[key] = sp
                if not sp.mapped:
                    unknown.append(mk.name)
            sp = speakers[key]
            meta = sp.meta()
            if mk.extra and mk.extra != "synthesis":
                meta["label"] = mk.extra
            chair = mk.extra == "synthesis"
            turn = ImportedTurn(role="chair" if chair else "voice", voice=sp.voice, voice_name=sp.name, text=text,
                                model=sp.model, at=at, kind="synthesis" if chair else None,
                                messages=(Message("user", prev.text),) if prev is not None and prev.text else (),
                                meta=meta)
            if not sp.mapped:
                add_flag(turn, "unknown_speaker")
            if not text.strip():
                add_flag(turn, "empty")
        if prev is not None and prev.role == "host" and turn.role == "voice":
            prev.meta.setdefault("to", turn.voice)
        if next_heading:
            turn.meta["heading"] = next_heading
        next_heading = heading
        session.turns.append(turn)
        prev = turn
    voices = list(dict.fromkeys(t.voice for t in session.turns if t.role == "voice"))
    if unknown:
        session.meta["unknown_speakers"] = unknown
    if len(voices) > 1 and not any(t.role == "host" and t.kind == "question" for t in session.turns):
        session.kind = "dialogue"
    session.plan = {"kind": session.kind, "voices": voices, "host": {"name": host_name, "mode": "human"}}
    first_at = next((t.at for t in session.turns if t.at is not None), None)
    if found.source in ("filename", "unknown") and first_at is not None:  # the document before the filename
        session.created_at = first_at
        for key in ("date", "date_precision"):
            session.meta.pop(key, None)
        session.meta["date_source"] = "first_message"
    return session
