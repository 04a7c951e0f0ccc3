"""Council: one question to N voices at once, optional further rounds, a chair's synthesis, peer ranking.

Planning (what each voice is sent, the chair's and rankers' prompts, parsing rankings) is pure; the
orchestrator fans calls out with asyncio and lets :class:`~symposia.dialogue.runtime.Runtime` store each
call as it ends. Every call has a step key (``r1:qwen``, ``chair``, ``rank:grok``), so a council that
was interrupted resumes without repeating — or re-paying for — a finished call.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from symposia import prompts
from symposia.catalog import Voice
from symposia.dialogue.authoring import draft_checked, judge_with, outside_voices, session_speakers
from symposia.dialogue.observer import NullObserver, Observer, RequestObserver
from symposia.dialogue.ranking import parse_ranking, ranking_table
from symposia.dialogue.runtime import Runtime, step_seed
from symposia.dialogue.visibility import council_round_messages
from symposia.errors import BudgetExceeded
from symposia.records import ErrorInfo, Message, Params, TurnRecord, TurnRequest

__all__ = ["BudgetExceeded", "CouncilOutcome", "CouncilPlan", "aggregate_rankings", "anonymise", "chair_prompt",
           "council_preview", "parse_ranking", "rank_prompt", "run_council", "step_key"]


@dataclass(frozen=True)
class CouncilPlan:
    question: str
    voices: tuple[str, ...]
    rounds: int = 1
    chair: str | None = None
    rank: bool = False
    rank_self: bool = False  # rankers also rank their own (anonymised) answer
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    token_budget: int = 6000  # what a voice is shown of the others' answers in later rounds
    max_cost: float | None = None
    preset: str | None = None
    seed: int | None = None  # each call's seed derives from it and its step (None: a fresh seed per call)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["voices"] = list(self.voices)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CouncilPlan:
        known = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in known}
        kw["voices"] = tuple(kw["voices"])
        return cls(**kw)

    @property
    def params(self) -> Params:
        """The council's parameters; ``seed`` here is the base seed (see :meth:`params_for`)."""
        return Params(temperature=self.temperature, max_tokens=self.max_tokens, seed=self.seed)

    def params_for(self, step: str) -> Params:
        """The parameters of one step's call: with ``seed`` set, that step's own seed."""
        return replace(self.params, seed=step_seed(self.seed, step))


# -- pure planning -------------------------------------------------------------------------------

def step_key(round_no: int, voice: str) -> str:
    return f"r{round_no}:{voice}"


def chair_prompt(question: str, rounds: Sequence[Sequence[TurnRecord]]) -> str:
    """The chair sees every successful answer of every round, attributed by display name."""
    t = prompts.load("council")
    blocks = []
    for i, turns in enumerate(rounds, start=1):
        answers = "\n".join(t["answer_block"].format(name=x.voice_name, text=x.result.text.strip())
                            for x in turns if x.result.ok and x.result.text.strip())
        blocks.append(t["round_heading"].format(round=i) + "\n\n" + answers)
    return str(t["chair"]).format(question=question, rounds="\n\n".join(blocks))


def anonymise(voices: Sequence[str], seed: str) -> dict[str, str]:
    """Label map ``{"A": "qwen", ...}``, shuffled deterministically from ``seed`` (stored with the session)."""
    order = list(voices)
    random.Random(hashlib.sha256(seed.encode()).hexdigest()).shuffle(order)
    return {chr(ord("A") + i): v for i, v in enumerate(order)}


def rank_prompt(question: str, answers: dict[str, str]) -> str:
    t = prompts.load("council")
    responses = "\n".join(t["rank_response"].format(label=label, text=text.strip())
                          for label, text in sorted(answers.items()))
    return str(t["rank"]).format(question=question, responses=responses)


def aggregate_rankings(rankings: dict[str, list[str]], label_map: dict[str, str]) -> list[tuple[str, float, int]]:
    """Average position (1 = best) per voice over the rankers that ranked it: ``(voice, avg, votes)``."""
    positions: dict[str, list[int]] = {}
    for ranked in rankings.values():
        for pos, label in enumerate(ranked, start=1):
            positions.setdefault(label_map[label], []).append(pos)
    rows = [(v, sum(p) / len(p), len(p)) for v, p in positions.items()]
    return sorted(rows, key=lambda r: (r[1], r[0]))


