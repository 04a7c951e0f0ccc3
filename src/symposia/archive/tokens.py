"""Words as the archive's term index sees them: one tokenizer for both backends.

On SQLite the index is FTS5's (``unicode61 remove_diacritics 2``); on PostgreSQL it is the column
``turns.terms`` (a GIN-indexed ``text[]``) that symposia fills with :func:`answer_terms` when it
writes a turn. :func:`answer_terms` reproduces unicode61: a token is a run of letters, digits,
private-use and combining characters (``_`` and punctuation separate), lower-cased character by
character, with the diacritics of Latin letters removed (``Naïve`` → ``naive``, ``Straße`` →
``straße``; ligatures and full-width forms stay as written, as in FTS5). So the two backends propose
the same candidate turns for a phrase, and the one matcher (:mod:`symposia.text`) decides. The two
agree on Latin, Greek, Cyrillic and CJK text; invisible format characters inside a word and a few
precomposed letters (``Ǿ``) can tokenize differently.

:func:`phrase_terms` gives what a turn must hold to contain a phrase verbatim, as alternatives: the
words as typed and the words of the phrase's normal form (Markdown rendered, typography and case
folded), since the matcher equates spellings whose terms differ (``ﬁne`` and ``fine``); each
alternative is a list of parts (split at an elision ``…``) whose terms must be adjacent, unless Markdown
or HTML between them (:data:`MARKUP`) may hide words that a reader does not see.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from symposia.text import normalize

__all__ = ["PhraseTerms", "answer_index", "answer_terms", "answer_words", "index_term", "m010_answer_terms",
           "phrase_terms", "term_sequence", "tokens"]

_TOKEN_CATEGORIES = frozenset({"Co", "Mn"})


def _is_token_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "LN" or cat in _TOKEN_CATEGORIES


_WORD = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """The runs of token characters of ``text``, as written."""
    if not any(unicodedata.category(c) in _TOKEN_CATEGORIES for c in set(text) if not c.isascii()):
        return _WORD.findall(text)  # letters and digits only: the regular expression says the same, faster
    out: list[str] = []
    start = -1
    for i, ch in enumerate(text):
        if ch.isalnum() if ch.isascii() else _is_token_char(ch):
            if start < 0:
                start = i
        elif start >= 0:
            out.append(text[start:i])
            start = -1
    if start >= 0:
        out.append(text[start:])
    return out


def _latin(ch: str) -> bool:
    o = ord(ch)
    return o < 0x250 or 0x1E00 <= o < 0x1F00


@lru_cache(maxsize=65536)
def index_term(word: str) -> str:
    """One token as the index stores it: lower case, Latin diacritics removed."""
    if word.isascii():
        return word.lower()
    out: list[str] = []
    for ch in word:
        for low in ch.lower():
            base = unicodedata.normalize("NFD", low)
            if _latin(low) and len(base) > 1 and _latin(base[0]):
                out.append(base[0])
            elif unicodedata.combining(low) and out and _latin(out[-1][-1]):
                continue
            else:
                out.append(low)
    return "".join(out)


def term_sequence(text: str) -> list[str]:
    """The terms of ``text`` in order, repeats included."""
    return [t for t in (index_term(w) for w in tokens(text)) if t]


def answer_terms(text: str) -> list[str]:
    """The distinct terms of ``text``, sorted (what PostgreSQL's ``turns.terms`` holds)."""
    return sorted(set(term_sequence(text)))


def answer_words(text: str) -> str:
    """The terms of ``text`` in order, each between spaces (PostgreSQL's ``turns.words``), so that a run
    of adjacent terms is a ``LIKE '% a b %'``."""
    return " " + " ".join(term_sequence(text)) + " "


def answer_index(text: str) -> tuple[list[str], str]:
    """:func:`answer_terms` and :func:`answer_words` of ``text``, tokenized once (what a turn stores)."""
    seq = term_sequence(text)
    return sorted(set(seq)), " " + " ".join(seq) + " "


#: Parts of a phrase (split at its elisions), each the run of terms it must show adjacent.
PhraseTerms = tuple[tuple[str, ...], ...]

_ELISION = re.compile(r"\[\s*(?:\.\.\.|\u2026)\s*\]|\.\.\.|\u2026")


def phrase_terms(phrase: str) -> list[PhraseTerms]:
    """Alternatives, one of which every turn holding ``phrase`` verbatim matches: the phrase's words as
    typed, and those of its normal form (recomposed, so ``ï`` stays one letter)."""
    out: list[PhraseTerms] = []
    for text in (phrase, unicodedata.normalize("NFC", normalize(phrase, blocks=False))):
        parts = tuple(part for part in (tuple(term_sequence(p)) for p in _ELISION.split(text)) if part)
        if parts:
            out.append(parts)
    return list(dict.fromkeys(out))


def m010_answer_terms(conn: Any) -> None:
    """The answers' terms for the provenance verbs. Nothing to do on SQLite: FTS5 indexes them (see
    :func:`symposia.archive.postgres.pg_m010_answer_terms` for PostgreSQL's ``turns.terms``)."""
    del conn
