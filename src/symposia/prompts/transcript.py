"""A conversation laid out as a written transcript for a small *base* model, and its turn kept its own.

A base model is not chat-tuned: it continues text. The conversation is rendered as a transcript that
ends with the voice's label, and the model writes the next line. Left alone it happily writes the
next speaker too ("Host: …", "Gemma 3 270M (local): You agree with me?"), so:

- :func:`speaker_labels` collects every label the prompt uses (the layout's host and speaker, each
  ``[Name]:`` attribution and each ``Name:`` line inside the messages);
- :func:`stop_sequences` turns them into stop sequences for the sampler;
- :class:`SpeakerGuard` watches the streamed answer and cuts it where a line starts a new speaker
  anyway — a known label, or (for a base model) any ``Name:`` line, the model's own invention. Only
  the start of each line is held back, so what streams is exactly what is kept.

Everything here is pure; the layout (preface, labels, stops) is data in ``prompts/local.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from symposia.records import Message

__all__ = ["SpeakerGuard", "render_transcript", "speaker_labels", "stop_sequences"]

# A word of a speaker's name: Capitalised, a number-like token ("3", "270M") or a parenthesis ("(local)").
_NAME_WORD = r"(?:[A-Z][\w'’.\-]*|\d[\w.]*|\([^()\n]{1,30}\))"
_GENERIC_NAME = re.compile(rf"{_NAME_WORD}(?: {_NAME_WORD}){{0,5}}")
# Characters a line may start with while it can still turn out to be "Name:" (decided at the colon).
_NAME_PREFIX = re.compile(r"[ \t]*\[?[\w'’.\-() ]*\]?[ \t]*")
# Labels found in the prompt: "[Grok 4.1]: …" attributions and "Name: …" at the start of a line.
_ATTRIBUTION = re.compile(r"\[([^\[\]\n]{1,60})\]:")
_LINE_LABEL = re.compile(rf"^[ \t]*({_NAME_WORD}(?: {_NAME_WORD}){{0,5}}):[ \t]", re.M)
# A line longer than this without a colon is not a speaker label.
MAX_LABEL_CHARS = 64


def render_transcript(messages: Sequence[Message], system: str | None, layout: dict[str, Any]) -> str:
    """Render a chat as a transcript for a base model to continue.

    ``user`` turns are spoken by the host, ``assistant`` turns by the voice itself; the prompt ends
    with the voice's label so the model writes its next line.
    """
    speaker = str(layout["speaker"])
    host = str(layout["host_speaker"])
    lines = [str(layout["preface"]).format(speaker=speaker).rstrip(), ""]
    if system:
        lines += [str(layout["system_line"]).format(system=system.strip()), ""]
    for m in messages:
        who = speaker if m.role == "assistant" else host
        lines.append(f"{who}: {m.content.strip()}")
        lines.append("")
    lines.append(f"{speaker}:")
    return "\n".join(lines)


def speaker_labels(messages: Sequence[Message], system: str | None, fixed: Iterable[str] = ()) -> list[str]:
    """Every speaker label the prompt uses: ``fixed`` (the layout's own) first, then each ``[Name]:``
    attribution and each ``Name:`` line found in the system prompt and the messages, in order, once."""
    out: list[str] = []

    def add(label: str) -> None:
        label = label.strip()
        if label and label not in out:
            out.append(label)

    for f in fixed:
        add(f)
    for text in ([system] if system else []) + [m.content for m in messages]:
        for m in _ATTRIBUTION.finditer(text):
            add(m.group(1))
        for m in _LINE_LABEL.finditer(text):
            add(m.group(1))
    return out


def stop_sequences(labels: Iterable[str], base: Iterable[str] = ()) -> list[str]:
    """``base`` plus, for each label, a new line that starts with it (``"\\nHost:"``, ``"\\n[Host]"``)."""
    out = list(dict.fromkeys(base))
    for label in labels:
        for s in (f"\n{label}:", f"\n[{label}]"):
            if s not in out:
                out.append(s)
    return out


class SpeakerGuard:
    """Cuts a streamed answer at the first line that starts a new speaker.

    Feed it the answer piece by piece; it returns the text that is safe to show now. The start of
    each line is held back until it is clear whether the line is ``Label:`` (then the answer ends
    before it and :attr:`cut` holds the label) or not (then it is released). With ``generic``, any
    ``Name:`` line counts (for base models, which invent speakers); otherwise only ``labels`` do.
    """

    def __init__(self, labels: Iterable[str], *, generic: bool) -> None:
        self.labels = {label.strip() for label in labels if label.strip()}
        self.generic = generic
        self.cut: str | None = None
        self._pending = ""  # the undecided start of the current line
        self._open = True  # the current line is still undecided

    def _is_label(self, head: str) -> bool:
        name = head.strip().removeprefix("[").removesuffix("]").strip()
        if not name:
            return False
        return name in self.labels or (self.generic and _GENERIC_NAME.fullmatch(name) is not None)

    def _decide(self, line: str, complete: bool) -> str | None:
        """``"cut"``, ``"pass"``, or None while the line start is still undecided."""
        colon = line.find(":")
        if colon < 0:
            if complete or len(line) > MAX_LABEL_CHARS or not _NAME_PREFIX.fullmatch(line):
                return "pass"
            return None
        if not self._is_label(line[:colon]):
            return "pass"
        if colon + 1 < len(line):
            return "cut" if line[colon + 1] in " \t" else "pass"
        return "cut" if complete else None

    def feed(self, piece: str) -> str:
        """Take the next streamed piece; return what may be shown now ('' once cut)."""
        if self.cut is not None:
            return ""
        self._pending += piece
        shown: list[str] = []
        while self._pending:
            if not self._open:
                nl = self._pending.find("\n")
                if nl < 0:
                    shown.append(self._pending)
                    self._pending = ""
                    break
                shown.append(self._pending[: nl + 1])
                self._pending = self._pending[nl + 1:]
                self._open = True
                continue
            nl = self._pending.find("\n")
            line = self._pending if nl < 0 else self._pending[:nl]
            verdict = self._decide(line, complete=nl >= 0)
            if verdict is None:
                break
            if verdict == "cut":
                self.cut = line[: line.find(":")].strip().removeprefix("[").removesuffix("]").strip()
                self._pending = ""
                break
            self._open = False
        return "".join(shown)

    def close(self) -> str:
        """The stream ended: release what is still held (an unfinished line is not a label line)."""
        if self.cut is not None:
            return ""
        line = self._pending
        self._pending = ""
        if self._open and line and self._decide(line, complete=True) == "cut":
            self.cut = line[: line.find(":")].strip().removeprefix("[").removesuffix("]").strip()
            return ""
        return line
