"""Anthropic's Message Batches API on the fake server: ``/v1/messages/batches`` and its JSONL results.

A batch is created with its requests inline (``{"custom_id", "params"}``); request counts stay
"processing" until the whole batch ends (as documented); the results stream lists every request with
``succeeded`` (the message), ``errored``, ``canceled`` or ``expired``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from symposia.testing import anthropic_wire
from symposia.testing.batches import BatchJob, BatchService, page
from symposia.testing.transport import Connection, json_bytes

__all__ = ["handle"]

_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def handle(conn: Connection, service: BatchService, base_url: str, method: str, parts: list[str],
           query: Mapping[str, list[str]], raw: bytes) -> bool:
    """Serve ``/v1/messages/batches…`` (``parts`` follow ``v1/messages``); False: not ours."""
    if not parts or parts[0] != "batches":
        return False
    rest = parts[1:]
    problem = anthropic_wire.auth_problem(conn.lower_headers())
    if problem is not None:
        _error(conn, 401, "authentication_error", problem)
    elif method == "POST" and not rest:
        _create(conn, service, base_url, raw)
    elif method == "GET" and not rest:
        jobs, more = page(service.jobs("anthropic"), query, "after_id", "before_id")
        data = [_batch_object(j, base_url) for j in jobs]
        conn.send_json(200, {"data": data, "has_more": more, "first_id": data[0]["id"] if data else None,
                             "last_id": data[-1]["id"] if data else None})
    elif rest and (job := service.get(rest[0])) is not None and job.wire == "anthropic":
        _one(conn, service, base_url, method, job, rest[1:])
    else:
        _error(conn, 404, "not_found_error", f"No message batch with id {rest[0] if rest else ''!r}.")
    return True


def _error(conn: Connection, status: int, kind: str, message: str) -> None:
    conn.send_json(status, {"type": "error", "error": {"type": kind, "message": message}})


def _one(conn: Connection, service: BatchService, base_url: str, method: str, job: BatchJob,
         rest: list[str]) -> None:
    now = time.monotonic()
    if method == "GET" and not rest:
        conn.send_json(200, _batch_object(job, base_url))
    elif method == "POST" and rest == ["cancel"]:
        service.cancel(job.id)
        conn.send_json(200, _batch_object(job, base_url))
    elif method == "GET" and rest == ["results"]:
        if job.state(now) != "ended":
            _error(conn, 400, "invalid_request_error",
                   f"Message batch {job.id} is still processing; results are available once it has ended.")
            return
        lines = [json_bytes({"custom_id": item.custom_id, "result": _result(job, item, now)})
                 for item in job.items]
        conn.send_bytes(200, b"\n".join(lines) + b"\n", "application/binary")
    elif method == "DELETE" and not rest:
        if job.state(now) != "ended":
            _error(conn, 400, "invalid_request_error", "A batch must end before it can be deleted; cancel it first.")
            return
        conn.send_json(200, {"id": job.id, "type": "message_batch_deleted"})
    else:
        _error(conn, 404, "not_found_error", f"no route for {method} /v1/messages/batches/{job.id}/{'/'.join(rest)}")


def _result(job: BatchJob, item: Any, now: float) -> dict[str, Any]:
    state = job.item_state(item, now)
    if state == "succeeded":
        return {"type": "succeeded", "message": anthropic_wire.message(item.plan)}
    if state == "errored":
        return {"type": "errored",
                "error": anthropic_wire.error_body(item.error_kind, item.error_message, item.plan.rid)}
    return {"type": state}  # "canceled" | "expired"


def _create(conn: Connection, service: BatchService, base_url: str, raw: bytes) -> None:
    max_requests, max_bytes = service.settings.limits("anthropic")
    if len(raw) > max_bytes:
        _error(conn, 413, "request_too_large", f"Request exceeds the maximum size of {max_bytes} bytes.")
        return
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    items = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        _error(conn, 400, "invalid_request_error", "requests: a non-empty list of requests is required")
        return
    if len(items) > max_requests:
        _error(conn, 400, "invalid_request_error",
               f"requests: {len(items)} requests exceed the limit of {max_requests} per batch")
        return
    requests: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        custom_id = item.get("custom_id") if isinstance(item, dict) else None
        if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
            _error(conn, 400, "invalid_request_error",
                   f"requests.{i}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$")
            return
        if custom_id in seen:
            _error(conn, 400, "invalid_request_error",
                   f"requests.{i}.custom_id: duplicate custom_id {custom_id!r}; each must be unique")
            return
        problem = anthropic_wire.body_problem(item.get("params"))
        if problem is not None:
            _error(conn, 400, "invalid_request_error", f"requests.{i}.params.{problem}")
            return
        seen.add(custom_id)
        requests.append((custom_id, item["params"]))
    job = service.create("anthropic", requests, prefix="msgbatch_")
    if service.drop_create_response():
        conn.hard_close()  # created, but the client never hears of it
        return
    conn.send_json(200, _batch_object(job, base_url))


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _batch_object(job: BatchJob, base_url: str) -> dict[str, Any]:
    now = time.monotonic()
    state = job.state(now)
    ended = state == "ended"
    counts = job.counts(now)
    if not ended:  # documented: requests move out of "processing" only once the whole batch ends
        counts = {"processing": len(job.items), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    status = "ended" if ended else ("canceling" if state == "cancelling" else "in_progress")
    end = job.ended_at()
    return {
        "id": job.id, "type": "message_batch", "processing_status": status,
        "request_counts": counts,
        "ended_at": _rfc3339(job.wall(end)) if ended and end is not None else None,
        "created_at": _rfc3339(job.created_wall),
        "expires_at": _rfc3339(job.wall(job.expires_at)),
        "cancel_initiated_at": _rfc3339(job.wall(job.cancel_at)) if job.cancel_at is not None else None,
        "archived_at": None,
        "results_url": f"{base_url}/v1/messages/batches/{job.id}/results" if ended else None,
    }
