"""Host text written after the answers exist — observations, key formulations, syntheses, closings —
and the one loop every checked draft goes through.

A plan may write these literally; an LLM host drafts them from the record (:func:`authoring_messages`,
:func:`parse_authored`); a person types them. Whoever writes, :func:`check_authored` judges every
attributed quote (:mod:`symposia.dialogue.attribution`): a key formulation — in the formulations
table or a synthesis row — must be an exact span of its voice's answer, and a synthesis row may only
credit a voice that answered.

:func:`draft_checked` is the LLM side: draft, check, and on a refusal redraft with the real words in
front of the writer — at most twice — storing every draft as a call in the record (``meta.refused``
and what was wrong on the refused ones).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from symposia import prompts
from symposia.catalog import Voice
from symposia.dialogue.attribution import (
    Speaker,
    TextCheck,
    check_host_text,
    check_row,
    problems_text,
    speakers_from_turns,
)
from symposia.dialogue.observer import Observer
from symposia.dialogue.runtime import Runtime, step_seed
from symposia.errors import UnknownVoiceError
from symposia.records import Message, Params, TurnRecord

__all__ = [
    "AUTHORED_KINDS",
    "MAX_REDRAFTS",
    "Authored",
    "DraftOutcome",
    "authored_from_text",
    "authored_text",
    "authoring_messages",
    "authoring_system",
    "check_authored",
    "current_turns",
    "draft_checked",
    "judge_with",
    "outside_voices",
    "parse_authored",
    "person_template",
    "record_text",
    "session_speakers",
    "with_sources",
]

AuthoredKind = Literal["question", "observation", "formulations", "synthesis", "closing"]
AUTHORED_KINDS: tuple[str, ...] = ("observation", "formulations", "synthesis", "closing")
MAX_REDRAFTS = 2  # after the first draft: a third refusal refuses the step


@dataclass(frozen=True)
class Authored:
    """One piece of host text: its plain text and, for tables, the structure the renderer reads."""

    kind: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


def authored_text(kind: str, meta: Mapping[str, Any]) -> str:
    """Plain text of a table (for search and for voices that see the whole session)."""
    if kind == "formulations":
        return "\n".join(f'{r.get("voice")}: "{r.get("quote")}"' for r in meta.get("rows", []))
    title = meta.get("title")
    lines = [f"Synthesis: {title}" if title else "Synthesis"]
    lines += [f"- {r.get('label') or r.get('voice')}: {r.get('role', '')} — {r.get('formulation', '')}"
              for r in meta.get("rows", [])]
    if meta.get("revealed"):
        lines.append("What the dialogue revealed:")
        lines += [f"{i}. {item}" for i, item in enumerate(meta["revealed"], 1)]
    if meta.get("note"):
        lines.append(str(meta["note"]))
    return "\n".join(lines)


def check_authored(a: Authored, speakers: Sequence[Speaker], *, strangers: Sequence[Speaker] = ()) -> TextCheck:
    """Every attribution in ``a``: free text by :func:`check_host_text`, table rows by :func:`check_row`."""
    if a.kind not in ("formulations", "synthesis"):
        return check_host_text(a.text, speakers, strangers=strangers)
    members = {sp.voice for sp in speakers}
    check = TextCheck()
    for row in a.meta.get("rows", []):
        voice = row.get("voice")
        said = str(row.get("quote") if a.kind == "formulations" else row.get("formulation", ""))
        if isinstance(voice, str) and (voice in members or a.kind == "formulations"):
            check = check + check_row(voice, said, speakers)
        else:  # the host's own row (a label, the host's voice): its quotes are host text
            check = check + check_host_text(said, speakers, strangers=strangers)
    for item in [*a.meta.get("revealed", []), a.meta.get("note") or ""]:
        check = check + check_host_text(str(item), speakers, strangers=strangers)
    return check


def with_sources(a: Authored, check: TextCheck) -> Authored:
    """Formulation rows get the id of the answer their quote was found in (the renderer shows only those);
    a synthesis row whose whole formulation is its voice's words is shown in quotation marks."""
    if a.kind == "synthesis":
        said = {(f.voice, f.quote) for f in check.findings if f.verdict == "verbatim" and f.credited}
        rows = [{**r, "formulation": f"\"{r['formulation']}\""} if (r.get("voice"), r.get("formulation")) in said
                else r for r in a.meta.get("rows", [])]
        meta = {**a.meta, "rows": rows}
        return Authored(a.kind, authored_text(a.kind, meta), meta)
    if a.kind != "formulations":
        return a
    found = {(f.voice, f.quote): f.turn_id for f in check.findings if f.verdict == "verbatim"}
    rows = []
    for r in a.meta.get("rows", []):
        quote = str(r.get("quote", ""))
        bare = quote.strip().strip("*_").strip().strip("\"'\u201c\u201d\u2018\u2019").strip()
        rows.append({**r, "turn_id": found.get((r.get("voice"), quote), found.get((r.get("voice"), bare)))})
    return Authored(a.kind, a.text, {**a.meta, "rows": rows})


