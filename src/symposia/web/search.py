"""Archive search for the web page: the one place that decides how the page searches.

It delegates to the archive's own search (:mod:`symposia.archive.search`: FTS5 full text, by
meaning with chunk embeddings, or both), so the page, the CLI and the Python API find the same
turns for the same query.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from symposia.archive import Archive
from symposia.archive.search import Field, Hit, SearchFilters, SearchResult
from symposia.archive.search import search as archive_search

__all__ = ["FIELDS", "ROLES", "Hit", "SearchResult", "search", "session_titles"]

ROLES = ("voice", "host", "chair")  # "who said it"
FIELDS: tuple[Field, ...] = ("answer", "question", "any")
RESULTS = 50


def _day(value: date | str | None) -> str | None:
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, date) else value


def search(archive: Archive, q: str, voice: str | None = None, role: str | None = None,
           since: date | str | None = None, until: date | str | None = None, semantic: bool = False,
           *, field: Field = "answer", n: int = RESULTS) -> SearchResult:
    """The turns matching ``q`` (the archive's query syntax), best first.

    ``voice``: a shortcut or display name; ``role``: ``voice``, ``host`` or ``chair``; ``since`` /
    ``until``: days (inclusive) or ISO times; ``semantic``: by meaning (embeddings) instead of
    words. Raises :class:`~symposia.errors.ArchiveError` with a message for the user.
    """
    filters = SearchFilters(voice=voice or None, role=role or None, since=_day(since), until=_day(until))
    mode: Literal["fts", "semantic"] = "semantic" if semantic else "fts"
    return archive_search(archive, q, n=n, filters=filters, mode=mode, field=field)


def session_titles(archive: Archive, hits: tuple[Hit, ...] | list[Hit]) -> dict[str, str]:
    """Titles of the sessions the hits belong to (one query)."""
    ids = sorted({h.session_id for h in hits})
    if not ids:
        return {}
    rows = archive.query(f"SELECT id, title FROM sessions WHERE id IN ({','.join('?' * len(ids))})", ids)
    return {r["id"]: r["title"] for r in rows}
