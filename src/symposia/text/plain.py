"""Markdown as a reader sees it: the plain text of a rendered answer, with a map back to the source.

:func:`render` removes what a renderer would not show as text, and keeps, for every character it
outputs, the index of the source character it came from, so that a match found in the plain text
can be quoted from the stored original exactly.

What goes (CommonMark and GFM, the parts model answers use):

- block markers: ``>`` of blockquotes, list bullets and numbers (``-``, ``*``, ``+``, ``1.``,
  ``1)``), task boxes (``[ ]``, ``[x]``), heading ``#``s (and closing ones), thematic breaks,
  setext underlines, code fences, table pipes and delimiter rows;
- inline markup: emphasis and strong delimiters (``*``, ``_``, ``~~``) that flank a word (a lone
  ``*`` between spaces, ``2 * 3``, or a ``_`` inside a word, ``snake_case``, stays), code-span
  backticks, link and image brackets and their destinations (``[text](url)`` -> ``text``),
  autolink angle brackets, HTML tags (``<br>`` becomes a space);
- backslash escapes (``\\*`` -> ``*``) and the common character references (``&amp;`` -> ``&``).

Text inside code fences is kept as is (only the fence lines go). The renderer is deliberately
small and line-based: it never needs to pair delimiters, because the same function is applied to
both sides of every comparison.
"""

from __future__ import annotations

import re

__all__ = ["render"]

_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_BREAK = re.compile(r"^[ \t]{0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,}|={3,}[ \t]*)$")
_TABLE_DELIM = re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(?:\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$")
_QUOTE_MARK = re.compile(r"[ \t]{0,3}>[ \t]?")
_LIST_MARK = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?")
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?:[ \t]+|$)")
_CLOSING_HASHES = re.compile(r"[ \t]+#+[ \t]*$")
_LINK = re.compile(r"(!?\[)([^\[\]\n]*)(\]\((?:[^()\s]|\([^()\s]*\))*(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'))?\)"
                   r"|\]\[[^\[\]\n]*\])")
