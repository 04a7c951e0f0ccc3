"""A session's transcript, rendered from its record: Markdown in the seed's shape, and JSON.

The layout follows ``session.kind``: ``symposium`` (the seed: per-voice sections with the host's
question and the voice's answer, observations, Key Formulations, Synthesis, Closing), ``council``
(``## Round k`` with one ``###`` section per voice in a fixed order, then the chair's synthesis),
``arena`` / ``chat`` / ``ask`` (``## Turn k — <voice>``). Other kinds use the symposium layout.

What is read from the record: ``session.title``; ``session.plan`` (``subtitle``, ``voices`` for
the order, ``host.name``, ``steps[].heading``; arena ``mode``/``topic``); each turn's
``meta["kind"]`` (for host turns), ``meta["step"]``, ``meta["round"]``, ``meta["to"]`` and
``meta["family"]`` (the name in "**Qwen's Response:**", falling back to the voice's name).

Answers and host questions are blockquoted line by line (their Markdown still renders, but cannot
break the structure around them); names and error messages are escaped; table cells escape ``|``
and turn newlines into ``<br>``. Key formulations are shown only where the quote really occurs in
the answer they cite (typography aside, see :mod:`symposia.text`); others are listed
as left out. Failed voices, empty and truncated answers are shown, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from symposia import markdown as md
from symposia.codec import session_to_dict, turn_to_dict
from symposia.records import SessionRecord, TurnRecord
from symposia.redact import redact
from symposia.text import contains

__all__ = ["transcript_json", "transcript_markdown"]

JSON_FORMAT = "symposia.transcript/1"
_RULE = "\n\n---\n\n"


# -- small pieces ----------------------------------------------------------------------------------


def _paragraphs(text: str) -> str:
    return text.replace("\r\n", "\n").strip("\n")


class _View:
    """Lookups shared by the layouts."""

    def __init__(self, session: SessionRecord, turns: Sequence[TurnRecord]) -> None:
        self.session = session
        self.plan: Mapping[str, Any] = session.plan or {}
        self.turns = sorted(turns, key=lambda t: t.seq)
        host = self.plan.get("host")
        self.host_name = str(host.get("name") or "Host") if isinstance(host, Mapping) else "Host"
        self.host_voice = host.get("voice") if isinstance(host, Mapping) else None
        self.by_id = {t.id: t for t in self.turns if t.id is not None}
        self.names: dict[str, str] = {}
        self.families: dict[str, str] = {}
        for t in self.turns:
            if t.role == "voice":
                self.names.setdefault(t.voice, t.voice_name)
                fam = t.meta.get("family")
                if isinstance(fam, str) and fam:
                    self.families.setdefault(t.voice, fam)
        steps = self.plan.get("steps")
        self.steps: dict[str, Mapping[str, Any]] = {
            str(s["id"]): s for s in steps if isinstance(s, Mapping) and "id" in s
        } if isinstance(steps, list) else {}
        self.superseded = self._superseded()

    def _superseded(self) -> set[int]:
        """Turns that no longer stand: failed calls retried later for the same step, answers a chat
        retry replaced, exchanges a chat undo took back. The archive keeps them; the transcript not."""
        last: dict[Any, int] = {}
        for i, t in enumerate(self.turns):
            if t.role != "host":
                last[self._key(t)] = i
        out = {i for i, t in enumerate(self.turns)
               if t.role != "host" and not t.result.ok and last[self._key(t)] != i}
        gone = {t.meta.get("replaces") for t in self.turns
                if t.role == "voice" and t.meta.get("kind") == "retry"}
        gone |= {t.meta.get("turn") for t in self.turns
                 if t.role == "host" and t.meta.get("kind") == "undo"}
        gone.discard(None)
        out |= {i for i, t in enumerate(self.turns) if t.id is not None and t.id in gone}
        return out

    @staticmethod
    def _key(t: TurnRecord) -> Any:
        if isinstance(t.meta.get("arena_turn"), int):  # arena retries: turn-<k>, turn-<k>.2, ...
            return ("arena", t.meta["arena_turn"])
        if t.step_key:
            return t.step_key
        if t.meta.get("step") is not None:
            return (t.meta.get("step"), t.meta.get("round"), t.voice, t.role)
        return ("seq", t.seq)  # nothing says it is a retry

    def visible(self) -> list[TurnRecord]:
        return [t for i, t in enumerate(self.turns) if i not in self.superseded]

    def family(self, voice: str) -> str:
        if voice in self.families:
            return self.families[voice]
        return self.names.get(voice, voice)

    def name(self, voice: str) -> str:
        return self.names.get(voice, voice)

    def header(self) -> str:
        parts = [f"# {md.one_line(self.session.title)}"]
        subtitle = self.plan.get("subtitle")
        if isinstance(subtitle, str) and subtitle.strip():
            parts.append(f"*{md.one_line(subtitle)}*")
        return "\n\n".join(parts)

    def context_block(self) -> str | None:
        """The plan's context, for records that hold no ``context`` host turn."""
        if any(t.role == "host" and t.meta.get("kind") == "context" for t in self.turns):
            return None
        ctx = self.plan.get("context")
        return f"## Context\n\n{_paragraphs(ctx)}" if isinstance(ctx, str) and ctx.strip() else None

    def answer(self, t: TurnRecord, label: str | None) -> str:
        """The answer blockquoted under ``label`` — or why there is none — plus visible flags."""
        res = t.result
        if res.error is not None:
            msg = redact(res.error.message or res.error.kind)  # the runtime redacts too: belt and braces
            return f"*{md.inline(t.voice_name)} did not answer: {md.inline(msg)}*"
        if not res.text.strip():
            why = " (it produced reasoning only)" if res.reasoning.strip() else ""
            return f"*{md.inline(t.voice_name)} returned an empty answer{why}.*"
        out = f"{label}\n\n{md.blockquote(res.text)}" if label else md.blockquote(res.text)
        if res.finish_reason == "length":
            out += "\n\n*The answer was cut off at the token limit.*"
        return out

    def response_label(self, t: TurnRecord) -> str:
        if t.role == "chair":
            return f"**{md.inline(t.voice_name)}'s Synthesis:**"
        return f"**{md.inline(self.family(t.voice))}'s Response:**"

    def question_for(self, t: TurnRecord) -> TurnRecord | str | None:
        """The host question turn ``t`` answered (same step first), else the last message it was sent."""
        before = [q for q in self.turns if q.seq < t.seq and _is_question(q) and _to(q, t.voice)]
        step = t.meta.get("step")
        same = [q for q in before if step is not None and q.meta.get("step") == step]
        if same:
            return same[-1]
        later_answers = [a for a in self.turns if a.role == "voice" and a.voice == t.voice]
        for q in reversed(before):
            if not any(q.seq < a.seq < t.seq for a in later_answers):
                return q
        msgs = t.request.messages
        return msgs[-1].content if msgs and msgs[-1].role == "user" else None

    # -- host contributions ------------------------------------------------------------------------

    def host_block(self, t: TurnRecord) -> str | None:
        kind = t.meta.get("kind")
        text = t.result.text
        if kind == "context":
            return f"## Context\n\n{_paragraphs(text)}"
        if kind == "observation":
            return f"## What This Instance ({md.inline(self.host_name)}) Observes\n\n{_paragraphs(text)}"
        if kind == "formulations":
            return self.formulations(t)
        if kind == "synthesis":
            return self.synthesis(t)
        if kind == "revealed":
            return self.revealed(t.meta.get("items"), text, t.meta.get("note"))
        if kind == "closing":
            return f"## Closing\n\n{_paragraphs(text)}"
        if kind == "question":
            return None  # shown with the answer it asked for
        return f"**{md.inline(self.host_name)}:**\n\n{_paragraphs(text)}" if text.strip() else None

    def formulations(self, t: TurnRecord) -> str:
        rows = t.meta.get("rows") or []
        shown: list[list[str]] = []
        left_out: list[str] = []
        for row in rows:
            quote = str(row.get("quote", ""))
            voice = str(row.get("voice", ""))
            source = self.by_id.get(row.get("turn_id"))
            if (source is not None and source.role == "voice" and source.voice == voice
                    and source.result.ok and quote and contains(source.result.text, quote)):
                shown.append([self.family(voice), f'"{quote}"'])
            else:
                left_out.append(f'{md.inline(self.family(voice))} — "{md.inline(quote)}"')
        parts = ["## Key Formulations"]
        if shown:
            parts.append(md.table(["Source", "Formulation"], shown))
        if left_out:
            parts.append("*Left out, not found verbatim in the cited answer:* " + "; ".join(left_out))
        return "\n\n".join(parts)

    def synthesis(self, t: TurnRecord) -> str:
        title = t.meta.get("title")
        parts = [f"## Synthesis: {md.one_line(title)}" if title else "## Synthesis"]
        rows = t.meta.get("rows") or []
        if rows:
            table_rows = []
            for r in rows:
                voice = r.get("voice")
                who = r.get("label") or (self.host_name if voice and voice == self.host_voice
                                         and voice not in self.names else self.family(str(voice)))
                table_rows.append([f"**{md.one_line(str(who))}**", str(r.get("role", "")),
                                   str(r.get("formulation", ""))])
            parts.append(md.table(["Voice", "Role", "Key Formulation"], table_rows))
        elif not t.meta.get("revealed") and t.result.text.strip():
            parts.append(_paragraphs(t.result.text))
        rev = self.revealed(t.meta.get("revealed"), "", t.meta.get("note"))
        if rev:
            parts.append(rev)
        return "\n\n".join(parts)

    @staticmethod
    def revealed(items: Any, text: str, note: Any) -> str:
        lines = [str(i) for i in items] if isinstance(items, list) else \
            [ln for ln in text.splitlines() if ln.strip()]
        parts = []
        if lines:
            numbered = "\n".join(f"{i}. {md.one_line(item)}" for i, item in enumerate(lines, 1))
            parts.append(f"**What the dialogue revealed:**\n\n{numbered}")
        if isinstance(note, str) and note.strip():
            parts.append(_paragraphs(note))
        return "\n\n".join(parts)


