"""Full-text search on a PostgreSQL archive: the generated ``turns.fts`` tsvector, its GIN index,
``websearch_to_tsquery`` (words, ``"exact phrases"``, ``-not``, ``or``) ranked by ``ts_rank_cd``, and
``ts_headline`` for the highlighted passage. :func:`symposia.archive.search.search_fts` sends a
PostgreSQL archive here; the hits have the same shape as on SQLite.
"""

from __future__ import annotations

import re

from symposia.archive.search import (
    _HL_CLOSE,
    _HL_OPEN,
    Field,
    Hit,
    SearchFilters,
    _split_highlights,
    filter_sql,
    turn_info,
)
from symposia.archive.store import Archive

__all__ = ["count_fts_pg", "search_fts_pg", "tsquery_text"]

_QUESTION = "coalesce((t.messages_json::jsonb -> -1) ->> 'content', '')"


def tsquery_text(query: str) -> str:
    """The archive's query syntax as web-search syntax: prefixes (``word*``) lose their star (the
    ``simple`` configuration matches whole words)."""
    return re.sub(r"(?<=\w)\*", "", query).strip()


def search_fts_pg(archive: Archive, query: str, *, n: int = 10, filters: SearchFilters | None = None,
                  field: Field = "answer") -> list[Hit]:
    """The ``n`` best turns for ``query`` with a highlighted passage (answers, or the questions asked)."""
    where, params = filter_sql(filters)
    weight = "A" if field == "answer" else "B"
    text = "t.answer" if field == "answer" else _QUESTION
    options = f"StartSel={_HL_OPEN}, StopSel={_HL_CLOSE}, MaxWords=35, MinWords=12, MaxFragments=1"
    rows = archive.query(
        "WITH q AS (SELECT websearch_to_tsquery('simple', ?) AS q) "
        f"SELECT t.id, ts_rank_cd(t.fts, q.q) AS rank, ts_headline('simple', {text}, q.q, ?) AS snippet "
        "FROM turns t CROSS JOIN q LEFT JOIN sessions s ON s.id = t.session_id "
        f"WHERE t.fts @@ q.q AND ts_filter(t.fts, '{{{weight.lower()}}}') @@ q.q"
        f"{' AND ' + where if where else ''} ORDER BY rank DESC, t.id LIMIT ?",
        (tsquery_text(query), options, *params, n),
    )
    info = turn_info(archive, [int(r["id"]) for r in rows])
    hits: list[Hit] = []
    for r in rows:
        snippet, spans = _split_highlights(str(r["snippet"]))
        i = info[int(r["id"])]
        hits.append(Hit(turn_id=int(i["id"]), session_id=str(i["session_id"]), session_kind=str(i["kind"]),
                        seq=int(i["seq"]), role=str(i["role"]), voice=str(i["voice"]),
                        voice_name=str(i["voice_name"]), started_at=str(i["started_at"]), field=field,
                        snippet=snippet, highlights=spans, score=float(r["rank"]), via=("fts",),
                        model=str(i.get("model") or ""), session_title=str(i.get("title") or ""),
                        source_file=i.get("source_file")))
    return hits


def count_fts_pg(archive: Archive, query: str, *, filters: SearchFilters | None = None,
                 field: Field = "answer") -> int:
    """How many turns match ``query`` (in the answers, or the questions asked), as ``search_fts_pg`` finds them."""
    where, params = filter_sql(filters)
    weight = "a" if field == "answer" else "b"
    rows = archive.query(
        "WITH q AS (SELECT websearch_to_tsquery('simple', ?) AS q) "
        "SELECT count(*) FROM turns t CROSS JOIN q LEFT JOIN sessions s ON s.id = t.session_id "
        f"WHERE t.fts @@ q.q AND ts_filter(t.fts, '{{{weight}}}') @@ q.q{' AND ' + where if where else ''}",
        (tsquery_text(query), *params),
    )
    return int(rows[0][0])
