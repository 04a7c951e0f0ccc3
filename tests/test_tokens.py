"""The archive's tokenizer (symposia.archive.tokens) indexes what SQLite's FTS5 indexes, so that the term
index of a PostgreSQL archive proposes the same candidates."""

from __future__ import annotations

import sqlite3
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from symposia.archive.tokens import answer_index, answer_terms, answer_words, phrase_terms, tokens

# Latin with diacritics, Greek, Cyrillic, CJK, digits, typographic punctuation, Markdown and HTML marks
ALPHABET = st.sampled_from(list("abcdeéèïñøßœæAÉÑΩαβγδ жизнь中文字0123456789 .,;:!?'’“”\"—–-…*_`[]()<>&#/\n")
                           + ["e\u0301", "i\u0308"])
TEXT = st.lists(ALPHABET, max_size=60).map("".join)


def _slow_tokens(text: str) -> list[str]:
    out, cur = [], []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in "LN" or cat in ("Mn", "Co"):
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    return out + (["".join(cur)] if cur else [])


@settings(deadline=None)
@given(text=st.text(max_size=80))
def test_the_fast_path_tokenizes_as_the_character_rule(text: str) -> None:
    assert tokens(text) == _slow_tokens(text)


@settings(deadline=None, max_examples=300)
@given(text=TEXT)
def test_terms_are_those_fts5_indexes(text: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(a, tokenize='unicode61 remove_diacritics 2')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, 'row')")
    conn.execute("INSERT INTO f VALUES (?)", (text,))
    assert answer_terms(text) == sorted(str(r[0]) for r in conn.execute("SELECT term FROM v"))
    assert answer_index(text) == (answer_terms(text), answer_words(text))


def test_a_phrase_gives_its_terms_as_typed_and_as_read_split_at_elisions() -> None:
    assert phrase_terms("Naïve **café** … ﬁne") == [(("naive", "cafe"), ("ﬁne",)), (("naive", "cafe"), ("fine",))]
    assert phrase_terms("AT&amp;T rocks") == [(("at", "amp", "t", "rocks"),), (("at", "t", "rocks"),)]
    assert phrase_terms("—…!") == []
    assert answer_words("Don’t stop — ever.") == " don t stop ever "
