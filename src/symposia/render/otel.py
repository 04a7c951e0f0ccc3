"""A session as OpenTelemetry traces: OTLP-JSON following the GenAI semantic conventions.

One trace per session. The root span is the workflow (``invoke_workflow symposia.<kind>``,
``gen_ai.conversation.id`` = the session id); each model call is a child ``chat {model}`` span
with the request and response model, token usage, finish reason, cost and error. Message content
(``gen_ai.input.messages``, ``gen_ai.output.messages``, ``gen_ai.system_instructions``) is added
only when asked for: traces often go to shared collectors.

The output is what an OTLP/HTTP exporter would POST to ``/v1/traces`` as JSON
(``ExportTraceServiceRequest``): ids are hex, times are nanosecond strings, span kind CLIENT.
Ids are derived from the session and turn ids, so exporting twice gives the same trace.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from symposia.records import SessionRecord, TurnRecord
from symposia.redact import redact
from symposia.version import __version__

__all__ = ["otel_trace"]

_SPAN_KIND_INTERNAL = 1
_SPAN_KIND_CLIENT = 3
_STATUS_OK = 1
_STATUS_ERROR = 2


def _hex_id(text: str, nbytes: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[: nbytes * 2]


def _nanos(dt: datetime) -> str:
    return str(int(dt.timestamp() * 1_000_000) * 1000)


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}  # int64 is a string in OTLP-JSON
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list | tuple):
        return {"arrayValue": {"values": [_value(x) for x in v]}}
    return {"stringValue": str(v)}


def _attributes(items: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in items.items() if v is not None]


def _chat_span(turn: TurnRecord, trace_id: str, parent: str, content: bool) -> dict[str, Any]:
    req, res = turn.request, turn.result
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": turn.provider,
        "gen_ai.request.model": req.model,
        "gen_ai.response.model": res.model_reported,
        "gen_ai.response.id": res.request_id,
        "gen_ai.response.finish_reasons": [res.finish_reason],
        "gen_ai.request.temperature": req.params.temperature,
        "gen_ai.request.max_tokens": req.params.max_tokens,
        "gen_ai.request.top_p": req.params.top_p,
        "gen_ai.request.seed": req.params.seed,
        "gen_ai.usage.input_tokens": res.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": res.usage.completion_tokens,
        "gen_ai.conversation.id": turn.session_id,
        "symposia.voice": turn.voice,
        "symposia.voice_name": turn.voice_name,
        "symposia.role": turn.role,
        "symposia.step_key": turn.step_key,
        "symposia.turn_id": turn.id,
        "symposia.attempts": res.attempts,
        "symposia.cost": res.usage.cost,
        "symposia.ttft_s": res.ttft_s,
    }
    if res.error is not None:
        attrs["error.type"] = res.error.kind
    if content:
        if req.system:
            attrs["gen_ai.system_instructions"] = json.dumps(
                [{"type": "text", "content": redact(req.system)}], ensure_ascii=False)
        attrs["gen_ai.input.messages"] = json.dumps(
            [{"role": m.role, "parts": [{"type": "text", "content": redact(m.content)}]} for m in req.messages],
            ensure_ascii=False)
        attrs["gen_ai.output.messages"] = json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": redact(res.text)}],
              "finish_reason": res.finish_reason}], ensure_ascii=False)
    status: dict[str, Any] = {"code": _STATUS_OK}
    if res.error is not None:
        status = {"code": _STATUS_ERROR, "message": redact(res.error.message)}
    key = f"{turn.session_id}/turn/{turn.id if turn.id is not None else turn.seq}"
    return {
        "traceId": trace_id,
        "spanId": _hex_id(key, 8),
        "parentSpanId": parent,
        "name": f"chat {req.model}",
        "kind": _SPAN_KIND_CLIENT,
        "startTimeUnixNano": _nanos(res.started_at),
        "endTimeUnixNano": _nanos(res.ended_at),
        "attributes": _attributes(attrs),
        "status": status,
    }


def otel_trace(session: SessionRecord, turns: Sequence[TurnRecord], *,
               include_content: bool = False) -> dict[str, Any]:
    """The session as an OTLP-JSON ``ExportTraceServiceRequest``."""
    ordered = sorted(turns, key=lambda t: t.seq)
    trace_id = _hex_id(f"{session.id}/trace", 16)
    root_id = _hex_id(f"{session.id}/root", 8)
    start = min([session.created_at, *(t.result.started_at for t in ordered)])
    end = max([session.created_at, *(t.result.ended_at for t in ordered)])
    failed = [t for t in ordered if t.result.error is not None]
    root_attrs = {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.conversation.id": session.id,
        "symposia.session.kind": session.kind,
        "symposia.session.title": redact(session.title),
        "symposia.session.status": session.status,
        "symposia.calls": len(ordered),
        "symposia.calls_failed": len(failed),
    }
    root: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": root_id,
        "name": f"invoke_workflow symposia.{session.kind}",
        "kind": _SPAN_KIND_INTERNAL,
        "startTimeUnixNano": _nanos(start),
        "endTimeUnixNano": _nanos(end),
        "attributes": _attributes(root_attrs),
        "status": {"code": _STATUS_OK if session.status == "complete" else _STATUS_ERROR,
                   **({} if session.status == "complete" else {"message": f"session {session.status}"})},
    }
    spans = [root, *(_chat_span(t, trace_id, root_id, include_content) for t in ordered)]
    return {
        "resourceSpans": [{
            "resource": {"attributes": _attributes({"service.name": "symposia",
                                                     "service.version": __version__})},
            "scopeSpans": [{
                "scope": {"name": "symposia", "version": __version__},
                "spans": spans,
            }],
        }]
    }
