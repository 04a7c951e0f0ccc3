"""Candidate turns for the provenance verbs, from each backend's term index.

``origin``, ``verify-quote`` and ``recall`` ask the archive only for *candidates*; every verdict
comes from the one matcher (:mod:`symposia.text`). What a backend must answer is small, and is the
:class:`TermIndex` protocol:

- the turns whose answer holds the phrase's terms adjacent (each part of an elided phrase), or holds
  them all anywhere when the answer has Markdown or HTML that can hide words from a reader (a link's
  destination, a tag, a character reference, a list number, a code fence's language): verbatim
  candidates, a superset of the turns that hold the phrase, never missing one;
- the turns holding one term (paraphrase candidates, ranked here the same way on both backends);
- how many answers hold each of some terms (document frequencies, for rarity and ``recall``).

SQLite answers from FTS5 (``turns_fts``, ``turns_fts_vocab``); PostgreSQL from ``turns.terms``, a
GIN-indexed array that symposia fills with the same tokenizer (:mod:`symposia.archive.tokens`). As
both index the same terms, both propose the same candidates and the verbs give the same answers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

from symposia.archive.store import Archive
from symposia.archive.tokens import PhraseTerms

__all__ = ["PgTermIndex", "SqliteTermIndex", "TermIndex", "rank_by_rarity", "term_index"]


class TermIndex(Protocol):
    """What a backend answers for the provenance verbs (see the module docstring). ``where`` is SQL over
    ``t`` (turns), with ``params`` for its ``?``."""

    #: SQL for the character a turn voices (``''`` when none), over ``t``.
    character_sql: str

    def holding_all(self, archive: Archive, alternatives: Sequence[PhraseTerms], where: str,
                    params: Sequence[Any]) -> list[int]:
        """Turns that may hold the phrase of ``alternatives`` (see the module docstring), by time then id."""
        ...

    def holding(self, archive: Archive, term: str, where: str, params: Sequence[Any]) -> list[int]:
        """Turns whose answer holds ``term``, by id."""
        ...

    def count_since(self, archive: Archive, term: str, after_id: int) -> int:
        """How many turns with an id above ``after_id`` hold ``term`` in their answer."""
        ...

    def document_counts(self, archive: Archive, terms: Sequence[str]) -> dict[str, int]:
        """For each term, how many answers hold it (terms held by none are left out)."""
        ...


# Markdown or HTML that can hide words between two a reader sees adjacent (symposia.text.plain): a link's
# destination or reference, a tag, a character reference, a code fence's language, a list number.
_SQLITE_MARKUP = ("(instr(t.answer, '[') OR instr(t.answer, '<') OR instr(t.answer, '&') OR instr(t.answer, '`') "
                  "OR instr(t.answer, '~~~') OR (instr(t.answer, char(10)) AND t.answer GLOB '*[0-9][.)]*'))")
_PG_MARKUP = ("(strpos(t.answer, '[') > 0 OR strpos(t.answer, '<') > 0 OR strpos(t.answer, '&') > 0 "
              "OR strpos(t.answer, '`') > 0 OR strpos(t.answer, '~~~') > 0 "
              "OR (strpos(t.answer, chr(10)) > 0 AND t.answer ~ '[0-9][.)]'))")


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _and(where: str) -> str:
    return f" AND {where}" if where else ""


class SqliteTermIndex:
    """FTS5: ``answer : ("a" AND "b")`` queries and the ``turns_fts_vocab`` table."""

    character_sql = "COALESCE(json_extract(t.meta_json, '$.character'), '')"

    def holding_all(self, archive: Archive, alternatives: Sequence[PhraseTerms], where: str,
                    params: Sequence[Any]) -> list[int]:
        if not alternatives:
            return []
        every = " OR ".join("(" + " AND ".join(_quoted(t) for t in sorted({t for p in alt for t in p})) + ")"
                            for alt in alternatives)
        adjacent = " OR ".join("(" + " AND ".join(_quoted(" ".join(p)) for p in alt) + ")" for alt in alternatives)
        rows = archive.query(
            "SELECT t.id FROM turns_fts f JOIN turns t ON t.id = f.rowid WHERE turns_fts MATCH ? "
            "AND (t.id IN (SELECT rowid FROM turns_fts WHERE turns_fts MATCH ?) OR "
            f"{_SQLITE_MARKUP}){_and(where)} ORDER BY t.started_at, t.id",
            (f"answer : ({every})", f"answer : ({adjacent})", *params),
        )
        return [int(r[0]) for r in rows]

    def holding(self, archive: Archive, term: str, where: str, params: Sequence[Any]) -> list[int]:
        rows = archive.query(
            "SELECT t.id FROM turns_fts f JOIN turns t ON t.id = f.rowid "
            f"WHERE turns_fts MATCH ?{_and(where)} ORDER BY t.id",
            (f"answer : {_quoted(term)}", *params),
        )
        return [int(r[0]) for r in rows]

    def count_since(self, archive: Archive, term: str, after_id: int) -> int:
        rows = archive.query("SELECT count(*) FROM turns_fts WHERE turns_fts MATCH ? AND rowid > ?",
                             (f"answer : {_quoted(term)}", after_id))
        return int(rows[0][0])

    def document_counts(self, archive: Archive, terms: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for a in range(0, len(terms), 500):
            part = list(terms[a:a + 500])
            for term, doc in archive.query(
                "SELECT term, doc FROM turns_fts_vocab WHERE col = 'answer' "
                f"AND term IN ({','.join('?' * len(part))})", part,
            ):
                out[str(term)] = int(doc)
        return out


class PgTermIndex:
    """PostgreSQL: containment (``@>``) on the GIN-indexed ``turns.terms`` array. A turn without terms
    (written by another program) is a verbatim candidate always, so that none is missed."""

    character_sql = "COALESCE(t.meta_json::jsonb ->> 'character', '')"

    def holding_all(self, archive: Archive, alternatives: Sequence[PhraseTerms], where: str,
                    params: Sequence[Any]) -> list[int]:
        if not alternatives:
            return []
        held: list[str] = ["t.terms IS NULL"]
        values: list[Any] = []
        for alt in alternatives:
            runs = " AND ".join("t.words LIKE ?" for _ in alt)
            held.append(f"(t.terms @> ?::text[] AND (({runs}) OR {_PG_MARKUP}))")
            values += [sorted({t for p in alt for t in p}), *(f"% {' '.join(p)} %" for p in alt)]
        rows = archive.query(
            f"SELECT t.id FROM turns t WHERE ({' OR '.join(held)}){_and(where)} ORDER BY t.started_at, t.id",
            (*values, *params))
        return [int(r[0]) for r in rows]

    def holding(self, archive: Archive, term: str, where: str, params: Sequence[Any]) -> list[int]:
        rows = archive.query(f"SELECT t.id FROM turns t WHERE t.terms @> ?::text[]{_and(where)} ORDER BY t.id",
                             ([term], *params))
        return [int(r[0]) for r in rows]

    def count_since(self, archive: Archive, term: str, after_id: int) -> int:
        rows = archive.query("SELECT count(*) FROM turns t WHERE t.terms @> ?::text[] AND t.id > ?",
                             ([term], after_id))
        return int(rows[0][0])

    def document_counts(self, archive: Archive, terms: Sequence[str]) -> dict[str, int]:
        if not terms:
            return {}
        rows = archive.query(  # one pass over the terms of every answer, hash-joined to the asked terms
            "SELECT w.term, count(*) FROM turns t CROSS JOIN LATERAL unnest(t.terms) AS w(term) "
            "JOIN unnest(?::text[]) AS q(term) ON q.term = w.term GROUP BY w.term",
            (list(terms),),
        )
        return {str(r[0]): int(r[1]) for r in rows}


_INDEXES: dict[str, TermIndex] = {"sqlite": SqliteTermIndex(), "postgresql": PgTermIndex()}


def term_index(archive: Archive) -> TermIndex:
    """The term index of ``archive``'s backend."""
    return _INDEXES[archive.dialect]


def rank_by_rarity(lists: dict[str, list[int]], limit: int) -> list[int]:
    """The ``limit`` turns holding the most, and the rarest, of the terms (each term weighs
    ``ln((n + 1) / (df + 0.5))``, ``n`` the turns holding any, ``df`` those holding it); ties by id.
    Computed here from the lists alone, so both backends rank alike."""
    held = {i for ids in lists.values() for i in ids}
    n = len(held)
    score: dict[int, float] = {}
    for ids in lists.values():
        weight = math.log((n + 1) / (len(ids) + 0.5))
        for i in ids:
            score[i] = score.get(i, 0.0) + weight
    return sorted(score, key=lambda i: (-score[i], i))[:limit]