def _is_question(t: TurnRecord) -> bool:
    return t.role == "host" and t.meta.get("kind") == "question" and t.result.ok


def _to(q: TurnRecord, voice: str) -> bool:
    to = q.meta.get("to")
    return to == voice or to == "*" or (isinstance(to, list) and voice in to)


def _single_to(q: TurnRecord) -> str | None:
    to = q.meta.get("to")
    if isinstance(to, str) and to != "*":
        return to
    if isinstance(to, list) and len(to) == 1:
        return str(to[0])
    return None


# -- layouts ---------------------------------------------------------------------------------------


def _symposium(v: _View) -> list[str]:
    blocks: list[str] = []
    ctx = v.context_block()
    if ctx:
        blocks.append(ctx)
    visible = v.visible()
    answered: set[int] = set()  # seq of question turns shown with an answer
    consumed: set[int] = set()  # seq of voice turns shown inside a blind round
    voice_turns = [t for t in visible if t.role == "voice"]
    for t in voice_turns:
        q = v.question_for(t)
        if isinstance(q, TurnRecord):
            answered.add(q.seq)
    for t in visible:
        if t.seq in consumed:
            continue
        if t.role == "host":
            if _is_question(t) and _single_to(t) is None:
                members = [a for a in voice_turns if a.seq > t.seq and v.question_for(a) is t]
                consumed.update(a.seq for a in members)
                blocks.append(_blind_round(v, t, members))
            elif _is_question(t) and t.seq not in answered:
                to = _single_to(t) or ""
                blocks.append(f"## Voice: {md.inline(v.name(to))}\n\n"
                              f"**Question from {md.inline(v.host_name)}:**\n\n{md.blockquote(t.result.text)}\n\n"
                              f"*{md.inline(v.name(to))} has not answered.*")
            else:
                block = v.host_block(t)
                if block:
                    blocks.append(block)
        elif t.role == "chair":
            blocks.append(f"## Synthesis (Chair: {md.inline(t.voice_name)})\n\n{v.answer(t, None)}")
        else:
            blocks.append(_voice_section(v, t, "##"))
    return blocks


