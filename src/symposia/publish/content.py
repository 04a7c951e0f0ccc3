"""Build a post from a session (pure): title, Markdown content within Moltbook's limits, redacted.

The content is the session's transcript (:func:`symposia.render.transcript.transcript_markdown`) or
one part of it (the Key Formulations or Synthesis sections). It is repaired to clean UTF-8 (ftfy
fixes mojibake), stripped of control characters, redacted of anything key-shaped, and cut at a
section boundary when it is too long, with a pointer to the full transcript.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import ftfy

from symposia.errors import PublishError
from symposia.markdown import one_line
from symposia.records import SessionRecord, TurnRecord
from symposia.redact import redact
from symposia.render.transcript import PROVENANCE_HEADING, transcript_markdown

__all__ = ["MAX_CONTENT", "MAX_TITLE", "PARTS", "Post", "PublishError", "build_post", "clean_text",
           "content_sha256", "post_length"]

MAX_TITLE = 300
MAX_CONTENT = 40000
PARTS = ("full", "formulations", "synthesis")
_RULE = "\n\n---\n\n"  # the transcript's section separator
_SUBMOLT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_PART_HEADINGS = {"formulations": ("## Key Formulations",), "synthesis": ("## Synthesis",)}
_PART_NAMES = {"formulations": "Key Formulations", "synthesis": "Synthesis"}




@dataclass(frozen=True)
class Post:
    """What would be (or was) sent: ``length`` counts as Moltbook does (UTF-16 units)."""

    session_id: str
    submolt: str
    title: str
    content: str
    part: str
    sha256: str
    shortened: bool
    sections_shown: int
    sections_total: int

    @property
    def length(self) -> int:
        return post_length(self.content)


def post_length(text: str) -> int:
    """Length in UTF-16 code units: what a JavaScript server counts, never less than ``len``."""
    return len(text.encode("utf-16-le")) // 2


def content_sha256(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def clean_text(text: str) -> str:
    """Clean UTF-8 text: mojibake repaired, newlines normalised, control characters dropped, redacted."""
    text = ftfy.fix_text(text).replace("\r\n", "\n").replace("\r", "\n")
    # Control characters (other than newline and tab) and lone surrogates cannot go out as clean UTF-8.
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs"))
    return redact(text)


def _cut(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` UTF-16 units, ending with an ellipsis when cut."""
    if post_length(text) <= limit:
        return text
    used, end = 0, 0
    for end, ch in enumerate(text):  # noqa: B007 - `end` is used after the loop
        used += post_length(ch)
        if used > limit - 1:
            break
    out = text[:end]
    return out.rstrip() + "…"


def _fit_block(block: str, budget: int) -> str | None:
    """The longest head of ``block`` cut at a paragraph, else a line, that fits ``budget``; None if none."""
    for sep in ("\n\n", "\n"):
        pieces = block.split(sep)
        head = ""
        for p in pieces:
            cand = f"{head}{sep}{p}" if head else p
            if post_length(cand) > budget:
                break
            head = cand
        if head:
            return head
    return None


def _shorten(header: str, body: list[str], footer: str | None, limit: int,
             session_id: str) -> tuple[str, int, bool]:
    """Header, body sections and footer joined under ``limit``; too long, it stops at a section boundary
    (cutting inside a section at a paragraph only when not even one whole section fits)."""
    whole = _RULE.join([header, *body, *([footer] if footer else [])])
    if post_length(whole) <= limit:
        return whole, len(body), False

    def pointer(n: int) -> str:
        return (f"*Shortened to fit Moltbook: {n} of {len(body)} sections shown. "
                f"(full transcript: symposia export {session_id})*")

    # Budget with the longest pointer this can produce, so the final one always fits.
    room = limit - post_length(_RULE.join([header, pointer(len(body))])) - post_length(_RULE)
    shown: list[str] = []
    for block in body:
        need = post_length(block) + (post_length(_RULE) if shown else 0)
        if need <= room:
            shown.append(block)
            room -= need
            continue
        if not shown:
            mark = "\n\n*[section cut here]*"
            head = _fit_block(block, room - post_length(mark))
            if head is not None:
                shown.append(head + mark)
        break
    n = len(shown)
    return _cut(_RULE.join([header, *shown, pointer(n)]), limit), n, True


def build_post(session: SessionRecord, turns: Sequence[TurnRecord], *, part: str = "full",
               title: str | None = None, submolt: str = "general", max_content: int = MAX_CONTENT) -> Post:
    """The post for ``session``: ``part`` is ``full``, ``formulations`` or ``synthesis``."""
    if part not in PARTS:
        raise PublishError(f"unknown part {part!r}: use one of {', '.join(PARTS)}")
    if not _SUBMOLT.match(submolt):
        raise PublishError(f"invalid submolt name {submolt!r}: letters, digits, '-' and '_' only (e.g. general)")
    blocks = clean_text(transcript_markdown(session, turns)).rstrip("\n").split(_RULE)
    header, body = blocks[0], blocks[1:]
    if body and body[0].startswith(PROVENANCE_HEADING):  # where the post comes from travels with it
        header, body = header + _RULE + body[0], body[1:]
    footer: str | None = None
    if part != "full":
        body = [b for b in body if b.lstrip().startswith(_PART_HEADINGS[part])]
        if not body:
            raise PublishError(
                f"session {session.id} has no {_PART_NAMES[part]} section to publish; use --part full "
                f"(or another part)"
            )
        footer = f"*From a symposia session. (full transcript: symposia export {session.id})*"
    content, shown, shortened = _shorten(header, body, footer, max_content, session.id)
    if post_length(content + "\n") <= max_content:
        content += "\n"

    if title is None:
        base = one_line(clean_text(session.title)) or f"Symposia session {session.id}"
        title = base if part == "full" else f"{base} — {_PART_NAMES[part]}"
    title = _cut(one_line(clean_text(title)), MAX_TITLE)
    if not title:
        raise PublishError("the title is empty: give one with --title")
    return Post(session_id=session.id, submolt=submolt, title=title, content=content, part=part,
                sha256=content_sha256(content), shortened=shortened, sections_shown=shown,
                sections_total=len(body))