# -- who is in the room ---------------------------------------------------------------------------------

def current_turns(turns: Sequence[TurnRecord]) -> list[TurnRecord]:
    """The turns that stand: not superseded by a re-run with changed inputs."""
    return [t for t in turns if not t.meta.get("superseded")]


def session_speakers(rt: Runtime, turns: Sequence[TurnRecord], voices: Sequence[str], *,
                     addressed: str | None = None) -> list[Speaker]:
    """The session's voices with every name they go by (catalog name, family, shortcut) and their answers;
    the ``addressed`` voice also with its earlier answers in the archive ("you're the one who said…")."""
    names: dict[str, list[str]] = {}
    for v in voices:
        try:
            voice = rt.catalog.voice(v)
        except UnknownVoiceError:  # an imported session may name voices the catalog does not know
            continue
        names[v] = [voice.name, voice.name.split(" ")[0], voice.family]
    extra: dict[str, dict[int, str]] = {}
    if addressed is not None:
        extra[addressed] = {t.id: t.result.text for t in rt.archive.recent_turns(50, voice=addressed)
                            if t.id is not None and t.result.ok and t.role == "voice"}
    return speakers_from_turns(current_turns(turns), names=names, extra=extra, voices=voices)


def outside_voices(rt: Runtime, members: Sequence[str]) -> list[Speaker]:
    """Catalog voices that are not in the room, by every name they go by: a chair may not credit them."""
    out = []
    member_names = set()
    for v in members:
        try:
            voice = rt.catalog.voice(v)
        except UnknownVoiceError:  # an unknown voice (imported): nothing to exclude
            continue
        member_names |= {voice.name, voice.family}
    for voice in rt.catalog.voices.values():
        if voice.shortcut in members:
            continue
        names = tuple(n for n in {voice.name, voice.family} if n and n not in member_names)
        if names:
            out.append(Speaker(voice.shortcut, names, {}))
    return out


# -- what an llm host is shown and how its reply is read -------------------------------------------------

def record_text(turns: Sequence[TurnRecord], host_name: str, limit_chars: int = 16000) -> str:
    """The dialogue so far as attributed plain text, voices labelled with their ids (newest kept if cut).

    Only what stands in the record: host drafts, refused or superseded turns are left out."""
    parts = []
    for t in turns:
        if not t.result.ok or not t.result.text.strip() or t.meta.get("superseded") or t.meta.get("refused"):
            continue
        if t.meta.get("kind") in ("draft", "ranking"):
            continue
        who = f"{host_name} (host)" if t.role == "host" else f"{t.voice_name} ({t.voice})"
        parts.append(f"[{who}]: {t.result.text.strip()}")
    text = "\n\n".join(parts)
    return text if len(text) <= limit_chars else "[…]\n" + text[-limit_chars:]