def _voice_section(v: _View, t: TurnRecord, level: str, with_question: bool = True) -> str:
    step = v.steps.get(str(t.meta.get("step")))
    heading = step.get("heading") if step else None
    title = f"{level} Voice: {md.inline(t.voice_name)}" + (f" ({md.one_line(heading)})" if heading else "")
    parts = [title]
    if with_question:
        q = v.question_for(t)
        text = q.result.text if isinstance(q, TurnRecord) else q
        if text:
            parts.append(f"**Question from {md.inline(v.host_name)}:**\n\n{md.blockquote(text)}")
    parts.append(v.answer(t, v.response_label(t)))
    return "\n\n".join(parts)


def _blind_round(v: _View, q: TurnRecord, members: list[TurnRecord]) -> str:
    step = v.steps.get(str(q.meta.get("step")))
    heading = step.get("heading") if step else None
    to = q.meta.get("to")
    names = [v.name(str(x)) for x in to] if isinstance(to, list) else ["every voice"]
    parts = ["## Blind Round" + (f" ({md.one_line(heading)})" if heading else ""),
             f"**Question from {md.inline(v.host_name)} to {md.inline(', '.join(names))}:**\n\n"
             f"{md.blockquote(q.result.text)}\n\n*Asked blind: no voice saw another's answer.*"]
    parts += [_voice_section(v, a, "###", with_question=False) for a in members]
    answered = {a.voice for a in members}
    if isinstance(to, list):
        parts += [f"### Voice: {md.inline(v.name(str(x)))}\n\n*{md.inline(v.name(str(x)))} has not answered.*"
                  for x in to if str(x) not in answered]
    return "\n\n".join(parts)


