"""Reading Markdown as transcripts write it: front matter, emphasis, blockquotes, fences, rules,
tables (repairing what hand edits break), headings and ``**Key:** value`` fields."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Section",
    "Table",
    "code_or_text",
    "fenced_mask",
    "fields",
    "is_rule",
    "label_value",
    "number",
    "parse_table",
    "sections",
    "sections_at",
    "split_front_matter",
    "strip_md",
    "strip_rules",
    "title_and_head",
    "unquote",
]

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


# -- document structure ----------------------------------------------------------------------------


@dataclass
class Section:
    """A heading (``None`` for text before the first one), its level and the text under it."""

    heading: str | None
    level: int
    text: str


def sections(body: str, max_level: int = 2) -> list[Section]:
    """Split at ATX headings of level <= ``max_level`` that are not inside fenced code."""
    return sections_at(body, re.compile(rf"^#{{1,{max_level}}}\s"))


def sections_at(body: str, heading: re.Pattern[str]) -> list[Section]:
    """Split only at headings (outside fenced code) whose whole line matches ``heading``: a shape's
    own markers. Any other heading stays in the text of the section it sits in."""
    lines = body.split("\n")
    mask = fenced_mask(lines)
    out: list[Section] = []
    current: str | None = None
    level = 0
    buf: list[str] = []
    for line, fenced in zip(lines, mask, strict=True):
        m = None if fenced else re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m and heading.match(line):
            if current is not None or "\n".join(buf).strip():
                out.append(Section(current, level, "\n".join(buf)))
            current, level, buf = m.group(2).strip(), len(m.group(1)), []
        else:
            buf.append(line)
    if current is not None or "\n".join(buf).strip():
        out.append(Section(current, level, "\n".join(buf)))
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
