"""What the web app holds while it serves: the archive, the templates, the CSRF secret, the live runs.

Pages read through their own archive connection (SQLite WAL: readers never block the writer);
sessions started from the page run through a :class:`~symposia.api.Symposia` made on first use, so a
broken config file breaks the "new session" form only, with its message, not the archive browser.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from symposia.api import Symposia
from symposia.archive import Archive
from symposia.web.live import LiveRegistry
from symposia.web.sanitize import markdown_to_html
from symposia.web.security import CSRF_COOKIE, CsrfTokens

__all__ = ["WebState", "make_templates", "page", "web_state"]


def _when(dt: datetime | None) -> str:
    if dt is None:
        return "—"
    utc = dt.astimezone(UTC) if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%d %H:%M UTC")


def _money(value: float | None) -> str:
    if value is None:
        return "—"
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


def _secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _highlight(text: str, q: str | None) -> Markup:
    """``text`` escaped, with each case-insensitive occurrence of ``q`` in <mark>."""
    if not q or not q.strip():
        return escape(text)
    needle = q.strip().casefold()
    folded = text.casefold()
    if len(folded) != len(text):  # casefold changed lengths (ß…): no highlighting rather than a wrong one
        return escape(text)
    out: list[Markup] = []
    pos = 0
    while (i := folded.find(needle, pos)) >= 0:
        out.append(escape(text[pos:i]))
        out.append(Markup("<mark>") + escape(text[i:i + len(needle)]) + Markup("</mark>"))
        pos = i + len(needle)
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def _query_string(query: dict[str, str], page: int) -> str:
    """The current filters with another page number, URL-encoded (autoescape handles the ``&``)."""
    return urlencode({**query, "page": str(page)})


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("symposia.web", "templates"),
        autoescape=True,  # every page: nothing from the record is ever inserted unescaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=_when, money=_money, secs=_secs, highlight=_highlight, markdown=markdown_to_html)
    env.globals["query_string"] = _query_string
    return Jinja2Templates(env=env)


class WebState:
    def __init__(self, archive_path: str | Path | None, config_path: Path | None) -> None:
        first = Archive.open(archive_path)  # opened now so a bad path fails at startup, with its message
        self._archive: Archive | None = first
        self.archive_path: Path | str = first.path
        self.config_path = config_path
        self.templates = make_templates()
        self.csrf = CsrfTokens()
        self.live = LiveRegistry()
        self._symposia: Symposia | None = None
        self._lock = threading.RLock()  # pages run in a thread pool: open things once

    @property
    def archive(self) -> Archive:
        """The pages' read connection (reopened if a previous lifespan closed it)."""
        with self._lock:
            if self._archive is None:
                self._archive = Archive.open(self.archive_path)
            return self._archive

    def symposia(self) -> Symposia:
        """The catalog, runtime and writer archive for sessions started here (made on first use)."""
        with self._lock:
            if self._symposia is None:
                self._symposia = Symposia(self.archive_path, config=self.config_path)
            return self._symposia

    async def aclose(self) -> None:
        await self.live.aclose()
        if self._symposia is not None:
            # Not Symposia.close(): that runs the providers' shutdown on a new loop, and their HTTP
            # clients belong to this one.
            await self._symposia.runtime.aclose()
            self._symposia.archive.close()
            self._symposia = None
        with self._lock:
            if self._archive is not None:
                self._archive.close()
                self._archive = None


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def page(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    """Render a template; every page gets the CSRF token (and its cookie when the browser lacks it)."""
    st = web_state(request)
    cookie = request.cookies.get(CSRF_COOKIE)
    token = st.csrf.token_for(cookie)
    ctx = {"csrf_token": token, "archive_path": str(st.archive_path), **(context or {})}
    response = st.templates.TemplateResponse(request, name, ctx, status_code=status_code)
    if token != cookie:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
    return response
