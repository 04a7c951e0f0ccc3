"""The host-led symposium — the seed's shape: tailored questions, relayed quotes, observations, synthesis.

The host is a plan (literal questions), a person (typed at the terminal) or an LLM voice (it drafts
each question from the dialogue so far and the voice's own earlier formulations). Every quote a
question puts before a voice is checked against the record before sending:

- a quote found verbatim (up to typography) is a verified relay, noted in the question's meta;
- a quote that *resembles* recorded text but is not in it is a **misquote**: it is refused. An LLM host
  redrafts once with the real wording in front of it (both drafts are kept); a person is asked again;
  a plan's literal question is recorded as refused and the step is skipped;
- a quote like nothing in the record (the host citing an outside source) is sent but marked
  ``unverified`` in the question's meta — the record cannot vouch for it.

Every host contribution and every voice call is stored as it happens, under the step's id, so a
session resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from symposia import prompts
from symposia.catalog import Voice
from symposia.dialogue.observer import NullObserver, Observer
from symposia.dialogue.plan import (
    AskStep,
    BlindRoundStep,
    ChairStep,
    Plan,
    RoundStep,
    Step,
    plan_from_dict,
    plan_to_dict,
    step_entries,
)
from symposia.dialogue.quotes import attribute_formulations
from symposia.dialogue.runtime import Runtime
from symposia.dialogue.visibility import council_round_messages, messages_for
from symposia.records import ErrorInfo, Message, SessionRecord, TurnRecord
from symposia.text import QuoteCheck, check_quotes

MISQUOTE_RATIO = 0.88  # a quote at least this close to recorded text (ignoring case), but not in it, is a misquote


class HumanHost(Protocol):
    """What a person at the terminal supplies when they host."""

    def question(self, voice: Voice, intent: str | None, problem: str | None) -> str | None:
        """The question for ``voice`` (None skips the step); ``problem`` explains a refused draft."""

    def observation(self, after: TurnRecord) -> str | None:
        """An optional observation after a voice answered."""

    def next_voice(self, voices: Sequence[Voice]) -> Voice | None:
        """For a free-form session: whom to ask next (None ends the session)."""


@dataclass
class SymposiumOutcome:
    session_id: str
    turns: list[TurnRecord] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # step ids whose question was refused
    status: str = "complete"


def symposium_plan_from_session(session: SessionRecord) -> Plan:
    return plan_from_dict(session.plan)


def split_quotes(check: QuoteCheck) -> tuple[list[str], list[str]]:
    """(misquotes that must be refused, unverified outside quotes that may be sent)."""
    bad = [m.quote for m in check.misquotes if m.closest is not None and m.ratio >= MISQUOTE_RATIO]
    outside = [m.quote for m in check.misquotes if m.quote not in bad]
    return bad, outside


def describe_problems(check: QuoteCheck) -> str:
    t = prompts.load("symposium")
    bad, _ = split_quotes(check)
    out = []
    for m in check.misquotes:
        if m.quote in bad:
            out.append(str(t["problem"]).format(quote=m.quote, closest=m.closest))
    return "".join(out)


def transcript_text(turns: Sequence[TurnRecord], host_name: str, limit_chars: int = 12000) -> str:
    """The dialogue so far as attributed plain text (newest kept when it must be cut)."""
    parts = []
    for t in turns:
        if not t.result.ok or not t.result.text.strip():
            continue
        who = f"{host_name} (host)" if t.role == "host" else t.voice_name
        parts.append(f"[{who}]: {t.result.text.strip()}")
    text = "\n\n".join(parts)
    return text if len(text) <= limit_chars else "[…]\n" + text[-limit_chars:]


@dataclass
class _Run:
    rt: Runtime
    plan: Plan
    session_id: str
    obs: Observer
    human: HumanHost | None
    outcome: SymposiumOutcome
    last_round: list[TurnRecord] = field(default_factory=list)

    # -- record helpers ----------------------------------------------------------------------------
    def turns(self) -> list[TurnRecord]:
        return self.rt.archive.session_turns(self.session_id)

    def corpus(self, voice: str | None = None) -> dict[int, str]:
        """What a quote may be checked against: this session's answers and, for the addressed voice, its
        earlier answers in the whole archive (the host may recall "you're the one who said…")."""
        texts = {t.id: t.result.text for t in self.turns()
                 if t.id is not None and t.role != "host" and t.result.ok}
        if voice is not None:
            for t in self.rt.archive.recent_turns(50, voice=voice):
                if t.id is not None and t.result.ok:
                    texts[t.id] = t.result.text
        return texts

    def host_turn(self, text: str, *, kind: str, key: str, meta: dict[str, Any] | None = None,
                  error: ErrorInfo | None = None, provider: str | None = None) -> TurnRecord:
        prov = provider or ("human" if self.plan.host.mode == "human" else "plan")
        turn = self.rt.record_host(self.session_id, text, kind=kind, step_key=key, host_name=self.plan.host.name,
                                   provider=prov, meta=meta, error=error)
        self.outcome.turns.append(turn)
        return turn

    # -- questions ---------------------------------------------------------------------------------
    def own_formulations(self, voice: Voice, n: int = 8) -> list[str]:
        """The voice's most distinctive earlier lines from the archive (verbatim), for "you're the one who
        said…"; the host may quote them, and the quote check finds them in the record."""
        from symposia.archive.recall import recall
        from symposia.errors import ArchiveError

        try:
            found = recall(self.rt.archive, voice.shortcut, n)
        except ArchiveError:  # the voice has no earlier answers yet
            return []
        return [f.text for f in found if f.session_id != self.session_id]

    async def draft(self, step_id: str, voice: Voice, intent: str | None) -> tuple[str | None, str | None]:
        """An LLM host drafts; a misquoting draft is kept, refused and redrafted once."""
        assert self.plan.host.voice is not None
        host = self.rt.catalog.voice(self.plan.host.voice)
        t = prompts.load("symposium")
        own = self.own_formulations(voice)
        own_block = str(t["own_words"]).format(
            name=voice.name, lines="\n".join(f"- {o}" for o in own)) if own else ""
        prompt = str(t["draft"]).format(
            title=self.plan.title, context=self.plan.context or "", name=voice.name, own=own_block,
            transcript=transcript_text(self.turns(), self.plan.host.name) or "(nothing yet)",
            intent=f" Aim: {intent}" if intent else "")
        messages = [Message("user", prompt)]
        problem: str | None = None
        for attempt in (1, 2):
            key = f"{step_id}:draft{attempt}"
            req = self.rt.request_for(host, messages, system=str(t["draft_system"]))
            self.obs.turn_started(key, host, f"drafting a question for {voice.name}")
            turn = await self.rt.call(self.session_id, host, req, role="host", step_key=key,
                                      on_event=functools.partial(self.obs.event, key),
                                      meta={"kind": "draft", "step": step_id, "to": voice.shortcut})
            self.obs.turn_finished(key, turn)
            if not turn.result.ok or not turn.result.text.strip():
                return None, "the host voice did not answer"
            text = turn.result.text.strip()
            check = check_quotes(text, self.corpus(voice.shortcut))
            bad, _ = split_quotes(check)
            if not bad:
                return text, None
            problem = describe_problems(check)
            self.obs.note(f"refused a misquoting draft for {voice.name}; redrafting")
            messages = [*messages, Message("assistant", text),
                        Message("user", str(t["redraft"]).format(problems=problem, draft=text))]
        return None, problem

    async def question(self, step: AskStep | BlindRoundStep, voice: Voice | None) -> TurnRecord | None:
        """The host question of a step, recorded (or refused) before any voice sees it."""
        key = f"{step.id}:question"
        done = self.rt.archive.find_turn(self.session_id, key)
        if done is not None and done.result.ok:
            return done
        to: Any = voice.shortcut if voice is not None else list(step.voices)  # type: ignore[union-attr]
        target = voice or self.rt.catalog.voice(step.voices[0])  # type: ignore[union-attr]
        text: str | None = step.question
        problem: str | None = None
        provider: str | None = None
        if text is None and self.plan.host.mode == "llm":
            text, problem = await self.draft(step.id, target, step.intent)
            provider = self.plan.host.voice
        elif text is None and self.plan.host.mode == "human":
            if self.human is None:
                raise RuntimeError("this plan's host is a person: run it interactively")
            while True:
                text = self.human.question(target, step.intent, problem)
                if text is None:
                    break
                bad, _ = split_quotes(check_quotes(text, self.corpus(target.shortcut)))
                if not bad:
                    break
                problem = describe_problems(check_quotes(text, self.corpus(target.shortcut)))
        if text is None:
            self.outcome.refused.append(step.id)
            self.host_turn("", kind="question", key=key, meta={"step": step.id, "to": to, "refused": True},
                           error=ErrorInfo(kind="no_question", message=problem or "the host skipped this step"),
                           provider=provider)
            return None
        check = check_quotes(text, self.corpus(target.shortcut))
        bad, outside = split_quotes(check)
        meta: dict[str, Any] = {"step": step.id, "to": to, "relayed": check.sources(), "unverified": outside}
        if isinstance(step, BlindRoundStep):
            meta["blind"] = True
        if bad:
            self.outcome.refused.append(step.id)
            self.obs.note(f"refused the question of step {step.id}: it misquotes the record")
            self.host_turn(text, kind="question", key=key, meta={**meta, "refused": True},
                           error=ErrorInfo(kind="misquote", message=describe_problems(check).strip()),
                           provider=provider)
            return None
        return self.host_turn(text, kind="question", key=key, meta=meta, provider=provider)

    # -- steps -------------------------------------------------------------------------------------
    async def ask(self, step: AskStep) -> None:
        voice = self.rt.catalog.voice(step.voice)
        q = await self.question(step, voice)
        if q is None:
            return
        snapshot = tuple(t for t in self.turns() if t.meta.get("kind") != "draft")
        messages = messages_for(voice.shortcut, voice.name, q.result.text, snapshot, step.sees, self.plan.host.name)
        req = self.rt.request_for(voice, messages, system=self.plan.system)
        self.obs.turn_started(step.id, voice, step.heading or "")
        turn = await self.rt.call(self.session_id, voice, req, step_key=step.id,
                                  on_event=lambda ev: self.obs.event(step.id, ev),
                                  meta={"step": step.id, "family": voice.family, "question_turn": q.id})
        self.obs.turn_finished(step.id, turn)
        self.outcome.turns.append(turn)
        if self.human is not None and self.plan.host.mode == "human":
            note = self.human.observation(turn)
            if note:
                self.host_turn(note, kind="observation", key=f"{step.id}:observation", meta={"step": step.id})

    async def fan_out(self, step: BlindRoundStep | RoundStep, question: str, rnd: int) -> None:
        voices = [self.rt.catalog.voice(v) for v in step.voices]
        names = {v.shortcut: v.name for v in voices}
        previous = self.last_round

        async def one(i: int, v: Voice) -> TurnRecord:
            if isinstance(step, BlindRoundStep):
                messages = [Message("user", question)]
            else:
                messages = council_round_messages(v.shortcut, question, previous, names, 6000)
            key = f"{step.id}:{v.shortcut}"
            req = self.rt.request_for(v, messages, system=self.plan.system)
            self.obs.turn_started(key, v, f"round {rnd}")
            turn = await self.rt.call(self.session_id, v, req, step_key=key,
                                      on_event=lambda ev: self.obs.event(key, ev),
                                      meta={"step": step.id, "round": rnd, "order": i, "family": v.family})
            self.obs.turn_finished(key, turn)
            return turn

        self.last_round = list(await asyncio.gather(*(one(i, v) for i, v in enumerate(voices))))
        self.outcome.turns.extend(self.last_round)

    async def chair(self, step: ChairStep) -> None:
        voice = self.rt.catalog.voice(step.voice)
        t = prompts.load("symposium")
        text = str(t["chair"]).format(title=self.plan.title, prompt=step.prompt or t["chair_default"],
                                      transcript=transcript_text(self.turns(), self.plan.host.name))
        req = self.rt.request_for(voice, [Message("user", text)])
        self.obs.turn_started(step.id, voice, "chair")
        turn = await self.rt.call(self.session_id, voice, req, role="chair", step_key=step.id,
                                  on_event=lambda ev: self.obs.event(step.id, ev),
                                  meta={"step": step.id, "kind": "synthesis", "family": voice.family})
        self.obs.turn_finished(step.id, turn)
        self.outcome.turns.append(turn)

    async def step(self, step: Step, rnd: int) -> int:
        for entry in step_entries(step):
            if entry.kind == "question":
                continue  # questions are checked and recorded by self.question()
            meta = dict(entry.meta)
            if entry.kind == "formulations":
                meta["rows"] = attribute_formulations(meta["rows"], self.turns())
            self.host_turn(entry.text, kind=entry.kind, key=f"{meta['step']}:{entry.kind}", meta=meta)
        if isinstance(step, AskStep):
            await self.ask(step)
        elif isinstance(step, BlindRoundStep):
            q = await self.question(step, None)
            if q is not None:
                rnd += 1
                await self.fan_out(step, q.result.text, rnd)
        elif isinstance(step, RoundStep):
            question = next((t.result.text for t in reversed(self.turns())
                             if t.meta.get("kind") == "question" and t.meta.get("blind") and t.result.ok), "")
            rnd += 1
            await self.fan_out(step, question, rnd)
        elif isinstance(step, ChairStep):
            await self.chair(step)
        return rnd

    async def free_form(self) -> None:
        """A person hosts with no written steps: choose a voice, ask, watch, observe; until done."""
        assert self.human is not None
        voices = [self.rt.catalog.voice(v) for v in self.plan.voices]
        n = len(self.turns())
        while True:
            voice = self.human.next_voice(voices)
            if voice is None:
                return
            n += 1
            await self.ask(AskStep(id=f"free-{n:03d}", voice=voice.shortcut, sees="thread"))


