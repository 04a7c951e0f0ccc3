"""Every character accounted for: the share of a source's prose that landed in the imported turns.

Prose is every line of the source except what is structure: front matter, blank lines, rules,
fence delimiters, table separator rows, headings that only label a speaker (or a round, a turn),
speaker markers with nothing after them (``**Claude**:``), timestamp and token lines, and
``**Key:** value`` header fields the shapes read as metadata. A line counts as placed when its
text (emphasis, quote markers and spacing aside) is a line of some turn, of the title, or of
what the importer kept in meta (a table we render ourselves, a curator's field); a line that
starts with a speaker label counts when the words after the label are. For structured sources
(JSON, SQLite) the prose is the message texts the parser says the part of the file it read holds.

The check is linear in the size of the file: set look-ups, and substring searches (for lines
not found whole) bounded in the total characters they scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from symposia.importers.dates import parse_date
from symposia.importers.markdown import fenced_mask, is_rule
from symposia.importers.records import ImportedSession

__all__ = ["THRESHOLD", "Coverage", "json_prose", "measure_lines", "measure_texts", "normalise"]

THRESHOLD = 0.98  # below this share of placed prose a file is flagged, with the lines not placed
_SCAN = 256 * 1024 * 1024  # characters the substring searches may scan in all, per file
_MAX_DEPTH = 64

_QUOTE = re.compile(r"^(?:\s{0,3}>)+\s?")
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?[-─━—–=]{2,}:?\s*(\|\s*:?[-─━—–=]{2,}:?\s*)*\|?\s*$")
_LABEL_ONLY = re.compile(r"^\s*(?:[-*]\s+)?(?:\*\*[^*\n]{1,80}?(?::\*\*|\*\*\s*:)"
                         r"|[A-Z][\w.'’()-]*(?: [\w.'’()-]+){0,3}:)\s*$")
_LABELLED = re.compile(r"^\s*(?:[-*]\s+)?(?:\*\*([^*\n]{1,80}?)(?::\*\*|\*\*\s*:)|\*\*([^*\n]{1,80}?)\*\*\s*[—–-]"
                       r"|([A-Z][\w .'’()-]{0,60}):(?=\s))\s*(.*)$")
_TOKENS = re.compile(r"^\s*\*\[(?:tokens|usage|cost)\b.*\]\*\s*$", re.IGNORECASE)
_STRUCTURE_HEADING = re.compile(
    r"^(?:(?:Round|Turn|Voice|Part|Exchange|Message)\s*\d+\b|The Question\b|Question\b|Synthesis\b|"
    r"Council Statistics\b|Statistics\b|Quick Comparison\b|Response\b|Answer\b|Reply\b|Transcript\b|"
    r"Conversation\b|Comments?\b|Thread\b|Post\b|Participants\b)", re.IGNORECASE)
META_KEYS = frozenset(k.casefold() for k in (
    "Model", "Models", "Models queried", "Status", "Response time", "Tokens", "Cost", "Created", "Updated",
    "Date", "Received", "Source", "Original Timestamp", "Channel", "Mode", "Topic", "Model A", "Model B",
    "Rounds", "Total cost", "System prompt", "Successful responses", "Failed responses", "Total query time",
    "Label", "Exported", "Exported on", "URL", "Link", "Author", "Written by", "Voice", "Host", "Participants",
    "Title", "Temperature", "Turns", "Session", "Kind", "Time", "Started", "Ended", "Duration", "Chair",
))


@dataclass(frozen=True)
class Coverage:
    """How much of a file's prose landed in turns, and the lines that did not."""

    prose_chars: int
    placed_chars: int
    unplaced: tuple[tuple[int, str], ...] = ()  # (1-based line number, the line) not placed

    @property
    def ratio(self) -> float:
        return 1.0 if self.prose_chars == 0 else self.placed_chars / self.prose_chars

    @property
    def ok(self) -> bool:
        return self.ratio >= THRESHOLD

    def to_dict(self, limit: int = 50) -> dict[str, Any]:
        return {"ratio": round(self.ratio, 4), "prose_chars": self.prose_chars, "placed_chars": self.placed_chars,
                "unplaced": [{"line": n, "text": t} for n, t in self.unplaced[:limit]],
                "unplaced_count": len(self.unplaced)}


def normalise(text: str) -> str:
    """A line as compared: without quote markers, emphasis and code marks, spacing collapsed."""
    t = _QUOTE.sub("", text)
    t = t.replace("*", "").replace("_", "").replace("`", "").replace("\\", "")
    return " ".join(t.split())


