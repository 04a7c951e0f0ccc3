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
the answer they cite (as a reader sees it, see :mod:`symposia.text`); others are listed
as left out. Failed voices, empty and truncated answers are shown, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from symposia import markdown as md
from symposia.codec import session_to_dict, turn_to_dict
from symposia.dialogue.attribution import verbatim_in
from symposia.dialogue.ranking import ranking_table
from symposia.records import SessionRecord, TurnRecord
from symposia.redact import redact
from symposia.version import __version__

__all__ = ["PROVENANCE_HEADING", "provenance", "provenance_data", "transcript_json", "transcript_markdown"]

JSON_FORMAT = "symposia.transcript/1"
_RULE = "\n\n---\n\n"
PROVENANCE_HEADING = "## Provenance"


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
        self.footnotes: list[str] = []
        self.marked: dict[int, str] = {}

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
        # annotations: only the latest version of each kind stands (a refused one is reported, not shown)
        latest: dict[Any, int] = {}
        for i, t in enumerate(self.turns):
            if t.meta.get("annotation") and t.result.ok:
                latest[t.meta.get("kind")] = i
        out |= {i for i, t in enumerate(self.turns) if t.meta.get("annotation")
                and (not t.result.ok or latest.get(t.meta.get("kind")) != i)}
        # a refused step that a later run (resume --plan) carried out
        for i, t in enumerate(self.turns):
            if t.role == "host" and t.result.error is not None and t.meta.get("step") is not None and any(
                    later.seq > t.seq and later.result.ok and _stands(later)
                    and later.meta.get("step") == t.meta.get("step")
                    and (later.meta.get("kind") == t.meta.get("kind")
                         or (t.meta.get("kind") == "chair" and later.role == "chair"))
                    for later in self.turns):
                out.add(i)
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
        """What the transcript shows: no superseded calls, no host drafts, no refused chair drafts."""
        return [t for i, t in enumerate(self.turns) if i not in self.superseded and _stands(t)]

    # -- outside sources ---------------------------------------------------------------------------

    def mark_outside(self, t: TurnRecord, text: str) -> str:
        """``text`` with a footnote after each quote the record marks as an outside source (once per turn)."""
        if t.id is not None and t.id in self.marked:
            return self.marked[t.id]
        marked = self._mark(t, text)
        if t.id is not None:
            self.marked[t.id] = marked
        return marked

    def _mark(self, t: TurnRecord, text: str) -> str:
        outside = t.meta.get("outside")
        if not isinstance(outside, list):
            old = t.meta.get("unverified")  # records from before outside sources were named so
            outside = old if isinstance(old, list) else []
        for quote in outside:
            q = str(quote)
            at = text.find(q)
            if at < 0:
                continue
            end = at + len(q)
            if end < len(text) and text[end] in "'\"\u201d\u2019":
                end += 1
            self.footnotes.append(f'"{md.one_line(q)}" is quoted from outside this session: the record cannot '
                                  f"vouch for it.")
            text = f"{text[:end]}[^{len(self.footnotes)}]{text[end:]}"
        return text

    def footnote_block(self) -> str | None:
        if not self.footnotes:
            return None
        return "\n".join(f"[^{i}]: {note}" for i, note in enumerate(self.footnotes, 1))

    # -- provenance --------------------------------------------------------------------------------

    def provenance(self) -> str:
        return provenance(self.session, self.turns, self.host_name)

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
        text = self.mark_outside(t, t.result.text)
        if t.result.error is not None:
            return self.refused(t)
        if kind == "draft":
            return None  # drafts live in the record (and behind a disclosure on the web page)
        if kind == "context":
            return f"## Context\n\n{_paragraphs(text)}"
        if kind == "observation":
            return f"## What This Instance ({md.inline(self.host_name)}) Observes\n\n{_paragraphs(text)}"
        if kind == "formulations":
            return self.formulations(t)
        if kind == "synthesis":
            return self.synthesis(t)
        if kind == "revealed":
            return self.revealed(t.meta.get("items"), t.result.text, t.meta.get("note"))
        if kind == "closing":
            return f"## Closing\n\n{_paragraphs(text)}"
        if kind == "question":
            return None  # shown with the answer it asked for
        return f"**{md.inline(self.host_name)}:**\n\n{_paragraphs(text)}" if text.strip() else None

    def refused(self, t: TurnRecord) -> str:
        """A step that was refused (or left unwritten), shown where it happened."""
        kind = str(t.meta.get("kind") or "step")
        step = t.meta.get("step")
        err = t.result.error
        assert err is not None
        what = {"question": "question", "observation": "observation", "formulations": "key formulations",
                "synthesis": "synthesis", "closing": "closing", "chair": "chair's synthesis"}.get(kind, kind)
        to = _single_to(t)
        to_name = str(t.meta.get("to_name") or self.name(to or ""))
        head = f"## Refused: the {what}" + (f" to {md.inline(to_name)}" if to and kind == "question" else "")
        head += f" (step {md.inline(str(step))})" if step else ""
        why = {"misquote": "*Not used: it credits words to a voice that did not say them.*",
               "no_question": "*The host skipped this step: nothing was sent.*",
               "unwritten": "*The host left it unwritten.*"}.get(err.kind, f"*{md.inline(err.kind)}*")
        parts = [head, why]
        if err.message.strip() and err.kind == "misquote":
            parts.append(_paragraphs(redact(err.message)))
        return "\n\n".join(parts)

    def formulations(self, t: TurnRecord) -> str:
        rows = t.meta.get("rows") or []
        shown: list[list[str]] = []
        left_out: list[str] = []
        for row in rows:
            quote = str(row.get("quote", ""))
            voice = str(row.get("voice", ""))
            source = self.by_id.get(row.get("turn_id"))
            if (source is not None and source.role == "voice" and source.voice == voice
                    and source.result.ok and quote and verbatim_in(quote, {0: source.result.text})):
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