def _round_of(v: _View, t: TurnRecord, order: dict[Any, int]) -> int:
    r = t.meta.get("round")
    if isinstance(r, int):
        return r
    return order.setdefault(t.meta.get("step"), len(order) + 1)


def _council(v: _View) -> list[str]:
    blocks: list[str] = []
    ctx = v.context_block()
    if ctx:
        blocks.append(ctx)
    visible = v.visible()
    first_q = next((t for t in visible if _is_question(t)), None)
    question = first_q.result.text if first_q is not None else v.plan.get("question")
    if isinstance(question, str) and question.strip():
        blocks.append(f"## The Question\n\n{md.blockquote(question)}")
    planned = [str(x) for x in v.plan.get("voices", []) if isinstance(x, str)]
    seen = [t.voice for t in visible if t.role == "voice"]
    fixed = list(dict.fromkeys([*planned, *seen]))
    rank = {voice: i for i, voice in enumerate(fixed)}
    order: dict[Any, int] = {}
    rounds: dict[int, list[TurnRecord]] = {}
    rankings = [t for t in visible if t.role == "voice" and t.meta.get("kind") == "ranking"]
    for t in visible:
        if t.role == "voice" and t.meta.get("kind") != "ranking":
            rounds.setdefault(_round_of(v, t, order), []).append(t)
    for k in sorted(rounds):
        members = sorted(rounds[k], key=lambda t: (rank[t.voice], t.seq))
        sections = [f"### {md.inline(t.voice_name)}\n\n{v.answer(t, None)}" for t in members]
        blocks.append("\n\n".join([f"## Round {k}", *sections]))
    for t in visible:
        if t.role == "chair":
            blocks.append(f"## Synthesis (Chair: {md.inline(t.voice_name)})\n\n{v.answer(t, None)}")
        elif t.role == "host" and not _is_question(t) and t.meta.get("kind") != "context":
            block = v.host_block(t)
            if block:
                blocks.append(block)
    if rankings:
        members = sorted(rankings, key=lambda t: (rank[t.voice], t.seq))
        sections = [f"### {md.inline(t.voice_name)}\n\n{v.answer(t, None)}" for t in members]
        blocks.append("\n\n".join(["## Peer Ranking", *sections]))
    return blocks


