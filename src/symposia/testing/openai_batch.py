"""OpenAI's Batch API on the fake server: ``/v1/files`` and ``/v1/batches`` with their objects and files.

Input is a JSONL file uploaded with ``purpose=batch`` (one ``{"custom_id", "method", "url", "body"}``
per line, one model per file); results come back as an output file (successes) and an error file
(failed, expired and cancelled requests), each line keyed by ``custom_id``.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

from symposia.testing import openai_wire
from symposia.testing.batches import BatchJob, BatchService, page
from symposia.testing.script import HTTP_FAULTS
from symposia.testing.transport import Connection, json_bytes

__all__ = ["handle"]

ENDPOINT = "/v1/chat/completions"
_finalize_lock = threading.Lock()
_STATUS = {"validating": "validating", "in_progress": "in_progress", "finalizing": "finalizing",
           "cancelling": "cancelling"}


def handle(conn: Connection, service: BatchService, method: str, parts: list[str],
           query: Mapping[str, list[str]], raw: bytes) -> bool:
    """Serve ``/v1/files…`` and ``/v1/batches…`` (``parts`` follow the ``v1`` segment); False: not ours."""
    if not parts or parts[0] not in ("files", "batches"):
        return False
    problem = openai_wire.auth_problem(conn.lower_headers())
    if problem is not None:
        _error(conn, 401, problem, "invalid_api_key")
    elif parts[0] == "files":
        _files(conn, service, method, parts[1:], raw)
    else:
        _batches(conn, service, method, parts[1:], query, raw)
    return True


def _error(conn: Connection, status: int, message: str, code: str = "invalid_request",
           param: str | None = None) -> None:
    kind = "invalid_request_error" if status != 404 else "not_found_error"
    conn.send_json(status, {"error": {"message": message, "type": kind, "param": param, "code": code}})


# -- files ---------------------------------------------------------------------------------------


def _file_object(file_id: str, purpose: str, filename: str, data: bytes, created: float) -> dict[str, Any]:
    return {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(created),
            "filename": filename, "purpose": purpose, "status": "processed", "status_details": None,
            "expires_at": None}


def _files(conn: Connection, service: BatchService, method: str, rest: list[str], raw: bytes) -> None:
    if method == "POST" and not rest:
        form = _multipart(conn.headers.get("Content-Type", ""), raw)
        if form is None or "file" not in form or "purpose" not in form:
            _error(conn, 400, "send multipart/form-data with the fields 'file' and 'purpose'", param="file")
            return
        purpose = form["purpose"][1].decode()
        filename, data = form["file"][0] or "upload.jsonl", form["file"][1]
        _, max_bytes = service.settings.limits("openai")
        if purpose == "batch" and len(data) > max_bytes:
            _error(conn, 400, f"File is too large: {len(data)} bytes; the batch limit is {max_bytes} bytes.",
                   code="file_too_large", param="file")
            return
        file_id = service.put_file(purpose, filename, data)
        conn.send_json(200, _file_object(file_id, purpose, filename, data, time.time()))
        return
    stored = service.file(rest[0]) if rest else None
    if stored is None:
        _error(conn, 404, f"No such File object: {rest[0] if rest else ''}", code="not_found")
        return
    if method == "GET" and len(rest) == 2 and rest[1] == "content":
        conn.send_bytes(200, stored[2], "application/octet-stream")
    elif method == "GET" and len(rest) == 1:
        conn.send_json(200, _file_object(rest[0], *stored))
    elif method == "DELETE" and len(rest) == 1:
        service.delete_file(rest[0])
        conn.send_json(200, {"id": rest[0], "object": "file", "deleted": True})
    else:
        _error(conn, 404, f"no route for {method} /v1/files/{'/'.join(rest)}", code="not_found")


def _multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]] | None:
    """``name -> (filename, bytes)`` of a multipart/form-data body, or None when it is not one."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw)
    if not message.is_multipart():
        return None
    out: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            out[name] = (part.get_filename(), payload)
    return out


# -- batches -------------------------------------------------------------------------------------


def _batches(conn: Connection, service: BatchService, method: str, rest: list[str],
             query: Mapping[str, list[str]], raw: bytes) -> None:
    if method == "POST" and not rest:
        _create(conn, service, raw)
    elif method == "GET" and not rest:
        jobs, more = page(service.jobs("openai"), query, "after")
        data = [_batch_object(service, j) for j in jobs]
        conn.send_json(200, {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                             "last_id": data[-1]["id"] if data else None, "has_more": more})
    elif rest and (job := service.get(rest[0])) is not None and job.wire == "openai":
        if method == "GET" and len(rest) == 1:
            conn.send_json(200, _batch_object(service, job))
        elif method == "POST" and rest[1:] == ["cancel"]:
            service.cancel(job.id)
            conn.send_json(200, _batch_object(service, job))
        else:
            _error(conn, 404, f"no route for {method} /v1/batches/{'/'.join(rest)}", code="not_found")
    else:
        _error(conn, 404, f"No batch found with id '{rest[0] if rest else ''}'.", code="not_found")


