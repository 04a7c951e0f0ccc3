"""Writing Markdown that shows recorded text literally: escaping, code spans, fences, quotes, tables.

Every renderer (transcripts, turn details, search and provenance reports, analysis reports) writes
model output and names into Markdown; the rules for doing that safely live here, once.

* :func:`inline`: one line of literal text (newlines folded, inline markup escaped);
* :func:`code` / :func:`fence`: code spans and fenced blocks that survive backticks inside;
* :func:`blockquote`: every line quoted, blank lines kept inside the quote;
* :func:`table`: a GFM table whose cells keep ``|`` escaped and show newlines as ``<br>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["blockquote", "cell", "code", "escape", "fence", "inline", "one_line", "table"]

# Any ASCII punctuation may be backslash-escaped in CommonMark; these are the ones that can start
# markup inline (emphasis, code, links and images — ``!`` needs the ``[`` that is escaped —, HTML,
# entities, tables, strikethrough, a heading's closing #).
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&])")
_BACKTICK_RUN = re.compile(r"`+")


def one_line(text: str) -> str:
    """Whitespace runs (newlines included) folded to single spaces, ends trimmed."""
    return " ".join(text.split())


def escape(text: str) -> str:
    """``text`` with every character that could start inline markup backslash-escaped (spacing kept)."""
    return _INLINE_SPECIAL.sub(r"\\\1", text)


def inline(text: str) -> str:
    """Text shown literally inside one line of Markdown (names, error messages, snippets)."""
    return escape(one_line(text))


def _longest_backticks(text: str) -> int:
    return max((len(m) for m in _BACKTICK_RUN.findall(text)), default=0)


def code(text: str) -> str:
    """An inline code span that survives backticks in ``text`` (folded to one line)."""
    text = one_line(text)
    ticks = "`" * (_longest_backticks(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(text: str, info: str = "text") -> str:
    """A fenced block showing ``text`` verbatim: the fence is longer than any backtick run inside."""
    ticks = "`" * max(3, _longest_backticks(text) + 1)
    body = text.replace("\r\n", "\n")
    if not body.endswith("\n"):
        body += "\n"
    return f"{ticks}{info}\n{body}{ticks}"


def blockquote(text: str) -> str:
    """Blockquote every line; blank lines become a bare ``>`` so the quote stays one block."""
    lines = text.replace("\r\n", "\n").strip("\n").split("\n")
    return "\n".join(f"> {line.rstrip()}" if line.strip() else ">" for line in lines)


def cell(text: str) -> str:
    """A GFM table cell: ``|`` escaped (once, even if already escaped), newlines as ``<br>``."""
    body = text.replace("\r\n", "\n").strip()
    body = body.replace("\\|", "|").replace("|", "\\|")
    return "<br>".join(line.strip() for line in body.split("\n"))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GFM table; header and cells are Markdown already (escape literal text with :func:`inline`)."""
    out = ["| " + " | ".join(cell(h) for h in header) + " |",
           "|" + "|".join("-" * (max(len(h), 1) + 2) for h in header) + "|"]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)