async def run_symposium(rt: Runtime, plan: Plan, *, session_id: str | None = None, observer: Observer | None = None,
                        human: HumanHost | None = None) -> SymposiumOutcome:
    """Run (or resume, given ``session_id``) a symposium plan; every step is recorded as it happens."""
    obs = observer or NullObserver()
    # Every voice the plan names (a chair too) is known and has its key before anything is written or paid for.
    voices = [rt.catalog.voice(v) for v in plan.voice_names()]
    if session_id is None:
        session_id = rt.start_session("symposium", plan.title, plan={"kind": "symposium", **plan_to_dict(plan)},
                                      meta={"voices": list(plan.voices), "host": plan.host.name}, voices=voices).id
    else:
        rt.ready(voices)
        rt.archive.set_session_status(session_id, "running")
    run = _Run(rt, plan, session_id, obs, human, SymposiumOutcome(session_id))
    try:
        entry = plan.context_entry()
        if entry is not None:
            run.host_turn(entry.text, kind="context", key="context:context", meta=entry.meta)
        rnd = 0
        for step in plan.steps:
            obs.note(f"{plan.title}: step {step.id} ({step.kind})")
            rnd = await run.step(step, rnd)
        if not plan.steps and human is not None:
            await run.free_form()
    except BaseException:
        rt.archive.set_session_status(session_id, "interrupted")
        raise
    voice_turns = [t for t in run.outcome.turns if t.role != "host"]
    run.outcome.status = "complete" if not voice_turns or any(t.result.ok for t in voice_turns) else "failed"
    rt.archive.set_session_status(session_id, run.outcome.status)
    return run.outcome

