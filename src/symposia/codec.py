"""Lossless conversion between records and plain JSON-ready dicts.

One shape serves the JSON export, the archive's JSON columns and anything else that needs a record
as data. Datetimes become ISO-8601 strings that always carry their UTC offset; ``flags`` are written
(so a JSON reader sees them) but recomputed on the way back, since they derive from the result.
Pure functions: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from symposia.records import (
    DERIVED_FLAGS,
    ErrorInfo,
    FinishReason,
    Message,
    Params,
    Role,
    SessionRecord,
    TurnRecord,
    TurnRequest,
    TurnResult,
    Usage,
)

__all__ = [
    "datetime_from_iso",
    "datetime_to_iso",
    "error_from_dict",
    "messages_from_list",
    "request_from_dict",
    "request_to_dict",
    "result_from_dict",
    "result_to_dict",
    "session_from_dict",
    "session_to_dict",
    "turn_from_dict",
    "turn_to_dict",
    "usage_from_dict",
]

TurnRole = Literal["voice", "host", "chair"]
SessionStatus = Literal["running", "complete", "incomplete", "failed", "interrupted"]
TURN_ROLES: tuple[str, ...] = get_args(TurnRole)
SESSION_STATUSES: tuple[str, ...] = get_args(SessionStatus)
_FINISH_REASONS: tuple[str, ...] = get_args(FinishReason)
_MESSAGE_ROLES: tuple[str, ...] = get_args(Role)

# -- datetimes -------------------------------------------------------------------------------------


def datetime_to_iso(dt: datetime) -> str:
    """ISO-8601 with microseconds and offset. A naive datetime is taken to be UTC (never stored bare)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.isoformat(timespec="microseconds")


def datetime_from_iso(text: str) -> datetime:
    """Parse what :func:`datetime_to_iso` wrote (also accepts ``Z``); a string without offset is UTC."""
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


# -- helpers ---------------------------------------------------------------------------------------


def _need(d: Mapping[str, Any], key: str, what: str) -> Any:
    try:
        return d[key]
    except KeyError:
        raise ValueError(f"{what} is missing the field {key!r}") from None


def _choice(value: Any, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        expected = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"invalid value for {field}, expected one of {expected} (not {value!r})")
    return cast(str, value)


# -- request ---------------------------------------------------------------------------------------


def request_to_dict(req: TurnRequest) -> dict[str, Any]:
    """What was sent: model, system prompt, messages (roles and exact text) and params."""
    return {
        "model": req.model,
        "system": req.system,
        "messages": [m.to_dict() for m in req.messages],
        "params": req.params.to_dict(),
    }


def messages_from_list(items: list[Any]) -> tuple[Message, ...]:
    """Messages from ``[{"role": ..., "content": ...}, ...]``, checking each role."""
    out: list[Message] = []
    for i, m in enumerate(items):
        role = _choice(_need(m, "role", f"message {i}"), _MESSAGE_ROLES, f"message {i} role")
        out.append(Message(role=cast(Role, role), content=str(_need(m, "content", f"message {i}"))))
    return tuple(out)


def request_from_dict(d: Mapping[str, Any]) -> TurnRequest:
    return TurnRequest(
        model=str(_need(d, "model", "request")),
        messages=messages_from_list(list(d.get("messages", []))),
        system=d.get("system"),
        params=Params.from_dict(dict(d.get("params") or {})),
    )


# -- result ----------------------------------------------------------------------------------------


def result_to_dict(res: TurnResult) -> dict[str, Any]:
    """What came back, with ``flags`` included for readers (they are derived, not stored state)."""
    return {
        "text": res.text,
        "reasoning": res.reasoning,
        "finish_reason": res.finish_reason,
        "model_requested": res.model_requested,
        "model_reported": res.model_reported,
        "request_id": res.request_id,
        "usage": res.usage.to_dict(),
        "ttft_s": res.ttft_s,
        "latency_s": res.latency_s,
        "attempts": res.attempts,
        "error": res.error.to_dict() if res.error is not None else None,
        "started_at": datetime_to_iso(res.started_at),
        "ended_at": datetime_to_iso(res.ended_at),
        "flags": list(res.flags),
    }


