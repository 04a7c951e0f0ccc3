"""The one Markdown writer every renderer uses: whatever the text, a reader sees it literally."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from symposia import markdown as md

_parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_markupish = st.text(alphabet=st.sampled_from(list("ab \n\t`*_[]()<>#|~&!\\-+.:/=\"'1é→")), max_size=40)


def _html_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@settings(deadline=None, max_examples=300)
@given(_markupish)
def test_inline_text_renders_as_exactly_itself(text: str) -> None:
    assert _parser.renderInline(md.inline(text)) == _html_text(md.one_line(text))


@settings(deadline=None, max_examples=200)
@given(_markupish.filter(lambda t: t.strip() != ""))
def test_code_spans_and_fences_keep_backticks(text: str) -> None:
    span = _parser.parseInline(md.code(text))[0].children or []
    assert [t.type for t in span] == ["code_inline"] and span[0].content == md.one_line(text)
    (block,) = [t for t in _parser.parse(md.fence(text)) if t.type == "fence"]
    assert block.content == text.replace("\r\n", "\n") + ("" if text.endswith("\n") else "\n")


@settings(deadline=None, max_examples=150)
@given(st.lists(st.lists(_markupish, min_size=2, max_size=2), min_size=1, max_size=4))
def test_a_table_keeps_its_shape_whatever_the_cells_hold(rows: list[list[str]]) -> None:
    source = md.table(["Who", "What"], [[md.inline(a), b] for a, b in rows])
    tokens = _parser.parse(source)
    assert [t.type for t in tokens].count("tr_open") == len(rows) + 1
    cells = [t for t in tokens if t.type == "td_open"]
    assert len(cells) == 2 * len(rows)  # a `|` or newline inside a cell never splits or ends a row


def test_blockquote_stays_one_block() -> None:
    quoted = md.blockquote("first\n\nsecond\r\nthird  ")
    assert quoted == "> first\n>\n> second\n> third"
    assert [t.type for t in _parser.parse(quoted)].count("blockquote_open") == 1