def _stands(t: TurnRecord) -> bool:
    """Not a superseded call (inputs changed), a host draft, or a refused chair draft."""
    if t.meta.get("superseded"):
        return False
    if t.role == "host" and t.meta.get("kind") == "draft":
        return False
    return not (t.role == "chair" and t.meta.get("refused"))


def provenance(session: SessionRecord, turns: Sequence[TurnRecord], host_name: str | None = None) -> str:
    """Where a transcript comes from: session, date, host, each voice's requested and reported model id,
    the symposia version. Heads every export."""
    plan: Mapping[str, Any] = session.plan or {}
    host = plan.get("host") if isinstance(plan.get("host"), Mapping) else {}
    assert isinstance(host, Mapping)
    name = host_name or str(host.get("name") or "Host")
    mode = host.get("mode")
    models: dict[tuple[str, str], set[str]] = {}
    order: list[tuple[str, str]] = []
    host_models: dict[str, set[str]] = {}
    for t in sorted(turns, key=lambda x: x.seq):
        if t.role == "host" and not t.request.messages:
            continue  # the host's own words (a plan, a person, an accepted draft): no call
        requested = t.result.model_requested or t.request.model
        if t.role == "host":
            host_models.setdefault(requested, set())
            if t.result.model_reported:
                host_models[requested].add(t.result.model_reported)
            continue
        key = (t.voice_name, requested)
        if key not in models:
            models[key] = set()
            order.append(key)
        if t.result.model_reported:
            models[key].add(t.result.model_reported)
    how = {"llm": "a language model", "human": "a person", "plan": "the plan"}.get(str(mode))
    host_line = md.inline(name) + (f" ({how})" if how else "")
    if host_models:
        host_line += ": " + "; ".join(
            f"requested `{m}`, reported " + (", ".join(f"`{r}`" for r in sorted(rep)) or "nothing")
            for m, rep in host_models.items())
    lines = [PROVENANCE_HEADING, "",
             f"- **Session:** `{session.id}` ({md.inline(session.kind)}, {md.inline(session.status)})",
             f"- **Date:** {session.created_at.date().isoformat()}",
             f"- **Host:** {host_line}",
             f"- **Recorded with:** symposia {__version__}"]
    if order:
        rows = [[md.inline(voice), f"`{req}`", ", ".join(f"`{r}`" for r in sorted(models[(voice, req)])) or "—"]
                for voice, req in order]
        lines += ["", md.table(["Voice", "Requested model", "Reported model"], rows)]
    return "\n".join(lines)


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
                              f"**Question from {md.inline(v.host_name)}:**\n\n"
                              f"{md.blockquote(v.mark_outside(t, t.result.text))}\n\n"
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
        text = v.mark_outside(q, q.result.text) if isinstance(q, TurnRecord) else q
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
             f"{md.blockquote(v.mark_outside(q, q.result.text))}\n\n*Asked blind: no voice saw another's answer.*"]
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
        blocks.append(_peer_ranking(v, sorted(rankings, key=lambda t: (rank[t.voice], t.seq))))
    return blocks