def error_from_dict(d: Mapping[str, Any]) -> ErrorInfo:
    return ErrorInfo(
        kind=str(_need(d, "kind", "error")),
        message=str(_need(d, "message", "error")),
        status=d.get("status"),
        code=d.get("code"),
        retryable=bool(d.get("retryable", False)),
    )


def usage_from_dict(d: Mapping[str, Any]) -> Usage:
    return Usage(
        prompt_tokens=d.get("prompt_tokens"),
        completion_tokens=d.get("completion_tokens"),
        reasoning_tokens=d.get("reasoning_tokens"),
        cost=d.get("cost"),
    )


def result_from_dict(d: Mapping[str, Any]) -> TurnResult:
    finish = _choice(d.get("finish_reason", "unknown"), _FINISH_REASONS, "finish_reason")
    err = d.get("error")
    latency = d.get("latency_s")
    return TurnResult(
        text=str(d.get("text", "")),
        reasoning=str(d.get("reasoning", "")),
        finish_reason=cast(FinishReason, finish),
        model_requested=str(d.get("model_requested", "")),
        model_reported=d.get("model_reported"),
        request_id=d.get("request_id"),
        usage=usage_from_dict(d.get("usage") or {}),
        ttft_s=d.get("ttft_s"),
        latency_s=float(latency) if latency is not None else 0.0,
        attempts=int(d.get("attempts", 1)),
        error=error_from_dict(err) if err is not None else None,
        started_at=datetime_from_iso(str(_need(d, "started_at", "result"))),
        ended_at=datetime_from_iso(str(_need(d, "ended_at", "result"))),
        marks=tuple(str(f) for f in d.get("flags") or () if f not in DERIVED_FLAGS),
    )


# -- turn ------------------------------------------------------------------------------------------


def turn_to_dict(turn: TurnRecord) -> dict[str, Any]:
    """One model call as plain data: who, what they saw (``request``), what came back (``result``)."""
    return {
        "id": turn.id,
        "session_id": turn.session_id,
        "seq": turn.seq,
        "step_key": turn.step_key,
        "role": turn.role,
        "voice": turn.voice,
        "voice_name": turn.voice_name,
        "provider": turn.provider,
        "request": request_to_dict(turn.request),
        "result": result_to_dict(turn.result),
        "meta": dict(turn.meta),
    }


def turn_from_dict(d: Mapping[str, Any]) -> TurnRecord:
    role = _choice(d.get("role", "voice"), TURN_ROLES, "role")
    return TurnRecord(
        id=d.get("id"),
        session_id=str(_need(d, "session_id", "turn")),
        seq=int(_need(d, "seq", "turn")),
        voice=str(_need(d, "voice", "turn")),
        voice_name=str(d.get("voice_name", d["voice"])),
        provider=str(_need(d, "provider", "turn")),
        request=request_from_dict(_need(d, "request", "turn")),
        result=result_from_dict(_need(d, "result", "turn")),
        role=cast(TurnRole, role),
        step_key=d.get("step_key"),
        meta=dict(d.get("meta") or {}),
    )


# -- session ---------------------------------------------------------------------------------------


def session_to_dict(s: SessionRecord) -> dict[str, Any]:
    return {
        "id": s.id,
        "kind": s.kind,
        "title": s.title,
        "created_at": datetime_to_iso(s.created_at),
        "status": s.status,
        "plan": dict(s.plan),
        "meta": dict(s.meta),
    }


def session_from_dict(d: Mapping[str, Any]) -> SessionRecord:
    status = _choice(d.get("status", "running"), SESSION_STATUSES, "status")
    return SessionRecord(
        id=str(_need(d, "id", "session")),
        kind=str(_need(d, "kind", "session")),
        title=str(d.get("title", "")),
        created_at=datetime_from_iso(str(_need(d, "created_at", "session"))),
        status=cast(SessionStatus, status),
        plan=dict(d.get("plan") or {}),
        meta=dict(d.get("meta") or {}),
    )
