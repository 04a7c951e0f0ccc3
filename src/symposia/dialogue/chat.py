"""Chat: an interactive conversation with one voice at a time, switchable, with retry and undo.

The conversation is a list of :class:`Exchange` (a question and the answer that counts). It is never
kept anywhere but the archive: every answer is a stored ``voice`` turn (its question in
``meta["question"]``), and every change of course is a stored ``host`` turn marker (provider
``human``, no messages, ``meta["kind"]`` one of ``switch``, ``undo``, ``system``). A retried answer
is a voice turn with ``meta["kind"] == "retry"`` and ``meta["replaces"]`` naming the turn it
supersedes (the old one stays in the archive). :func:`chat_state` replays those turns, so
``--resume`` rebuilds exactly the conversation the voice would have seen next.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from symposia.archive import Archive
from symposia.catalog import Voice
from symposia.dialogue.runtime import OnEvent, Runtime
from symposia.dialogue.visibility import merge_messages
from symposia.errors import ArchiveError, ChatError, NotFoundError
from symposia.prompts import load
from symposia.records import Message, Params, TurnRecord

__all__ = [
    "Chat",
    "ChatError",
    "ChatState",
    "Exchange",
    "chat_messages",
    "chat_state",
    "conversation_from_turns",
    "latest_conversation",
]

HOST_NAME = "Host"
HOST_PROVIDER = "human"




@dataclass(frozen=True)
class Exchange:
    """One question and the answer that stands for it in the conversation."""

    voice: str  # catalog shortcut of the voice that answered
    voice_name: str
    question: str
    answer: str
    turn_id: int | None = None


@dataclass(frozen=True)
class ChatState:
    """What a chat's stored turns add up to: the conversation, the current voice and system prompt."""

    exchanges: tuple[Exchange, ...] = ()
    voice: str | None = None
    system: str | None = None


# Sessions a conversation can go on from: `chat --resume`, `ask -c` / `ask --cid`.
CONTINUABLE_KINDS = ("chat", "ask")


def latest_conversation(archive: Archive) -> str:
    """The id of the chat or ask session with the latest activity (what `ask -c` continues)."""
    marks = ", ".join("?" for _ in CONTINUABLE_KINDS)
    rows = archive.query(f"SELECT id FROM sessions WHERE kind IN ({marks}) "
                         "ORDER BY updated_at DESC, id DESC LIMIT 1", CONTINUABLE_KINDS)
    if not rows:
        raise ArchiveError(f"no conversation to continue in {archive.path}: ask something first")
    return str(rows[0]["id"])


def _question(turn: TurnRecord) -> str:
    q = turn.meta.get("question")
    if isinstance(q, str):
        return q
    # A turn stored without the question in its meta (e.g. imported): its last user message.
    return next((m.content for m in reversed(turn.request.messages) if m.role == "user"), "")


def chat_state(turns: Iterable[TurnRecord], *, voice: str | None = None,
               system: str | None = None) -> ChatState:
    """Replay a chat session's turns (in order), honouring retry, undo, switch and system markers.

    ``voice`` and ``system`` are the session's starting values (from its plan). Failed calls are in
    the archive but not in the conversation.
    """
    exchanges: list[Exchange] = []
    for t in turns:
        kind = t.meta.get("kind")
        if t.role == "host":
            if kind == "undo":
                exchanges = [e for e in exchanges if e.turn_id != t.meta.get("turn")]
            elif kind == "switch" and isinstance(t.meta.get("to"), str):
                voice = t.meta["to"]
            elif kind == "system":
                s = t.meta.get("system")
                system = s if isinstance(s, str) and s else None
            continue
        if t.role != "voice":
            continue
        if kind != "retry":
            voice = t.voice
        if t.result.error is not None:
            continue
        ex = Exchange(t.voice, t.voice_name, _question(t), t.result.text, t.id)
        replaced = t.meta.get("replaces") if kind == "retry" else None
        at = next((i for i, e in enumerate(exchanges) if replaced is not None and e.turn_id == replaced),
                  None)
        if at is None:
            exchanges.append(ex)
        else:
            exchanges[at] = ex
    return ChatState(tuple(exchanges), voice, system)


def conversation_from_turns(turns: Iterable[TurnRecord]) -> list[Exchange]:
    """The exchanges that stand in a chat after replaying its stored turns."""
    return list(chat_state(turns).exchanges)


def chat_messages(voice: str, exchanges: Sequence[Exchange], question: str) -> list[Message]:
    """What ``voice`` (a shortcut) sees when asked ``question`` after ``exchanges``.

    Its own answers are ``assistant`` messages; other voices' answers are framed, attributed user
    text; consecutive user text is merged so roles alternate, starting and ending with ``user``.
    """
    prompts = load("chat")
    messages: list[Message] = []
    for ex in exchanges:
        messages.append(Message("user", ex.question))
        answer = ex.answer if ex.answer.strip() else str(prompts["empty"])
        if ex.voice == voice:
            messages.append(Message("assistant", answer))
        else:
            messages.append(Message("user", str(prompts["other_answer"]).format(name=ex.voice_name, text=answer)))
    messages.append(Message("user", question))
    return merge_messages(messages)