def _peer_ranking(v: _View, members: list[TurnRecord]) -> str:
    """Each ranker with the label map it was shown (its own order), then the aggregate from the record."""
    table = ranking_table(members, v.names)
    assert table is not None
    by_turn = {r.turn_id: r for r in table.rankers}
    sections = []
    for t in members:
        r = by_turn.get(t.id)
        labels = r.labels if r else {}
        shown = ", ".join(f"Response {label} = {md.inline(v.name(voice))}" for label, voice in labels.items())
        own = " (its own answer left out)" if r and r.self_excluded else ""
        note = f"*Shown, in this order: {shown}{own}.*"
        if r is not None and not r.parsed and t.result.ok:
            note += "\n\n*Its ranking could not be parsed: it is left out of the aggregate.*"
        sections.append(f"### {md.inline(t.voice_name)}\n\n{note}\n\n{v.answer(t, None)}")
    rows = [[md.inline(r.name), f"{r.mean_rank:.2f}" if r.mean_rank is not None else "—", str(r.votes)]
            for r in table.rows]
    agg = ["### Aggregate", md.table(["Voice", "Mean rank", "Votes"], rows),
           "*Mean position over the rankings that parsed (1 = best).*"]
    if table.failed:
        agg.append("**Rankers whose ranking could not be parsed:** "
                   + ", ".join(md.inline(r.name) for r in table.failed))
    return "\n\n".join(["## Peer Ranking", *sections, "\n\n".join(agg)])


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
    blocks = [view.header(), view.provenance(), *layout(view)]
    notes = view.footnote_block()
    return _RULE.join(blocks) + ("\n\n" + notes if notes else "") + "\n"


def transcript_json(session: SessionRecord, turns: Sequence[TurnRecord]) -> dict[str, Any]:
    """The full record as JSON-ready data: the session and every turn in seq order, nothing left out."""
    return {
        "format": JSON_FORMAT,
        "provenance": provenance_data(session, turns),
        "session": session_to_dict(session),
        "turns": [turn_to_dict(t) for t in sorted(turns, key=lambda t: t.seq)],
    }


def provenance_data(session: SessionRecord, turns: Sequence[TurnRecord]) -> dict[str, Any]:
    """The provenance block as data (heads the JSON export)."""
    voices: dict[str, dict[str, Any]] = {}
    for t in sorted(turns, key=lambda x: x.seq):
        if t.role == "host" and not t.request.messages:
            continue
        entry = voices.setdefault(f"{t.role}:{t.voice}", {"voice": t.voice, "name": t.voice_name, "role": t.role,
                                                          "requested": t.result.model_requested or t.request.model,
                                                          "reported": []})
        if t.result.model_reported and t.result.model_reported not in entry["reported"]:
            entry["reported"].append(t.result.model_reported)
    host = (session.plan or {}).get("host")
    return {"session": session.id, "kind": session.kind, "status": session.status,
            "date": session.created_at.date().isoformat(), "symposia": __version__,
            "host": dict(host) if isinstance(host, Mapping) else None, "voices": list(voices.values())}