def _create(conn: Connection, service: BatchService, raw: bytes) -> None:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        _error(conn, 400, "The request body must be a JSON object.")
        return
    if body.get("endpoint") != ENDPOINT:
        _error(conn, 400, f"endpoint: the fake server batches only {ENDPOINT}", param="endpoint")
        return
    if body.get("completion_window") != "24h":
        _error(conn, 400, "completion_window: only '24h' is supported", param="completion_window")
        return
    file_id = body.get("input_file_id")
    stored = service.file(file_id) if isinstance(file_id, str) else None
    if stored is None or stored[0] != "batch":
        _error(conn, 400, f"input_file_id: no file {file_id!r} with purpose 'batch'", param="input_file_id")
        return
    requests, errors = _parse_input(stored[2], service.settings.limits("openai")[0])
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    job = service.create("openai", requests, prefix="batch_", validation_errors=errors,
                         endpoint=ENDPOINT, input_file_id=file_id, metadata=dict(metadata or {}))
    if service.drop_create_response():
        conn.hard_close()  # created, but the client never hears of it
        return
    conn.send_json(200, _batch_object(service, job))


def _parse_input(data: bytes, max_requests: int) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
    """The requests of an input file, or validation errors (line numbers from 1) that fail the batch."""
    requests: list[tuple[str, dict[str, Any]]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    models: set[str] = set()

    def bad(line: int, code: str, message: str, param: str | None = None) -> None:
        errors.append({"code": code, "line": line, "message": message, "param": param})

    for n, text in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError:
            bad(n, "invalid_json_line", "This line is not parseable as valid JSON.")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("custom_id"), str):
            bad(n, "missing_required_parameter", "custom_id is required", "custom_id")
            continue
        if obj.get("method") != "POST" or obj.get("url") != ENDPOINT:
            bad(n, "invalid_url", f"method must be POST and url {ENDPOINT}", "url")
            continue
        problem = openai_wire.body_problem(obj.get("body"))
        if problem is not None:
            bad(n, "invalid_request", problem, "body")
            continue
        if obj["custom_id"] in seen:
            bad(n, "duplicate_custom_id", "The custom_id for this request is a duplicate of another request. "
                "The custom_id parameter must be unique for each request in a batch.", "custom_id")
            continue
        seen.add(obj["custom_id"])
        models.add(obj["body"]["model"])
        requests.append((obj["custom_id"], obj["body"]))
    if len(models) > 1:
        bad(0, "model_mismatch", f"The batch input file contains {len(models)} models; use one model per batch.",
            "body.model")
    if len(requests) > max_requests:
        bad(0, "too_many_requests", f"The batch input file has {len(requests)} requests; "
            f"the limit is {max_requests}.")
    if not requests and not errors:
        bad(0, "empty_file", "The batch input file is empty.")
    return ([] if errors else requests), errors


def _batch_object(service: BatchService, job: BatchJob) -> dict[str, Any]:
    now = time.monotonic()
    state = job.state(now)
    ended = job.ended_at()
    counts = job.counts(now)
    status = job.ending() if state == "ended" else _STATUS[state]
    if state == "ended":
        _finalize(service, job, now)

    def at(t: float | None, reached: bool = True) -> int | None:
        return int(job.wall(t)) if t is not None and reached and t <= now else None

    ending = job.ending() if ended is not None else None
    total = len(job.items)
    return {
        "id": job.id, "object": "batch", "endpoint": job.endpoint,
        "errors": {"object": "list", "data": job.validation_errors} if job.validation_errors else None,
        "input_file_id": job.input_file_id, "completion_window": "24h", "status": status,
        "output_file_id": job.output_file_id, "error_file_id": job.error_file_id,
        "created_at": int(job.created_wall),
        "in_progress_at": at(job.in_progress_at, not job.validation_errors),
        "expires_at": int(job.wall(job.expires_at)),
        "finalizing_at": at(job.processed_at, ending == "completed"),
        "completed_at": at(ended, ending == "completed"),
        "failed_at": at(ended, ending == "failed"),
        "expired_at": at(ended, ending == "expired"),
        "cancelling_at": at(job.cancel_at),
        "cancelled_at": at(ended, ending == "cancelled"),
        "request_counts": {"total": total, "completed": counts["succeeded"],
                           "failed": counts["errored"] + counts["expired"] + counts["canceled"]},
        "metadata": job.metadata or None,
    }


def _finalize(service: BatchService, job: BatchJob, now: float) -> None:
    """Write the output and error files of an ended job, once."""
    with _finalize_lock:
        if job.output_file_id is not None or job.error_file_id is not None or job.validation_errors:
            return
        out: list[bytes] = []
        err: list[bytes] = []
        for item in job.items:
            line: dict[str, Any] = {"id": "batch_req_" + secrets.token_hex(12), "custom_id": item.custom_id}
            state = job.item_state(item, now)
            if state == "succeeded":
                body = openai_wire.completion(item.plan, item.plan.text, item.plan.finish)
                line.update(response={"status_code": 200, "request_id": item.plan.rid, "body": body}, error=None)
                out.append(json_bytes(line))
                continue
            if state == "errored" and item.error_kind is not None:
                status = HTTP_FAULTS[item.error_kind][0]
                line.update(response={"status_code": status, "request_id": item.plan.rid,
                                      "body": openai_wire.error_body(item.error_kind, item.error_message)},
                            error=None)
            elif state == "expired":
                line.update(response=None, error={"code": "batch_expired", "message": "This request could not "
                                                  "be executed before the completion window expired."})
            else:
                line.update(response=None, error={"code": "batch_cancelled", "message": "This request was not "
                                                  "executed because the batch was cancelled."})
            err.append(json_bytes(line))
        if out:
            job.output_file_id = service.put_file("batch_output", f"{job.id}_output.jsonl", b"\n".join(out) + b"\n")
        if err:
            job.error_file_id = service.put_file("batch_output", f"{job.id}_error.jsonl", b"\n".join(err) + b"\n")
