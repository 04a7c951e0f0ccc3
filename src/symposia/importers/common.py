"""Pieces every importer shares: the parsed form, mojibake repair, front matter, dates, tables, speakers.

Parsers turn text into an :class:`ImportedSession` (pure data, no I/O) so they can be tested with
exact expected output; :mod:`symposia.importers` stores it. Everything here is pure as well.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from ftfy.badness import is_bad

from symposia.catalog import Catalog, Voice
from symposia.errors import ImportError_, UnknownVoiceError
from symposia.records import ErrorInfo, Message, TurnRecord, Usage

__all__ = [
    "ImportError_",
    "ImportedSession",
    "ImportedTurn",
    "Section",
    "Speaker",
    "Table",
    "VoiceMapper",
    "add_flag",
    "code_or_text",
    "date_from_filename",
    "decode_bytes",
    "fenced_mask",
    "fields",
    "find_date",
    "is_rule",
    "label_value",
    "messages_of",
    "number",
    "parse_date",
    "parse_table",
    "repair_mojibake",
    "sections",
    "slug",
    "split_front_matter",
    "strip_md",
    "strip_rules",
    "title_and_head",
    "unquote",
]

TurnRole = Literal["voice", "host", "chair"]
# Placeholder date of a parse that found none; the importer replaces it (file time) and flags it.
NO_DATE = datetime(1970, 1, 1, tzinfo=UTC)




# -- the parsed form -------------------------------------------------------------------------------


@dataclass
class ImportedTurn:
    """One contribution as the file tells it: a voice's answer, or a host's question/observation/table."""

    role: TurnRole
    voice: str  # catalog shortcut, a slug for an unknown model, or "host"
    voice_name: str
    text: str
    kind: str | None = None  # host turns: "question", "observation", "context", "formulations", ...
    messages: tuple[Message, ...] = ()  # what the voice was shown, as far as the file tells
    system: str | None = None
    model: str = ""  # model id the file names, "" when it names none
    usage: Usage = field(default_factory=Usage)
    error: ErrorInfo | None = None
    at: datetime | None = None  # when, if the file says more precisely than the session date
    latency_s: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)  # import flags: problems seen in the file
    record: TurnRecord | None = None  # our own export: the stored turn, kept whole


@dataclass
class ImportedSession:
    """A whole file, parsed: a session header plus its turns in order.

    ``formulations`` host turns carry ``meta["rows"]`` with ``turn_index`` (the index in ``turns`` of
    the answer the quote was found in, or None); storing replaces it with the archive's ``turn_id``.
    """

    format: str  # "single", "council", "chat", "arena", "symposium", "heteronyms", "reception", "native"
    kind: str  # the original kind: "ask", "council", "chat", "arena", "symposium", ...
    title: str
    created_at: datetime
    turns: list[ImportedTurn] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    session_id: str | None = None  # set only when the file carries its own id (our JSON export)

    def all_flags(self) -> list[str]:
        """Session flags plus every turn's flags, each once, in order of appearance."""
        out = list(self.flags)
        for t in self.turns:
            out += t.flags
        return list(dict.fromkeys(out))

    def flag(self, name: str) -> None:
        if name not in self.flags:
            self.flags.append(name)


def add_flag(turn: ImportedTurn, name: str) -> None:
    if name not in turn.flags:
        turn.flags.append(name)


# -- text repair -----------------------------------------------------------------------------------


_CP1252_UNDEFINED = frozenset((0x81, 0x8D, 0x8F, 0x90, 0x9D))
_BAD_CATEGORIES = frozenset(("Cc", "Cn", "Co", "Cs"))


def _plausible(fixed: str, original: str) -> bool:
    """A repair must not produce what clean text never has: control, unassigned or private-use
    characters, or a combining mark with no letter to sit on (``÷ü`` is Mac Roman for U+059F alone)."""
    prev = ""
    for ch in fixed:
        cat = unicodedata.category(ch)
        if ch not in original:
            if cat in _BAD_CATEGORIES and ch not in "\t\n\r":
                return False
            if cat in ("Mn", "Me") and not (prev and unicodedata.category(prev).startswith("L") and (
                    not prev.isascii() or 0x300 <= ord(ch) <= 0x36F)):
                return False
        if not unicodedata.category(ch).startswith("M"):
            prev = ch
    return True


