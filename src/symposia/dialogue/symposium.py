"""The host-led symposium — the seed's shape: tailored questions, relayed quotes, observations, synthesis.

The host is a plan (literal text), a person (typed at the terminal) or an LLM voice. An LLM host drafts
each question when its turn comes, and the observations, key formulations, syntheses and closing
*after* the answers exist, from the record (:mod:`symposia.dialogue.authoring`); a plan may still
write any of them literally.

Everything the host writes is checked before it stands (:mod:`symposia.dialogue.attribution`): a
quote credited to a voice that is not verbatim in what that voice said — a near miss or an
invention — is refused. An LLM host redrafts with the real words shown (at most twice; then the step
is refused); a person is asked again; a plan's literal text is refused at once. A refused step is
recorded where it happened (a host turn with an error), the rest of the plan still runs, and the
session ends ``incomplete``. A quote credited to no voice of the session and like nothing in it is
an outside source: allowed, and marked as such in the turn's meta (the transcript footnotes it).

Every host contribution and every call is stored as it happens under the step's id. Resuming runs
the same plan again: finished calls whose inputs are unchanged are kept, the rest are made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from symposia import prompts
from symposia.archive.recall import recall
from symposia.catalog import Voice
from symposia.dialogue.attribution import Speaker, TextCheck, check_host_text, problems_text
from symposia.dialogue.authoring import (
    Authored,
    authored_from_text,
    authoring_messages,
    authoring_system,
    check_authored,
    current_turns,
    draft_checked,
    judge_with,
    outside_voices,
    record_text,
    session_speakers,
    with_sources,
)
from symposia.dialogue.observer import NullObserver, Observer
from symposia.dialogue.plan import (
    AskStep,
    BlindRoundStep,
    ChairStep,
    ClosingStep,
    FormulationsStep,
    ObserveStep,
    Plan,
    RoundStep,
    Step,
    SynthesisStep,
    plan_from_dict,
    plan_to_dict,
    step_entries,
)
from symposia.dialogue.runtime import Runtime
from symposia.dialogue.visibility import council_round_messages, messages_for
from symposia.errors import ArchiveError
from symposia.records import ErrorInfo, Message, SessionRecord, TurnRecord

__all__ = ["HumanHost", "SymposiumOutcome", "run_symposium", "session_status", "symposium_plan_from_session"]

_AUTHORED_KIND = {"observe": "observation", "formulations": "formulations", "synthesis": "synthesis",
                  "closing": "closing"}


class HumanHost(Protocol):
    """What a person at the terminal supplies when they host."""

    def question(self, voice: Voice, intent: str | None, problem: str | None) -> str | None:
        """The question for ``voice`` (None skips the step); ``problem`` explains a refused draft."""

    def observation(self, after: TurnRecord) -> str | None:
        """An optional observation after a voice answered."""

    def compose(self, kind: str, intent: str | None, problem: str | None) -> str | None:
        """Host text the plan leaves to the person — an observation, the closing, or a table as TOML
        ``[[rows]]`` (formulations: voice, quote; synthesis: voice, role, formulation, plus revealed and
        note); None leaves it out."""

    def next_voice(self, voices: Sequence[Voice]) -> Voice | None:
        """For a free-form session: whom to ask next (None ends the session)."""


@dataclass
class SymposiumOutcome:
    session_id: str
    turns: list[TurnRecord] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # step ids refused (a misquote) or left unwritten
    status: str = "complete"


def symposium_plan_from_session(session: SessionRecord) -> Plan:
    return plan_from_dict(session.plan)


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
        return current_turns(self.rt.archive.session_turns(self.session_id))

    def before(self, step_id: str) -> list[TurnRecord]:
        """The record as the step sees it: the turns of the steps before it in the plan (and the context).

        Ordered by the plan, not by when a turn was stored, so that a resumed run builds exactly the
        inputs the first run built for a step whose earlier steps did not change."""
        order = {s.id: i for i, s in enumerate(self.plan.steps)}
        here = order.get(step_id)
        out = []
        for t in self.turns():
            step = t.meta.get("step")
            if step == "context" or here is None or isinstance(step, str) and step in order and order[step] < here:
                out.append(t)
        return out

    def speakers(self, step_id: str, addressed: str | None = None) -> list[Speaker]:
        return session_speakers(self.rt, self.before(step_id), self.plan.voices, addressed=addressed)

    def names(self) -> dict[str, str]:
        out = {}
        for v in self.plan.voices:
            out[v] = self.rt.catalog.voice(v).name
        return out

    def host_voice(self) -> Voice:
        assert self.plan.host.voice is not None
        return self.rt.catalog.voice(self.plan.host.voice)

    def host_turn(self, text: str, *, kind: str, key: str, meta: dict[str, Any] | None = None,
                  error: ErrorInfo | None = None, provider: str | None = None) -> TurnRecord:
        prov = provider or ("human" if self.plan.host.mode == "human" else "plan")
        turn = self.rt.record_host(self.session_id, text, kind=kind, step_key=key, host_name=self.plan.host.name,
                                   provider=prov, meta=meta, error=error)
        self.outcome.turns.append(turn)
        return turn

    def refuse(self, step_id: str, kind: str, key: str, problem: str, meta: dict[str, Any],
               provider: str | None = None, error_kind: str = "misquote") -> None:
        self.outcome.refused.append(step_id)
        self.obs.note(f"refused step {step_id} ({kind}): {problem.splitlines()[0] if problem else ''}")
        self.host_turn("", kind=kind, key=key, meta={**meta, "step": step_id, "refused": True},
                       error=ErrorInfo(kind=error_kind, message=problem or "refused"), provider=provider)

    def mark_outside(self, check: TextCheck) -> None:
        for q in check.outside:
            self.obs.note(f"outside source, not in this session's record (sent, marked): \u201c{q}\u201d")

    # -- questions ---------------------------------------------------------------------------------
    def own_formulations(self, voice: Voice, n: int = 8) -> list[str]:
        """The voice's most distinctive earlier lines from the archive (verbatim), for "you're the one who
        said…"; the host may quote them, and the quote check finds them in the record."""
        try:
            found = recall(self.rt.archive, voice.shortcut, n)
        except ArchiveError:  # the voice has no earlier answers yet
            return []
        return [f.text for f in found if f.session_id != self.session_id]

    def question_messages(self, step_id: str, voice: Voice, intent: str | None) -> list[Message]:
        t = prompts.load("symposium")
        own = self.own_formulations(voice)
        own_block = str(t["own_words"]).format(
            name=voice.name, lines="\n".join(f"- {o}" for o in own)) if own else ""
        prompt = str(t["draft"]).format(
            title=self.plan.title, context=self.plan.context or "", name=voice.name, own=own_block,
            transcript=record_text(self.before(step_id), self.plan.host.name) or "(nothing yet)",
            intent=f" Aim: {intent}" if intent else "")
        return [Message("user", prompt)]

    async def question(self, step: AskStep | BlindRoundStep, voice: Voice | None) -> TurnRecord | None:
        """The host question of a step, checked and recorded (or refused) before any voice sees it."""
        key = f"{step.id}:question"
        to: Any = voice.shortcut if voice is not None else list(step.voices)  # type: ignore[union-attr]
        target = voice or self.rt.catalog.voice(step.voices[0])  # type: ignore[union-attr]
        base: dict[str, Any] = {"step": step.id, "to": to, "to_name": target.name if voice is not None else None}
        if isinstance(step, BlindRoundStep):
            base["blind"] = True
        speakers = self.speakers(step.id, target.shortcut if voice is not None else None)
        text: str | None = step.question
        provider: str | None = None
        extra: dict[str, Any] = {}
        if text is None and self.plan.host.mode == "llm":
            host = self.host_voice()
            provider = host.shortcut
            out = await draft_checked(
                self.rt, self.session_id, host, self.question_messages(step.id, target, step.intent),
                judge_with("question", lambda: speakers, self.names()),
                system=str(prompts.load("symposium")["draft_system"]), key=f"{step.id}:draft", obs=self.obs,
                meta={"kind": "draft", "step": step.id, "to": to, "for": "question"},
                label=f"drafting a question for {target.name}")
            if out.accepted is None:
                self.refuse(step.id, "question", key, out.problem or "", base, provider=provider)
                return None
            text = out.accepted.text
            extra["draft_turn"] = out.accepted_turn.id if out.accepted_turn else None
        elif text is None and self.plan.host.mode == "human":
            if self.human is None:
                raise RuntimeError("this plan's host is a person: run it interactively")
            problem: str | None = None
            while True:
                text = self.human.question(target, step.intent, problem)
                if text is None:
                    break
                check = check_host_text(text, speakers)
                if check.ok:
                    break
                problem = problems_text(check, self.names())
        if text is None:
            self.refuse(step.id, "question", key, "the host skipped this step", base, provider=provider,
                        error_kind="no_question")
            return None
        check = check_host_text(text, speakers)
        if not check.ok:  # a plan's literal question
            self.refuse(step.id, "question", key, problems_text(check, self.names()),
                        {**base, **check.to_meta()}, provider=provider)
            return None
        self.mark_outside(check)
        return self.host_turn(text, kind="question", key=key, meta={**base, **check.to_meta(), **extra},
                              provider=provider)

    # -- host text after the answers ---------------------------------------------------------------
    async def authored(self, step: ObserveStep | FormulationsStep | SynthesisStep | ClosingStep) -> None:
        kind = _AUTHORED_KIND[step.kind]
        key = f"{step.id}:{kind}"
        title = step.title if isinstance(step, SynthesisStep) else None
        speakers = self.speakers(step.id)
        entries = step_entries(step)
        provider: str | None = None
        extra: dict[str, Any] = {}
        if entries:  # the plan wrote it
            entry = entries[0]
            meta = {k: v for k, v in entry.meta.items() if k not in ("kind", "step")}
            a: Authored | None = Authored(kind, entry.text, meta)
        elif self.plan.host.mode == "llm":
            host = self.host_voice()
            provider = host.shortcut
            messages = authoring_messages(kind, title=self.plan.title, context=self.plan.context,
                                          transcript=record_text(self.before(step.id), self.plan.host.name),
                                          intent=step.intent, heading=title)
            out = await draft_checked(self.rt, self.session_id, host, messages,
                                      judge_with(kind, lambda: speakers, self.names(), title=title),
                                      system=authoring_system(), key=f"{step.id}:draft", obs=self.obs,
                                      meta={"kind": "draft", "step": step.id, "for": kind},
                                      label=f"writing the {kind}")
            if out.accepted is None:
                self.refuse(step.id, kind, key, out.problem or "", {}, provider=provider)
                return
            a = out.accepted
            extra["draft_turn"] = out.accepted_turn.id if out.accepted_turn else None
        else:
            a = self.compose(kind, step.intent, speakers, title)
            if a is None:
                self.refuse(step.id, kind, key, "the host left it unwritten", {}, error_kind="unwritten")
                return
        assert a is not None
        check = check_authored(a, speakers)
        if not check.ok:
            self.refuse(step.id, kind, key, problems_text(check, self.names()), check.to_meta(), provider=provider)
            return
        a = with_sources(a, check)
        self.mark_outside(check)
        self.host_turn(a.text, kind=kind, key=key, meta={**a.meta, "step": step.id, **check.to_meta(), **extra},
                       provider=provider)

    def compose(self, kind: str, intent: str | None, speakers: Sequence[Speaker],
                title: str | None = None) -> Authored | None:
        """A person writes host text (tables as TOML rows); asked again while it misquotes."""
        if self.human is None:
            return None
        problem: str | None = None
        while True:
            text = self.human.compose(kind, intent, problem)
            if text is None:
                return None
            try:
                a = authored_from_text(kind, text, title=title)
            except ValueError as exc:
                problem = f"- {exc}"
                continue
            check = check_authored(a, speakers)
            if check.ok:
                return a
            problem = problems_text(check, self.names())

    # -- steps -------------------------------------------------------------------------------------
    async def ask(self, step: AskStep) -> None:
        voice = self.rt.catalog.voice(step.voice)
        q = await self.question(step, voice)
        if q is None:
            return
        snapshot = tuple(t for t in self.before(step.id) if t.meta.get("kind") != "draft")
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
            speakers = session_speakers(self.rt, self.turns(), self.plan.voices)
            while note:
                check = check_host_text(note, speakers)
                if check.ok:
                    self.mark_outside(check)
                    self.host_turn(note, kind="observation", key=f"{step.id}:observation",
                                   meta={"step": step.id, **check.to_meta()})
                    break
                note = self.human.compose("observation", None, problems_text(check, self.names()))

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
        """A voice synthesises; its attributions (names and quotes) are checked like any host text."""
        voice = self.rt.catalog.voice(step.voice)
        t = prompts.load("symposium")
        text = str(t["chair"]).format(title=self.plan.title, prompt=step.prompt or t["chair_default"],
                                      transcript=record_text(self.before(step.id), self.plan.host.name))
        speakers = self.speakers(step.id)
        strangers = outside_voices(self.rt, [*self.plan.voices, step.voice])
        out = await draft_checked(self.rt, self.session_id, voice, [Message("user", text)],
                                  judge_with("chair", lambda: speakers, self.names(), strangers=strangers),
                                  system=None, key=step.id, obs=self.obs, role="chair", label="chair",
                                  meta={"step": step.id, "kind": "synthesis", "family": voice.family})
        self.outcome.turns.extend(out.turns)
        if out.accepted is None:
            self.refuse(step.id, "chair", f"{step.id}:refused", out.problem or "", {"to": voice.shortcut})

    async def step(self, step: Step, rnd: int) -> int:
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
        else:
            await self.authored(step)
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


def session_status(turns: Sequence[TurnRecord], refused: Sequence[str]) -> str:
    """``failed`` when no voice answered; ``incomplete`` when a step was refused or a voice's call failed
    (``resume`` retries it); else ``complete``."""
    voice_turns = [t for t in turns if t.role != "host"]
    if voice_turns and not any(t.result.ok for t in voice_turns):
        return "failed"
    return "incomplete" if refused or any(not t.result.ok for t in voice_turns) else "complete"


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
        rt.hold(session_id)  # one runner per session: refuses (naming it) while another runs it
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
        rt.finish(session_id, "interrupted")
        raise
    run.outcome.status = session_status(run.outcome.turns, run.outcome.refused)
    rt.finish(session_id, run.outcome.status)
    return run.outcome
