"""Arena: two voices talk to each other, turn by turn (free, debate, interview, collaborative).

Each side sees the conversation from its own seat: its own turns as ``assistant`` messages, the
other's as ``user`` messages, merged so that roles strictly alternate and the first is ``user``.
What each mode asks of each side is data (``prompts/arena.toml``). :func:`arena_messages` is the
pure core; :func:`run_arena` runs the turns, storing each as it ends under the step key
``turn-<k>``, so re-running with the same session id skips finished turns (and retries a failed one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from symposia.catalog import Voice
from symposia.dialogue.observer import Observer
from symposia.dialogue.runtime import Runtime
from symposia.dialogue.visibility import merge_messages
from symposia.errors import NotFoundError
from symposia.prompts import load
from symposia.records import Message, Params, ReasoningChunk, Restart, TextChunk, TurnRecord

__all__ = [
    "MODES",
    "ArenaEvent",
    "Side",
    "TurnFinished",
    "TurnStarted",
    "Utterance",
    "arena_messages",
    "arena_names",
    "resume_arena",
    "run_arena",
    "side_of_turn",
    "step_key",
]

Side = Literal["a", "b"]
MODES: tuple[str, ...] = ("free", "debate", "interview", "collaborative")


@dataclass(frozen=True)
class Utterance:
    """One finished arena turn, as the other side will hear it."""

    side: Side
    text: str


@dataclass(frozen=True)
class TurnStarted:
    """Turn ``index`` (1-based) of ``side`` begins; ``resumed`` means it comes from the archive."""

    index: int
    side: Side
    voice: Voice
    name: str
    resumed: bool = False


@dataclass(frozen=True)
class TurnFinished:
    """Turn ``index`` ended (possibly with an error: see ``turn.result.error``)."""

    index: int
    side: Side
    turn: TurnRecord
    resumed: bool = False


ArenaEvent = TurnStarted | TurnFinished | TextChunk | ReasoningChunk | Restart
OnArenaEvent = Callable[[ArenaEvent], None]


def side_of_turn(index: int) -> Side:
    """Side A speaks the odd turns (it opens), side B the even ones."""
    return "a" if index % 2 == 1 else "b"


def step_key(index: int) -> str:
    """The step key of turn ``index`` within its session: what makes a rerun skip finished turns."""
    return f"turn-{index}"


def _mode_prompts(mode: str) -> dict[str, Any]:
    modes: dict[str, Any] = load("arena")["modes"]
    if mode not in modes:
        expected = ", ".join(f'"{m}"' for m in MODES)
        raise ValueError(f"invalid value for mode, expected one of {expected} (not {mode!r})")
    table: dict[str, Any] = modes[mode]
    return table


def arena_names(voice_a: Voice, voice_b: Voice) -> tuple[str, str]:
    """Display names of the two sides; a voice talking to itself gets "(A)"/"(B)" to tell them apart."""
    if voice_a.name == voice_b.name:
        return f"{voice_a.name} (A)", f"{voice_b.name} (B)"
    return voice_a.name, voice_b.name


def arena_messages(side: Side, topic: str, history: Sequence[Utterance], names: tuple[str, str], *,
                   mode: str = "free", system: str | None = None) -> tuple[str, list[Message]]:
    """The system prompt and messages ``side`` sees before its next turn.

    ``history`` is every finished turn in order (side A first); ``names`` are the display names of
    sides A and B; ``system`` (the user's ``-s``) is appended to the mode's system prompt.
    """
    prompts = load("arena")
    table = _mode_prompts(mode)
    me, other = names if side == "a" else (names[1], names[0])
    fill = {"name": me, "other": other, "topic": topic}
    system_text = str(table[f"system_{side}"]).format(**fill)
    if system:
        system_text += str(prompts["user_system"]).format(system=system)
    messages: list[Message] = [Message("user", str(table[f"opening_{side}"]).format(**fill))]
    heard_other = False
    for u in history:
        text = u.text if u.text.strip() else str(prompts["empty"])
        if u.side == side:
            messages.append(Message("assistant", text))
        else:
            template = str(prompts["reply"] if heard_other else prompts["first_reply"])
            heard_other = True
            messages.append(Message("user", template.format(other=other, text=text)))
    return system_text, merge_messages(messages)


def _voice(rt: Runtime, voice: Voice | str) -> Voice:
    return voice if isinstance(voice, Voice) else rt.catalog.voice(voice)


def _one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _open_session(rt: Runtime, plan: dict[str, Any], session_id: str | None, title: str,
                  voices: Sequence[Voice]) -> str:
    """Create the arena session, or check that an existing one with this id is the same arena."""
    rt.ready(voices)  # a missing key stops the arena before anything is stored
    if session_id is not None and rt.archive.query("SELECT 1 FROM sessions WHERE id = ?", (session_id,)):
        session = rt.archive.get_session(session_id)
        same = {k: session.plan.get(k) for k in ("voices", "mode", "topic")}
        wanted = {k: plan[k] for k in ("voices", "mode", "topic")}
        if session.kind != "arena" or same != wanted:
            raise NotFoundError(
                f"session {session_id!r} is not this arena (it is a {session.kind} session with "
                f"{same}); resume it with the voices, mode and topic it was started with, or leave "
                f"out the session id to start a new arena"
            )
        rt.hold(session_id)  # one runner per session: refuses (naming it) while another runs it
        return session_id
    meta = {"voices": plan["voices"], "mode": plan["mode"]}
    return rt.start_session("arena", title, plan=plan, meta=meta, session_id=session_id, voices=voices).id


async def run_arena(rt: Runtime, voice_a: Voice | str, voice_b: Voice | str, topic: str,
                    mode: str = "free", turns: int = 6, *, session_id: str | None = None,
                    system: str | None = None, params: Params | None = None,
                    on_event: OnArenaEvent | None = None, observer: Observer | None = None) -> str:
    """Run an arena of ``turns`` turns (A speaks first) and return its session id.

    Every turn is stored when it ends. Given the id of an unfinished arena, turns already stored
    are reused, not requested again. A failed turn is stored, and the arena stops there with the
    session marked ``failed``; running it again with the same id retries from that turn.
    ``on_event`` gets the arena's own events; ``observer`` (the live view, the web page) is told of
    each step as every orchestrator tells it.
    """
    va, vb = _voice(rt, voice_a), _voice(rt, voice_b)
    _mode_prompts(mode)  # reject an unknown mode before anything is stored
    if turns < 1:
        raise ValueError(f"invalid value for turns, expected a number >= 1 (not {turns!r})")
    if not topic.strip():
        raise ValueError("the arena topic is empty")
    names = arena_names(va, vb)
    label = str(_mode_prompts(mode)["label"])
    plan: dict[str, Any] = {
        "mode": mode, "topic": topic, "turns": turns, "voices": [va.shortcut, vb.shortcut],
        "names": list(names), "system": system, "params": params.to_dict() if params else {},
    }
    title = _one_line(f"{label}, {names[0]} and {names[1]}: {topic}", 100)
    sid = _open_session(rt, plan, session_id, title, (va, vb))

    def emit(ev: ArenaEvent) -> None:
        if on_event is not None:
            on_event(ev)
        if observer is None:
            return
        if isinstance(ev, TurnStarted):
            observer.turn_started(step_key(ev.index), ev.voice, ev.name)
        elif isinstance(ev, TurnFinished):
            observer.turn_finished(step_key(ev.index), ev.turn)

    history: list[Utterance] = []
    try:
        for k in range(1, turns + 1):
            side = side_of_turn(k)
            voice, name = (va, names[0]) if side == "a" else (vb, names[1])
            key = step_key(k)
            done = rt.archive.find_turn(sid, key)
            if done is not None and done.result.ok:  # finished in an earlier run: reuse, do not re-pay
                emit(TurnStarted(k, side, voice, name, resumed=True))
                emit(TurnFinished(k, side, done, resumed=True))
                history.append(Utterance(side, done.result.text))
                continue
            system_text, messages = arena_messages(side, topic, history, names, mode=mode, system=system)
            request = rt.request_for(voice, messages, system=system_text, params=params)
            emit(TurnStarted(k, side, voice, name))

            def chunk(ev: TextChunk | ReasoningChunk | Restart, key: str = key) -> None:
                emit(ev)
                if observer is not None:
                    observer.event(key, ev)

            turn = await rt.call(sid, voice, request, step_key=key, on_event=chunk,
                                 meta={"arena_turn": k, "side": side})
            emit(TurnFinished(k, side, turn))
            if turn.result.error is not None:
                if observer is not None:
                    observer.note(f"turn {k} ({name}) failed; the arena stops here")
                rt.finish(sid, "failed")
                return sid
            history.append(Utterance(side, turn.result.text))
    except (asyncio.CancelledError, KeyboardInterrupt):
        rt.finish(sid, "interrupted")
        raise
    rt.finish(sid, "complete")
    return sid


async def resume_arena(rt: Runtime, session_id: str, *, turns: int | None = None,
                       on_event: OnArenaEvent | None = None, observer: Observer | None = None) -> str:
    """Continue a stored arena from its plan: finished turns are reused, the rest are run.

    ``turns`` may extend the arena beyond the number it was started with.
    """
    session = rt.archive.get_session(session_id)
    if session.kind != "arena":
        raise NotFoundError(f"session {session.id!r} is a {session.kind} session, not an arena")
    plan = session.plan
    voice_a, voice_b = plan["voices"]
    return await run_arena(
        rt, str(voice_a), str(voice_b), str(plan["topic"]), str(plan["mode"]),
        turns if turns is not None else int(plan["turns"]), session_id=session.id,
        system=plan.get("system"), params=Params.from_dict(plan.get("params") or {}), on_event=on_event,
        observer=observer,
    )
