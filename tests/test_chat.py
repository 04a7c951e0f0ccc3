"""Chat: the conversation each voice sees (exact), markers replayed from the archive, the CLI driven by stdin."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from support import fake_config, scripted_config
from symposia.archive import Archive
from symposia.cli.chat import chat_cmd
from symposia.cli.context import Options
from symposia.dialogue.chat import Exchange, chat_messages, chat_state, conversation_from_turns
from symposia.records import ErrorInfo, Message, TurnRecord, TurnRequest, TurnResult
from symposia.testing import FakeServer, Reply

SCRIPT = """
[models."oracle-1"]
replies = ["O1", "O2", "O2b", "O3", "O4"]
[models."sibyl-1"]
replies = ["S1", { error = "bad_request", message = "the sibyl refuses" }, "S2"]
"""


def oracles_config(home: Path, script: str = SCRIPT) -> Path:
    scripted_config(home, script, [("oracle", "oracle-1", "The Oracle"), ("sibyl", "sibyl-1", "The Sibyl")])
    return home / "data" / "archive.db"


def chat(*args: str, input: str) -> Result:
    return CliRunner().invoke(chat_cmd, list(args), input=input, obj=Options(None, None))


def pairs(messages: tuple[Message, ...] | list[Message]) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in messages]


def framed(name: str, text: str) -> str:
    return f"[{name} answered]\n{text}\n[end of {name}'s answer]"


# -- the pure core ---------------------------------------------------------------------------------


EXCHANGES = [
    Exchange("qwen", "Qwen", "What is play?", "Play is rehearsal.", 1),
    Exchange("grok", "Grok", "And rest?", "Rest is the gap.", 2),
    Exchange("qwen", "Qwen", "Together?", "", 3),
]


def test_chat_messages_exact_for_the_voice_that_answered_most() -> None:
    assert pairs(chat_messages("qwen", EXCHANGES, "Now?")) == [
        ("user", "What is play?"),
        ("assistant", "Play is rehearsal."),
        ("user", "And rest?\n\n" + framed("Grok", "Rest is the gap.") + "\n\nTogether?"),
        ("assistant", "(no answer)"),
        ("user", "Now?"),
    ]


def test_chat_messages_exact_for_the_other_voice_and_a_newcomer() -> None:
    assert pairs(chat_messages("grok", EXCHANGES, "Now?")) == [
        ("user", "What is play?\n\n" + framed("Qwen", "Play is rehearsal.") + "\n\nAnd rest?"),
        ("assistant", "Rest is the gap."),
        ("user", "Together?\n\n" + framed("Qwen", "(no answer)") + "\n\nNow?"),
    ]
    newcomer = chat_messages("kimi", EXCHANGES, "Now?")
    assert len(newcomer) == 1 and newcomer[0].role == "user"
    assert chat_messages("kimi", [], "Hi") == [Message("user", "Hi")]


def _turn(tid: int, role: str, voice: str, meta: dict[str, object], answer: str = "",
          error: bool = False) -> TurnRecord:
    return TurnRecord(
        id=tid, session_id="s", seq=tid, voice=voice, voice_name=voice.title(),
        provider="human" if role == "host" else "p",
        request=TurnRequest(model="m", messages=() if role == "host" else (Message("user", "wrapped"),)),
        result=TurnResult(text=answer, error=ErrorInfo("bad_request", "no") if error else None),
        role=role, meta=meta,  # type: ignore[arg-type]
    )


def test_conversation_from_turns_honours_every_marker() -> None:
    turns = [
        _turn(1, "voice", "qwen", {"question": "q1"}, "a1"),
        _turn(2, "voice", "qwen", {"question": "q2"}, "a2"),
        _turn(3, "voice", "qwen", {"question": "q2", "kind": "retry", "replaces": 2}, "a2-better"),
        _turn(4, "host", "host", {"kind": "switch", "from": "qwen", "to": "grok"}, "switch"),
        _turn(5, "voice", "grok", {"question": "q3"}, error=True),  # failed: not in the conversation
        _turn(6, "voice", "grok", {"question": "q3"}, "a3"),
        _turn(7, "host", "host", {"kind": "undo", "turn": 6}, "undo"),
        _turn(8, "host", "host", {"kind": "system", "system": "Be brief."}, "system"),
        _turn(9, "voice", "grok", {"question": "q4"}, "a4"),
        _turn(10, "voice", "grok", {}, "a5"),  # no question in meta: its last user message
    ]
    assert conversation_from_turns(turns) == [
        Exchange("qwen", "Qwen", "q1", "a1", 1),
        Exchange("qwen", "Qwen", "q2", "a2-better", 3),
        Exchange("grok", "Grok", "q4", "a4", 9),
        Exchange("grok", "Grok", "wrapped", "a5", 10),
    ]
    state = chat_state(turns, voice="qwen", system="Start.")
    assert state.voice == "grok" and state.system == "Be brief."
    # A retry of an older voice's answer does not change who the next question goes to.
    back = [*turns[:4], _turn(11, "voice", "qwen", {"question": "q2", "kind": "retry", "replaces": 3}, "a2-c")]
    assert chat_state(back).voice == "grok"
    assert chat_state([_turn(12, "host", "host", {"kind": "system", "system": None}, "")], system="x").system is None


# -- the CLI, driven through stdin -----------------------------------------------------------------


SESSION_INPUT = "\n".join([
    "What is play?",     # oracle: O1
    "/system Be brief.",
    "And rest?",         # oracle: O2
    "/retry",            # oracle: O2b replaces O2
    "/switch sibyl",
    "Your view?",        # sibyl: S1
    "/undo",             # drops the sibyl exchange
    "/switch oracle",
    "Again?",            # oracle: O3
    "/quit",
    "never read",
]) + "\n"


def test_chat_switch_retry_undo_system_quit(isolated_user_dirs: Path) -> None:
    db = oracles_config(isolated_user_dirs)
    res = chat("oracle", input=SESSION_INPUT)
    assert res.exit_code == 0, res.output
    for text in ("O1", "O2", "O2b", "S1", "O3"):
        assert f"{text}\n" in res.stdout
    assert "O4" not in res.stdout  # nothing after /quit was asked
    assert "now talking to The Sibyl" in res.stderr and "--resume" in res.stderr

    with Archive.open(db) as a:
        (session,) = a.list_sessions()
        turns = a.session_turns(session.id)
    assert session.kind == "chat" and session.status == "complete"
    assert session.title == "What is play?" and session.plan["voice"] == "oracle"
    assert [(t.role, t.voice, t.meta.get("kind"), t.result.text) for t in turns] == [
        ("voice", "oracle", None, "O1"),
        ("host", "host", "system", "system prompt set: Be brief."),
        ("voice", "oracle", None, "O2"),
        ("voice", "oracle", "retry", "O2b"),
        ("host", "host", "switch", "switch: The Oracle → The Sibyl"),
        ("voice", "sibyl", None, "S1"),
        ("host", "host", "undo", turns[6].result.text),
        ("host", "host", "switch", "switch: The Sibyl → The Oracle"),
        ("voice", "oracle", None, "O3"),
    ]
    o1, system, o2, o2b, _, s1, undo, _, o3 = turns
    for marker in (system, undo):
        assert marker.provider == "human" and marker.request.messages == ()
    assert system.meta == {"kind": "system", "system": "Be brief."}
    assert o2b.meta == {"question": "And rest?", "kind": "retry", "replaces": o2.id}
    assert undo.meta == {"kind": "undo", "turn": s1.id}
    assert o1.request.system is None and o2.request.system == "Be brief."
    # The retry asked the same question over the same history, without the answer it replaces.
    assert pairs(o2b.request.messages) == pairs(o2.request.messages) == [
        ("user", "What is play?"), ("assistant", "O1"), ("user", "And rest?")]
    # The sibyl saw the oracle's answers (the retried one, not the replaced one) as framed user text.
    assert pairs(s1.request.messages) == [
        ("user", "What is play?\n\n" + framed("The Oracle", "O1") + "\n\nAnd rest?\n\n"
                 + framed("The Oracle", "O2b") + "\n\nYour view?")]
    # Back with the oracle: its own answers are its own, the undone exchange is gone.
    assert pairs(o3.request.messages) == [
        ("user", "What is play?"), ("assistant", "O1"), ("user", "And rest?"), ("assistant", "O2b"),
        ("user", "Again?")]
    assert conversation_from_turns(turns) == [
        Exchange("oracle", "The Oracle", "What is play?", "O1", o1.id),
        Exchange("oracle", "The Oracle", "And rest?", "O2b", o2b.id),
        Exchange("oracle", "The Oracle", "Again?", "O3", o3.id),
    ]


def test_resume_continues_with_the_rebuilt_conversation(isolated_user_dirs: Path) -> None:
    db = oracles_config(isolated_user_dirs)
    assert chat("oracle", input=SESSION_INPUT).exit_code == 0
    with Archive.open(db) as a:
        (session,) = a.list_sessions()
    res = chat("--resume", session.id[:-1], "-t", "0.4", input="One more?\n")  # EOF ends the chat
    assert res.exit_code == 0, res.output
    assert "3 exchanges so far" in res.stderr
    with Archive.open(db) as a:
        assert len(a.list_sessions()) == 1  # the same session goes on
        last = a.session_turns(session.id)[-1]
        assert a.get_session(session.id).status == "complete"
    assert last.voice == "oracle" and last.meta == {"question": "One more?"}
    assert last.request.system == "Be brief." and last.request.params.temperature == 0.4
    assert pairs(last.request.messages) == [
        ("user", "What is play?"), ("assistant", "O1"), ("user", "And rest?"), ("assistant", "O2b"),
        ("user", "Again?"), ("assistant", "O3"), ("user", "One more?")]

    # Resuming with another voice records the switch; the newcomer sees everything as framed text.
    res = chat("--resume", session.id, "sibyl", input="Sibyl?\n")
    assert res.exit_code == 0, res.output
    with Archive.open(db) as a:
        switch, answer = a.session_turns(session.id)[-2:]
    assert switch.meta == {"kind": "switch", "from": "oracle", "to": "sibyl"}
    assert answer.voice == "sibyl" and len(answer.request.messages) == 1
    assert answer.request.messages[0].content.endswith(framed("The Oracle", "O1") + "\n\nSibyl?")


def test_failed_answer_is_stored_but_left_out_and_errors_do_not_end_the_chat(isolated_user_dirs: Path) -> None:
    db = oracles_config(isolated_user_dirs)
    lines = ["/undo", "/retry", "/switch nobody", "/frobnicate", "/switch", "Hi",  # sibyl: S1
             "Refuse?",  # sibyl: scripted failure
             "//slash question"]  # sibyl: S2; a leading "//" sends text starting with "/"
    res = chat("sibyl", "-s", "Start.", input="\n".join(lines) + "\n")
    assert res.exit_code == 0, res.output
    assert "nothing to undo" in res.stderr and "nothing to retry" in res.stderr
    assert "Unknown voice 'nobody'" in res.stderr and "unknown command /frobnicate" in res.stderr
    assert "/switch needs a voice" in res.stderr
    assert "the sibyl refuses" in res.stderr
    with Archive.open(db) as a:
        (session,) = a.list_sessions()
        turns = a.session_turns(session.id)
    assert [(t.result.text, t.result.error is not None) for t in turns] == [
        ("S1", False), ("", True), ("S2", False)]
    assert turns[2].meta == {"question": "/slash question"}
    assert pairs(turns[2].request.messages) == [
        ("user", "Hi"), ("assistant", "S1"), ("user", "/slash question")]
    assert all(t.request.system == "Start." for t in turns)
    assert session.plan["system"] == "Start."


def test_a_chat_without_a_word_stores_nothing(isolated_user_dirs: Path) -> None:
    db = oracles_config(isolated_user_dirs)
    res = chat("oracle", input="/quit\n")
    assert res.exit_code == 0
    with Archive.open(db) as a:
        assert a.list_sessions() == []
    res = chat(input="")
    assert res.exit_code == 2 and "give a VOICE" in res.output
    res = chat("--resume", "nope", input="")
    assert res.exit_code == 2 and "no session" in res.stderr


def test_resume_refuses_a_session_that_is_not_a_conversation(isolated_user_dirs: Path) -> None:
    db = oracles_config(isolated_user_dirs)
    from symposia.api import Symposia

    with Symposia(db) as s:
        outcome = s.council("q", ["oracle", "sibyl"])
        asked = s.ask("oracle", "q")
    res = chat("--resume", outcome.session_id, input="")
    assert res.exit_code == 2 and "council session" in res.stderr and "can be continued" in res.stderr
    # A single question (ask) goes on as a chat, as `llm chat -c` does.
    res = chat("--resume", asked.session_id, input="/quit\n")
    assert res.exit_code == 0, res.output


def test_chat_through_fake_openai_server(isolated_user_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, [("sage", "fake/sage-1", "Sage")], max_attempts=1)
        srv.enqueue(Reply(text="first"), Reply(text="second"))
        res = chat("sage", "-s", "Be kind.", input="one\ntwo\n")
        assert res.exit_code == 0, res.output
        assert srv.requests[1].body["messages"] == [
            {"role": "system", "content": "Be kind."}, {"role": "user", "content": "one"},
            {"role": "assistant", "content": "first"}, {"role": "user", "content": "two"}]
    assert "first\n" in res.stdout and "second\n" in res.stdout
