"""A session plan as data: who is convened, who hosts, and the steps of the dialogue, from TOML.

A plan file (every key but ``title``, ``voices`` and ``steps`` is optional)::

    title = "Live Trans-Architectural Dialogue"
    kind = "symposium"              # "symposium" (host-led, the seed's shape) | "council"
    subtitle = "Claude Opus 4.5 reaches across the architecture gap in real time"
    context = \"\"\"Markdown, rendered under ## Context.\"\"\"
    voices = ["qwen", "grok", "deepseek"]   # catalog shortcuts; steps may only name these
    system = "a system prompt for every voice"

    [host]
    mode = "plan"                   # "plan": questions written below | "human": asked at the prompt
                                    # | "llm": drafted by the host voice
    voice = "opus"                  # the voice that drafts questions (mode "llm"); also lets
                                    # synthesis rows name the host
    name = "Claude Opus 4.5"        # how the host is named in the transcript (default "Host")

    [[steps]]                       # steps run in order; each has a stable id (see below)
    kind = "ask"                    # one voice, one tailored question
    voice = "qwen"
    question = "…"                  # required when host.mode is "plan"
    intent = "…"                    # optional: what to ask, for an llm or human host to draft from
    sees = "thread"                 # "blind": only the question | "thread": its own earlier
                                    # exchanges in this session + the question | "all": the
                                    # whole session so far, attributed
    heading = "Continued Dialogue"  # optional, shown as "## Voice: DeepSeek V3 (Continued Dialogue)"

    [[steps]]
    kind = "blind_round"            # the same question to every listed voice (default: all);
    question = "…"                  # no voice sees another's answer
    voices = ["qwen", "grok"]

    [[steps]]
    kind = "round"                  # council round >= 2: each voice sees the others' previous
    voices = ["qwen", "grok"]       # answers (default: all)

    [[steps]]
    kind = "chair"                  # one voice synthesises the round(s); it need not be a voice
    voice = "opus"                  # of the plan
    prompt = "…"                    # optional instruction for the chair

    [[steps]]
    kind = "observe"                # a host observation; with host.mode "llm" (or "human") and no
    text = "…"                      # text, the host writes it after the answers (optional intent)

    [[steps]]
    kind = "formulations"           # Key Formulations: verbatim quotes of the voices' answers
    rows = [{ voice = "qwen", quote = "…" }]   # leave out with host.mode "llm": the host chooses
                                    # exact spans of the answers after they exist

    [[steps]]
    kind = "synthesis"              # a table (voice or label, role, formulation), what the
    title = "Three Voices"          # dialogue revealed, and a note
    rows = [{ voice = "qwen", role = "Completion", formulation = "…" },
            { label = "Claude", role = "Threading", formulation = "…" }]
    revealed = ["…", "…"]            # rows/revealed/note left out with host.mode "llm": the host
                                    # drafts them from the record after the answers
    note = "…"

    [[steps]]
    kind = "closing"
    text = "…"

Step ids: ``id = "..."`` in a step, else ``step-01``, ``step-02``… by position. The runtime uses them
as step keys, so a resumed session skips the steps already done: give steps explicit ids before
inserting new steps into a plan whose session may be resumed.

Problems raise :class:`~symposia.errors.ConfigError` naming the file, line and field.
``plan_to_dict`` / ``plan_from_dict`` give the dict stored in ``SessionRecord.plan``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import ErrorDetails

from symposia.tomlfile import KeyPath, TomlFile, dotted

__all__ = [
    "AskStep",
    "BlindRoundStep",
    "ChairStep",
    "ClosingStep",
    "FormulationRow",
    "FormulationsStep",
    "Host",
    "HostEntry",
    "ObserveStep",
    "Plan",
    "RoundStep",
    "Step",
    "SynthesisRow",
    "SynthesisStep",
    "load_plan",
    "parse_plan",
    "plan_from_dict",
    "plan_to_dict",
    "step_entries",
]

Sees = Literal["blind", "thread", "all"]
HostMode = Literal["plan", "human", "llm"]
PlanKind = Literal["symposium", "council"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Host:
    mode: HostMode = "plan"
    voice: str | None = None
    name: str = "Host"


@dataclass(frozen=True)
class AskStep:
    kind: ClassVar[str] = "ask"
    id: str
    voice: str
    question: str | None = None
    intent: str | None = None
    sees: Sees = "thread"
    heading: str | None = None


@dataclass(frozen=True)
class BlindRoundStep:
    kind: ClassVar[str] = "blind_round"
    id: str
    voices: tuple[str, ...]
    question: str | None = None
    intent: str | None = None
    heading: str | None = None


@dataclass(frozen=True)
class RoundStep:
    kind: ClassVar[str] = "round"
    id: str
    voices: tuple[str, ...]


@dataclass(frozen=True)
class ChairStep:
    kind: ClassVar[str] = "chair"
    id: str
    voice: str
    prompt: str | None = None


@dataclass(frozen=True)
class ObserveStep:
    kind: ClassVar[str] = "observe"
    id: str
    text: str | None = None  # None: the host (an llm or a person) writes it after the answers
    intent: str | None = None


@dataclass(frozen=True)
class FormulationRow:
    voice: str
    quote: str


@dataclass(frozen=True)
class FormulationsStep:
    kind: ClassVar[str] = "formulations"
    id: str
    rows: tuple[FormulationRow, ...] = ()  # empty: an llm host chooses them from the answers
    intent: str | None = None


@dataclass(frozen=True)
class SynthesisRow:
    role: str
    formulation: str
    voice: str | None = None  # a plan voice or the host's voice
    label: str | None = None  # shown instead of the voice's name (e.g. "Claude" for the host)


@dataclass(frozen=True)
class SynthesisStep:
    kind: ClassVar[str] = "synthesis"
    id: str
    title: str | None = None
    rows: tuple[SynthesisRow, ...] = ()
    revealed: tuple[str, ...] = ()
    note: str | None = None
    intent: str | None = None

    @property
    def written(self) -> bool:
        """The plan writes the synthesis (else an llm host drafts it after the answers)."""
        return bool(self.rows or self.revealed or self.note)


@dataclass(frozen=True)
class ClosingStep:
    kind: ClassVar[str] = "closing"
    id: str
    text: str | None = None  # None: the host (an llm or a person) writes it after the answers
    intent: str | None = None


Step = (AskStep | BlindRoundStep | RoundStep | ChairStep | ObserveStep | FormulationsStep
        | SynthesisStep | ClosingStep)


@dataclass(frozen=True)
class Plan:
    title: str
    voices: tuple[str, ...]
    steps: tuple[Step, ...]
    kind: PlanKind = "symposium"
    subtitle: str | None = None
    context: str | None = None
    system: str | None = None
    host: Host = field(default_factory=Host)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def voice_names(self) -> tuple[str, ...]:
        """Every voice the plan may call: its voices, the host's voice and each chair, in that order."""
        names = [*self.voices, *([self.host.voice] if self.host.voice else []),
                 *(s.voice for s in self.steps if isinstance(s, ChairStep))]
        return tuple(dict.fromkeys(names))

    def context_entry(self) -> HostEntry | None:
        """The plan's context as the host turn that opens the record (step id ``context``)."""
        if not self.context:
            return None
        return HostEntry(kind="context", text=self.context, meta={"kind": "context", "step": "context"})