def _strings(value: Any, out: list[str], depth: int = 0) -> None:
    """Every string in a (JSON-like) value, bounded in depth."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                out.append(k)
            _strings(v, out, depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            _strings(v, out, depth + 1)


class _Placed:
    """What the sessions hold, for look-ups: normalised lines, table cells, and the text joined."""

    def __init__(self, sessions: Sequence[ImportedSession]) -> None:
        texts: list[str] = []
        self.names: set[str] = set()
        for s in sessions:
            texts.append(s.title)
            _strings(s.meta, texts)
            _strings(s.plan, texts)
            for t in s.turns:
                texts.append(t.text)
                if t.record is not None:  # our export: what the voice was shown is stored with it
                    texts += [m.content for m in t.record.request.messages]
                    if t.record.request.system:
                        texts.append(t.record.request.system)
                if t.error is not None:
                    texts.append(t.error.message)
                if t.system:
                    texts.append(t.system)
                _strings(t.meta, texts)
                for name in (t.voice_name, t.meta.get("name_in_file"), t.meta.get("character")):
                    if isinstance(name, str) and len(name) >= 2:
                        self.names.add(name.casefold())
            host = s.plan.get("host")
            if isinstance(host, dict) and isinstance(host.get("name"), str):
                self.names.add(str(host["name"]).casefold())
        self.lines: set[str] = set()
        joined: list[str] = []
        for text in texts:
            for line in text.split("\n"):
                n = normalise(line)
                if n:
                    self.lines.add(n)
                    self.lines.add(normalise(_LIST.sub("", line)))
                    h = _HEADING.match(line)
                    if h:
                        self.lines.add(normalise(h.group(2)))
                    joined.append(n)
        self.joined = "\n".join(joined)
        # Substring searches (for lines not found whole) are bounded in total work, so the check
        # stays linear in the size of the file: at most _SCAN characters scanned in all.
        self.checks = max(0, _SCAN // max(1, len(self.joined)))

    def has(self, n: str) -> bool:
        if n in self.lines:
            return True
        if self.checks > 0 and len(n) >= 8:
            self.checks -= 1
            return n in self.joined
        return False

    def has_cell(self, cell: str) -> bool:
        if cell in self.lines:
            return True
        if self.checks > 0:
            self.checks -= 1
            return cell in self.joined
        return False

    def labels_speaker(self, heading: str) -> bool:
        h = normalise(heading).casefold()
        if _STRUCTURE_HEADING.match(h):
            return True
        return any(name in h for name in self.names)


def _is_structure(line: str, placed: _Placed) -> bool:
    s = line.strip()
    if not s or is_rule(s) or _TABLE_SEP.match(s) or _TOKENS.match(s) or _LABEL_ONLY.match(s):
        return True
    if re.fullmatch(r"[*_]+[^*_]+[*_]+", s):  # an italic line that is only a date/time stamp
        inner = s.strip("*_ ")
        if parse_date(inner) is not None and len(re.sub(r"[\d/:,.\sAPMapmTZ+-]", "", inner)) <= 12:
            return True
    m = _LABELLED.match(s)
    if m:
        key = (m.group(1) or m.group(2) or m.group(3) or "").strip().rstrip(":").casefold()
        if key in META_KEYS:
            return True
    return False


def _line_placed(line: str, n: str, placed: _Placed) -> bool:
    if placed.has(n) or placed.has(normalise(_LIST.sub("", _QUOTE.sub("", line)))):
        return True
    for candidate in (_QUOTE.sub("", line), n):
        m = _LABELLED.match(candidate)
        if m and m.group(4).strip():
            rest = normalise(m.group(4))
            if not rest or placed.has(rest):
                return True
    s = line.strip()
    if "|" in s:
        cells = [normalise(c) for c in re.split(r"(?<!\\)\|", s.strip("|"))]
        return all(not c or placed.has_cell(c) for c in cells)
    return False


class _Tally:
    """Prose characters seen and placed, and the lines not placed."""

    def __init__(self, placed: _Placed) -> None:
        self.placed = placed
        self.total = self.done = 0
        self.unplaced: list[tuple[int, str]] = []

    def _skip(self, line: str, fenced: bool, markdown: bool) -> bool:
        if not line.strip():
            return True
        if fenced:
            return bool(_FENCE.match(line))
        if not markdown:  # a message's own text: only its rules are structure
            return is_rule(line)
        if _is_structure(line, self.placed):
            return True
        h = _HEADING.match(line)
        return bool(h) and (self.placed.labels_speaker(h.group(2))  # type: ignore[union-attr]
                            or _line_placed(h.group(2), normalise(h.group(2)), self.placed))  # type: ignore[union-attr]

    def add(self, lines: list[str], first: int, *, markdown: bool) -> None:
        for i, (line, fenced) in enumerate(zip(lines, fenced_mask(lines), strict=True)):
            if self._skip(line, fenced, markdown):
                continue
            n = normalise(line)
            if not n:
                continue
            self.total += len(n)
            if _line_placed(line, n, self.placed):
                self.done += len(n)
            else:
                self.unplaced.append((first + i, line))

    def coverage(self) -> Coverage:
        return Coverage(self.total, self.done, tuple(self.unplaced))


def measure_lines(text: str, sessions: Sequence[ImportedSession], first_line: int = 1) -> Coverage:
    """Coverage of a Markdown/text body (front matter already removed; ``first_line`` numbers it)."""
    tally = _Tally(_Placed(sessions))
    tally.add(text.split("\n"), first_line, markdown=True)
    return tally.coverage()


def measure_texts(texts: Iterable[str], sessions: Sequence[ImportedSession]) -> Coverage:
    """Coverage of the message texts a structured source holds (line numbers count within them)."""
    tally = _Tally(_Placed(sessions))
    number = 1
    for text in texts:
        lines = text.split("\n")
        tally.add(lines, number, markdown=False)
        number += len(lines)
    return tally.coverage()


CONTENT_KEYS = frozenset(("content", "text", "parts", "response", "prompt", "body"))


def json_prose(data: Any) -> list[str]:
    """The texts under content-like keys (``content``, ``text``, ``parts``, ...) anywhere in a JSON value."""
    out: list[str] = []
    stack: list[tuple[Any, bool, int]] = [(data, False, 0)]
    while stack:
        value, under_content, depth = stack.pop()
        if depth > _MAX_DEPTH:
            continue
        if isinstance(value, str):
            if under_content:
                out.append(value)
        elif isinstance(value, dict):
            for k, v in reversed(list(value.items())):
                stack.append((v, isinstance(k, str) and k in CONTENT_KEYS, depth + 1))
        elif isinstance(value, list):
            for v in reversed(value):
                stack.append((v, under_content, depth + 1))
    return out
