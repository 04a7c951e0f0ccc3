"""Study mode, the orchestrator: each prompt to each voice in a fresh context, K samples, plus control
prompts (for the floor and base rates), optionally a cue-stripped rewording of each prompt and, with
``echo``, each prompt again with the other voices' fresh answers shown (the exposed set).

Every call has a step key (``p3:qwen:s2``, ``c7:grok:s1``, ``r3:qwen:s2``, ``e3:qwen:s2``, ``rw:p3``)
and is stored by :meth:`Runtime.call` when it ends, so a study that stopped resumes without repeating
a finished call. The statistics live in :mod:`symposia.analysis.study`.

The calls of one phase are handed to a :data:`CallLoop` as a list of :class:`StudyCall`; the default
runs them concurrently through :meth:`Runtime.call`. Another loop (a provider's batch API) can be
passed to :func:`run_study` without touching the plan, the step keys or the phases.
"""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from symposia import prompts as prompt_files
from symposia.catalog import Voice
from symposia.dialogue.observer import NullObserver, Observer
from symposia.dialogue.runtime import Runtime, step_seed
from symposia.errors import SymposiaError
from symposia.records import Message, Params, TurnRecord

__all__ = ["CallLoop", "StudyCall", "StudyOutcome", "StudyPlan", "concurrent_loop", "load_prompt_file",
           "run_study"]


def load_prompt_file(path: Path) -> list[str]:
    """Prompts (or texts) from a file: TOML or JSON with a ``prompts`` list (JSON may be a bare list), else
    one per non-empty line (``#`` lines are comments)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SymposiaError(f"cannot read the prompt file {path}: {exc}") from exc
    data: Any
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(text).get("prompts")
        except tomllib.TOMLDecodeError as exc:
            raise SymposiaError(f"{path} is not valid TOML: {exc}") from exc
    elif path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SymposiaError(f"{path} is not valid JSON: {exc}") from exc
        data = data.get("prompts") if isinstance(data, dict) else data
    else:
        data = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not isinstance(data, list) or not all(isinstance(p, str) and p.strip() for p in data) or not data:
        raise SymposiaError(f"{path} holds no prompts: give a TOML/JSON list `prompts = [...]` or one per line")
    return [p.strip() for p in data]


@dataclass(frozen=True)
class StudyPlan:
    prompts: tuple[str, ...]
    voices: tuple[str, ...]
    samples: int = 5
    controls: tuple[str, ...] = ()  # control prompts, run like the prompts: the floor and base rates
    control_samples: int = 1
    reword: str | None = None  # a voice that rewrites each prompt without its key images
    echo: bool = False  # also run each prompt with the other voices' fresh answers shown
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    concurrency: int = 8
    title: str | None = None
    seed: int | None = None  # each call's seed derives from it and its step (None: a fresh seed per call)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("prompts", "voices", "controls"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StudyPlan:
        known = set(cls.__dataclass_fields__)
        kw = {k: v for k, v in d.items() if k in known}
        for k in ("prompts", "voices", "controls"):
            kw[k] = tuple(kw.get(k, ()))
        return cls(**kw)

    @property
    def params(self) -> Params:
        """The study's parameters; ``seed`` here is the base seed (see :func:`step_seed`)."""
        return Params(temperature=self.temperature, max_tokens=self.max_tokens, seed=self.seed)

    @property
    def calls(self) -> int:
        per_prompt = len(self.voices) * self.samples
        n = len(self.prompts) * per_prompt + len(self.voices) * len(self.controls) * self.control_samples
        if self.echo:
            n += len(self.prompts) * per_prompt
        if self.reword:
            n += len(self.prompts) * (1 + per_prompt)
        return n


@dataclass
class StudyOutcome:
    session_id: str
    turns: list[TurnRecord] = field(default_factory=list)
    reworded: dict[str, str] = field(default_factory=dict)
    status: str = "complete"


@dataclass(frozen=True)
class StudyCall:
    """One call of a study: who is asked what, under which step key."""

    voice: Voice
    text: str
    key: str
    meta: dict[str, Any]
    role: Literal["voice", "host"] = "voice"
    system: str | None = None


CallLoop = Callable[[Runtime, str, Sequence[StudyCall], Params, Observer], Awaitable[list[TurnRecord]]]
"""Runs the calls of one phase for a session and returns their turns in the same order. A ``seed`` in
the params is the study's base seed: each call gets ``step_seed(seed, call.key)``."""


def concurrent_loop(concurrency: int) -> CallLoop:
    """The default loop: every call through :meth:`Runtime.call`, at most ``concurrency`` at a time."""

    async def run(rt: Runtime, sid: str, calls: Sequence[StudyCall], params: Params,
                  obs: Observer) -> list[TurnRecord]:
        gate = asyncio.Semaphore(max(1, rt.slots(concurrency)))

        async def one(c: StudyCall) -> TurnRecord:
            async with gate:
                request = rt.request_for(c.voice, [Message("user", c.text)], system=c.system,
                                         params=replace(params, seed=step_seed(params.seed, c.key)))
                obs.turn_started(c.key, c.voice, c.key)
                turn = await rt.call(sid, c.voice, request, step_key=c.key, role=c.role,
                                     on_event=lambda ev: obs.event(c.key, ev), meta={**c.meta, "step": c.key})
                obs.turn_finished(c.key, turn)
                return turn

        return list(await asyncio.gather(*(one(c) for c in calls)))

    return run