def authoring_messages(kind: str, *, title: str, context: str | None, transcript: str,
                       intent: str | None = None, heading: str | None = None) -> list[Message]:
    t = prompts.load("symposium")
    task = str(t[f"author_{kind}"])
    if kind == "synthesis":
        task = task.replace("{heading}", f" \u201c{heading}\u201d" if heading else "")
    text = str(t["author_frame"]).format(title=title, context=context or "", transcript=transcript or "(nothing yet)",
                                         task=task, intent=f"\nAim: {intent}" if intent else "")
    return [Message("user", text)]


def authoring_system() -> str:
    return str(prompts.load("symposium")["author_system"])


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def parse_authored(kind: str, reply: str, *, title: str | None = None) -> Authored:
    """An llm host's reply as host text; raises ValueError (said back to the host) when it is unusable."""
    text = reply.strip()
    if not text:
        raise ValueError("the reply was empty")
    if kind not in ("formulations", "synthesis"):
        return Authored(kind, text)
    body = _FENCE.sub("", text)
    start, end = body.find("{"), body.rfind("}")
    try:
        data = json.loads(body[start:end + 1]) if start >= 0 else None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the reply is not the JSON asked for ({exc.msg})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list) or not data["rows"]:
        raise ValueError('the reply has no "rows" list')
    rows: list[dict[str, Any]] = []
    for r in data["rows"]:
        if not isinstance(r, dict) or not isinstance(r.get("voice"), str):
            raise ValueError('every row needs a "voice" id')
        if kind == "formulations":
            if not isinstance(r.get("quote"), str) or not r["quote"].strip():
                raise ValueError('every row needs a "quote"')
            rows.append({"voice": r["voice"], "quote": r["quote"]})
        else:
            if not isinstance(r.get("formulation"), str) or not r["formulation"].strip():
                raise ValueError('every row needs a "formulation"')
            rows.append({"voice": r["voice"], "role": str(r.get("role", "")), "formulation": r["formulation"]})
    meta: dict[str, Any] = {"rows": rows}
    if kind == "synthesis":
        revealed = data.get("revealed", [])
        meta.update(title=title, revealed=[str(x) for x in revealed] if isinstance(revealed, list) else [],
                    note=str(data["note"]) if data.get("note") else None)
    return Authored(kind, authored_text(kind, meta), meta)


def person_template(kind: str, names: dict[str, str]) -> str:
    """What a person starts from: plain Markdown, or TOML for the tables (voices listed as ids)."""
    ids = ", ".join(f"{v} ({n})" for v, n in names.items())
    if kind == "formulations":
        return (f"# Key formulations: an exact span of each voice's answer. Voice ids: {ids}\n"
                '[[rows]]\nvoice = ""\nquote = ""\n')
    if kind == "synthesis":
        return (f"# Synthesis: one row per voice; a formulation is an exact span of its answer. Voice ids: {ids}\n"
                'title = ""\nrevealed = []\nnote = ""\n\n[[rows]]\nvoice = ""\nrole = ""\nformulation = ""\n')
    return ""


def authored_from_text(kind: str, text: str, *, title: str | None = None) -> Authored:
    """A person's annotation as host text; tables come as TOML (see :func:`person_template`)."""
    if kind not in ("formulations", "synthesis"):
        if not text.strip():
            raise ValueError(f"the {kind} is empty")
        return Authored(kind, text.strip())
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"the {kind} is not valid TOML: {exc}") from exc
    rows = [r for r in data.get("rows", []) if isinstance(r, dict) and any(str(v).strip() for v in r.values())]
    if not rows:
        raise ValueError(f"the {kind} has no [[rows]]")
    if kind == "formulations":
        meta: dict[str, Any] = {"rows": [{"voice": str(r.get("voice", "")), "quote": str(r.get("quote", ""))}
                                         for r in rows]}
    else:
        revealed = data.get("revealed", [])
        meta = {"title": str(data.get("title") or title or "") or None,
                "rows": [{k: str(r[k]) for k in ("voice", "label", "role", "formulation") if r.get(k)} for r in rows],
                "revealed": [str(x) for x in revealed] if isinstance(revealed, list) else [],
                "note": str(data["note"]) if data.get("note") else None}
    return Authored(kind, authored_text(kind, meta), meta)