# -- orchestration -------------------------------------------------------------------------------

@dataclass
class CouncilOutcome:
    session_id: str
    rounds: list[list[TurnRecord]] = field(default_factory=list)
    chair: TurnRecord | None = None
    rankings: list[tuple[str, float, int]] = field(default_factory=list)
    status: str = "complete"
    refused: list[str] = field(default_factory=list)  # "chair" when its attributions were refused

    def _repr_markdown_(self) -> str:
        """How a notebook shows a council: each round's answers, the chair, the ranking."""
        parts = [f"**Council** `{self.session_id}` — {self.status}"]
        for i, turns in enumerate(self.rounds, 1):
            parts.append(f"### Round {i}")
            parts += [t._repr_markdown_() for t in turns]
        if self.chair is not None:
            parts += ["### Chair", self.chair._repr_markdown_()]
        if self.rankings:
            parts.append("| voice | mean rank | votes |\n|---|---|---|\n" + "\n".join(
                f"| {v} | {mean:.2f} | {n} |" for v, mean, n in self.rankings))
        return "\n\n".join(parts)


def _spent(turns: Sequence[TurnRecord]) -> tuple[float, int]:
    costs = [t.result.usage.cost or 0.0 for t in turns]
    return sum(costs), len(costs)


def _check_budget(plan: CouncilPlan, done: Sequence[TurnRecord], upcoming: int, session_id: str) -> None:
    """Stop *before* a batch of calls that would pass the budget, estimating each new call at the mean
    cost of the calls made so far (no price table is consulted; reported costs only)."""
    if plan.max_cost is None:
        return
    spent, n = _spent(done)
    estimate = spent / n if n else 0.0
    if spent + estimate * upcoming > plan.max_cost:
        raise BudgetExceeded(
            f"stopping before {upcoming} more call(s): spent ${spent:.4f} of --max-cost ${plan.max_cost:.4f} "
            f"(about ${estimate:.4f} per call). Finished calls are stored; continue with "
            f"`symposia resume {session_id} --max-cost <higher>`."
        )