@dataclass(frozen=True)
class HostEntry:
    """A host contribution a plan writes into the record: a TurnRecord with role "host".

    ``meta`` is the TurnRecord's meta as the renderer reads it (it holds ``kind`` and ``step``).
    """

    kind: str
    text: str
    meta: dict[str, Any]


def step_entries(step: Step) -> tuple[HostEntry, ...]:
    """The host turns a step writes from the plan alone (none for voice calls or unwritten questions)."""
    base: dict[str, Any] = {"step": step.id}
    if isinstance(step, AskStep):
        if step.question is None:
            return ()
        return (HostEntry("question", step.question, {"kind": "question", **base, "to": step.voice}),)
    if isinstance(step, BlindRoundStep):
        if step.question is None:
            return ()
        return (HostEntry("question", step.question,
                          {"kind": "question", **base, "to": list(step.voices), "blind": True}),)
    if isinstance(step, ObserveStep):
        if step.text is None:
            return ()
        return (HostEntry("observation", step.text, {"kind": "observation", **base}),)
    if isinstance(step, ClosingStep):
        if step.text is None:
            return ()
        return (HostEntry("closing", step.text, {"kind": "closing", **base}),)
    if isinstance(step, FormulationsStep) and not step.rows:
        return ()
    if isinstance(step, SynthesisStep) and not step.written:
        return ()
    if isinstance(step, FormulationsStep):
        text = "\n".join(f'{r.voice}: "{r.quote}"' for r in step.rows)
        rows = [{"turn_id": None, "voice": r.voice, "quote": r.quote} for r in step.rows]
        return (HostEntry("formulations", text, {"kind": "formulations", **base, "rows": rows}),)
    if isinstance(step, SynthesisStep):
        return (HostEntry("synthesis", _synthesis_text(step), {
            "kind": "synthesis", **base, "title": step.title,
            "rows": [_drop_none({"voice": r.voice, "label": r.label, "role": r.role,
                                 "formulation": r.formulation}) for r in step.rows],
            "revealed": list(step.revealed), "note": step.note,
        }),)
    return ()


