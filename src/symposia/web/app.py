"""The Starlette application behind ``symposia serve``: browse the archive, watch live sessions.

Pages are rendered on the server (Jinja2, autoescaped); the only script is a small static file
that feeds the live page from Server-Sent Events. Model output is untrusted everywhere: Markdown is
rendered without raw HTML and sanitised (:mod:`symposia.web.sanitize`), streamed text is inserted as
text, and every response carries a strict Content-Security-Policy (:mod:`symposia.web.security`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from symposia.errors import ArchiveError, SymposiaError
from symposia.redact import redact
from symposia.web.routes import live, report, search, sessions, voices
from symposia.web.security import SecurityHeaders
from symposia.web.state import WebState, page

__all__ = ["LOOPBACK_HOSTS", "create_app"]

# Host names a loopback-bound server answers to. Anything else is refused: a web page elsewhere
# could otherwise point a DNS name at 127.0.0.1 (DNS rebinding) and drive this server.
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1", "[::1]")

STATIC_DIR = Path(__file__).parent / "static"


async def _ping(request: Request) -> Response:
    """A trivial route (no archive, no template): the baseline for timing pages."""
    return PlainTextResponse("ok\n")


async def _symposia_error(request: Request, exc: Exception) -> Response:
    status = 404 if isinstance(exc, ArchiveError) and str(exc).startswith("no ") else 400
    title = "Not found" if status == 404 else "Something is wrong"
    return page(request, "error.html", {"title": title, "message": redact(str(exc))}, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return page(request, "error.html", {"title": "Not found", "message": f"No page at {request.url.path}."},
                    status_code=404)
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code)


def create_app(archive_path: str | Path | None = None, config_path: Path | None = None, *,
               allowed_hosts: Sequence[str] | None = None) -> Starlette:
    """The web app over the archive at ``archive_path`` (default: the user's archive).

    ``config_path`` is the user config TOML for the voice catalog (sessions started from the page).
    ``allowed_hosts``: Host header values accepted (default: loopback names only; ``["*"]`` for any).
    """
    state = WebState(archive_path, config_path)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await state.aclose()

    routes = [
        *sessions.routes,
        *search.routes,
        *voices.routes,
        *report.routes,
        *live.routes,
        Route("/ping", _ping, name="ping"),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts or LOOPBACK_HOSTS)),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={SymposiaError: _symposia_error, HTTPException: _http_error})
    app.state.web = state
    return app
