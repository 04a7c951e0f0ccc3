"""Read models for the pages: the sessions list, a voice's history, the filter choices.

Plain SQL over the archive through :meth:`Archive.query`, fetching only the columns a page shows
(a sessions page must stay fast on an archive of tens of thousands of sessions): one query for the
page of sessions, one aggregate over the turns of just those sessions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from symposia.archive import Archive
from symposia.codec import datetime_from_iso

__all__ = [
    "Formulation",
    "PER_PAGE",
    "SessionPage",
    "SessionRow",
    "TurnRow",
    "bold_formulations",
    "filter_choices",
    "like_pattern",
    "list_sessions",
    "session_costs",
    "session_stats",
    "voice_months",
    "voice_turns",
]

PER_PAGE = 50


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with its ``%``, ``_`` and ``\\`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class SessionRow:
    id: str
    kind: str
    title: str
    created_at: datetime
    status: str
    voices: tuple[str, ...]
    cost: float | None
    turns: int
    problems: int  # turns that failed or are flagged (empty, truncated)


@dataclass(frozen=True)
class SessionPage:
    rows: list[SessionRow]
    total: int
    page: int
    pages: int


def list_sessions(archive: Archive, *, kind: str | None = None, voice: str | None = None, text: str | None = None,
                  status: str | None = None, page: int = 1, per_page: int = PER_PAGE) -> SessionPage:
    """Newest first, filtered by kind, voice (spoke in the session), text (title or any turn) and status."""
    where: list[str] = []
    params: list[Any] = []
    if kind:
        where.append("s.kind = ?")
        params.append(kind)
    if status:
        where.append("s.status = ?")
        params.append(status)
    # IN (subquery), not a correlated EXISTS: SQLite runs it once (the voice index gives its rows)
    # instead of once per session, which on 10,000 sessions is the difference between ms and minutes.
    if voice:
        where.append("s.id IN (SELECT t.session_id FROM turns t WHERE t.voice = ?)")
        params.append(voice)
    if text and text.strip():
        pat = like_pattern(text.strip())
        where.append("(s.title LIKE ? ESCAPE '\\' OR s.id IN (SELECT t.session_id FROM turns t"
                     " WHERE t.answer LIKE ? ESCAPE '\\'))")
        params += [pat, pat]
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    total = int(archive.query(f"SELECT COUNT(*) FROM sessions s {clause}", params)[0][0])
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = archive.query(
        f"SELECT s.id, s.kind, s.title, s.created_at, s.status FROM sessions s {clause} "
        "ORDER BY s.created_at DESC, s.id DESC LIMIT ? OFFSET ?",
        [*params, per_page, (page - 1) * per_page],
    )
    stats = session_stats(archive, [r["id"] for r in rows])
    out = []
    for r in rows:
        voices, cost, n, problems = stats.get(r["id"], ((), None, 0, 0))
        out.append(SessionRow(r["id"], r["kind"], r["title"], datetime_from_iso(r["created_at"]), r["status"],
                              voices, cost, n, problems))
    return SessionPage(out, total, page, pages)


def session_stats(archive: Archive, ids: list[str]) -> dict[str, tuple[tuple[str, ...], float | None, int, int]]:
    """Per session: the voices that spoke (first appearance order), total reported cost, turns, problems."""
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = archive.query(
        f"SELECT session_id, voice, role, cost, status FROM turns WHERE session_id IN ({marks}) ORDER BY seq, id",
        ids,
    )
    acc: dict[str, tuple[list[str], list[float], list[int]]] = {}
    for r in rows:
        voices, costs, counts = acc.setdefault(r["session_id"], ([], [], [0, 0]))
        if r["role"] != "host" and r["voice"] not in voices:
            voices.append(r["voice"])
        if r["cost"] is not None:
            costs.append(float(r["cost"]))
        counts[0] += 1
        counts[1] += r["status"] != "ok"
    return {sid: (tuple(v), sum(c) if c else None, n[0], n[1]) for sid, (v, c, n) in acc.items()}


def session_costs(archive: Archive, session_id: str) -> float | None:
    rows = archive.query("SELECT SUM(cost), COUNT(cost) FROM turns WHERE session_id = ?", (session_id,))
    return float(rows[0][0]) if rows and rows[0][1] else None


def filter_choices(archive: Archive) -> tuple[list[str], list[str]]:
    """The kinds and the voices present in the archive, for the filter menus."""
    kinds = [r[0] for r in archive.query("SELECT DISTINCT kind FROM sessions ORDER BY kind")]
    # host turns are recorded under the voice "host"; filtering on the voice keeps the index covering
    voices = [r[0] for r in archive.query("SELECT DISTINCT voice FROM turns WHERE voice != 'host' ORDER BY voice")]
    return kinds, voices


@dataclass(frozen=True)
class TurnRow:
    id: int
    session_id: str
    session_title: str
    voice: str
    voice_name: str
    role: str
    started_at: datetime
    status: str
    flags: str
    cost: float | None
    latency_ms: float
    question: str
    answer: str


_LAST_USER = ("COALESCE(CASE WHEN json_extract(t.messages_json, '$[#-1].role') = 'user' "
              "THEN json_extract(t.messages_json, '$[#-1].content') END, '')")


def voice_turns(archive: Archive, voice: str, *, page: int = 1, per_page: int = PER_PAGE) -> tuple[list[TurnRow], int]:
    """A voice's turns, newest first (question and answer cut to 400 characters), and their total."""
    total = int(archive.query("SELECT COUNT(*) FROM turns WHERE voice = ?", (voice,))[0][0])
    rows = archive.query(
        "SELECT t.id, t.session_id, s.title, t.voice, t.voice_name, t.role, t.started_at, t.status, t.flags, "
        f"t.cost, t.latency_ms, substr({_LAST_USER}, 1, 400) AS question, substr(t.answer, 1, 400) AS answer "
        "FROM turns t JOIN sessions s ON s.id = t.session_id WHERE t.voice = ? "
        "ORDER BY t.started_at DESC, t.id DESC LIMIT ? OFFSET ?",
        (voice, per_page, (max(1, page) - 1) * per_page),
    )
    return [_turn_row(r) for r in rows], total