def _dialogue(v: _View) -> list[str]:
    blocks: list[str] = []
    facts = []
    for key, label in (("mode", "Mode"), ("topic", "Topic")):
        value = v.plan.get(key)
        if isinstance(value, str) and value.strip():
            facts.append(f"**{label}:** {md.inline(value)}")
    if facts:
        blocks.append("\n".join(facts))
    ctx = v.context_block()
    if ctx:
        blocks.append(ctx)
    pending: list[str] = []
    asked_here = False  # a host question turn is already in `pending`
    k = 0
    for t in v.visible():
        if t.role == "host":
            kind = t.meta.get("kind")
            if kind in ("question", None) and t.result.text.strip():
                pending.append(f"**{md.inline(v.host_name)}:**\n\n{md.blockquote(t.result.text)}")
                asked_here = True
            elif kind == "switch":
                pending.append(f"*Switched to {md.inline(v.name(str(t.meta.get('to', ''))))}.*")
            elif kind == "system":
                prompt = t.meta.get("system")
                pending.append(f"*System prompt set to: {md.inline(prompt)}*" if isinstance(prompt, str)
                               and prompt else "*System prompt cleared.*")
            elif kind != "undo":
                block = v.host_block(t)
                if block:
                    blocks.append(block)
            continue
        arena_turn = t.meta.get("arena_turn")
        k = arena_turn if isinstance(arena_turn, int) else k + 1
        asked = t.meta.get("question")
        if not isinstance(asked, str) and v.session.kind in ("ask", "chat"):
            # one voice and the user: what it was last sent is the question (in an arena it is the
            # other side's words, already shown in their own turn)
            msgs = t.request.messages
            asked = msgs[-1].content if msgs and msgs[-1].role == "user" else None
        if isinstance(asked, str) and asked.strip() and not asked_here:  # chat keeps it in the turn
            pending.append(f"**{md.inline(v.host_name)}:**\n\n{md.blockquote(asked)}")
        head = f"## Turn {k} — {md.inline(t.voice_name)}"
        label = f"**{md.inline(t.voice_name)}:**"
        blocks.append("\n\n".join([head, *pending, v.answer(t, label)]))
        pending = []
        asked_here = False
    if pending:
        blocks.append("\n\n".join(pending))
    return blocks


_LAYOUTS = {"symposium": _symposium, "council": _council, "arena": _dialogue, "chat": _dialogue,
            "ask": _dialogue}


def transcript_markdown(session: SessionRecord, turns: Sequence[TurnRecord]) -> str:
    """The session as GFM Markdown, in the layout its kind calls for."""
    view = _View(session, turns)
    layout = _LAYOUTS.get(session.kind, _symposium)
    return _RULE.join([view.header(), *layout(view)]) + "\n"


def transcript_json(session: SessionRecord, turns: Sequence[TurnRecord]) -> dict[str, Any]:
    """The full record as JSON-ready data: the session and every turn in seq order, nothing left out."""
    return {
        "format": JSON_FORMAT,
        "session": session_to_dict(session),
        "turns": [turn_to_dict(t) for t in sorted(turns, key=lambda t: t.seq)],
    }
