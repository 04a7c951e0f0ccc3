"""The fake server's routes: chat calls in either wire, model lists, and the two batch APIs.

Each chat POST takes the next scripted :class:`~symposia.testing.script.Reply` and answers whole or
streamed, with its fault; batch paths go to :mod:`symposia.testing.openai_batch` and
:mod:`symposia.testing.anthropic_batch`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from symposia.testing import anthropic_batch, anthropic_wire, openai_batch, openai_wire
from symposia.testing.script import HANG_KEEPALIVE_S, HTTP_FAULTS, Plan, RecordedRequest, Wire
from symposia.testing.transport import Abort, Connection, json_bytes, retry_after_headers

if TYPE_CHECKING:  # the server owns its handler class; only the type is needed here
    from symposia.testing.fake_server import FakeServer

__all__ = ["Handler"]


class Handler(Connection):
    """Serves one connection; each chat POST becomes one scripted response."""

    @property
    def fake(self) -> FakeServer:
        owner: FakeServer = self.httpd().owner
        return owner

    # -- routing ---------------------------------------------------------------------------------

    def _batch_route(self, method: str, raw: bytes) -> bool:
        """Serve a batch or file path; False when the path is not one."""
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = parse_qs(url.query)
        if "v1" not in parts:
            return False
        rest = parts[parts.index("v1") + 1:]
        batches = self.fake.batches
        if rest[:1] == ["messages"]:
            return anthropic_batch.handle(self, batches, self.fake.base_url, method, rest[1:], query, raw)
        return openai_batch.handle(self, batches, method, rest, query, raw)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        try:
            if self._batch_route("GET", b""):
                return
            if path.endswith("/models"):
                ids = list(self.fake.models)
                if "anthropic-version" in {k.lower() for k in self.headers}:
                    data = [{"type": "model", "id": m, "display_name": m,
                             "created_at": "2026-01-01T00:00:00Z"} for m in ids]
                    self.send_json(200, {"data": data, "has_more": False,
                                         "first_id": ids[0] if ids else None,
                                         "last_id": ids[-1] if ids else None})
                else:
                    self.send_json(200, {"object": "list", "data": [
                        {"id": m, "object": "model", "created": 1767225600, "owned_by": "symposia-fake"}
                        for m in ids]})
            else:
                self.send_json(404, {"error": {"message": f"no route for GET {path}", "type": "not_found"}})
        except Abort:
            self.hard_close()

    def do_DELETE(self) -> None:
        try:
            if not self._batch_route("DELETE", b""):
                self.send_json(404, {"error": {"message": f"no route for DELETE {self.path}",
                                               "type": "not_found"}})
        except Abort:
            self.hard_close()

    def do_POST(self) -> None:
        t = time.monotonic()
        raw = self.read_body()
        path = urlsplit(self.path).path
        try:
            if self._batch_route("POST", raw):
                return
        except Abort:
            self.hard_close()
            return
        headers = self.lower_headers()
        wire: Wire | None = None
        if path.rstrip("/").endswith("/chat/completions"):
            wire = "openai"
        elif path.rstrip("/").endswith("/v1/messages"):
            wire = "anthropic"
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        model = body.get("model") if isinstance(body.get("model"), str) else None
        stream = body.get("stream") is True
        self.fake._record(RecordedRequest(path=path, headers=headers, body=body, model=model,
                                          stream=stream, t=t, wire=wire))
        try:
            self._answer(path, wire, headers, parsed, body, model, stream)
        finally:
            self.fake._done()

    def _answer(self, path: str, wire: Wire | None, headers: dict[str, str], parsed: Any, body: dict[str, Any],
                model: str | None, stream: bool) -> None:
        try:
            if wire is None:
                self.send_json(404, {"error": {"message": f"no route for POST {path}; use "
                                               "/v1/chat/completions or /v1/messages",
                                               "type": "not_found", "code": "not_found"}})
                return
            problem = self._check(wire, headers, parsed)
            if problem is not None:
                status, kind, message = problem
                self._send_error(wire, status, kind, message, None, "req_" + secrets.token_hex(8))
                return
            self.fake._wait_for_gate()
            reply = self.fake._next_reply(model)
            if reply.hold_until_in_flight:
                self.fake._hold_until_in_flight(reply.hold_until_in_flight)
            plan = Plan.build(wire, reply, body, model)
            self._respond(plan, stream, body)
        except Abort:
            self.hard_close()

    def _check(self, wire: Wire, headers: Mapping[str, str], parsed: Any) -> tuple[int, str, str] | None:
        """Reject what the real services reject: missing credentials, non-JSON, missing fields."""
        module = openai_wire if wire == "openai" else anthropic_wire
        if self.fake.require_auth:
            problem = module.auth_problem(headers)
            if problem is not None:
                return 401, "http_401", problem
        problem = module.body_problem(parsed)
        return (400, "http_400", problem) if problem is not None else None

    # -- errors ----------------------------------------------------------------------------------

    def _send_error(self, wire: Wire, status: int, kind: str, message: str,
                    retry_after: float | None, rid: str) -> None:
        headers = retry_after_headers(retry_after)
        if wire == "openai" or kind == "dashscope_throttling":  # DashScope: OpenAI's body on any wire
            obj = openai_wire.error_body(kind, message)
        else:
            obj = anthropic_wire.error_body(kind, message, rid)
        headers.append(("x-request-id", rid) if wire == "openai" else ("request-id", rid))
        self.send_json(status, obj, headers)

    # -- replies ---------------------------------------------------------------------------------

    def _respond(self, plan: Plan, stream: bool, body: Mapping[str, Any]) -> None:
        fault = plan.fault
        if fault is not None and fault.kind in HTTP_FAULTS:
            status = HTTP_FAULTS[fault.kind][0]
            self._send_error(plan.wire, status, fault.kind, fault.message, fault.retry_after, plan.rid)
            return
        if fault is not None and fault.kind == "hang":
            self.hang_forever()
        if stream:
            self._stream(plan, body)
        else:
            self._whole(plan)

    def _whole(self, plan: Plan) -> None:
        """A non-streaming reply after ttft + per_token per chunk (the time a stream would take)."""
        reply, fault = plan.reply, plan.fault
        self.pause(reply.ttft + reply.per_token * len(plan.chunks))
        rid_header = ("x-request-id" if plan.wire == "openai" else "request-id", plan.rid)
        if fault is not None and fault.kind == "midstream_error":
            if plan.wire == "anthropic":  # no stream to break: Anthropic answers 529 instead
                self._send_error("anthropic", 529, "http_529", fault.message, fault.retry_after, plan.rid)
                return
            # OpenRouter: HTTP 200 whose only choice ended with finish_reason "error".
            partial = "".join(p for k, p in plan.chunks[: fault.after_chunks] if k == "text")
            obj = openai_wire.completion(plan, partial, "error")
            obj["error"] = {"code": 502, "message": fault.message or "Provider returned error"}
            self.send_json(200, obj, [rid_header])
            return
        if plan.wire == "openai":
            obj = openai_wire.completion(plan, plan.text, plan.finish)
        else:
            obj = anthropic_wire.message(plan)
        if fault is not None and fault.kind in ("drop", "hang_stream"):
            data = json_bytes(obj)
            head = self.head(200, [("Content-Type", "application/json"),
                                   ("Content-Length", str(len(data))), rid_header])
            if fault.kind == "hang_stream":  # headers, then silence
                self.write(head)
                self.hang_forever()
            self.write(head + data[: len(data) // 2])
            self.hard_close()
            return
        self.send_json(200, obj, [rid_header])

    def _stream(self, plan: Plan, body: Mapping[str, Any]) -> None:
        rid_header = ("x-request-id" if plan.wire == "openai" else "request-id", plan.rid)
        self.start_chunked([("Content-Type", "text/event-stream; charset=utf-8"),
                            ("Cache-Control", "no-cache"), rid_header])
        events: openai_wire.OpenAIEvents | anthropic_wire.AnthropicEvents = (
            openai_wire.OpenAIEvents(plan, body) if plan.wire == "openai" else anthropic_wire.AnthropicEvents(plan))
        for payload in events.opening():
            self.event(payload)
        reply, fault = plan.reply, plan.fault
        if reply.keepalives:
            gap = reply.ttft / (reply.keepalives + 1)
            for i in range(reply.keepalives):
                self.pause(gap)
                self.event(events.keepalive(i))
            self.pause(gap)
        else:
            self.pause(reply.ttft)
        midstream = fault is not None and fault.kind in ("midstream_error", "drop", "hang_stream")
        for sent, (kind, piece) in enumerate(plan.chunks):
            if fault is not None and midstream and sent >= fault.after_chunks:
                break
            if sent:
                self.pause(reply.per_token)
            for payload in events.chunk(kind, piece):
                self.event(payload)
        if fault is not None and midstream:
            if fault.kind == "midstream_error":
                self.event(events.error(fault.message))
                self.event(b"")  # zero-length chunk: a clean end of the HTTP body, no [DONE]
                self.flush()
            elif fault.kind == "drop":  # no terminating chunk: the client sees a truncated body
                self.flush()
                self.hard_close()
            else:
                i = 0
                while True:
                    self.pause(HANG_KEEPALIVE_S)
                    self.event(events.keepalive(i))
                    i += 1
            return
        for payload in events.closing():
            self.event(payload)
        if fault is not None and fault.kind == "linger":  # the answer is whole, the body never ends
            i = 0
            while True:  # pause() flushes, and ends this reply (Abort) when the server stops
                self.pause(HANG_KEEPALIVE_S)
                self.event(events.keepalive(i))
                i += 1
        self.event(b"")
        self.flush()