def _turn_row(r: Any) -> TurnRow:
    return TurnRow(r["id"], r["session_id"], r["title"], r["voice"], r["voice_name"], r["role"],
                   datetime_from_iso(r["started_at"]), r["status"], r["flags"], r["cost"], r["latency_ms"],
                   r["question"], r["answer"])


def voice_months(archive: Archive, voice: str) -> list[tuple[str, int, float | None]]:
    """(``YYYY-MM``, turns, reported cost) per month, oldest first: the voice's activity over time."""
    rows = archive.query(
        "SELECT substr(started_at, 1, 7) AS month, COUNT(*), SUM(cost) FROM turns WHERE voice = ? "
        "GROUP BY month ORDER BY month", (voice,))
    return [(r[0], int(r[1]), float(r[2]) if r[2] is not None else None) for r in rows]


@dataclass(frozen=True)
class Formulation:
    text: str
    session_id: str
    turn_id: int
    when: datetime
    times: int = 1  # how many of the voice's turns contain it (when known)


_BOLD = re.compile(r"\*\*([^*\n]{3,160}?)\*\*")


def bold_formulations(archive: Archive, voice: str, limit: int = 20, scan: int = 200) -> list[Formulation]:
    """The voice's latest short bold spans (``**like this**``), newest first, each once.

    A stand-in for the archive's recall of formulations: voices often bold the line they mean.
    """
    rows = archive.query(
        "SELECT id, session_id, started_at, answer FROM turns WHERE voice = ? AND role != 'host' "
        "AND status != 'error' AND answer LIKE '%**%' ORDER BY started_at DESC, id DESC LIMIT ?",
        (voice, scan),
    )
    out: list[Formulation] = []
    seen: set[str] = set()
    for r in rows:
        for m in _BOLD.finditer(r["answer"]):
            text = " ".join(m.group(1).split()).strip()
            if len(text) < 3 or text.casefold() in seen:
                continue
            seen.add(text.casefold())
            out.append(Formulation(text, r["session_id"], r["id"], datetime_from_iso(r["started_at"])))
            if len(out) >= limit:
                return out
    return out
