"""HTTP hardening for the local page: security headers on every response, CSRF tokens for forms.

The page shows untrusted model output and can start paid model calls, so: a CSP that allows no
inline script and nothing from elsewhere, no MIME sniffing, no framing, no referrer; and every form
that starts a session carries a token bound to a cookie (double submit, signed with a secret that
lives as long as the server), compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "CSRF_COOKIE", "CSRF_FIELD", "CsrfTokens", "SecurityHeaders"]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)

CSRF_COOKIE = "symposia_csrf"
CSRF_FIELD = "csrf_token"


class SecurityHeaders:
    """Pure ASGI middleware (it must not buffer: the live page streams server-sent events)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CsrfTokens:
    """Tokens ``nonce.signature``: the cookie and the form field must hold the same valid token."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._secret, nonce.encode(), hashlib.sha256).hexdigest()

    def new(self) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._sign(nonce)}"

    def valid(self, token: str | None) -> bool:
        if not token or token.count(".") != 1:
            return False
        nonce, sig = token.split(".")
        return hmac.compare_digest(sig, self._sign(nonce))

    def token_for(self, cookie: str | None) -> str:
        """The cookie's token when it is one of ours, else a fresh one (to set as the cookie)."""
        return cookie if cookie is not None and self.valid(cookie) else self.new()

    def check(self, cookie: str | None, submitted: str | None) -> bool:
        """A POST is genuine when the form echoes the cookie's token and the token is ours."""
        if cookie is None or submitted is None:
            return False
        return hmac.compare_digest(cookie, submitted) and self.valid(cookie)
