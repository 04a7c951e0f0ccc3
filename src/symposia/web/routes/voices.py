"""A voice's page: its turns over time and the formulations it is remembered by."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from symposia.catalog import Voice
from symposia.codec import datetime_from_iso
from symposia.errors import SymposiaError
from symposia.web.queries import PER_PAGE, Formulation, bold_formulations, voice_months, voice_turns
from symposia.web.state import WebState, page, web_state

__all__ = ["routes", "voice_page"]

CHART_W, CHART_H = 600, 120
RECALLED = 15


def _catalog_voice(st: WebState, name: str) -> Voice | None:
    try:
        return st.symposia().catalog.voice(name)
    except SymposiaError:  # unknown to this catalog (an imported voice) or a broken config
        return None


def _formulations(st: WebState, voice: str) -> list[Formulation]:
    """The archive's recall (its most distinctive formulations), else the voice's latest short bold spans."""
    try:
        # deferred: optional here (a fallback below when it cannot load)
        from symposia.archive.recall import recall
    except ImportError:
        return bold_formulations(st.archive, voice)
    try:
        found = recall(st.archive, voice, n=RECALLED)
    except SymposiaError:
        return bold_formulations(st.archive, voice)
    return [Formulation(f.text, f.session_id, f.turn_id, datetime_from_iso(f.started_at), f.times) for f in found]


def voice_page(request: Request) -> Response:
    st = web_state(request)
    name = request.path_params["voice"]
    info = _catalog_voice(st, name)
    shortcut = info.shortcut if info is not None else name
    try:
        pg = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        pg = 1
    turns, total = voice_turns(st.archive, shortcut, page=pg)
    months = voice_months(st.archive, shortcut)
    top = max((n for _, n, _ in months), default=1)
    bar_w = CHART_W / max(1, len(months))
    bars = [{"x": round(i * bar_w, 1), "w": round(max(1.0, bar_w - 2), 1), "h": round(CHART_H * n / top, 1),
             "y": round(CHART_H - CHART_H * n / top, 1), "month": m, "n": n, "cost": c}
            for i, (m, n, c) in enumerate(months)]
    return page(request, "voice.html", {
        "voice": shortcut, "info": info, "turns": turns, "total": total, "page": pg,
        "pages": max(1, -(-total // PER_PAGE)), "bars": bars, "chart_w": CHART_W, "chart_h": CHART_H,
        "months": months, "formulations": _formulations(st, shortcut),
    }, status_code=200 if total or info is not None else 404)


routes = [Route("/voice/{voice}", voice_page, name="voice")]