async def run_council(rt: Runtime, plan: CouncilPlan, *, session_id: str | None = None,
                      observer: Observer | None = None) -> CouncilOutcome:
    """Run (or resume, given ``session_id``) a council and return its turns in the plan's voice order."""
    obs = observer or NullObserver()
    voices = [rt.catalog.voice(v) for v in plan.voices]
    names = {v.shortcut: v.name for v in voices}
    callers = [*voices, *([rt.catalog.voice(plan.chair)] if plan.chair else [])]
    if session_id is None:
        title = " ".join(plan.question.split())[:80]
        session_id = rt.start_session("council", title, plan={"kind": "council", **plan.to_dict()},
                                      meta={"voices": list(plan.voices)}, voices=callers).id
    else:
        rt.ready(callers)
        rt.hold(session_id)  # one runner per session: refuses (naming it) while another runs it
    outcome = CouncilOutcome(session_id)
    made: list[TurnRecord] = []
    try:
        previous: list[TurnRecord] = []
        for rnd in range(1, plan.rounds + 1):
            _check_budget(plan, made, len(voices), session_id)
            obs.note(f"Round {rnd} of {plan.rounds}: {len(voices)} voices")

            async def one(i: int, v: Voice, rnd: int = rnd, previous: list[TurnRecord] = previous) -> TurnRecord:
                if rnd == 1:
                    messages = [Message("user", plan.question)]
                else:
                    messages = council_round_messages(v.shortcut, plan.question, previous, names,
                                                      plan.token_budget)
                key = step_key(rnd, v.shortcut)
                request = rt.request_for(v, messages, system=plan.system, params=plan.params_for(key))
                if isinstance(obs, RequestObserver):
                    obs.request_ready(key, request)
                obs.turn_started(key, v, f"round {rnd}")
                turn = await rt.call(session_id, v, request, step_key=key,
                                     on_event=lambda ev: obs.event(key, ev),
                                     meta={"round": rnd, "order": i, "step": key, "family": v.family})
                obs.turn_finished(key, turn)
                return turn

            turns = list(await asyncio.gather(*(one(i, v) for i, v in enumerate(voices))))
            outcome.rounds.append(turns)
            made.extend(turns)
            previous = turns

        answered = [t for t in outcome.rounds[-1] if t.result.ok and t.result.text.strip()]
        if plan.chair and answered:
            _check_budget(plan, made, 1, session_id)
            outcome.chair = await _chair(rt, plan, session_id, outcome, obs)
            made.extend(t for t in rt.archive.session_turns(session_id) if t.role == "chair")

        if plan.rank and len(answered) >= 2:
            _check_budget(plan, made, len(answered), session_id)
            by_voice = {t.voice: t for t in answered}

            async def rank(v: Voice) -> tuple[str, TurnRecord] | None:
                # its own shuffle of the others' answers (its own too with rank_self), labelled A, B, …
                others = [t.voice for t in answered if plan.rank_self or t.voice != v.shortcut]
                if len(others) < 2:
                    return None
                label_map = anonymise(others, f"{session_id}:{v.shortcut}")
                text = rank_prompt(plan.question, {label: by_voice[x].result.text for label, x in label_map.items()})
                key = f"rank:{v.shortcut}"
                request = rt.request_for(v, [Message("user", text)],
                                         system=str(prompts.load("council")["rank_system"]),
                                         params=plan.params_for(key))
                obs.turn_started(key, v, "ranking")
                turn = await rt.call(session_id, v, request, step_key=key,
                                     on_event=lambda ev: obs.event(key, ev),
                                     meta={"kind": "ranking", "labels": label_map, "step": key,
                                           "self_excluded": not plan.rank_self})
                obs.turn_finished(key, turn)
                return v.shortcut, turn

            ranked = [r for r in await asyncio.gather(*(rank(rt.catalog.voice(t.voice)) for t in answered))
                      if r is not None]
            made.extend(t for _, t in ranked)
            table = ranking_table([t for _, t in ranked])
            outcome.rankings = [(r.voice, r.mean_rank, r.votes) for r in table.rows
                                if r.mean_rank is not None] if table else []
    except BaseException:
        rt.finish(session_id, "interrupted")
        raise
    ok = any(t.result.ok for t in made)
    outcome.status = ("incomplete" if outcome.refused else "complete") if ok else "failed"
    rt.finish(session_id, outcome.status)
    return outcome


async def _chair(rt: Runtime, plan: CouncilPlan, session_id: str, outcome: CouncilOutcome,
                 obs: Observer) -> TurnRecord | None:
    """The chair's synthesis, its attributions checked like any host text: a quote it credits to a
    member must be that member's words, and it may credit no voice that was not in the council. Refused,
    it redrafts with the real words shown (at most twice); then the step is recorded as refused."""
    chair = rt.catalog.voice(plan.chair or "")
    turns = rt.archive.session_turns(session_id)
    speakers = session_speakers(rt, turns, plan.voices)
    names = {t.voice: t.voice_name for t in turns if t.role == "voice"}
    strangers = outside_voices(rt, [*plan.voices, chair.shortcut])
    out = await draft_checked(rt, session_id, chair, [Message("user", chair_prompt(plan.question, outcome.rounds))],
                              judge_with("chair", lambda: speakers, names, strangers=strangers),
                              system=str(prompts.load("council")["chair_system"]), key="chair", obs=obs,
                              params=plan.params,
                              role="chair", label="chair", meta={"kind": "synthesis", "step": "chair"})
    if out.accepted is not None:
        return out.accepted_turn
    outcome.refused.append("chair")
    rt.record_host(session_id, "", kind="chair", step_key="chair:refused", host_name="Council",
                   meta={"step": "chair", "refused": True, "to": chair.shortcut},
                   error=ErrorInfo(kind="misquote", message=out.problem or "the chair did not answer"))
    return None


def council_preview(rt: Runtime, plan: CouncilPlan) -> list[tuple[Voice, TurnRequest]]:
    """What each voice would be sent in round 1 (``--dry-run``); later rounds depend on the answers."""
    return [(v, rt.request_for(v, [Message("user", plan.question)], system=plan.system,
                               params=plan.params_for(step_key(1, v.shortcut))))
            for v in (rt.catalog.voice(name) for name in plan.voices)]