def _synthesis_text(step: SynthesisStep) -> str:
    """Plain text of a synthesis, for search and for voices that see the whole session."""
    lines = [f"Synthesis: {step.title}" if step.title else "Synthesis"]
    lines += [f"- {r.label or r.voice}: {r.role} — {r.formulation}" for r in step.rows]
    if step.revealed:
        lines.append("What the dialogue revealed:")
        lines += [f"{i}. {item}" for i, item in enumerate(step.revealed, 1)]
    if step.note:
        lines.append(step.note)
    return "\n".join(lines)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


# -- parsing: pydantic models of the TOML shape, then the checks that need the whole plan -------------

def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def _step_id(value: str) -> str:
    if not _ID.match(value) or value == "context":
        raise ValueError(f"invalid step id {value!r}: use letters, digits, '-', '_' or '.' (and not 'context')")
    return value


_Text = Annotated[str, AfterValidator(_non_blank)]
_Name = Annotated[str, StringConstraints(min_length=1)]
_StepId = Annotated[str, AfterValidator(_step_id)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _HostIn(_In):
    mode: HostMode = "plan"
    voice: _Text | None = None
    name: _Text | None = None


class _AskIn(_In):
    kind: Literal["ask"]
    id: _StepId | None = None
    voice: _Text
    question: str | None = None
    intent: str | None = None
    sees: Sees = "thread"
    heading: str | None = None


class _BlindRoundIn(_In):
    kind: Literal["blind_round"]
    id: _StepId | None = None
    voices: list[_Name] | None = None
    question: str | None = None
    intent: str | None = None
    heading: str | None = None


class _RoundIn(_In):
    kind: Literal["round"]
    id: _StepId | None = None
    voices: list[_Name] | None = None


class _ChairIn(_In):
    kind: Literal["chair"]
    id: _StepId | None = None
    voice: _Text
    prompt: str | None = None


class _ObserveIn(_In):
    kind: Literal["observe"]
    id: _StepId | None = None
    text: _Text | None = None
    intent: str | None = None


class _ClosingIn(_In):
    kind: Literal["closing"]
    id: _StepId | None = None
    text: _Text | None = None
    intent: str | None = None


class _FormulationRowIn(_In):
    voice: _Text
    quote: _Text


class _FormulationsIn(_In):
    kind: Literal["formulations"]
    id: _StepId | None = None
    rows: list[_FormulationRowIn] | None = None
    intent: str | None = None


class _SynthesisRowIn(_In):
    voice: _Text | None = None
    label: _Text | None = None
    role: _Text
    formulation: _Text


class _SynthesisIn(_In):
    kind: Literal["synthesis"]
    id: _StepId | None = None
    title: str | None = None
    rows: list[_SynthesisRowIn] = []
    revealed: list[str] = []
    note: str | None = None
    intent: str | None = None


_STEP_MODELS: dict[str, type[_In]] = {
    "ask": _AskIn, "blind_round": _BlindRoundIn, "round": _RoundIn, "chair": _ChairIn,
    "observe": _ObserveIn, "formulations": _FormulationsIn, "synthesis": _SynthesisIn, "closing": _ClosingIn,
}
_StepIn = Annotated[_AskIn | _BlindRoundIn | _RoundIn | _ChairIn | _ObserveIn | _FormulationsIn | _SynthesisIn
                    | _ClosingIn, Field(discriminator="kind")]


class _PlanIn(_In):
    title: _Text
    kind: PlanKind = "symposium"
    subtitle: str | None = None
    context: str | None = None
    voices: Annotated[list[_Name], Field(min_length=1)]
    system: str | None = None
    host: _HostIn = _HostIn()
    steps: Annotated[list[_StepIn], Field(min_length=1)]


class _Problem(Exception):
    """A plan problem at key path ``at`` (raised by the checks, turned into a ConfigError with its line)."""

    def __init__(self, message: str, *at: str | int) -> None:
        super().__init__(message)
        self.message = message
        self.at = at


def _validate(data: Mapping[str, Any], src: TomlFile) -> Plan:
    try:
        model = _PlanIn.model_validate(data)
        return _build(model)
    except ValidationError as exc:
        message, at = _describe(exc.errors()[0])
    except _Problem as problem:
        message, at = problem.message, problem.at
    name = dotted(at)
    raise src.error(f"{message} (field {name!r})", *at, field=name)


def _describe(err: ErrorDetails) -> tuple[str, KeyPath]:
    """A pydantic error as (message, key path); the step-kind tags pydantic puts in ``loc`` are dropped."""
    at: KeyPath = ()
    model: type[BaseModel] = _PlanIn
    for part in err["loc"]:
        if at[-2:-1] == ("steps",) and isinstance(at[-1], int) and part in _STEP_MODELS:
            model = _STEP_MODELS[str(part)]
            continue
        at = (*at, part)
        if isinstance(part, str):
            sub = _submodel(model, part)
            model = sub or model
    key = next((p for p in reversed(at) if isinstance(p, str)), "plan")
    where = _where(at[:-1])
    kind, value = err["type"], err.get("input")
    if kind == "missing":
        hints: dict[KeyPath, str] = {("voices",): " (the catalog shortcuts convened)",
                                     ("steps",): ": a plan needs at least one [[steps]] table"}
        hint = hints.get(at, "")
        return f"missing {key!r}{hint}", at
    if kind == "extra_forbidden":
        return f"unknown key {key!r} in {where}; expected one of: {', '.join(model.model_fields)}", at
    if kind == "union_tag_invalid" or (kind == "union_tag_not_found" and at[:1] == ("steps",)):
        shown = value.get("kind") if isinstance(value, dict) else None
        return (f"unknown step kind {shown!r}; expected one of: {', '.join(_STEP_MODELS)}",
                (*at, "kind"))
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"invalid value for {key}, expected one of {expected} (not {value!r})", at
    if kind == "too_short" and at == ("steps",):
        return "a plan needs at least one [[steps]] table", at
    if kind == "too_short":
        return f"{key!r} is empty", at
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{_where(at)} must be a table", at
    if kind == "list_type":
        what = "voice shortcuts" if key == "voices" else "values"
        return f"{key!r} must be a list of {what}, not {value!r}", at
    if kind in ("string_type", "string_too_short"):
        return f"{key!r} must be a non-empty string, not {value!r}", at
    detail = str(err["msg"]).removeprefix("Value error, ")
    if key == "id":
        return detail, at
    return f"{key!r} {detail}", at


def _submodel(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    info = model.model_fields.get(name)
    if info is None:
        return None
    for t in (info.annotation, *get_args(info.annotation)):
        for u in (t, *get_args(t)):
            if isinstance(u, type) and issubclass(u, BaseModel):
                return u
    return None


def _where(at: KeyPath) -> str:
    return dotted(at) or "plan"


def _build(p: _PlanIn) -> Plan:
    """The plan from validated input, after the checks that relate one part of the plan to another."""
    voices = tuple(p.voices)
    twice = sorted({v for v in voices if voices.count(v) > 1})
    if twice:
        raise _Problem(f"voice(s) listed twice: {', '.join(twice)}", "voices")
    host = Host(mode=p.host.mode, voice=p.host.voice, name=p.host.name or "Host")
    if host.mode == "llm" and host.voice is None:
        raise _Problem("host.mode is 'llm' but no host.voice drafts the questions", "host", "voice")
    steps: list[Step] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(p.steps):
        step = _step(i, raw, voices, host)
        if step.id in seen:
            raise _Problem(f"step id {step.id!r} is used by steps {seen[step.id] + 1} and {i + 1}", "steps", i, "id")
        seen[step.id] = i
        steps.append(step)
    return Plan(title=p.title, voices=voices, steps=tuple(steps), kind=p.kind, subtitle=p.subtitle,
                context=p.context, system=p.system, host=host)


def _step(i: int, raw: _In, voices: tuple[str, ...], host: Host) -> Step:
    step_id = getattr(raw, "id", None) or f"step-{i + 1:02d}"

    def member(voice: str, *at: str | int) -> str:
        if voice not in voices:
            raise _Problem(f"voice {voice!r} is not one of the plan's voices ({', '.join(voices)})", "steps", i, *at)
        return voice

    def some(listed: list[str] | None) -> tuple[str, ...]:
        if listed is None:
            return voices
        twice = sorted({v for v in listed if listed.count(v) > 1})
        if twice:
            raise _Problem(f"voice(s) listed twice: {', '.join(twice)}", "steps", i, "voices")
        return tuple(member(v, "voices") for v in listed)

    def question(q: str | None) -> str | None:
        if q is None and host.mode == "plan":
            raise _Problem("missing 'question' (host.mode is 'plan', so the plan writes every question)",
                           "steps", i, "question")
        return q

    if isinstance(raw, _AskIn):
        return AskStep(id=step_id, voice=member(raw.voice, "voice"), question=question(raw.question),
                       intent=raw.intent, sees=raw.sees, heading=raw.heading)
    if isinstance(raw, _BlindRoundIn):
        return BlindRoundStep(id=step_id, voices=some(raw.voices), question=question(raw.question),
                              intent=raw.intent, heading=raw.heading)
    if isinstance(raw, _RoundIn):
        return RoundStep(id=step_id, voices=some(raw.voices))
    if isinstance(raw, _ChairIn):  # the chair need not be one of the plan's voices
        return ChairStep(id=step_id, voice=raw.voice, prompt=raw.prompt)
    if isinstance(raw, (_ObserveIn, _ClosingIn)):
        if raw.text is None and host.mode == "plan":  # a person or an llm host writes it
            raise _Problem(f"missing 'text' (host.mode is 'plan', so the plan writes the {raw.kind})",
                           "steps", i, "text")
        if isinstance(raw, _ObserveIn):
            return ObserveStep(id=step_id, text=raw.text, intent=raw.intent)
        return ClosingStep(id=step_id, text=raw.text, intent=raw.intent)
    if isinstance(raw, _FormulationsIn):
        if not raw.rows and host.mode == "plan":  # an llm host or a person writes them after the answers
            raise _Problem("'rows' must be a non-empty list of tables (or host.mode 'llm'/'human' writes them)",
                           "steps", i, "rows")
        return FormulationsStep(id=step_id, rows=tuple(
            FormulationRow(voice=member(r.voice, "rows", j, "voice"), quote=r.quote)
            for j, r in enumerate(raw.rows or ())), intent=raw.intent)
    assert isinstance(raw, _SynthesisIn)
    host_voices = (host.voice,) if host.voice else ()
    rows: list[SynthesisRow] = []
    for j, r in enumerate(raw.rows):
        if r.voice is None and r.label is None:
            raise _Problem("a synthesis row needs a 'voice' or a 'label'", "steps", i, "rows", j)
        if r.voice is not None and r.voice not in voices and r.voice not in host_voices:
            raise _Problem(f"voice {r.voice!r} is neither one of the plan's voices ({', '.join(voices)}) nor the "
                           "host's voice", "steps", i, "rows", j, "voice")
        rows.append(SynthesisRow(role=r.role, formulation=r.formulation, voice=r.voice, label=r.label))
    return SynthesisStep(id=step_id, title=raw.title, rows=tuple(rows), revealed=tuple(raw.revealed),
                         note=raw.note, intent=raw.intent)


def parse_plan(source: str, path: Path | None = None) -> Plan:
    """Parse a plan from TOML text; ``path`` is only used in error messages."""
    src = TomlFile(path, source)
    return _validate(src.parse(), src)


def load_plan(path: Path | str) -> Plan:
    """Read and parse a plan file."""
    src = TomlFile.read(Path(path), "plan")
    return _validate(src.parse(), src)


def plan_from_dict(data: Mapping[str, Any]) -> Plan:
    """The inverse of :func:`plan_to_dict` (validated exactly as a file is)."""
    return _validate(data, TomlFile(None, ""))


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """Plain data for ``SessionRecord.plan``: the TOML shape, with every step id and default explicit."""
    d: dict[str, Any] = {"title": plan.title, "kind": plan.kind}
    for key in ("subtitle", "context"):
        if getattr(plan, key) is not None:
            d[key] = getattr(plan, key)
    d["voices"] = list(plan.voices)
    if plan.system is not None:
        d["system"] = plan.system
    d["host"] = _drop_none({"mode": plan.host.mode, "voice": plan.host.voice, "name": plan.host.name})
    d["steps"] = [_step_to_dict(s) for s in plan.steps]
    return d


def _step_to_dict(step: Step) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": step.kind, "id": step.id}
    if isinstance(step, FormulationsStep):
        if step.rows:
            d["rows"] = [{"voice": r.voice, "quote": r.quote} for r in step.rows]
        d.update(_drop_none({"intent": step.intent}))
        return d
    if isinstance(step, SynthesisStep):
        d.update(_drop_none({"title": step.title, "note": step.note, "intent": step.intent}))
        d["rows"] = [_drop_none({"voice": r.voice, "label": r.label, "role": r.role,
                                 "formulation": r.formulation}) for r in step.rows]
        d["revealed"] = list(step.revealed)
        return d
    for f in fields(step):
        value = getattr(step, f.name)
        if f.name != "id" and value is not None:
            d[f.name] = list(value) if isinstance(value, tuple) else value
    return d