def _encode_sloppy(text: str, encoding: str) -> bytes:
    """Encode, but let C1 controls stand for themselves: CP1252 leaves 5 bytes undefined, and tools
    that decoded UTF-8 as CP1252 kept those bytes as U+0081, U+008D, U+008F, U+0090, U+009D."""
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        if encoding != "cp1252":
            raise
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode(encoding)
        except UnicodeEncodeError:
            if ord(ch) in _CP1252_UNDEFINED:
                out.append(ord(ch))
            else:
                raise
    return bytes(out)


def _roundtrip(text: str, encoding: str) -> str | None:
    try:
        fixed = _encode_sloppy(text, encoding).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if _plausible(fixed, text) else None


def repair_mojibake(text: str) -> tuple[str, str | None]:
    """Undo UTF-8 that was read as Mac Roman or CP1252 and saved again ("‚Äî" -> "—").

    Returns the text and the encoding undone (None when nothing was changed). It acts only when the
    text looks wrong (ftfy's badness heuristic) and the reversal decodes cleanly, so text that is
    already good UTF-8 is left alone; whatever it changes can be turned back by re-encoding.
    Lines are repaired one by one, so a clean line added to a mojibake file later is kept as is.
    """
    if text.isascii() or not is_bad(text):
        return text, None
    encodings = ("mac_roman", "cp1252")
    for encoding in encodings:
        whole = _roundtrip(text, encoding)
        if whole is not None and whole != text:
            return whole, encoding
    # Mixed files: repair line by line with the encoding that explains the most lines (the two can
    # disagree on a line: "cafÃ©" is also valid Mac Roman mojibake, of a combining accent).
    lines = text.split("\n")
    best: tuple[int, str, list[str]] | None = None
    for encoding in encodings:
        fixed = [(_roundtrip(line, encoding) if not line.isascii() else None) or line for line in lines]
        count = sum(1 for f, line in zip(fixed, lines, strict=True) if f != line)
        if count and (best is None or count > best[0]):
            best = (count, encoding, fixed)
    if best is None:
        return text, None
    return "\n".join(best[2]), best[1]


def decode_bytes(raw: bytes) -> tuple[str, str | None]:
    """Bytes of a transcript -> text (mojibake repaired, newlines normalised) and the encoding undone.

    Raises :class:`ImportError_` for bytes that are not UTF-8 or not text.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ImportError_(
            f"not UTF-8 (byte {raw[e.start]:#04x} at offset {e.start}): convert the file to UTF-8 "
            "(e.g. iconv -f WINDOWS-1252 -t UTF-8) and import it again"
        ) from None
    if "\x00" in text:
        raise ImportError_("binary file (contains NUL bytes), not a transcript")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return repair_mojibake(text)


# -- front matter ----------------------------------------------------------------------------------


def _scalar(value: str) -> Any:
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return v[1:-1]
    if v.startswith("[") and v.endswith("]"):
        return [_scalar(x) for x in v[1:-1].split(",") if x.strip()]
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    if re.fullmatch(r"-?\d+", v):
        return int(v)
    return v


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Front matter (``---`` ... ``---`` at the very top) and the body after it.

    Transcripts use the simple part of YAML only — ``key: value`` lines, quoted strings, ``[a, b]``
    and ``- item`` lists — so that is what is read (no YAML library needed); nested blocks are kept
    as their text.
    """
    m = re.match(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", text, re.DOTALL)
    if not m:
        return {}, text
    data: dict[str, Any] = {}
    key: str | None = None
    for line in m.group(1).split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        km = re.match(r"^([A-Za-z_][\w -]*?)\s*:(?:\s+(.*)|\s*)$", line)
        if km and not line.startswith((" ", "\t")):
            key = km.group(1).strip()
            data[key] = _scalar(km.group(2)) if km.group(2) else ""
        elif key is not None and re.match(r"^\s+-\s+", line):
            prev = data.get(key)
            data[key] = [*(prev if isinstance(prev, list) else []), _scalar(line.strip()[1:])]
        elif key is not None:
            prev = data.get(key)
            data[key] = (f"{prev}\n" if prev else "") + line.strip()
        else:
            return {}, text  # not key/value front matter: leave the text as it is
    return data, text[m.end():]


# -- dates -----------------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_MONTH_RE = r"(January|February|March|April|May|June|July|August|September|October|November|December|" \
            r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?"
_ISO_RE = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"\s*(Z|UTC|[+-]\d{2}:?\d{2})?)?(?!\d)"
)
_MDY_RE = re.compile(_MONTH_RE + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.IGNORECASE)
_DMY_RE = re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH_RE + r",?\s+(\d{4})", re.IGNORECASE)