_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^<>\s]+)>")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>\n]*)?/?>")
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9A-Fa-f]{1,6})|(amp|lt|gt|quot|apos|nbsp|#39));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": "\u00a0", "#39": "'"}
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _is_punct(ch: str) -> bool:
    return ch in _ASCII_PUNCT or (not ch.isalnum() and not ch.isspace())


def _flanking(line: str, a: int, b: int) -> tuple[bool, bool]:
    """Whether the delimiter run line[a:b] is left-flanking and right-flanking (CommonMark 6.2)."""
    before = line[a - 1] if a > 0 else " "
    after = line[b] if b < len(line) else " "
    left = not after.isspace() and (not _is_punct(after) or before.isspace() or _is_punct(before))
    right = not before.isspace() and (not _is_punct(before) or after.isspace() or _is_punct(after))
    return left, right


def _inline(line: str, base: int, out: list[str], where: list[int]) -> None:
    """Append the plain text of one line of inline Markdown to ``out`` (source indices to ``where``)."""
    n = len(line)
    drop = bytearray(n)  # 1: the character is markup, not text
    subst: dict[int, tuple[str, int]] = {}  # index -> (replacement text, characters it consumes)
    code = bytearray(n)  # inside a code span: no further markup
    i = 0
    while i < n:  # code spans first: their content is literal
        if line[i] == "`":
            j = i
            while j < n and line[j] == "`":
                j += 1
            close = line.find(line[i:j], j)
            while close >= 0 and close + (j - i) < n and line[close + (j - i)] == "`":
                close = line.find(line[i:j], close + (j - i) + 1)
            if close >= 0:
                for k in range(i, j):
                    drop[k] = 1
                for k in range(close, close + (j - i)):
                    drop[k] = 1
                for k in range(j, close):
                    code[k] = 1
                i = close + (j - i)
                continue
            i = j
            continue
        i += 1
    i = 0
    while i < n:  # backslash escapes
        if not code[i] and line[i] == "\\" and i + 1 < n and line[i + 1] in _ASCII_PUNCT:
            drop[i] = 1
            code[i + 1] = 1  # the escaped character is text, never markup
            i += 2
            continue
        i += 1
    for m in _LINK.finditer(line):
        if code[m.start()] or (m.start() > 0 and line[m.start() - 1] == "\\" and drop[m.start() - 1]):
            continue
        for k in range(m.start(1), m.end(1)):
            drop[k] = 1
        for k in range(m.start(3), m.end(3)):
            drop[k] = 1
    for m in _AUTOLINK.finditer(line):
        if not code[m.start()]:
            drop[m.start()] = drop[m.end() - 1] = 1
    for m in _TAG.finditer(line):
        if code[m.start()] or any(drop[m.start():m.end()]):
            continue
        for k in range(m.start(), m.end()):
            drop[k] = 1
        if m.group(0).lower().startswith("<br"):
            subst[m.start()] = (" ", 0)
    for m in _ENTITY.finditer(line):
        if code[m.start()]:
            continue
        if m.group(1) or m.group(2):
            cp = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
            rep = chr(cp) if 0 < cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF else "\ufffd"
        else:
            rep = _NAMED[m.group(3)]
        for k in range(m.start(), m.end()):
            drop[k] = 1
        subst[m.start()] = (rep, 0)
    i = 0
    while i < n:  # emphasis delimiter runs
        ch = line[i]
        if ch in "*_~" and not code[i] and not drop[i]:
            j = i
            while j < n and line[j] == ch and not code[j]:
                j += 1
            if ch == "~" and j - i < 2:
                i = j
                continue
            left, right = _flanking(line, i, j)
            if ch == "_" and left and right:
                pass  # intraword underscore: snake_case stays
            elif left or right:
                for k in range(i, j):
                    drop[k] = 1
            i = j
            continue
        i += 1
    for k in range(n):
        if k in subst:
            text, _ = subst[k]
            out.extend(text)
            where.extend([base + k] * len(text))
        elif not drop[k]:
            out.append(line[k])
            where.append(base + k)


def render(text: str, *, blocks: bool = True) -> tuple[str, list[int]]:
    """The plain text a reader sees in Markdown ``text``, and for each of its characters the index of
    the source character it came from (``len(plain) == len(index)``; indices never decrease).

    ``blocks=False`` renders inline markup only: for a phrase typed on its own, where a leading
    ``2026.`` or ``-`` is text, not a list marker."""
    out: list[str] = []
    where: list[int] = []
    fence: str | None = None
    pos = 0
    for line in text.split("\n"):
        base = pos
        pos += len(line) + 1
        if out:
            out.append("\n")
            where.append(base - 1)
        if not blocks:
            _inline(line, base, out, where)
            continue
        if fence is not None:
            m = _FENCE.match(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line[m.end():].strip():
                fence = None
                continue
            out.extend(line)
            where.extend(range(base, base + len(line)))
            continue
        m = _FENCE.match(line)
        if m:
            fence = m.group(1)
            continue
        start = 0
        while True:  # container markers, innermost last: "> - item", "1. > quote"
            q = _QUOTE_MARK.match(line, start)
            if q and q.end() > start:
                start = q.end()
                continue
            lst = _LIST_MARK.match(line, start)
            if lst and lst.end() > start and not _BREAK.match(line[start:]):
                start = lst.end()
                continue
            break
        rest = line[start:]
        if _BREAK.match(rest) or _TABLE_DELIM.match(rest):
            continue
        h = _HEADING.match(line, start)
        end = len(line)
        if h:
            start = h.end()
            c = _CLOSING_HASHES.search(line, start)
            if c:
                end = c.start()
        body = line[start:end]
        if "|" in body and body.strip().startswith("|"):  # a table row: cells separated by spaces
            cells = [(mm.start(), mm.end()) for mm in re.finditer(r"[^|]+", body)]
            for a, b in cells:
                _inline(body[a:b], base + start + a, out, where)
                out.append(" ")
                where.append(base + start + b - 1)
            continue
        _inline(body, base + start, out, where)
    return "".join(out), where
