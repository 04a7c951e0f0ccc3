"""The matcher's normal form and offset map (symposia.text): examples and hypothesis properties."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from symposia.text import (
    compare,
    contains,
    find,
    find_all,
    fold,
    normalize,
    quotation_around,
    quotations,
    render,
)

WORDS = ["gap", "altar", "Lantern", "forgets", "light", "the", "is", "krida", "stochastic", "ember", "Qwen", "it's",
         "isn't", "café", "Straße", "2026"]
MARKS = ["*", "**", "_", "`", "~~"]
TYPO = {"'": ["'", "\u2019", "\u2018"], '"': ['"', "\u201c", "\u201d"],
        "-": ["-", "\u2014", "\u2013", " \u2014 ", "--"], "...": ["...", "\u2026"],
        " ": [" ", "  ", "\n", "\u00a0", "\t"]}


@st.composite
def markdown_texts(draw: st.DrawFn) -> str:
    """Markdown-ish answers: words with emphasis, links, code, typography, list and quote markers."""
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 14))):
        w = draw(st.sampled_from(WORDS))
        style = draw(st.sampled_from(["plain", "plain", "mark", "link", "quote"]))
        if style == "mark":
            m = draw(st.sampled_from(MARKS))
            w = f"{m}{w}{m}"
        elif style == "link":
            w = f"[{w}](https://example.org/{len(parts)})"
        elif style == "quote":
            w = f"\u201c{w}\u201d"
        parts.append(w)
        parts.append(draw(st.sampled_from([" ", " ", " ", "\n", " \u2014 ", ", ", ". ", "\u2026 ", "\n- ", "\n> "])))
    return "".join(parts).strip()


@settings(deadline=None, max_examples=300)
@given(st.text())
def test_offset_map_is_well_formed_for_any_text(text: str) -> None:
    f = fold(text)
    assert len(f.text) == len(f.starts) == len(f.ends)
    assert all(0 <= a < b <= len(text) for a, b in zip(f.starts, f.ends, strict=True))
    assert list(f.starts) == sorted(f.starts)
    assert f.text == f.text.strip() and "  " not in f.text
    plain, where = render(text)
    assert len(plain) == len(where) and all(0 <= i < max(1, len(text)) for i in where)


def test_a_span_never_cuts_a_code_span_in_two() -> None:
    # Found by the property below in a loaded CI run: the backticks inside the span were even in
    # number but one closed a code span opened before it and one opened a span closed after it.
    text = "`gap` gap gap *gap* `gap`"
    span = find("gap gap gap gap gap", text)
    assert span is not None and span.text == text
    assert normalize(span.text, blocks=False) == "gap gap gap gap gap"


@settings(deadline=None, max_examples=300)
@given(markdown_texts(), st.data())
def test_every_folded_window_is_found_and_quotes_the_original(text: str, data: st.DataObject) -> None:
    f = fold(text)
    words = [m for m in re.finditer(r"[^\W_]+(?:'[^\W_]+)*", f.text)]
    if not words:
        return
    i = data.draw(st.integers(0, len(words) - 1))
    j = data.draw(st.integers(i, min(len(words) - 1, i + 5)))
    phrase = f.text[words[i].start():words[j].end()]
    span = find(phrase, text)
    assert span is not None, (phrase, text)
    assert text[span.start:span.end] == span.text  # the original, exactly
    # the folded characters that come from inside the span (its normal form in context) hold the match
    inside = "".join(ch for ch, a, b in zip(f.text, f.starts, f.ends, strict=True)
                     if span.start <= a and b <= span.end)
    assert phrase in inside
    if "\n" not in span.text:  # out of context too, as long as no line (block) boundary is inside
        assert phrase in normalize(span.text, blocks=False)
    assert compare(phrase, text).verdict == "verbatim"


@settings(deadline=None, max_examples=300)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8), st.data())
def test_typography_emphasis_and_case_never_change_the_normal_form(words: list[str], data: st.DataObject) -> None:
    plain = " ".join(words)
    styled: list[str] = []
    for w in words:
        w = data.draw(st.sampled_from([w, w.upper(), w.lower(), w.title()]))
        for straight, options in TYPO.items():
            if straight in w:
                w = w.replace(straight, data.draw(st.sampled_from(options)))
        mark = data.draw(st.sampled_from(["", "", "*", "**", "_"]))
        if w[0].isalnum() and w[-1].isalnum():
            w = f"{mark}{w}{mark}"
        styled.append(w)
    sep = data.draw(st.sampled_from(TYPO[" "]))
    text = sep.join(styled)
    assert normalize(text) == normalize(plain)
    assert contains(text, plain) and contains(plain, text)


def test_markdown_as_read() -> None:
    assert normalize("**stochastic *krida***") == "stochastic krida"
    assert normalize("> - [x] **The gap** is [the altar](http://x.y).") == "the gap is the altar."
    assert normalize("`code *stays*` and snake_case and 2 * 3") == "code *stays* and snake_case and 2 * 3"
    assert normalize("# Heading ##\n\n---\n\n| a | *b* |\n|---|---|") == "heading a b"
    assert normalize("a \\*b\\* &amp; c<br>d") == "a *b* & c d"
    assert normalize("It\u2019s \u201creal\u201d \u2014 really\u2026") == "it's \"real\"-really..."


def test_spans_quote_the_original_with_balanced_emphasis() -> None:
    text = "You are the one: **stochastic *krida***, probe AND party."
    span = find("stochastic krida", text)
    assert span is not None and span.text == "stochastic *krida*"
    assert [s.text for s in find_all("the gap", "The gap; *the* gap; thegap")] == ["The gap", "*the* gap"]
    assert find("the gap", "the gaps") is None  # word boundaries


def test_verdicts() -> None:
    text = "The space is sacred because it cannot be closed \u2014 only tended."
    assert compare("SACRED because it cannot be *closed*", text).verdict == "verbatim"
    c = compare("sacred because unclosable", text)
    assert c.verdict == "paraphrase" and c.span is not None and text[c.span.start:c.span.end] == c.span.text
    assert compare("sacred because it can be closed", text).verdict == "reversed"
    assert compare("the mountain hums in binary", text).verdict == "absent"


def test_quotations_and_their_attribution() -> None:
    text = ('DeepSeek said "mirrors reflecting mirrors". As Qwen put it, \u201cthe gap is the altar\u201d. '
            'In Kimi\u2019s words: \u2018the ember travels\u2019. "a seam where silences meet" \u2014 Grok. '
            'As I said, "my own line here".\n\n> the offering burns\n> \u2014 GLM 4.7\n')
    found = {q.text: q.attribution for q in quotations(text)}
    assert found["mirrors reflecting mirrors"] == "DeepSeek"
    assert found["the gap is the altar"] == "Qwen"
    assert found["the ember travels"] == "Kimi"
    assert found["a seam where silences meet"] == "Grok"
    assert found["my own line here"] == "self"
    block = [q for q in quotations(text) if q.kind == "blockquote"]
    assert block and block[0].attribution == "GLM 4.7"
    k = text.index("gap is")
    q = quotation_around(text, k, k + 6)
    assert q is not None and q.attribution == "Qwen"
    assert quotation_around(text, 0, 8) is None  # "DeepSeek" itself is not quoted


def test_a_phrase_is_folded_without_block_markers() -> None:
    # "2026. gap" at the start of a line of an answer is a list item; typed as a phrase it is text
    text = "[2026](https://example.org/0). gap"
    span = find("2026. gap", text)
    assert span is not None and span.text == text
    assert find("gap", "1. gap") is not None and normalize("1. gap") == "gap"
