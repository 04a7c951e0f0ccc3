"""A fake Moltbook API on loopback, for tests: posts, verification challenges, rate limits, redirects.

    with FakeMoltbook(api_key=KEY, challenge="A lobster has tw3nty claws and l0ses f1ve", answer="15.00") as mb:
        client = MoltbookClient(KEY, base_url=mb.base_url)

By default ``POST /api/v1/posts`` creates a post and replies in the shape ``shape`` names (or with a
verification challenge when ``challenge`` is set) and ``POST /api/v1/verify`` checks the answer.
Scripted replies (:meth:`FakeMoltbook.enqueue`) go first, one per request to their path;
``redirect_to`` makes every request a 301 there (the bare-domain behaviour). Every request is
recorded with its headers and body. Standard library only.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["SHAPES", "FakeMoltbook", "MoltbookReply", "MoltbookRequest"]

SHAPES = ("success", "data", "data_post", "list", "bare")
"""Reply shapes of a created post: ``{"success","post"}``, ``{"data":post}``, ``{"data":{"post"}}``,
``[post]`` and the bare post object."""


@dataclass(frozen=True)
class MoltbookReply:
    """A scripted reply: ``body`` is sent as JSON (``raw`` as-is when given)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: str | None = None


@dataclass(frozen=True)
class MoltbookRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or None


class FakeMoltbook:
    """The fake server; ``base_url`` is what a client is given (``http://127.0.0.1:PORT/api/v1``)."""

    def __init__(self, *, api_key: str | None = None, shape: str = "success", challenge: str | None = None,
                 answer: str | None = None, expires_in: timedelta = timedelta(minutes=5),
                 redirect_to: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        if shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}")
        self.api_key = api_key
        self.shape = shape
        self.challenge = challenge
        self.answer = answer
        self.expires_in = expires_in
        self.redirect_to = redirect_to
        self.requests: list[MoltbookRequest] = []
        self.posts: dict[str, dict[str, Any]] = {}
        self._codes: dict[str, tuple[str, datetime]] = {}  # code -> (post id, expiry)
        self._scripted: dict[str, deque[MoltbookReply]] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/v1"

    def start(self) -> FakeMoltbook:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-moltbook:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FakeMoltbook:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def enqueue(self, path: str, *replies: MoltbookReply) -> None:
        """Script the next replies to ``path`` (``/posts`` or ``/verify``), in order."""
        with self._lock:
            self._scripted.setdefault(path, deque()).extend(replies)

    def requests_to(self, path: str) -> list[MoltbookRequest]:
        return [r for r in self.requests if r.path.endswith(path)]

    # -- behaviour ---------------------------------------------------------------------------------

    def _reply(self, method: str, path: str, headers: dict[str, str], body: Any) -> MoltbookReply:
        with self._lock:
            self.requests.append(MoltbookRequest(method, path, headers, body))
            if self.redirect_to is not None:
                return MoltbookReply(301, {"message": "Moved"}, {"Location": self.redirect_to.rstrip("/") + path})
            route = path.removeprefix("/api/v1")
            scripted = self._scripted.get(route)
            if scripted:
                return scripted.popleft()
            if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
                return MoltbookReply(401, {"success": False, "error": "Unauthorized",
                                           "hint": "Send Authorization: Bearer <api key>"})
            if method == "POST" and route == "/posts":
                return self._create(body)
            if method == "POST" and route == "/verify":
                return self._verify(body)
            return MoltbookReply(404, {"statusCode": 404, "message": f"Cannot {method} {path}"})

    def _create(self, body: Any) -> MoltbookReply:
        if not isinstance(body, dict):
            return MoltbookReply(400, {"statusCode": 400, "message": "Body must be a JSON object"})
        title, content = body.get("title"), body.get("content")
        submolt = body.get("submolt_name") or body.get("submolt")
        if not isinstance(title, str) or not title or len(title) > 300:
            return MoltbookReply(400, {"success": False, "error": "Title is required (max 300 characters)"})
        if not isinstance(content, str) or len(content.encode("utf-16-le")) // 2 > 40000:
            return MoltbookReply(400, {"success": False, "error": "Content too long (max 40000 characters)"})
        post_id = f"post-{len(self.posts) + 1}"
        post: dict[str, Any] = {"id": post_id, "title": title, "content": content, "submolt": submolt,
                                "url": f"https://www.moltbook.com/post/{post_id}", "verified": False}
        self.posts[post_id] = post
        public = {k: post[k] for k in ("id", "title", "submolt", "url")}
        if self.challenge is not None:
            code = f"verify-{post_id}"
            expires = datetime.now(UTC) + self.expires_in
            self._codes[code] = (post_id, expires)
            public["verification"] = {"verification_code": code, "challenge_text": self.challenge,
                                      "expires_at": expires.isoformat().replace("+00:00", "Z")}
            return MoltbookReply(201, {"success": True, "verification_required": True, "post": public})
        post["verified"] = True
        shaped: Any = {"success": {"success": True, "post": public}, "data": {"data": public},
                       "data_post": {"data": {"post": public}}, "list": [public], "bare": public}[self.shape]
        return MoltbookReply(201, shaped)

    def _verify(self, body: Any) -> MoltbookReply:
        code = body.get("verification_code") if isinstance(body, dict) else None
        answer = body.get("answer") if isinstance(body, dict) else None
        if not isinstance(code, str) or code not in self._codes:
            return MoltbookReply(404, {"success": False, "error": "Unknown verification code"})
        post_id, expires = self._codes[code]
        if datetime.now(UTC) > expires:
            return MoltbookReply(410, {"success": False, "error": "Verification code expired"})
        if not isinstance(answer, str) or answer != self.answer:
            return MoltbookReply(400, {"success": False, "error": "Incorrect answer",
                                       "hint": "Answer with a number with two decimals, e.g. \"15.00\""})
        self.posts[post_id]["verified"] = True
        del self._codes[code]
        return MoltbookReply(200, {"success": True, "message": "Post verified"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake: FakeMoltbook = self.server.fake  # type: ignore[attr-defined]
        reply = fake._reply(self.command, self.path, headers, body)
        data = (reply.raw if reply.raw is not None else json.dumps(reply.body)).encode("utf-8")
        self.send_response(reply.status)
        ctype = "text/plain" if reply.raw is not None else "application/json"
        self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        self._handle()

    def do_GET(self) -> None:  # noqa: N802
        self._handle()
