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
    note = "…"                      # drafts them from the record after the answers

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
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, cast

from symposia.errors import ConfigError

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

SEES: tuple[Sees, ...] = ("blind", "thread", "all")
HOST_MODES: tuple[HostMode, ...] = ("plan", "human", "llm")
PLAN_KINDS: tuple[PlanKind, ...] = ("symposium", "council")
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
    text: str | None = None  # None: the host (llm or person) writes it after the answers
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
    text: str | None = None
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


# -- parsing ---------------------------------------------------------------------------------------

_TOP_KEYS = ("title", "kind", "subtitle", "context", "voices", "system", "host", "steps")
_HOST_KEYS = ("mode", "voice", "name")
_STEP_KEYS: dict[str, tuple[str, ...]] = {
    "ask": ("voice", "question", "intent", "sees", "heading"),
    "blind_round": ("voices", "question", "intent", "heading"),
    "round": ("voices",),
    "chair": ("voice", "prompt"),
    "observe": ("text", "intent"),
    "formulations": ("rows", "intent"),
    "synthesis": ("title", "rows", "revealed", "note", "intent"),
    "closing": ("text", "intent"),
}


class _Lines:
    """Best-effort line numbers for error messages (tomllib gives none once parsing succeeded)."""

    def __init__(self, source: str | None) -> None:
        self.lines = source.splitlines() if source is not None else []
        self.steps = [i + 1 for i, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*steps\s*\]\]", line)]
        self.host = next((i + 1 for i, line in enumerate(self.lines) if re.match(r"\s*\[\s*host\s*\]", line)),
                         None)

    def key(self, name: str, start: int | None = None, end: int | None = None) -> int | None:
        lo = (start or 1) - 1
        hi = end - 1 if end is not None else len(self.lines)
        pat = re.compile(rf"\s*\"?{re.escape(name)}\"?\s*=")
        for i in range(lo, hi):
            if pat.match(self.lines[i]):
                return i + 1
        return start

    def top(self, name: str) -> int | None:
        end = min([*self.steps, *([self.host] if self.host else [])], default=None)
        return self.key(name, 1, end) if self.lines else None

    def in_step(self, index: int, name: str | None = None) -> int | None:
        if index >= len(self.steps):
            return None
        start = self.steps[index]
        if name is None:
            return start
        end = self.steps[index + 1] if index + 1 < len(self.steps) else None
        return self.key(name, start, end)

    def in_host(self, name: str) -> int | None:
        if self.host is None:
            return None
        later = [s for s in self.steps if s > self.host]
        return self.key(name, self.host, later[0] if later else None)