def _one_line(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class Chat:
    """A live chat over a :class:`Runtime`; every answer and marker is stored as it happens.

    The session is created with the first stored turn, so a chat left without a word leaves no trace.
    """

    def __init__(self, rt: Runtime, voice: Voice | str, *, system: str | None = None,
                 params: Params | None = None) -> None:
        self.rt = rt
        self.voice = voice if isinstance(voice, Voice) else rt.catalog.voice(voice)
        self.system = system
        self.params = params
        self.exchanges: list[Exchange] = []
        self.session_id: str | None = None

    @classmethod
    def resume(cls, rt: Runtime, session_id: str, *, voice: Voice | str | None = None,
               system: str | None = None, params: Params | None = None) -> Chat:
        """Rebuild a stored chat (id or unique prefix) and continue it.

        ``voice``/``system`` given here, if they differ from where the chat stood, are recorded as
        switch/system markers; ``params`` override the stored ones for the calls to come.
        """
        session = rt.archive.get_session(session_id)
        if session.kind not in CONTINUABLE_KINDS:
            raise NotFoundError(f"session {session.id!r} is a {session.kind} session; only chats and "
                               f"single questions (ask) can be continued")
        plan = session.plan
        state = chat_state(rt.archive.session_turns(session.id), voice=plan.get("voice"),
                           system=plan.get("system"))
        if state.voice is None:
            raise ArchiveError(f"chat session {session.id!r} names no voice to continue with")
        stored = Params.from_dict(plan.get("params") or {})
        chat = cls(rt, state.voice, system=state.system,
                   params=stored.merged(params) if params is not None else stored)
        chat.exchanges = list(state.exchanges)
        chat.session_id = session.id
        rt.ready([chat.voice])  # a missing key stops us before the session is touched
        rt.hold(session.id)  # one runner per session: a second chat --resume / ask -c refuses, naming it
        if voice is not None:
            chat.switch(voice)
        if system is not None and system != chat.system:
            chat.set_system(system)
        return chat

    # -- storage ----------------------------------------------------------------------------------

    def _session(self, title: str) -> str:
        if self.session_id is None:
            plan: dict[str, Any] = {"voice": self.voice.shortcut, "system": self.system,
                                    "params": self.params.to_dict() if self.params else {}}
            rec = self.rt.start_session("chat", _one_line(title), plan=plan,
                                        meta={"voices": [self.voice.shortcut]}, voices=[self.voice])
            self.session_id = rec.id
        return self.session_id

    def _marker(self, kind: str, text: str, **meta: Any) -> TurnRecord:
        """Store a host marker turn: provider ``human``, no messages, ``meta["kind"]``."""
        sid = self._session(f"chat with {self.voice.name}")
        # Markers are never re-run, so their step key only has to be unique: the turn's position.
        key = f"{kind}-{self.rt.archive.next_seq(sid)}"
        return self.rt.record_host(sid, text, kind=kind, step_key=key, host_name=HOST_NAME,
                                   provider=HOST_PROVIDER, meta=meta)

    async def _call(self, voice: Voice, prior: Sequence[Exchange], question: str,
                    meta: dict[str, Any], on_event: OnEvent | None) -> TurnRecord:
        sid = self._session(question)
        request = self.rt.request_for(voice, chat_messages(voice.shortcut, prior, question),
                                      system=self.system, params=self.params)
        return await self.rt.call(sid, voice, request, on_event=on_event, meta=meta)

    # -- what a user can do -------------------------------------------------------------------------

    async def ask(self, question: str, *, on_event: OnEvent | None = None) -> TurnRecord:
        """Put the next question to the current voice; a successful answer joins the conversation."""
        turn = await self._call(self.voice, self.exchanges, question, {"question": question}, on_event)
        if turn.result.error is None:
            self.exchanges.append(Exchange(turn.voice, turn.voice_name, question, turn.result.text, turn.id))
        return turn

    async def retry(self, *, on_event: OnEvent | None = None) -> TurnRecord:
        """Ask the voice that gave the last answer the same question again; the new answer replaces it."""
        if not self.exchanges:
            raise ChatError("nothing to retry: no question has been answered yet")
        last = self.exchanges[-1]
        voice = self.rt.catalog.voice(last.voice)
        meta = {"question": last.question, "kind": "retry", "replaces": last.turn_id}
        turn = await self._call(voice, self.exchanges[:-1], last.question, meta, on_event)
        if turn.result.error is None:
            self.exchanges[-1] = replace(last, voice_name=turn.voice_name, answer=turn.result.text,
                                         turn_id=turn.id)
        return turn

    def undo(self) -> Exchange:
        """Drop the last exchange from the conversation (it stays in the archive, marked undone)."""
        if not self.exchanges:
            raise ChatError("nothing to undo: the conversation is empty")
        last = self.exchanges[-1]
        self._marker("undo", f"undo: dropped the answer of {last.voice_name} (turn {last.turn_id}) "
                             f"to: {_one_line(last.question)}", turn=last.turn_id)
        self.exchanges.pop()
        return last

    def switch(self, voice: Voice | str) -> Voice:
        """Send the questions to come to another voice (it sees the conversation so far)."""
        new = voice if isinstance(voice, Voice) else self.rt.catalog.voice(voice)
        if new.shortcut == self.voice.shortcut:
            return new
        self.rt.provider(new)  # fail now (missing key, unknown provider) rather than at the next question
        old = self.voice
        self._marker("switch", f"switch: {old.name} → {new.name}",
                     **{"from": old.shortcut, "to": new.shortcut})
        self.voice = new
        return new

    def set_system(self, text: str | None) -> None:
        """Set (or, with empty text, clear) the system prompt of the calls to come."""
        value = text if text and text.strip() else None
        desc = f"system prompt set: {value}" if value else "system prompt cleared"
        self._marker("system", desc, system=value)
        self.system = value

    def close(self) -> None:
        """Mark the stored session complete (nothing to do if nothing was stored)."""
        if self.session_id is not None:
            self.rt.finish(self.session_id, "complete")
