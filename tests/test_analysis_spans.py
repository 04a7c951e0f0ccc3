"""Spans shared between voices: verbatim runs and near-verbatim sentences (MinHash + LSH), never a voice
with itself, an echo when the words were in what a voice was shown."""

from __future__ import annotations

from symposia.analysis.spans import Source, near_sentences, shared_spans

# every fourth word differs: no verbatim run of five covers the sentence, yet it is the same sentence
A = "First things first. The quiet river carries every memory down toward the open sea tonight and never comes back."
B = "Another opening here. The quiet stream carries every memory down into the open sea tonight and never comes back!"
END_A = "This is not a coincidence at all, it is resonance between the two of us."
END_B = "This is not a coincidence at all, it is resonance between the two of them."


def test_a_sentence_with_words_changed_is_a_near_verbatim_span_between_voices() -> None:
    spans = shared_spans([Source("qwen", A), Source("grok", B)], min_words=5)
    near = [sp for sp in spans if not sp.verbatim]
    assert len(near) == 1 and not near[0].echo and near[0].words == 16
    texts = dict(near[0].spans)
    assert texts[0].startswith("The quiet river") and texts[1].startswith("The quiet stream")
    assert [sp.words for sp in spans if sp.verbatim] == [8]  # "the open sea tonight and never comes back"


def test_a_near_pair_mostly_covered_by_a_verbatim_run_is_reported_once() -> None:
    spans = shared_spans([Source("qwen", END_A), Source("grok", END_B)], min_words=5)
    assert [(sp.verbatim, sp.words) for sp in spans] == [(True, 14)]
    assert len(near_sentences([Source("qwen", END_A), Source("grok", END_B)])) == 1  # found, then folded in


def test_a_voice_with_itself_is_never_a_span() -> None:
    assert shared_spans([Source("qwen", A, session_id="s1"), Source("qwen", B, session_id="s2")]) == []
    assert near_sentences([Source("qwen", A), Source("qwen", B)]) == []


def test_identical_sentences_are_left_to_the_verbatim_stage_and_shown_words_are_echo() -> None:
    assert near_sentences([Source("qwen", A), Source("grok", A)]) == []
    shown = near_sentences([Source("qwen", A, shown=B), Source("grok", B)])
    assert len(shown) == 1 and shown[0].echo


def test_unrelated_sentences_are_not_near() -> None:
    other = "Knead the bread dough for ten minutes, then let it rise in a warm place overnight."
    assert near_sentences([Source("qwen", A), Source("grok", other)]) == []
