"""A small Moltbook API client: create a post, answer its verification challenge. Nothing else.

The key goes to ``https://www.moltbook.com/api/v1`` only: the bare domain redirects and the redirect
drops the Authorization header, so this client follows no redirect (a 3xx is an error that names
the Location; the key never travels there). Another base URL is accepted only on loopback, for tests
(``base_url=`` or ``SYMPOSIA_MOLTBOOK_BASE_URL``). Replies come in several shapes (``{"success",
"post"}``, ``{"data"}``, bare lists, two error shapes); each is read defensively and anything else
is a clear error. Feed text (error messages, challenges) is untrusted: it is one-lined, stripped of
control characters, shortened and redacted before it is shown or stored.
"""

from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from symposia import paths
from symposia.errors import MissingKeyError, MoltbookError
from symposia.keys import load_keys_file
from symposia.publish.content import PublishError
from symposia.redact import redact, register_secret
from symposia.version import __version__

__all__ = [
    "BASE_URL_ENV",
    "KEY_ENV",
    "MoltbookClient",
    "MoltbookError",
    "OFFICIAL_BASE_URL",
    "PostReply",
    "Verification",
    "VerifyReply",
    "base_url_from_env",
    "check_base_url",
    "parse_time",
    "resolve_api_key",
    "retry_after_s",
    "untrusted",
]

OFFICIAL_HOST = "www.moltbook.com"
OFFICIAL_BASE_URL = f"https://{OFFICIAL_HOST}/api/v1"
BASE_URL_ENV = "SYMPOSIA_MOLTBOOK_BASE_URL"
KEY_ENV = "MOLTBOOK_API_KEY"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_RETRY_AFTER_S = 30 * 60.0




@dataclass(frozen=True)
class Verification:
    """The challenge a new post must pass before it shows."""

    code: str
    challenge: str
    expires_at: datetime | None


@dataclass(frozen=True)
class PostReply:
    post_id: str | None
    url: str | None
    verification: Verification | None


@dataclass(frozen=True)
class VerifyReply:
    ok: bool
    message: str
    expired: bool = False


# -- configuration ---------------------------------------------------------------------------------


