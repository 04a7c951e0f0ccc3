"""The sessions list, a session's page (transcript + the record of every turn) and its exports.

Handlers are plain functions: Starlette runs them in its thread pool, so an archive query never
stalls the event loop that streams live sessions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from symposia.archive import turn_status
from symposia.codec import SESSION_STATUSES
from symposia.records import SessionRecord, TurnRecord
from symposia.render.transcript import transcript_json, transcript_markdown
from symposia.web.queries import filter_choices, list_sessions
from symposia.web.state import page, web_state
from symposia.web.transcript import drafts_of, transcript_html

__all__ = ["TurnView", "export_json", "export_md", "export_text", "routes", "session_page", "sessions_list"]


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def sessions_list(request: Request) -> Response:
    st = web_state(request)
    qp = request.query_params
    filters = {"kind": qp.get("kind", ""), "voice": qp.get("voice", ""), "q": qp.get("q", ""),
               "status": qp.get("status", "")}
    result = list_sessions(st.archive, kind=filters["kind"] or None, voice=filters["voice"] or None,
                           text=filters["q"] or None, status=filters["status"] or None,
                           page=_int(qp.get("page"), 1))
    kinds, voices = filter_choices(st.archive)
    return page(request, "sessions.html", {
        "result": result, "filters": filters, "kinds": kinds, "voices": voices, "statuses": SESSION_STATUSES,
        "running": [r for r in st.live.all() if not r.finished],
        "query": {k: v for k, v in filters.items() if v},
    })


@dataclass(frozen=True)
class TurnView:
    """One turn as the session page shows it."""

    turn: TurnRecord
    status: str
    params: str

    @property
    def error(self) -> str | None:
        err = self.turn.result.error
        if err is None:
            return None
        where = f" (HTTP {err.status})" if err.status else ""
        return f"{err.kind}{where}: {err.message}"


def export_text(session: SessionRecord, turns: list[TurnRecord], fmt: str) -> str:
    """Exactly what ``symposia export`` prints: the same renderers, the same JSON layout."""
    if fmt == "json":
        return json.dumps(transcript_json(session, turns), ensure_ascii=False, indent=2) + "\n"
    return transcript_markdown(session, turns)


def _session_or_redirect(request: Request, suffix: str = "") -> SessionRecord | Response:
    st = web_state(request)
    wanted = request.path_params["session_id"]
    session = st.archive.get_session(wanted)
    if session.id != wanted:  # a prefix: send the browser to the full id
        return RedirectResponse(f"/session/{session.id}{suffix}", status_code=307)
    return session


def session_page(request: Request) -> Response:
    st = web_state(request)
    found = _session_or_redirect(request)
    if isinstance(found, Response):
        return found
    session = found
    turns = st.archive.session_turns(session.id)
    transcript: Markup = transcript_html(session, turns)
    views = [TurnView(t, turn_status(t), json.dumps(t.request.params.to_dict(), ensure_ascii=False)) for t in turns]
    costs = [t.result.usage.cost for t in turns if t.result.usage.cost is not None]
    live = st.live.for_session(session.id)
    return page(request, "session.html", {
        "session": session, "turns": views, "transcript": transcript, "drafts": drafts_of(turns),
        "cost": sum(costs) if costs else None, "live": live if live is not None and not live.finished else None,
        "voices": list(dict.fromkeys(t.voice for t in turns if t.role != "host")),
    })


def _export(request: Request, fmt: str) -> Response:
    st = web_state(request)
    found = _session_or_redirect(request, f"/export.{fmt}")
    if isinstance(found, Response):
        return found
    text = export_text(found, st.archive.session_turns(found.id), fmt)
    media = "application/json" if fmt == "json" else "text/markdown"
    headers: dict[str, Any] = {"Content-Disposition": f'attachment; filename="{found.id}.{fmt}"'}
    return Response(text, media_type=media, headers=headers)


def export_md(request: Request) -> Response:
    return _export(request, "md")


def export_json(request: Request) -> Response:
    return _export(request, "json")


routes = [
    Route("/", sessions_list, name="sessions"),
    Route("/session/{session_id}", session_page, name="session"),
    Route("/session/{session_id}/export.md", export_md, name="export_md"),
    Route("/session/{session_id}/export.json", export_json, name="export_json"),
]
