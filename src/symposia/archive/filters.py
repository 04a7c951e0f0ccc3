"""Filters shared by every archive query: voice, role, time range and session kind, as SQL.

Conditions are over ``t`` (turns) and ``s`` (sessions, left-joined on ``t.session_id``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from symposia.codec import datetime_to_iso
from symposia.errors import UsageError

__all__ = ["SearchFilters", "filter_sql", "parse_when"]


@dataclass(frozen=True)
class SearchFilters:
    """Restrict a search. ``voice`` matches the shortcut or the display name, in any case."""

    voice: str | None = None
    role: str | None = None  # "voice", "host" or "chair"
    since: str | None = None  # a date (YYYY-MM-DD, inclusive) or an ISO time
    until: str | None = None  # a date (inclusive: the whole day) or an ISO time
    kind: str | None = None  # session kind: ask, council, symposium, ...


def parse_when(value: str, *, end: bool = False) -> str:
    """A date or ISO time as the archive's UTC text; a bare date ``end`` of range means the day after."""
    v = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            d = date.fromisoformat(v) + (timedelta(days=1) if end else timedelta(0))
            dt = datetime(d.year, d.month, d.day, tzinfo=UTC)
        else:
            dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
    except ValueError as e:
        raise UsageError(f"cannot read {value!r} as a date: use YYYY-MM-DD or an ISO time") from e
    return datetime_to_iso(dt.astimezone(UTC))


def filter_sql(filters: SearchFilters | None) -> tuple[str, list[Any]]:
    """SQL conditions (over ``t`` = turns, ``s`` = sessions) and their parameters."""
    if filters is None:
        return "", []
    conds: list[str] = []
    params: list[Any] = []
    if filters.voice:
        conds.append("(t.voice = ? COLLATE NOCASE OR t.voice_name = ? COLLATE NOCASE)")
        params += [filters.voice, filters.voice]
    if filters.role:
        if filters.role not in ("voice", "host", "chair"):
            raise UsageError(f"unknown role {filters.role!r}: use voice, host or chair")
        conds.append("t.role = ?")
        params.append(filters.role)
    if filters.since:
        conds.append("t.started_at >= ?")
        params.append(parse_when(filters.since))
    if filters.until:
        bare = re.fullmatch(r"\d{4}-\d{2}-\d{2}", filters.until.strip()) is not None
        conds.append("t.started_at < ?" if bare else "t.started_at <= ?")
        params.append(parse_when(filters.until, end=bare))
    if filters.kind:
        conds.append("s.kind = ?")
        params.append(filters.kind)
    return " AND ".join(conds), params