def _tz(text: str | None) -> timezone:
    if not text or text in ("Z", "UTC"):
        return UTC
    sign = 1 if text[0] == "+" else -1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _safe(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, tz: timezone = UTC) -> datetime | None:
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=tz)
    except ValueError:
        return None


def parse_date(value: Any) -> datetime | None:
    """The first date (and time, if given) in a value; timezone-aware, UTC when the text names no zone."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if hasattr(value, "year") and hasattr(value, "month") and hasattr(value, "day"):  # a date (YAML)
        return _safe(value.year, value.month, value.day)
    if not isinstance(value, str):
        return None
    found: list[tuple[int, datetime]] = []
    m = _ISO_RE.search(value)
    if m:
        y, mo, d, h, mi, s, tz = m.groups()
        dt = _safe(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), _tz(tz))
        if dt:
            found.append((m.start(), dt))
    m = _MDY_RE.search(value)
    if m:
        dt = _safe(int(m.group(3)), _MONTHS[m.group(1)[:3].lower()], int(m.group(2)))
        if dt:
            found.append((m.start(), dt))
    m = _DMY_RE.search(value)
    if m:
        dt = _safe(int(m.group(3)), _MONTHS[m.group(2)[:3].lower()], int(m.group(1)))
        if dt:
            found.append((m.start(), dt))
    return min(found, key=lambda x: x[0])[1] if found else None


_FILE_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?:[-_T ]?(\d{2})(\d{2})(\d{2})?)?(?!\d)")


def date_from_filename(name: str) -> datetime | None:
    """``2026-01-02-182330-grok.md`` -> 2026-01-02 18:23:30 UTC; ``notes-20260131.md`` -> that day."""
    m = _FILE_DATE.search(name)
    if not m:
        return parse_date(name)
    y, mo, d, h, mi, s = m.groups()
    return _safe(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0)) or parse_date(name)


_ARCHIVED = re.compile(r"^\s*[*_]+\s*Archived\b(.+?)[*_]*\s*$", re.IGNORECASE | re.MULTILINE)


def find_date(front: Mapping[str, Any], head_lines: Sequence[str], body: str,
              filename: str) -> tuple[datetime | None, str]:
    """The session date and where it came from, in order of trust.

    Front matter, then the first lines (title, italic subtitle, ``**Date:**``/``**Received:**``
    fields), then a closing ``*Archived …*`` line, then the filename.
    """
    for key in ("date", "created", "created_at", "timestamp", "received"):
        if key in front:
            dt = parse_date(front[key])
            if dt:
                return dt, "front_matter"
    for line in head_lines:
        dt = parse_date(line)
        if dt:
            return dt, "header"
    for m in _ARCHIVED.finditer(body):
        dt = parse_date(m.group(1))
        if dt:
            return dt, "archived_line"
    dt = date_from_filename(filename)
    if dt:
        return dt, "filename"
    return None, "unknown"


# -- markdown helpers ------------------------------------------------------------------------------


def strip_md(text: str) -> str:
    """A name or label without emphasis, code marks, links or surrounding punctuation."""
    t = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    t = t.replace("**", "").replace("__", "").replace("`", "")
    t = re.sub(r"(?<!\w)[*_]|[*_](?!\w)", "", t)
    return " ".join(t.split()).strip(" :")


def unquote(text: str) -> str:
    """A blockquote's text without its ``>`` markers.

    Lazy continuation lines (a multi-line message whose ``>`` covers only the first line) belong to
    the quote, as in CommonMark, until a blank line.
    """
    out: list[str] = []
    for line in text.strip("\n").split("\n"):
        m = re.match(r"^\s{0,3}>\s?(.*)$", line)
        out.append(m.group(1) if m else line)
    return "\n".join(out).strip("\n")


def fenced_mask(lines: Sequence[str]) -> list[bool]:
    """For each line, whether it is inside (or delimits) a fenced code block."""
    mask: list[bool] = []
    fence: str | None = None
    for line in lines:
        m = re.match(r"^\s{0,3}(`{3,}|~{3,})", line)
        if fence is None and m:
            fence = m.group(1)[0] * len(m.group(1))
            mask.append(True)
        elif fence is not None:
            mask.append(True)
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
        else:
            mask.append(False)
    return mask


def strip_rules(text: str) -> str:
    """Text without leading/trailing blank lines and thematic breaks (``---``, ``***``, ``───``)."""
    lines = text.split("\n")
    while lines and (not lines[0].strip() or _is_rule(lines[0])):
        lines.pop(0)
    while lines and (not lines[-1].strip() or _is_rule(lines[-1])):
        lines.pop()
    return "\n".join(lines)


def _is_rule(line: str) -> bool:
    return bool(re.fullmatch(r"\s*(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,}|[─━═]{3,})\s*", line))


is_rule = _is_rule


# -- tables ----------------------------------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    broken: bool = False  # repaired: cells split by an unescaped "|", rows split by newlines, odd separator


_SEP_CELL = re.compile(r"^\s*:?[-─━—–=]+:?\s*$")


def _cells(row: str) -> list[str]:
    body = row.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    parts = re.split(r"(?<!\\)\|", body)
    return [p.strip().replace("\\|", "|") for p in parts]


def parse_table(lines: Sequence[str]) -> tuple[Table | None, int]:
    """Read a GFM table starting at ``lines[0]``; return it and the number of lines it used.

    Repairs what hand-edited files break: a separator drawn with "─", a cell whose text contains a
    newline (the row goes on over the next lines) and an unescaped "|" inside the last cell (extra
    cells are joined back into it). A repaired table has ``broken=True``.
    """
    if not lines or not lines[0].lstrip().startswith("|"):
        return None, 0
    header = _cells(lines[0])
    if len(lines) < 2 or not all(_SEP_CELL.match(c) for c in _cells(lines[1]) if c) or not _cells(lines[1]):
        return None, 0
    broken = bool(re.search(r"[─━—–]", lines[1]))
    width = len(header)
    rows: list[list[str]] = []
    i = 2
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            break
        if not line.lstrip().startswith("|"):
            if not rows:
                break
            # a newline inside the previous row's last cell
            rows[-1][-1] = (rows[-1][-1] + "\n" + line.strip()).strip()
            broken = True
            i += 1
            continue
        text = line
        # a row whose last cell goes on over the next line(s): it does not end with "|"
        while not text.rstrip().endswith("|") and i + 1 < len(lines) and lines[i + 1].strip() \
                and not lines[i + 1].lstrip().startswith("|"):
            i += 1
            text += "\n" + lines[i]
            broken = True
        cells = _cells(text)
        if len(cells) > width and width > 0:
            cells = [*cells[: width - 1], " | ".join(cells[width - 1:])]
            broken = True
        elif len(cells) < width:
            cells += [""] * (width - len(cells))
            broken = True
        rows.append([c.strip() for c in cells])
        i += 1
    return Table(header=header, rows=rows, broken=broken), i


# -- names and voices ------------------------------------------------------------------------------


def slug(text: str) -> str:
    """``Claude Opus 4.6`` -> ``claude-opus-4-6``: the voice key of a model the catalog does not know."""
    s = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return s or "unknown"


@dataclass(frozen=True)
class Speaker:
    """Who a name in a file stands for: a catalog voice, or an unknown model kept under a slug."""

    voice: str
    name: str  # display name: the catalog's, or the name as the file wrote it
    family: str
    model: str  # the model id the file gave ("" if none)
    mapped: bool
    written: str  # the name exactly as the file wrote it

    def meta(self) -> dict[str, Any]:
        out: dict[str, Any] = {"family": self.family}
        if self.written and self.written != self.name:
            out["name_in_file"] = self.written
        if not self.mapped:
            out["unmapped"] = True
        return out


_MODEL_ID = re.compile(r"^[\w.-]+/[\w.:-]+$")


class VoiceMapper:
    """Maps names and model ids found in files to catalog voices.

    Tries, in order: the model id (exact, then its last part as an alias); the name as a shortcut,
    alias or display name; the name without a parenthesis ("GLM 4.7 (Z-AI)"), with it joined
    ("DeepSeek (v3)" -> "DeepSeek v3"), or the parenthesis alone when it is a model id; the name
    shortened by trailing words without digits ("Grok 4.1 Fast Beta"); a family name with one voice.
    A version never gets dropped: "GLM 4.6" is not GLM 4.7. Anything else is kept, unmapped.
    """

    def __init__(self, catalog: Catalog, hints: Iterable[str] = ()) -> None:
        self.catalog = catalog
        self.hints = list(hints)  # shortcuts already in the session: they settle a family name

    def _lookup(self, name: str) -> Voice | None:
        name = name.strip()
        if not name:
            return None
        try:
            return self.catalog.voice(name)
        except UnknownVoiceError:
            return None

    def by_model(self, model: str) -> Voice | None:
        key = model.strip().casefold()
        if not key:
            return None
        for v in self.catalog.voices.values():
            if v.model.casefold() == key:
                return v
        last = key.rsplit("/", 1)[-1].split(":", 1)[0]
        for v in self.catalog.voices.values():
            if v.model.casefold().rsplit("/", 1)[-1] == last:
                return v
        return self.catalog.by_alias(last)

    def _by_name(self, written: str) -> tuple[Voice | None, str]:
        """The voice for a written name, and a model id found inside it (in a parenthesis)."""
        name = strip_md(written)
        name = re.sub(r"['\u2019]s$", "", name).strip()
        model = ""
        paren = re.search(r"\(([^)]*)\)", name)
        inner = paren.group(1).strip() if paren else ""
        outer = (name[: paren.start()] + name[paren.end():]).strip() if paren else name
        if inner and _MODEL_ID.match(inner):
            model = inner
        candidates = [name, outer]
        if inner:
            candidates.append(f"{outer} {inner}")
        for sep in (" — ", " – ", " - ", ": "):
            if sep in outer:
                candidates.append(outer.split(sep, 1)[0])
        for c in candidates:
            v = self._lookup(c)
            if v is not None:
                return v, model
        if model:
            v = self.by_model(model)
            if v is not None:
                return v, model
        words = outer.split()
        while len(words) > 1 and not re.search(r"\d", words[-1]):
            words.pop()
            v = self._lookup(" ".join(words))
            if v is not None:
                return v, model
        if not re.search(r"\d", outer):
            family = [v for v in self.catalog.voices.values() if v.family.casefold() == outer.casefold()]
            hinted = [v for v in family if v.shortcut in self.hints]
            if len(hinted) == 1:
                return hinted[0], model
            if len(family) == 1:
                return family[0], model
        return None, model

    def resolve(self, written: str, model: str = "") -> Speaker:
        """The speaker a name (and/or model id) in a file stands for; never fails."""
        written = strip_md(written)
        voice: Voice | None = self.by_model(model) if model else None
        name_voice, inner_model = self._by_name(written) if written else (None, "")
        model = model or inner_model
        if voice is None:
            voice = name_voice
        if voice is not None:
            return Speaker(voice.shortcut, voice.name, voice.family, model, True, written)
        base = written or model.rsplit("/", 1)[-1]
        display = re.sub(r"\s*\([^)]*\)\s*", " ", base).strip() or base
        key = slug(model.rsplit("/", 1)[-1]) if model and not written else slug(display)
        return Speaker(key, display, display.split()[0] if display.split() else display, model, False, written)


def label_value(text: str, label: str) -> str | None:
    """The value of a ``**Label:** value`` line (first match), without markup around it."""
    m = re.search(rf"^\s*[*_]*{re.escape(label)}[*_]*\s*:\s*[*_]*\s*(.*?)\s*$", text, re.MULTILINE | re.IGNORECASE)
    if not m:
        return None
    return m.group(1).strip()


def code_or_text(value: str) -> str:
    """``\\`z-ai/glm-4.7\\` (glm47)`` -> ``z-ai/glm-4.7``: the code span if any, else the text."""
    m = re.search(r"`([^`]+)`", value)
    return (m.group(1) if m else strip_md(value)).strip()


def messages_of(*pairs: tuple[str, str]) -> tuple[Message, ...]:
    """Messages from (role, text) pairs, dropping empty texts."""
    out: list[Message] = []
    for role, text in pairs:
        if text.strip():
            out.append(Message(role="system" if role == "system" else
                               "assistant" if role == "assistant" else "user", content=text))
    return tuple(out)


# -- document structure ----------------------------------------------------------------------------


@dataclass
class Section:
    """A heading (``None`` for text before the first one), its level and the text under it."""

    heading: str | None
    level: int
    text: str


def sections(body: str, max_level: int = 2) -> list[Section]:
    """Split at ATX headings of level <= ``max_level`` that are not inside fenced code."""
    lines = body.split("\n")
    mask = fenced_mask(lines)
    out: list[Section] = []
    heading: str | None = None
    level = 0
    buf: list[str] = []
    for line, fenced in zip(lines, mask, strict=True):
        m = None if fenced else re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m and len(m.group(1)) <= max_level:
            if heading is not None or "\n".join(buf).strip():
                out.append(Section(heading, level, "\n".join(buf)))
            heading, level, buf = m.group(2).strip(), len(m.group(1)), []
        else:
            buf.append(line)
    if heading is not None or "\n".join(buf).strip():
        out.append(Section(heading, level, "\n".join(buf)))
    return out


def title_and_head(body: str) -> tuple[str, list[str]]:
    """The ``# `` title and the lines after it up to the first ``## `` heading (subtitle, fields)."""
    title = ""
    head: list[str] = []
    for line in body.split("\n"):
        if line.startswith("## "):
            break
        if not title and line.startswith("# "):
            title = strip_md(line[2:])
            head.append(line[2:])
            continue
        if line.strip() and len(head) < 40:
            head.append(line)
    return title, head


def fields(text: str) -> dict[str, str]:
    """``**Key:** value`` / ``- **Key:** value`` lines -> {key: value} (first occurrence of each key)."""
    out: dict[str, str] = {}
    for m in re.finditer(r"^\s*(?:[-*]\s+)?\*\*([^*\n]+?):?\*\*:?[ \t]*(.*?)\s*$", text, re.MULTILINE):
        key = m.group(1).strip().rstrip(":")
        out.setdefault(key, m.group(2).strip())
    return out


def number(text: str | None) -> float | None:
    """The first number in a text ("81.2s", "$0.0213"), or None."""
    if not text:
        return None
    m = re.search(r"-?\d+(?:\.\d+)?", text.replace(",", ""))
    return float(m.group(0)) if m else None