class _Parser:
    def __init__(self, path: Path | None, source: str | None) -> None:
        self.path = path
        self.lines = _Lines(source)

    def fail(self, message: str, field: str, line: int | None) -> ConfigError:
        return ConfigError(f"{message} (field {field!r})", path=self.path, line=line, field=field)

    # typed getters: `where` gives the field path for the message, `line` where it is
    def text(self, d: Mapping[str, Any], key: str, where: str, line: int | None, *,
             required: bool = False) -> str | None:
        value = d.get(key)
        if value is None:
            if required:
                raise self.fail(f"missing {key!r}", where, line)
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(f"{key!r} must be a non-empty string, not {value!r}", where, line)
        return value

    def names(self, value: Any, where: str, line: int | None) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"expected a list of voice shortcuts, not {value!r}", where, line)
        dupes = sorted({v for v in value if value.count(v) > 1})
        if dupes:
            raise self.fail(f"voice(s) listed twice: {', '.join(dupes)}", where, line)
        return tuple(value)

    def unknown(self, d: Mapping[str, Any], allowed: Sequence[str], where: str,
                line_of: Any) -> None:
        extra = [k for k in d if k not in allowed]
        if extra:
            k = extra[0]
            raise self.fail(f"unknown key {k!r} in {where}; expected one of: {', '.join(allowed)}",
                            f"{where}.{k}" if where != "plan" else k, line_of(k))

    def parse(self, data: Mapping[str, Any]) -> Plan:
        L = self.lines
        self.unknown(data, _TOP_KEYS, "plan", L.top)
        title = self.text(data, "title", "title", L.top("title"), required=True)
        assert title is not None
        kind = data.get("kind", "symposium")
        if kind not in PLAN_KINDS:
            raise self.fail(f"invalid value for kind, expected one of {', '.join(map(repr, PLAN_KINDS))} "
                            f"(not {kind!r})", "kind", L.top("kind"))
        if "voices" not in data:
            raise self.fail("missing 'voices' (the catalog shortcuts convened)", "voices", None)
        voices = self.names(data["voices"], "voices", L.top("voices"))
        if not voices:
            raise self.fail("'voices' is empty", "voices", L.top("voices"))
        host = self.parse_host(data.get("host", {}))
        raw_steps = data.get("steps", [])
        if not isinstance(raw_steps, list) or not raw_steps:
            raise self.fail("a plan needs at least one [[steps]] table", "steps", None)
        steps: list[Step] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(raw_steps):
            step = self.parse_step(i, raw, voices, host)
            if step.id in seen:
                raise self.fail(f"step id {step.id!r} is used by steps {seen[step.id] + 1} and {i + 1}",
                                f"steps[{i}].id", L.in_step(i, "id"))
            seen[step.id] = i
            steps.append(step)
        return Plan(
            title=title, voices=voices, steps=tuple(steps), kind=cast(PlanKind, kind),
            subtitle=self.text(data, "subtitle", "subtitle", L.top("subtitle")),
            context=self.text(data, "context", "context", L.top("context")),
            system=self.text(data, "system", "system", L.top("system")),
            host=host,
        )

    def parse_host(self, raw: Any) -> Host:
        L = self.lines
        if not isinstance(raw, dict):
            raise self.fail("[host] must be a table", "host", L.host)
        self.unknown(raw, _HOST_KEYS, "host", L.in_host)
        mode = raw.get("mode", "plan")
        if mode not in HOST_MODES:
            raise self.fail(f"invalid value for host.mode, expected one of "
                            f"{', '.join(map(repr, HOST_MODES))} (not {mode!r})", "host.mode",
                            L.in_host("mode"))
        voice = self.text(raw, "voice", "host.voice", L.in_host("voice"))
        if mode == "llm" and voice is None:
            raise self.fail("host.mode is 'llm' but no host.voice drafts the questions", "host.voice",
                            L.host)
        name = self.text(raw, "name", "host.name", L.in_host("name")) or "Host"
        return Host(mode=cast(HostMode, mode), voice=voice, name=name)

    def parse_step(self, i: int, raw: Any, voices: tuple[str, ...], host: Host) -> Step:
        L = self.lines
        where = f"steps[{i}]"

        def line(key: str | None = None) -> int | None:
            return L.in_step(i, key)

        if not isinstance(raw, dict):
            raise self.fail("each step must be a table", where, line())
        kind = raw.get("kind")
        if kind not in _STEP_KEYS:
            raise self.fail(f"unknown step kind {kind!r}; expected one of: {', '.join(_STEP_KEYS)}",
                            f"{where}.kind", line("kind"))
        self.unknown(raw, ("kind", "id", *_STEP_KEYS[kind]), where, line)
        step_id = raw.get("id", f"step-{i + 1:02d}")
        if not isinstance(step_id, str) or not _ID.match(step_id) or step_id == "context":
            raise self.fail(f"invalid step id {step_id!r}: use letters, digits, '-', '_' or '.' "
                            f"(and not 'context')", f"{where}.id", line("id"))

        def s(key: str, required: bool = False) -> str | None:
            return self.text(raw, key, f"{where}.{key}", line(key), required=required)

        def one_voice(key: str = "voice", extra: tuple[str, ...] = ()) -> str:
            v = s(key, required=True)
            assert v is not None
            if v not in voices and v not in extra:
                raise self.fail(f"voice {v!r} is not one of the plan's voices ({', '.join(voices)})",
                                f"{where}.{key}", line(key))
            return v

        def some_voices() -> tuple[str, ...]:
            if "voices" not in raw:
                return voices
            vs = self.names(raw["voices"], f"{where}.voices", line("voices"))
            bad = [v for v in vs if v not in voices]
            if bad:
                raise self.fail(f"voice {bad[0]!r} is not one of the plan's voices ({', '.join(voices)})",
                                f"{where}.voices", line("voices"))
            return vs

        def question() -> str | None:
            q = s("question")
            if q is None and host.mode == "plan":
                raise self.fail("missing 'question' (host.mode is 'plan', so the plan writes every "
                                "question)", f"{where}.question", line())
            return q

        if kind == "ask":
            sees = raw.get("sees", "thread")
            if sees not in SEES:
                raise self.fail(f"invalid value for sees, expected one of {', '.join(map(repr, SEES))} "
                                f"(not {sees!r})", f"{where}.sees", line("sees"))
            return AskStep(id=step_id, voice=one_voice(), question=question(), intent=s("intent"),
                           sees=cast(Sees, sees), heading=s("heading"))
        if kind == "blind_round":
            return BlindRoundStep(id=step_id, voices=some_voices(), question=question(),
                                  intent=s("intent"), heading=s("heading"))
        if kind == "round":
            return RoundStep(id=step_id, voices=some_voices())
        if kind == "chair":
            chair = s("voice", required=True)
            assert chair is not None
            return ChairStep(id=step_id, voice=chair, prompt=s("prompt"))
        authored = host.mode == "llm"  # an llm host writes what the plan leaves out, after the answers
        if kind in ("observe", "closing"):
            text = s("text", required=host.mode == "plan")  # a person or an llm host writes it
            intent = s("intent")
            return (ObserveStep(id=step_id, text=text, intent=intent) if kind == "observe"
                    else ClosingStep(id=step_id, text=text, intent=intent))
        host_voices = (host.voice,) if host.voice else ()
        if kind == "formulations":
            rows: list[FormulationRow] = []
            for j, r in enumerate(self.rows(raw, where, line, required=not authored)):
                rw = f"{where}.rows[{j}]"
                self.unknown(r, ("voice", "quote"), rw, lambda _k: line("rows"))
                v = self.text(r, "voice", f"{rw}.voice", line("rows"), required=True)
                q = self.text(r, "quote", f"{rw}.quote", line("rows"), required=True)
                assert v is not None and q is not None
                if v not in voices:
                    raise self.fail(f"voice {v!r} is not one of the plan's voices ({', '.join(voices)})",
                                    f"{rw}.voice", line("rows"))
                rows.append(FormulationRow(voice=v, quote=q))
            return FormulationsStep(id=step_id, rows=tuple(rows), intent=s("intent"))
        # synthesis
        srows: list[SynthesisRow] = []
        for j, r in enumerate(self.rows(raw, where, line, required=False)):
            rw = f"{where}.rows[{j}]"
            self.unknown(r, ("voice", "label", "role", "formulation"), rw, lambda _k: line("rows"))
            v = self.text(r, "voice", f"{rw}.voice", line("rows"))
            label = self.text(r, "label", f"{rw}.label", line("rows"))
            if v is None and label is None:
                raise self.fail("a synthesis row needs a 'voice' or a 'label'", rw, line("rows"))
            if v is not None and v not in voices and v not in host_voices:
                raise self.fail(f"voice {v!r} is neither one of the plan's voices ({', '.join(voices)}) "
                                f"nor the host's voice", f"{rw}.voice", line("rows"))
            role = self.text(r, "role", f"{rw}.role", line("rows"), required=True)
            formulation = self.text(r, "formulation", f"{rw}.formulation", line("rows"), required=True)
            assert role is not None and formulation is not None
            srows.append(SynthesisRow(role=role, formulation=formulation, voice=v, label=label))
        revealed = raw.get("revealed", [])
        if not isinstance(revealed, list) or not all(isinstance(x, str) for x in revealed):
            raise self.fail("'revealed' must be a list of strings", f"{where}.revealed", line("revealed"))
        return SynthesisStep(id=step_id, title=s("title"), rows=tuple(srows), revealed=tuple(revealed),
                             note=s("note"), intent=s("intent"))

    def rows(self, raw: Mapping[str, Any], where: str, line: Any,
             required: bool = True) -> list[dict[str, Any]]:
        rows = raw.get("rows")
        if rows is None and not required:
            return []
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise self.fail("'rows' must be a non-empty list of tables", f"{where}.rows", line("rows"))
        return rows


def parse_plan(source: str, path: Path | None = None) -> Plan:
    """Parse a plan from TOML text; ``path`` is only used in error messages."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+)", str(exc))
        raise ConfigError(f"invalid TOML: {exc}", path=path, line=int(m.group(1)) if m else None) from exc
    return _Parser(path, source).parse(data)


def load_plan(path: Path | str) -> Plan:
    """Read and parse a plan file."""
    p = Path(path)
    try:
        source = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read plan: {exc.strerror}", path=p) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"plan is not UTF-8 text: {exc.reason}", path=p) from exc
    return parse_plan(source, p)


def plan_from_dict(data: Mapping[str, Any]) -> Plan:
    """The inverse of :func:`plan_to_dict` (validated exactly as a file is)."""
    return _Parser(None, None).parse(data)


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
    for key in _STEP_KEYS[step.kind]:
        value = getattr(step, key)
        if value is not None:
            d[key] = list(value) if isinstance(value, tuple) else value
    return d
