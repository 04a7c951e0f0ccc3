"""Arena: what each side sees (exact), the alternation property, runs and resumes against real providers."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import fake_config, scripted_config
from symposia.api import Symposia
from symposia.archive import Archive
from symposia.catalog import Voice
from symposia.cli.arena import arena_cmd
from symposia.cli.context import Options
from symposia.dialogue.arena import (
    MODES,
    ArenaEvent,
    Side,
    TurnFinished,
    TurnStarted,
    Utterance,
    arena_messages,
    arena_names,
    resume_arena,
    run_arena,
    side_of_turn,
)
from symposia.prompts import load
from symposia.records import Message, ReasoningChunk, Restart, TextChunk, TurnRecord
from symposia.testing import FakeServer, Fault, Reply

NAMES = ("Qwen", "Grok")


PAIR = [("alpha", "fake/alpha-1", "Alpha"), ("beta", "fake/beta-1", "Beta")]
ORACLES = [("oracle", "oracle-1", "The Oracle"), ("sibyl", "sibyl-1", "The Sibyl")]


def fake_pair_config(home: Path, base_url: str) -> None:
    """Two voices, Alpha and Beta, served by one fake OpenAI-wire server."""
    fake_config(home, base_url, PAIR)


def scripted_pair_config(home: Path, script: str) -> None:
    scripted_config(home, script, ORACLES)


def contents(messages: list[Message] | tuple[Message, ...]) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in messages]


# -- the pure core ---------------------------------------------------------------------------------


def test_modes_are_exactly_the_prompt_tables() -> None:
    assert set(load("arena")["modes"]) == set(MODES)
    for mode in MODES:
        assert set(load("arena")["modes"][mode]) == {"label", "system_a", "system_b", "opening_a", "opening_b"}


def test_debate_messages_exact_for_both_sides() -> None:
    history = [Utterance("a", "Yes, because X."), Utterance("b", "No, because Y."), Utterance("a", "But Z.")]
    system_b, msgs_b = arena_messages("b", "Cats are better than dogs.", history, NAMES, mode="debate",
                                      system="Stay civil.")
    assert system_b == (
        "You are Grok, debating Qwen, another language model. You argue AGAINST the motion. Make your "
        "strongest case, answer Qwen's arguments directly, and concede only what is true. Be concise: a "
        "few paragraphs at most.\n\nStay civil."
    )
    assert contents(msgs_b) == [
        ("user", "The motion: Cats are better than dogs.\n\nYou argue against it. Qwen argues for it and "
                 "speaks first.\n\nQwen:\n\nYes, because X."),
        ("assistant", "No, because Y."),
        ("user", "But Z."),
    ]
    system_a, msgs_a = arena_messages("a", "Cats are better than dogs.", history[:2], NAMES, mode="debate")
    assert system_a == (
        "You are Qwen, debating Grok, another language model. You argue FOR the motion. Make your "
        "strongest case, answer Grok's objections directly, and concede only what is true. Be concise: a "
        "few paragraphs at most."
    )
    assert contents(msgs_a) == [
        ("user", "The motion: Cats are better than dogs.\n\nYou argue for it and speak first. Open the "
                 "debate with your case."),
        ("assistant", "Yes, because X."),
        ("user", "Grok:\n\nNo, because Y."),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_gives_each_side_its_own_instructions(mode: str) -> None:
    table = load("arena")["modes"][mode]
    history = [Utterance("a", "first"), Utterance("b", ""), Utterance("a", "third"), Utterance("b", "fourth")]
    sides: tuple[tuple[Side, str, str], ...] = (("a", "Qwen", "Grok"), ("b", "Grok", "Qwen"))
    for side, me, other in sides:
        system, msgs = arena_messages(side, "T?", history, NAMES, mode=mode)
        fill = {"name": me, "other": other, "topic": "T?"}
        assert system == table[f"system_{side}"].format(**fill)
        opening = table[f"opening_{side}"].format(**fill)
        if side == "a":
            assert contents(msgs) == [
                ("user", opening), ("assistant", "first"), ("user", "Grok:\n\n(no answer)"),
                ("assistant", "third"), ("user", "fourth"),
            ]
        else:
            assert contents(msgs) == [
                ("user", opening + "\n\nQwen:\n\nfirst"), ("assistant", "(no answer)"),
                ("user", "third"), ("assistant", "fourth"),
            ]
    sys_a = arena_messages("a", "T?", [], NAMES, mode=mode)[0]
    sys_b = arena_messages("b", "T?", [], NAMES, mode=mode)[0]
    if mode == "debate":
        assert "FOR the motion" in sys_a and "AGAINST the motion" in sys_b
    if mode == "interview":
        assert "interviewing Grok" in sys_a and "interviewed by Qwen" in sys_b
    if mode == "collaborative":
        assert "one shared answer" in sys_a and "one shared answer" in sys_b


def test_unknown_mode_is_rejected_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r'expected one of "free", "debate", "interview", "collaborative" '
                                         r"\(not 'brawl'\)"):
        arena_messages("a", "t", [], NAMES, mode="brawl")


def test_roles_alternate_and_start_with_user_for_any_history() -> None:
    rng = random.Random(20261125)
    for _ in range(500):
        n = rng.randrange(0, 12)
        history = [Utterance(rng.choice(("a", "b")), rng.choice(("", "x", "y z", "{braces}"))) for _ in range(n)]
        mode = rng.choice(MODES)
        for side in ("a", "b"):
            _, msgs = arena_messages(side, "topic {x}", history, NAMES, mode=mode)
            assert msgs[0].role == "user"
            assert all(m1.role != m2.role for m1, m2 in zip(msgs, msgs[1:], strict=False))
            assert all(m.content.strip() for m in msgs)  # no empty message for a provider to reject
            if history and history[-1].side != side:
                assert msgs[-1].role == "user"  # the side is answering the other's last turn


def test_real_arena_histories_end_with_the_other_side() -> None:
    history: list[Utterance] = []
    for k in range(1, 9):
        side = side_of_turn(k)
        _, msgs = arena_messages(side, "t", history, NAMES)
        assert msgs[-1].role == "user"
        assert len(msgs) == (k if side == "a" else k - 1)  # B's opening merges with A's first turn
        history.append(Utterance(side, f"turn {k}"))


def test_a_voice_facing_itself_gets_two_names() -> None:
    v = Voice(shortcut="qwen", provider="p", model="m", name="Qwen")
    w = Voice(shortcut="grok", provider="p", model="m2", name="Grok")
    assert arena_names(v, v) == ("Qwen (A)", "Qwen (B)")
    assert arena_names(v, w) == ("Qwen", "Grok")


# -- runs against real providers -------------------------------------------------------------------


class RecordingObserver:
    """An Observer (the live view's protocol) that writes down what it is told."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, str]] = []

    def note(self, text: str) -> None:
        self.log.append(("note", "", text))

    def turn_started(self, key: str, voice: Voice, label: str) -> None:
        self.log.append(("started", key, label))

    def event(self, key: str, event: TextChunk | ReasoningChunk | Restart) -> None:
        self.log.append(("event", key, event.text if isinstance(event, TextChunk) else ""))

    def turn_finished(self, key: str, turn: TurnRecord) -> None:
        self.log.append(("finished", key, turn.result.text))


@pytest.fixture
async def fake_symposia(isolated_user_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[
        tuple[Symposia, FakeServer]]:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    with FakeServer() as srv:
        fake_pair_config(isolated_user_dirs, srv.openai_base_url)
        s = Symposia(isolated_user_dirs / "data" / "arena.db")
        try:
            yield s, srv
        finally:
            await s.runtime.aclose()
            s.archive.close()


async def test_four_turn_arena_each_side_sees_the_other_as_user(fake_symposia: tuple[Symposia, FakeServer]) -> None:
    s, srv = fake_symposia
    srv.enqueue(Reply(text="A says one."), Reply(text="B says two."), Reply(text="A says three."),
                Reply(text="B says four.", cost=0.5))
    events: list[ArenaEvent] = []
    observer = RecordingObserver()
    sid = await run_arena(s.runtime, "alpha", "beta", "Is a map the territory?", "debate", 4,
                          on_event=events.append, observer=observer)
    session = s.archive.get_session(sid)
    assert session.kind == "arena" and session.status == "complete"
    assert session.plan["voices"] == ["alpha", "beta"] and session.plan["turns"] == 4
    turns = s.archive.session_turns(sid)
    assert [(t.voice, t.step_key, t.result.text) for t in turns] == [
        ("alpha", "turn-1", "A says one."), ("beta", "turn-2", "B says two."),
        ("alpha", "turn-3", "A says three."), ("beta", "turn-4", "B says four."),
    ]
    opening_b = ("The motion: Is a map the territory?\n\nYou argue against it. Alpha argues for it and "
                 "speaks first.")
    assert contents(turns[3].request.messages) == [
        ("user", opening_b + "\n\nAlpha:\n\nA says one."),
        ("assistant", "B says two."),
        ("user", "A says three."),
    ]
    assert contents(turns[2].request.messages)[1:] == [("assistant", "A says one."), ("user", "Beta:\n\nB says two.")]
    assert turns[2].request.system is not None and "FOR the motion" in turns[2].request.system
    assert turns[3].request.system is not None and "AGAINST the motion" in turns[3].request.system
    # What went over the wire is what the archive says each side saw.
    wire = srv.requests[3].body
    assert wire["model"] == "fake/beta-1"
    assert wire["messages"][0] == {"role": "system", "content": turns[3].request.system}
    assert wire["messages"][1:] == [m.to_dict() for m in turns[3].request.messages]
    # The live view got a start, the streamed text and an end for every turn, in order.
    starts = [(e.index, e.side, e.name) for e in events if isinstance(e, TurnStarted)]
    assert starts == [(1, "a", "Alpha"), (2, "b", "Beta"), (3, "a", "Alpha"), (4, "b", "Beta")]
    assert "".join(e.text for e in events if isinstance(e, TextChunk)) == (
        "A says one.B says two.A says three.B says four.")
    assert [e.turn.id for e in events if isinstance(e, TurnFinished)] == [t.id for t in turns]
    assert [x for x in observer.log if x[0] != "event"] == [
        ("started", f"turn-{k}", name) if i == 0 else ("finished", f"turn-{k}", text)
        for k, name, text in [(1, "Alpha", "A says one."), (2, "Beta", "B says two."),
                              (3, "Alpha", "A says three."), (4, "Beta", "B says four.")]
        for i in (0, 1)
    ]
    assert "".join(x[2] for x in observer.log if x[:2] == ("event", "turn-3")) == "A says three."


async def test_failed_turn_stops_the_arena_and_a_rerun_resumes_without_repeating(
        fake_symposia: tuple[Symposia, FakeServer]) -> None:
    s, srv = fake_symposia
    srv.enqueue(Reply(text="one"), Reply(text="two"), Reply(fault=Fault("http_400")))
    sid = await run_arena(s.runtime, "alpha", "beta", "Topic", "free", 4)
    assert srv.request_count == 3  # a 400 is final: not retried
    assert s.archive.get_session(sid).status == "failed"
    turns = s.archive.session_turns(sid)
    assert [t.step_key for t in turns] == ["turn-1", "turn-2", "turn-3"]
    assert turns[2].result.error is not None and turns[2].result.error.status == 400

    srv.enqueue(Reply(text="three"), Reply(text="four"))
    events: list[ArenaEvent] = []
    again = await run_arena(s.runtime, "alpha", "beta", "Topic", "free", 4, session_id=sid,
                            on_event=events.append)
    assert again == sid
    assert srv.request_count == 5  # only turns 3 and 4 were requested again
    assert [r.body["model"] for r in srv.requests[3:]] == ["fake/alpha-1", "fake/beta-1"]
    assert s.archive.get_session(sid).status == "complete"
    turns = s.archive.session_turns(sid)
    ok = [t for t in turns if t.result.ok]
    assert [t.result.text for t in ok] == ["one", "two", "three", "four"]
    # The failed attempt stays in the record beside the successful one, under the same step.
    assert [t.step_key for t in turns] == ["turn-1", "turn-2", "turn-3", "turn-3", "turn-4"]
    # The retried turn 3 saw the stored turns 1-2 exactly as the first attempt did.
    assert turns[3].request == turns[2].request
    assert contents(turns[4].request.messages)[-1] == ("user", "three")
    assert [(e.index, e.resumed) for e in events if isinstance(e, TurnStarted)] == [
        (1, True), (2, True), (3, False), (4, False)]

    # Once complete, running it again asks nothing; resume_arena can also extend it from its plan.
    await run_arena(s.runtime, "alpha", "beta", "Topic", "free", 4, session_id=sid)
    assert srv.request_count == 5
    srv.enqueue(Reply(text="five"))
    await resume_arena(s.runtime, sid[:-2], turns=5)
    assert srv.request_count == 6
    assert s.archive.session_turns(sid)[-1].result.text == "five"


async def test_rerun_with_another_arena_under_the_same_id_is_refused(
        fake_symposia: tuple[Symposia, FakeServer]) -> None:
    s, srv = fake_symposia
    sid = await run_arena(s.runtime, "alpha", "beta", "Topic", "free", 1)
    from symposia.errors import ArchiveError

    with pytest.raises(ArchiveError, match="not this arena"):
        await run_arena(s.runtime, "beta", "alpha", "Topic", "free", 2, session_id=sid)
    assert srv.request_count == 1


# -- the CLI ---------------------------------------------------------------------------------------


def test_cli_arena_streams_with_headings_and_summary(isolated_user_dirs: Path) -> None:
    scripted_pair_config(isolated_user_dirs, """
[models."oracle-1"]
replies = ["Oracle opens.", "Oracle closes."]
[models."sibyl-1"]
replies = ["Sibyl replies."]
""")
    res = CliRunner().invoke(arena_cmd, ["oracle", "sibyl", "--mode", "interview", "--turns", "3",
                                         "-t", "0.2"], input="What is a threshold?\n", obj=Options(None, None))
    assert res.exit_code == 0, res.output
    assert res.stdout.index("## The Oracle") < res.stdout.index("Oracle opens.") < res.stdout.index(
        "## The Sibyl") < res.stdout.index("Sibyl replies.") < res.stdout.index("Oracle closes.")
    db = isolated_user_dirs / "data" / "archive.db"
    with Archive.open(db) as a:
        (session,) = a.list_sessions()
        turns = a.session_turns(session.id)
    assert session.plan["topic"] == "What is a threshold?" and session.plan["mode"] == "interview"
    assert [t.request.params.temperature for t in turns] == [0.2, 0.2, 0.2]
    assert f"arena {session.id}: 3 turns · " in res.stderr and "$0.0000" in res.stderr
    assert str(db) in res.stderr


def test_cli_arena_json_failure_and_resume(isolated_user_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    with FakeServer() as srv:
        fake_pair_config(isolated_user_dirs, srv.openai_base_url)
        srv.enqueue(Reply(text="fine"), Reply(fault=Fault("http_401")))
        res = CliRunner().invoke(arena_cmd, ["alpha", "beta", "--turns", "3", "--topic", "T", "--json",
                                             "--mode", "collaborative", "-t", "0.3"], obj=Options(None, None))
        assert res.exit_code == 1
        data = json.loads(res.stdout)
        sid = data["session"]["id"]
        assert data["session"]["status"] == "failed"
        assert [t["result"]["error"] is None for t in data["turns"]] == [True, False]

        res = CliRunner().invoke(arena_cmd, ["--resume", sid], obj=Options(None, None))
        assert res.exit_code == 0, res.output
        assert srv.request_count == 4  # turn 1 was not asked again; turns 2 and 3 were
        assert [r.body["temperature"] for r in srv.requests] == [0.3] * 4  # the stored params
        assert "stored earlier: not asked again" in res.stderr and "## Alpha" in res.stdout

        res = CliRunner().invoke(arena_cmd, ["alpha", "--resume", sid], obj=Options(None, None))
        assert res.exit_code == 2 and "not both" in res.output

    res = CliRunner().invoke(arena_cmd, ["alpha", "beta", "--turns", "2", "--topic", "T"],
                             obj=Options(None, None))  # the server is gone: connection refused, retried
    assert res.exit_code == 1
    assert "failed" in res.stderr and "symposia arena --resume" in res.stderr
    with Archive.open(isolated_user_dirs / "data" / "archive.db") as a:
        assert [s.status for s in a.list_sessions()] == ["failed", "complete"]


def test_cli_arena_needs_a_topic(isolated_user_dirs: Path) -> None:
    scripted_pair_config(isolated_user_dirs, '[default]\nreplies = ["x"]\n')
    res = CliRunner().invoke(arena_cmd, ["oracle", "sibyl", "--topic", "  "], obj=Options(None, None))
    assert res.exit_code == 2 and "topic is empty" in res.output
    res = CliRunner().invoke(arena_cmd, ["oracle", "nobody", "--topic", "t"], obj=Options(None, None))
    assert res.exit_code == 2 and "Unknown voice 'nobody'" in res.stderr
