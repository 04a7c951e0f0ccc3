"""A session's convergence report and its heatmap (or a clear page saying the analysis is unavailable)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from symposia.errors import SymposiaError
from symposia.redact import redact
from symposia.web.report import analysis_missing, session_report
from symposia.web.sanitize import markdown_to_html
from symposia.web.state import page, web_state

__all__ = ["heatmap", "report_page", "routes"]


def report_page(request: Request) -> Response:
    st = web_state(request)
    session = st.archive.get_session(request.path_params["session_id"])
    missing = analysis_missing()
    ctx = {"session": session, "available": missing is None, "reason": missing, "error": None,
           "heatmap": False, "body": ""}
    if missing is not None:
        return page(request, "report.html", ctx, status_code=501)
    try:
        report = session_report(st.archive, session.id)
    except SymposiaError as exc:
        ctx["error"] = f"The analysis could not run: {redact(str(exc))}"
        return page(request, "report.html", ctx, status_code=500)
    ctx.update(heatmap=report.heatmap_svg is not None, body=markdown_to_html(report.markdown))
    return page(request, "report.html", ctx)


def heatmap(request: Request) -> Response:
    st = web_state(request)
    session = st.archive.get_session(request.path_params["session_id"])
    if analysis_missing() is not None:
        return Response("analysis not available\n", status_code=404, media_type="text/plain")
    report = session_report(st.archive, session.id)
    if report.heatmap_svg is None:
        return Response("fewer than two voices answered\n", status_code=404, media_type="text/plain")
    # Served as an image (loaded by <img>), with its own CSP: an SVG opened directly runs no script either.
    return Response(report.heatmap_svg, media_type="image/svg+xml",
                    headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


routes = [
    Route("/session/{session_id}/report", report_page, name="report"),
    Route("/session/{session_id}/heatmap.svg", heatmap, name="heatmap"),
]
