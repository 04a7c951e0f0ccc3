"""A local voice speaks only for itself: speaker labels become stop sequences, and a line that starts a
new speaker anyway is cut off (streamed text and kept text stay identical, whatever the chunking)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from symposia.prompts import load
from symposia.prompts.transcript import SpeakerGuard, render_transcript, speaker_labels, stop_sequences
from symposia.records import Message


def guarded(text: str, cuts: list[int], labels: tuple[str, ...] = ("Host", "Guest"),
            generic: bool = True) -> tuple[str, str | None]:
    """Feed ``text`` split at ``cuts`` through a guard; return what it let through and the cut label."""
    guard = SpeakerGuard(labels, generic=generic)
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    shown = "".join(guard.feed(text[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))
    return shown + guard.close(), guard.cut


def test_transcript_layout_for_a_base_model() -> None:
    layout = {**load("local"), "preface": "A talk with {speaker}."}
    text = render_transcript(
        [Message("user", "What is play?"), Message("assistant", "A probe and a party."),
         Message("user", "  And work?\n")],
        "Be brief.", layout)
    assert text == (
        "A talk with Guest.\n\nSetting: Be brief.\n\nHost: What is play?\n\nGuest: A probe and a party.\n\n"
        "Host: And work?\n\nGuest:"
    )


def test_every_label_the_prompt_uses_becomes_a_stop_sequence() -> None:
    round_two = ("You are Gemma 3 270M (local). Here is what the others said in the previous round:\n\n"
                 "[SmolLM2 135M Instruct (local)]: Memory persists.\n\nModerator: now answer again.")
    labels = speaker_labels([Message("user", "What persists?"), Message("user", round_two)], None,
                            fixed=("Host", "Guest"))
    assert labels == ["Host", "Guest", "SmolLM2 135M Instruct (local)", "Moderator"]
    stops = stop_sequences(labels, ["\n\n\n"])
    assert stops[0] == "\n\n\n"
    for label in labels:
        assert f"\n{label}:" in stops and f"\n[{label}]" in stops
    assert len(stops) == len(set(stops))


def test_an_invented_speaker_is_cut_and_named() -> None:
    text = "Memory is what persists.\nGemma 3 270M (local): You agree with me?\nHost: Yes."
    assert guarded(text, [3, 30, 31, 40]) == ("Memory is what persists.\n", "Gemma 3 270M (local)")
    # The first line can be a label too: then nothing of the answer is the voice's own.
    assert guarded("Host: what do you think?", []) == ("", "Host")
    assert guarded("[Grok 4.1]: hm", [], labels=("Grok 4.1",), generic=False) == ("", "Grok 4.1")


def test_lines_that_are_not_speakers_pass() -> None:
    text = ("It is 10:30 now: late.\nhere is a thought: small.\n- a point: made\n**Agreement:** both.\n"
            "A line that runs on and on without any colon for a long while, then: a colon.\nhttp://x.org")
    assert guarded(text, [1, 5, 50, 51, 52]) == (text, None)


def test_chat_models_are_cut_only_at_known_labels() -> None:
    text = "Summary: both agree.\nUser: and then?"
    assert guarded(text, [4], labels=("User",), generic=False) == ("Summary: both agree.\n", "User")
    assert guarded(text, [4], labels=(), generic=False) == (text, None)


def test_a_label_alone_on_its_last_line_is_cut() -> None:
    assert guarded("Fine.\nHost:", []) == ("Fine.\n", "Host")
    assert guarded("Fine.\nHost", []) == ("Fine.\nHost", None)  # no colon: an unfinished word, kept


LINE = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n"), max_size=40),
    st.sampled_from(["Host: hi", "Guest: no", "Dr. Ada Lovelace: yes", "[Host]: x", "Note: fine", "a: b",
                     "  Host : spaced", "Gemma 3 270M (local): me", "::", ":", "Time 10:30 now"]),
)


@settings(deadline=None, max_examples=300)
@given(lines=st.lists(LINE, max_size=6), cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
       generic=st.booleans())
def test_chunking_never_changes_the_outcome(lines: list[str], cuts: list[int], generic: bool) -> None:
    text = "\n".join(lines)
    whole = guarded(text, [], generic=generic)
    assert guarded(text, cuts, generic=generic) == whole
    shown, cut = whole
    assert text.startswith(shown)  # the guard only ever shortens the answer, never rewrites it
    if cut is None:
        assert shown == text
    else:
        assert shown == "" or shown.endswith("\n")  # cut at the start of a line
        assert text[len(shown):].lstrip(" \t[").startswith(cut)