# -- the draft loop ---------------------------------------------------------------------------------------

Judge = Callable[[str], tuple[Authored | None, TextCheck, str | None]]


@dataclass
class DraftOutcome:
    accepted: Authored | None
    check: TextCheck | None
    turns: list[TurnRecord]
    problem: str | None  # why the last draft was refused (None when one was accepted)

    @property
    def accepted_turn(self) -> TurnRecord | None:
        return self.turns[-1] if self.accepted is not None and self.turns else None


def judge_with(kind: str, speakers: Callable[[], Sequence[Speaker]], names: Mapping[str, str], *,
               title: str | None = None, strangers: Sequence[Speaker] = ()) -> Judge:
    """The usual judge: parse the reply as ``kind``, check it, say what is wrong in words the writer can use."""
    def judge(reply: str) -> tuple[Authored | None, TextCheck, str | None]:
        try:
            a = parse_authored(kind, reply, title=title)
        except ValueError as exc:
            return None, TextCheck(), f"- {exc}"
        check = check_authored(a, speakers(), strangers=strangers)
        return (with_sources(a, check), check, None) if check.ok else (a, check, problems_text(check, names))
    return judge


async def draft_checked(rt: Runtime, session_id: str, voice: Voice, messages: list[Message], judge: Judge, *,
                        system: str | None, key: str, meta: Mapping[str, Any], obs: Observer,
                        role: Literal["host", "chair"] = "host", label: str = "drafting",
                        params: Params | None = None) -> DraftOutcome:
    """Draft with ``voice``, judge, redraft at most :data:`MAX_REDRAFTS` times with the problems shown.

    Calls are stored under ``key`` (the first) and ``key:redraftN``; a refused draft's meta says
    ``refused`` and why. Resuming replays the stored drafts without new calls. ``params`` override the
    voice's; a ``seed`` among them is a base seed, each call's derived from it and its step key."""
    t = prompts.load("symposium")
    turns: list[TurnRecord] = []
    problem: str | None = None
    check: TextCheck | None = None
    for attempt in range(MAX_REDRAFTS + 1):
        k = key if attempt == 0 else f"{key}:redraft{attempt}"
        req = rt.request_for(voice, messages, system=system,
                             params=replace(params, seed=step_seed(params.seed, k)) if params else None)
        obs.turn_started(k, voice, label)
        turn = await rt.call(session_id, voice, req, role=role, step_key=k,
                             on_event=lambda ev, k=k: obs.event(k, ev),  # type: ignore[misc]
                             meta={**meta, "attempt": attempt + 1})
        obs.turn_finished(k, turn)
        turns.append(turn)
        if not turn.result.ok or not turn.result.text.strip():
            return DraftOutcome(None, None, turns, f"{voice.name} did not answer")
        authored, check, problem = judge(turn.result.text)
        if problem is None and authored is not None:
            # what was judged stays with the call (a resumed run may judge a refused draft again)
            kept = {k2: v for k2, v in turn.meta.items() if k2 not in ("refused", "problems")}
            judged = {**kept, "check": check.to_meta(), "outside": list(check.outside)}
            if judged != turn.meta and turn.id is not None:
                rt.archive.set_turn_meta(turn.id, judged)
                turns[-1] = rt.archive.get_turn(turn.id)
            return DraftOutcome(authored, check, turns, None)
        assert turn.id is not None
        rt.archive.set_turn_meta(turn.id, {**turn.meta, "refused": True, "problems": problem,
                                           **({"check": check.to_meta()} if check is not None else {})})
        obs.note(f"refused a draft by {voice.name}: {problem.splitlines()[0] if problem else ''}; "
                 + ("redrafting" if attempt < MAX_REDRAFTS else "giving up"))
        messages = [*messages, Message("assistant", turn.result.text),
                    Message("user", str(t["author_redraft"]).format(problems=problem, draft=turn.result.text))]
    return DraftOutcome(None, check, turns, problem)