def _exposed_text(prompt: str, others: Sequence[TurnRecord]) -> str:
    t = prompt_files.load("analysis")
    shown = "\n".join(t["exposed_answer"].format(voice=o.voice_name or o.voice, text=o.result.text.strip())
                      for o in others)
    return str(t["exposed"]).format(answers=shown, prompt=prompt)


def _study_calls(plan: StudyPlan, voices: Sequence[Voice], set_name: str, prefix: str,
                 prompts: Sequence[tuple[int, str]], samples: int) -> list[StudyCall]:
    return [StudyCall(v, text, f"{prefix}{i}:{v.shortcut}:s{k}",
                      {"kind": "study", "set": set_name, "prompt": f"{'c' if prefix == 'c' else 'p'}{i}", "sample": k},
                      system=plan.system)
            for i, text in prompts for v in voices for k in range(1, samples + 1)]


async def run_study(rt: Runtime, plan: StudyPlan, *, session_id: str | None = None,
                    observer: Observer | None = None, loop: CallLoop | None = None) -> StudyOutcome:
    """Run (or resume, given ``session_id``) a study; every call is stored as it ends."""
    if not plan.prompts or not plan.voices or plan.samples < 1:
        raise SymposiaError("a study needs at least one prompt, one voice and one sample")
    if plan.echo and len(plan.voices) < 2:
        raise SymposiaError("the echo option shows each voice the other voices' answers: give at least two voices")
    obs = observer or NullObserver()
    run_calls = loop or concurrent_loop(plan.concurrency)
    voices = [rt.catalog.voice(v) for v in plan.voices]
    callers = voices + ([rt.catalog.voice(plan.reword)] if plan.reword else [])
    if session_id is None:  # every voice resolved (keys, providers) before the session row exists
        title = plan.title or f"Study: {len(plan.prompts)} prompts x {len(voices)} voices x {plan.samples}"
        session_id = rt.start_session("study", title, plan={"kind": "study", **plan.to_dict()},
                                      meta={"voices": list(plan.voices)}, voices=callers).id
    else:
        rt.ready(callers)
        rt.hold(session_id)  # one runner per session: refuses (naming it) while another runs it
    sid = session_id
    outcome = StudyOutcome(sid)
    numbered = list(enumerate(plan.prompts, 1))
    try:
        if plan.reword:
            rewriter = rt.catalog.voice(plan.reword)
            t = prompt_files.load("analysis")
            obs.note(f"Rewording {len(plan.prompts)} prompts with {rewriter.name}")
            rws = await run_calls(rt, sid, [
                StudyCall(rewriter, t["reword"].format(prompt=p), f"rw:p{i}", {"kind": "reword", "prompt": f"p{i}"},
                          role="host", system=str(t["reword_system"])) for i, p in numbered], plan.params, obs)
            outcome.turns.extend(rws)
            for i, rw in enumerate(rws, 1):
                if rw.result.ok and rw.result.text.strip():
                    outcome.reworded[f"p{i}"] = rw.result.text.strip()
        calls = _study_calls(plan, voices, "prompt", "p", numbered, plan.samples)
        calls += _study_calls(plan, voices, "reworded", "r",
                              [(i, outcome.reworded[f"p{i}"]) for i, _ in numbered if f"p{i}" in outcome.reworded],
                              plan.samples)
        calls += _study_calls(plan, voices, "control", "c", list(enumerate(plan.controls, 1)), plan.control_samples)
        obs.note(f"{len(calls)} calls ({len(voices)} voices, {plan.samples} samples)")
        fresh = await run_calls(rt, sid, calls, plan.params, obs)
        outcome.turns.extend(fresh)
        if plan.echo:
            outcome.turns.extend(await run_calls(rt, sid, _exposed_calls(plan, voices, fresh), plan.params, obs))
    except BaseException:
        rt.finish(sid, "interrupted")
        raise
    ok = [t.result.ok for t in outcome.turns]
    outcome.status = "complete" if all(ok) else ("failed" if not any(ok) else "interrupted")
    rt.finish(sid, outcome.status)
    return outcome


def _exposed_calls(plan: StudyPlan, voices: Sequence[Voice], fresh: Sequence[TurnRecord]) -> list[StudyCall]:
    """Each prompt again, sample k of each voice shown sample k of every other voice (fresh answers)."""
    answers = {(t.meta.get("prompt"), t.voice, t.meta.get("sample")): t for t in fresh
               if t.meta.get("set") == "prompt" and t.result.ok and t.result.text.strip()}
    calls: list[StudyCall] = []
    for i, prompt in enumerate(plan.prompts, 1):
        for v in voices:
            for k in range(1, plan.samples + 1):
                others = [answers[(f"p{i}", o.shortcut, k)] for o in voices
                          if o.shortcut != v.shortcut and (f"p{i}", o.shortcut, k) in answers]
                if not others:
                    continue  # nothing to show: the fresh answers failed; a resume retries them first
                calls.append(StudyCall(v, _exposed_text(prompt, others), f"e{i}:{v.shortcut}:s{k}",
                                       {"kind": "study", "set": "exposed", "prompt": f"p{i}", "sample": k,
                                        "shown": [o.id for o in others]}, system=plan.system))
    return calls
