"""What each voice is shown: blind, threaded, everything; council rounds; proofs of what was seen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import pytest

from symposia.dialogue.visibility import (
    council_round_messages,
    estimate_tokens,
    merge_messages,
    messages_for,
    visibility_proof,
)
from symposia.records import ErrorInfo, Message, TurnRecord, TurnRequest, TurnResult

AT = datetime(2026, 1, 31, 20, 0, tzinfo=UTC)
HOST = "Claude Opus 4.5"
NAMES = {"qwen": "Qwen 3 Max", "grok": "Grok 4.1", "kimi": "Kimi K2", "opus": HOST}


class Session:
    """Builds turns as the runtime would store them (ids and seqs in order)."""

    def __init__(self) -> None:
        self.turns: list[TurnRecord] = []

    def add(self, role: Literal["voice", "host", "chair"], voice: str, text: str, *,
            messages: tuple[Message, ...] = (), error: str | None = None, **meta: Any) -> TurnRecord:
        n = len(self.turns) + 1
        t = TurnRecord(
            id=n, session_id="s", seq=n, voice=voice, voice_name=NAMES[voice],
            provider="plan" if role == "host" else "scripted",
            request=TurnRequest(model="plan" if role == "host" else f"{voice}-model", messages=messages),
            result=TurnResult(text=text, error=ErrorInfo("server_error", error) if error else None,
                              finish_reason="stop", started_at=AT, ended_at=AT),
            role=role, meta=meta,
        )
        self.turns.append(t)
        return t

    def ask(self, voice: str, question: str, answer: str, **kw: Any) -> TurnRecord:
        self.add("host", "opus", question, kind="question", to=voice)
        return self.add("voice", voice, answer, messages=(Message("user", question),), **kw)


def test_blind_is_exactly_the_question() -> None:
    s = Session()
    s.ask("qwen", "What burns?", "The offering.")
    s.ask("kimi", "And you?", "The threshold.")
    assert messages_for("kimi", "Kimi K2", "Once more?", s.turns, "blind", HOST) == [
        Message("user", "Once more?")]


def test_thread_is_the_voices_own_exchanges() -> None:
    s = Session()
    s.add("host", "opus", "Some context.", kind="context")
    s.ask("qwen", "What burns?", "The offering.")
    s.ask("grok", "Is it play?", "It is krida.")
    s.ask("qwen", "Say more.", "", )  # an empty answer: never shown
    s.ask("qwen", "Once more?", "x", error="upstream 502")  # failed: never shown
    s.add("host", "opus", "An observation.", kind="observation")
    s.ask("qwen", "Why the altar?", "Because the gap.")
    s.add("host", "opus", "Final question?", kind="question", to="qwen")  # pending: comes last, once
    assert messages_for("qwen", "Qwen 3 Max", "Final question?", s.turns, "thread", HOST) == [
        Message("user", "What burns?"),
        Message("assistant", "The offering."),
        Message("user", "Why the altar?"),
        Message("assistant", "Because the gap."),
        Message("user", "Final question?"),
    ]
    # a voice with no earlier answer sees only the question, whatever others said
    assert messages_for("kimi", "Kimi K2", "Q?", s.turns, "thread", HOST) == [Message("user", "Q?")]


def test_thread_falls_back_to_what_the_voice_was_sent() -> None:
    s = Session()
    s.add("voice", "qwen", "The offering.", messages=(Message("user", "Sent directly."),))
    assert messages_for("qwen", "Qwen 3 Max", "Next?", s.turns, "thread", HOST) == [
        Message("user", "Sent directly."), Message("assistant", "The offering."), Message("user", "Next?")]


def test_all_attributes_everyone_and_merges_for_strict_apis() -> None:
    s = Session()
    s.add("host", "opus", "Context here.", kind="context")
    s.ask("qwen", "What burns?", "The offering.")
    s.ask("grok", "Is it play?", "It is krida.", )
    s.ask("kimi", "Your view?", "x", error="timeout")  # failed: its answer is left out, not the question
    s.add("chair", "opus", "They agree.")
    s.ask("qwen", "And now?", "Now the gap.")
    msgs = messages_for("grok", "Grok 4.1", "Last word?", s.turns, "all", HOST)
    assert msgs == [
        Message("user", "[Claude Opus 4.5 (host)]: Context here.\n\n"
                        "[Claude Opus 4.5 (host)]: What burns?\n\n"
                        "[Qwen 3 Max]: The offering.\n\n"
                        "[Claude Opus 4.5 (host)]: Is it play?"),
        Message("assistant", "It is krida."),
        Message("user", "[Claude Opus 4.5 (host)]: Your view?\n\n"
                        "[Claude Opus 4.5 (chair)]: They agree.\n\n"
                        "[Claude Opus 4.5 (host)]: And now?\n\n"
                        "[Qwen 3 Max]: Now the gap.\n\n"
                        "[Claude Opus 4.5 (host)]: Last word?"),
    ]


def test_all_never_starts_with_an_assistant_message() -> None:
    s = Session()
    s.add("voice", "qwen", "I open the arena.")
    s.add("voice", "grok", "I answer.")
    assert messages_for("qwen", "Qwen 3 Max", "Go on.", s.turns, "all", HOST) == [
        Message("user", "(The conversation so far.)"),
        Message("assistant", "I open the arena."),
        Message("user", "[Grok 4.1]: I answer.\n\n[Claude Opus 4.5 (host)]: Go on."),
    ]


@pytest.mark.parametrize("sees", ["blind", "thread", "all"])
def test_roles_always_alternate_from_user_to_user(sees: Literal["blind", "thread", "all"]) -> None:
    s = Session()
    for i in range(6):
        s.ask(["qwen", "grok", "kimi"][i % 3], f"q{i}", f"a{i}" if i != 4 else "", )
        s.add("host", "opus", f"note {i}", kind="observation")
    for voice in ("qwen", "grok", "kimi"):
        msgs = messages_for(voice, NAMES[voice], "Q?", s.turns, sees, HOST)
        roles = [m.role for m in msgs]
        assert roles[0] == "user" and roles[-1] == "user" and msgs[-1].content.endswith("Q?")
        assert all(a != b for a, b in zip(roles, roles[1:], strict=False))


def test_invalid_sees_is_refused() -> None:
    with pytest.raises(ValueError, match="expected 'blind', 'thread' or 'all' \\(not 'some'\\)"):
        messages_for("qwen", "Qwen 3 Max", "Q", [], "some", HOST)  # type: ignore[arg-type]


def test_merge_messages() -> None:
    assert merge_messages([Message("user", "a"), Message("user", "b"), Message("assistant", "c")]) == [
        Message("user", "a\n\nb"), Message("assistant", "c")]


# -- council rounds --------------------------------------------------------------------------------


def _round(answers: dict[str, str | None]) -> list[TurnRecord]:
    s = Session()
    for voice, text in answers.items():
        s.add("voice", voice, text or "", error=None if text is not None else "HTTP 500",
              messages=(Message("user", "What persists?"),), round=1)
    return s.turns


def test_council_round_two() -> None:
    prev = _round({"qwen": "The pattern persists.", "grok": "The party.", "kimi": None})
    assert council_round_messages("qwen", "What persists?", prev, NAMES, 10_000) == [
        Message("user", "What persists?"),
        Message("assistant", "The pattern persists."),
        Message("user", "You are Qwen 3 Max. Here is what the others said in the previous round:\n\n"
                        "[Grok 4.1]: The party.\n\n"
                        "Now answer again as Qwen 3 Max. Where do you agree with them, where do you differ, "
                        "and what would you add or change? Speak for yourself; do not summarise the others."),
    ]
    # a voice that failed last round has no answer of its own to see: the question and the others merge
    kimi = council_round_messages("kimi", "What persists?", prev, NAMES, 10_000)
    assert [m.role for m in kimi] == ["user"]
    assert kimi[0].content.startswith("What persists?\n\nYou are Kimi K2. Here is what the others said")
    assert "[Qwen 3 Max]: The pattern persists.\n\n[Grok 4.1]: The party." in kimi[0].content


def test_council_round_trims_the_longest_answers_first() -> None:
    long_qwen = " ".join(f"word{i}" for i in range(400))  # ~3,000 chars
    medium = " ".join(f"grok{i}" for i in range(60))  # ~400 chars
    prev = _round({"qwen": long_qwen, "grok": medium, "kimi": "Short."})
    budget = 500  # tokens, ~2,000 chars
    msgs = council_round_messages("kimi", "What persists?", prev, NAMES, budget)
    total = sum(len(m.content) for m in msgs)
    assert total <= budget * 4
    assert msgs[1] == Message("assistant", "Short.")  # short answers are left whole
    body = msgs[2].content
    assert f"[Grok 4.1]: {medium}\n\n" in body  # the medium one fits whole
    qwen_part = body.split("[Qwen 3 Max]: ")[1].split("\n\n")[0]
    assert qwen_part.endswith(" […]") and long_qwen.startswith(qwen_part[: -len(" […]")])
    assert len(qwen_part) > 1000  # cut only as much as needed
    # an impossible budget reduces every answer to the marker
    tiny = council_round_messages("kimi", "What persists?", prev, NAMES, 10)
    assert "[Qwen 3 Max]: […]" in tiny[2].content and tiny[1] == Message("assistant", "[…]")
    assert estimate_tokens("abcde") == 2


# -- proofs ----------------------------------------------------------------------------------------


def test_visibility_proof_tells_whole_answers_from_relayed_excerpts() -> None:
    s = Session()
    q1 = s.ask("qwen", "What burns?", "The offering burns not on the altar, but as the altar itself.")
    g1 = s.ask("grok", "Is it play?", "It is krida, the cosmic play of the gods.")
    relay = "Qwen said 'The offering burns not on the altar, but as the altar.' Your view?"
    s.add("host", "opus", relay, kind="question", to="kimi")
    threaded = messages_for("kimi", "Kimi K2", relay, s.turns, "thread", HOST)
    proof = visibility_proof(threaded, s.turns, "kimi")
    assert proof == {"voice": "kimi", "own": [], "shown": [5], "voices_seen": ["qwen"], "roles": ["user"],
                     "excerpts": {q1.id: ["The offering burns not on the altar, but as the altar"]}}
    everything = messages_for("kimi", "Kimi K2", relay, s.turns, "all", HOST)
    proof = visibility_proof(everything, s.turns, "kimi")
    assert proof["shown"] == [1, q1.id, 3, g1.id, 5] and proof["voices_seen"] == ["grok", "qwen"]
    assert proof["excerpts"] == {}
    blind = visibility_proof([Message("user", "Unrelated question about tides?")], s.turns, "kimi")
    assert blind["shown"] == [] and blind["excerpts"] == {} and blind["voices_seen"] == []
    own = visibility_proof(messages_for("qwen", "Qwen 3 Max", "More?", s.turns, "thread", HOST), s.turns, "qwen")
    assert own["own"] == [q1.id] and own["voices_seen"] == []
