"""The sessions in an archive, one summary each, filtered the way `symposia sessions` asks.

A read-only view: one SQL query over ``sessions`` and ``turns`` (calls, failed calls, voices and
cost per session), newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from symposia.archive.store import Archive
from symposia.codec import datetime_from_iso

__all__ = ["SessionSummary", "session_summaries"]


@dataclass(frozen=True)
class SessionSummary:
    id: str
    kind: str
    title: str
    status: str
    created_at: datetime
    calls: int
    failed: int
    voices: tuple[str, ...]
    cost: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title, "status": self.status,
                "created_at": self.created_at.isoformat(), "calls": self.calls, "failed": self.failed,
                "voices": list(self.voices), "cost": self.cost}


def session_summaries(archive: Archive, *, kind: str | None = None, voice: str | None = None,
                      since: date | None = None, until: date | None = None, status: str | None = None,
                      limit: int = 50) -> list[SessionSummary]:
    """Newest first. ``since``/``until`` are days (UTC), both inclusive; ``voice`` a catalog shortcut."""
    where: list[str] = []
    params: list[Any] = []
    if kind is not None:
        where.append("s.kind = ?")
        params.append(kind)
    if status is not None:
        where.append("s.status = ?")
        params.append(status)
    if since is not None:
        where.append("s.created_at >= ?")
        params.append(since.isoformat())
    if until is not None:
        where.append("s.created_at < ?")
        params.append((until + timedelta(days=1)).isoformat())
    if voice is not None:
        where.append("EXISTS (SELECT 1 FROM turns v WHERE v.session_id = s.id AND v.voice = ?)")
        params.append(voice)
    sql = (
        "SELECT s.id, s.kind, s.title, s.status, s.created_at,"
        " COUNT(t.id) AS calls,"
        " COALESCE(SUM(t.status = 'error'), 0) AS failed,"
        " GROUP_CONCAT(DISTINCT t.voice) AS voices,"
        " SUM(t.cost) AS cost"
        " FROM sessions s LEFT JOIN turns t ON t.session_id = s.id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " GROUP BY s.id ORDER BY s.created_at DESC, s.id DESC LIMIT ?"
    )
    params.append(limit)
    return [
        SessionSummary(
            id=r["id"], kind=r["kind"], title=r["title"], status=r["status"],
            created_at=datetime_from_iso(r["created_at"]), calls=int(r["calls"]), failed=int(r["failed"]),
            voices=tuple(sorted((r["voices"] or "").split(","))) if r["voices"] else (),
            cost=r["cost"],
        )
        for r in archive.query(sql, params)
    ]
