"""The search page: a form with the archive's filters, and the turns that match."""

from __future__ import annotations

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from symposia.errors import SymposiaError
from symposia.web.queries import filter_choices
from symposia.web.search import FIELDS, ROLES, Hit, SearchResult, search, session_titles
from symposia.web.state import page, web_state

__all__ = ["marked_snippet", "routes", "search_page"]


def marked_snippet(hit: Hit) -> Markup:
    """The snippet escaped, with the matched words (the archive's highlight spans) in <mark>."""
    text = hit.snippet
    out: list[Markup] = []
    pos = 0
    for start, end in sorted(hit.highlights):
        if start < pos or end > len(text):
            continue
        out += [escape(text[pos:start]), Markup("<mark>") + escape(text[start:end]) + Markup("</mark>")]
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def search_page(request: Request) -> Response:
    st = web_state(request)
    qp = request.query_params
    form = {"q": qp.get("q", ""), "voice": qp.get("voice", ""), "role": qp.get("role", ""),
            "since": qp.get("since", ""), "until": qp.get("until", ""), "semantic": qp.get("semantic") == "1",
            "field": qp.get("field", "answer")}
    result: SearchResult | None = None
    error = None
    field = form["field"] if form["field"] in FIELDS else "answer"
    if str(form["q"]).strip():
        try:
            result = search(st.archive, str(form["q"]), voice=str(form["voice"]) or None,
                            role=str(form["role"]) or None, since=str(form["since"]) or None,
                            until=str(form["until"]) or None, semantic=bool(form["semantic"]),
                            field=field)
        except SymposiaError as exc:  # an empty query, a bad date or role, no embedding model
            error = str(exc)
    _, voices = filter_choices(st.archive)
    hits = list(result.hits) if result is not None else []
    return page(request, "search.html", {
        "form": form, "result": result, "hits": [(h, marked_snippet(h)) for h in hits], "error": error,
        "voices": voices, "roles": ROLES, "fields": FIELDS, "titles": session_titles(st.archive, hits),
    }, status_code=400 if error else 200)


routes = [Route("/search", search_page, name="search")]