def check_base_url(url: str) -> str:
    """``url`` without a trailing slash if it is the official API or a loopback address; else refuse."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    official = parts.scheme == "https" and host == OFFICIAL_HOST and parts.port in (None, 443)
    loopback = parts.scheme in ("http", "https") and host in _LOOPBACK
    if parts.username or parts.password or not (official or loopback):
        raise PublishError(
            f"refusing to send the Moltbook key to {redact(url)!r}: only {OFFICIAL_BASE_URL} (or a loopback "
            f"address, for tests) is allowed. Unset {BASE_URL_ENV} to use the official API."
        )
    return url.strip().rstrip("/")


def base_url_from_env() -> str:
    """``SYMPOSIA_MOLTBOOK_BASE_URL`` (checked) or the official API."""
    env = os.environ.get(BASE_URL_ENV, "").strip()
    return check_base_url(env) if env else OFFICIAL_BASE_URL


def resolve_api_key() -> str:
    """``MOLTBOOK_API_KEY`` from the environment, else from the private ``keys.toml`` (registered as a secret)."""
    value = os.environ.get(KEY_ENV, "").strip()
    if not value:
        value = load_keys_file().get(KEY_ENV, "")
    if not value:
        raise MissingKeyError("moltbook", KEY_ENV, paths.keys_file())
    register_secret(value)
    return value


# -- reading replies -------------------------------------------------------------------------------


def untrusted(text: Any, limit: int = 500) -> str:
    """Text from Moltbook made safe to show: one line, no control characters, short, redacted."""
    s = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    s = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in s)
    s = " ".join(s.split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return redact(s)


def _error_text(body: Any) -> str | None:
    """The message in ``{"success":false,"error","hint"}`` or ``{"statusCode","message"}`` (or similar)."""
    if not isinstance(body, dict):
        return None
    err = body.get("error")
    msg = body.get("message")
    if isinstance(err, dict):
        msg = err.get("message") or msg
        err = err.get("type") or err.get("code")
    parts = [untrusted(x) for x in (err, msg) if isinstance(x, str | int) and str(x).strip()]
    text = ": ".join(dict.fromkeys(parts))
    hint = body.get("hint")
    if isinstance(hint, str) and hint.strip():
        text = f"{text} (hint: {untrusted(hint)})" if text else f"hint: {untrusted(hint)}"
    return text or None


def _is_error_body(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    if body.get("success") is False:
        return True
    code = body.get("statusCode")
    return isinstance(code, int) and code >= 400


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def retry_after_s(headers: httpx.Headers, body: Any, now: datetime | None = None) -> float:
    """Seconds to wait after a 429: the largest of ``Retry-After`` (seconds or HTTP date) and the body's
    ``retry_after_seconds`` / ``retry_after_minutes``; 30 minutes when none is given."""
    found: list[float] = []
    header = headers.get("retry-after")
    if header:
        n = _number(header)
        if n is None:
            try:
                when = parsedate_to_datetime(header)
                n = (when - (now or datetime.now(UTC))).total_seconds()
            except (TypeError, ValueError):
                n = None
        if n is not None:
            found.append(max(n, 0.0))
    nodes = [body] if isinstance(body, dict) else []
    nodes += [v for v in (body.get("error"), body.get("data")) if isinstance(v, dict)] if nodes else []
    for node in nodes:
        s = _number(node.get("retry_after_seconds"))
        if s is not None:
            found.append(max(s, 0.0))
        m = _number(node.get("retry_after_minutes"))
        if m is not None:
            found.append(max(m * 60.0, 0.0))
    return max(found) if found else DEFAULT_RETRY_AFTER_S


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (``Z`` allowed) or epoch seconds/milliseconds, as aware UTC; None if unreadable."""
    n = _number(value) if not isinstance(value, str) or value.strip().replace(".", "", 1).isdigit() else None
    if n is not None:
        try:
            return datetime.fromtimestamp(n / 1000.0 if n > 1e11 else n, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _first_dict(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return next((v for v in value if isinstance(v, dict)), None)
    return None


def _describe(body: Any) -> str:
    if isinstance(body, dict):
        return "an object with keys " + ", ".join(sorted(map(str, body))[:12])
    if isinstance(body, list):
        return f"a list of {len(body)} items"
    return f"a {type(body).__name__}"


class MoltbookClient:
    """Synchronous Moltbook client over one httpx connection pool; use as a context manager."""

    def __init__(self, api_key: str, *, base_url: str | None = None, timeout: float = 30.0) -> None:
        if not api_key.strip():
            raise MissingKeyError("moltbook", KEY_ENV, paths.keys_file())
        register_secret(api_key)
        self.base_url = check_base_url(base_url) if base_url is not None else base_url_from_env()
        split = urlsplit(self.base_url)
        self.web_root = f"https://{OFFICIAL_HOST}" if split.hostname == OFFICIAL_HOST else \
            f"{split.scheme}://{split.netloc}"
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            follow_redirects=False,  # the bare domain's redirect would carry (or drop) the key: never follow
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"Authorization": f"Bearer {api_key.strip()}", "Accept": "application/json",
                     "User-Agent": f"symposia/{__version__}"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MoltbookClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- calls ---------------------------------------------------------------------------------------

    def _call(self, path: str, payload: dict[str, Any]) -> Any:
        """POST ``payload`` as JSON to ``path``; the parsed body of a 2xx reply, else MoltbookError."""
        try:
            resp = self._http.post(path.lstrip("/"), json=payload)
        except httpx.TimeoutException as e:
            raise MoltbookError(f"no answer from {self.base_url} in time ({type(e).__name__}); "
                                f"check the post on Moltbook before trying again", kind="connection") from None
        except httpx.HTTPError as e:
            raise MoltbookError(f"cannot reach {self.base_url}: {untrusted(str(e))}", kind="connection") from None
        status = resp.status_code
        if 300 <= status < 400:
            location = untrusted(resp.headers.get("location", "(no Location header)"))
            raise MoltbookError(
                f"the API answered with a redirect to {location}; symposia follows no redirect, so the key "
                f"was not sent there. Use {OFFICIAL_BASE_URL} (always the www host).",
                kind="redirect", status=status, location=location,
            )
        try:
            body: Any = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            body = None
        if status == 429:
            wait = retry_after_s(resp.headers, body)
            detail = _error_text(body) or "rate limited"
            raise MoltbookError(f"{detail}; retry in {wait / 60:.0f} min", kind="rate_limited",
                                status=status, retry_after=wait)
        if status >= 400 or _is_error_body(body):
            detail = _error_text(body) or (untrusted(resp.text, 200) if resp.text.strip() else "no details")
            kind = "auth" if status in (401, 403) else "rejected" if status < 500 else "http"
            if status in (401, 403):
                detail += f". Check {KEY_ENV} (keys issued before 1 Feb 2026 must be rotated)"
            raise MoltbookError(detail, kind=kind, status=status)
        if body is None:
            raise MoltbookError(f"the reply to {path} was not JSON: {untrusted(resp.text, 200)!r}",
                                kind="bad_reply", status=status)
        return body

    def create_post(self, *, submolt: str, title: str, content: str) -> PostReply:
        """``POST /posts``; the reply's post id and URL, and its verification challenge if one is due."""
        body = self._call("/posts", {"submolt_name": submolt, "title": title, "content": content})
        return self._post_reply(body)

    def verify(self, code: str, answer: str) -> VerifyReply:
        """``POST /verify`` once. A refused answer is a reply (``ok=False``), not an exception."""
        try:
            body = self._call("/verify", {"verification_code": code, "answer": answer})
        except MoltbookError as e:
            if e.kind != "rejected":
                raise
            text = str(e)
            return VerifyReply(ok=False, message=text, expired=e.status == 410 or "expire" in text.lower())
        node = _first_dict(body)
        data = _first_dict(node.get("data")) if node is not None else None
        for n in (node, data):
            if n is not None and (n.get("success") is True or n.get("verified") is True):
                return VerifyReply(ok=True, message=_error_text(n) or "verified")
        msg = _error_text(node) or _error_text(data)
        if msg is None:
            raise MoltbookError(f"unexpected reply to /verify: {_describe(body)}", kind="bad_reply")
        return VerifyReply(ok=False, message=msg, expired="expire" in msg.lower())

    # -- shapes --------------------------------------------------------------------------------------

    def _post_reply(self, body: Any) -> PostReply:
        node = _first_dict(body)
        if node is None:
            raise MoltbookError(f"unexpected reply to /posts: {_describe(body)}", kind="bad_reply")
        levels = [node]
        data = node.get("data")
        data_node = _first_dict(data)
        if data_node is not None:
            levels.append(data_node)
        post: dict[str, Any] | None = None
        for level in levels:
            post = _first_dict(level.get("post"))
            if post is not None:
                break
        if post is None:
            post = next((lv for lv in reversed(levels) if any(k in lv for k in ("id", "_id", "post_id"))), None)
        verification_raw: Any = None
        required = False
        for level in [*levels, *([post] if post is not None else [])]:
            required = required or level.get("verification_required") is True
            if verification_raw is None and isinstance(level.get("verification"), dict):
                verification_raw = level["verification"]
        if post is None and verification_raw is None:
            raise MoltbookError(f"unexpected reply to /posts (no post in it): {_describe(body)}", kind="bad_reply")
        post = post or {}
        raw_id = next((post[k] for k in ("id", "_id", "post_id") if isinstance(post.get(k), str | int)), None)
        post_id = str(raw_id) if raw_id is not None else None
        url = self._url(post, post_id)
        verification: Verification | None = None
        if required or verification_raw is not None:
            v = verification_raw if isinstance(verification_raw, dict) else {}
            code, challenge = v.get("verification_code") or v.get("code"), v.get("challenge_text") or v.get("challenge")
            if not isinstance(code, str) or not code or not isinstance(challenge, str):
                raise MoltbookError("the post needs verification but the reply has no verification_code and "
                                    f"challenge_text ({_describe(v)})", kind="bad_reply")
            verification = Verification(code=code, challenge=untrusted(challenge, 1000),
                                        expires_at=parse_time(v.get("expires_at")))
        elif post_id is None:
            raise MoltbookError(f"the reply to /posts names no post id: {_describe(post)}", kind="bad_reply")
        return PostReply(post_id=post_id, url=url, verification=verification)

    def _url(self, post: dict[str, Any], post_id: str | None) -> str | None:
        for key in ("url", "permalink", "link"):
            value = post.get(key)
            if isinstance(value, str) and value.strip():
                value = value.strip()
                if value.startswith("/"):
                    return self.web_root + value
                if urlsplit(value).scheme in ("http", "https"):
                    return untrusted(value, 1000)
        return f"{self.web_root}/post/{post_id}" if post_id else None
