"""Markdown views of recorded turns: the ``symposia log`` listing and the ``symposia show`` detail.

Pure functions from records to GFM text; nothing here reads the archive or writes to a terminal.
Everything a model or a user wrote is either blockquoted (answers: their Markdown still renders),
fenced verbatim (what a voice was sent) or escaped (names and error messages inline), so no
recorded text can break the structure around it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from symposia import markdown as md
from symposia.records import ErrorInfo, TurnRecord, TurnResult

__all__ = ["turn_detail_markdown", "turns_markdown"]

# -- small formatting pieces -----------------------------------------------------------------------


def _code(text: str | None) -> str:
    """An inline code span, or a dash for nothing."""
    return md.code(text) if text else "—"


def _when(dt: datetime, *, precise: bool = False) -> str:
    utc = dt.astimezone(UTC) if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    if precise:
        return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d} UTC"
    return utc.strftime("%Y-%m-%d %H:%M:%S UTC")


def _seconds(s: float) -> str:
    return f"{s:.2f} s"


def _cost(cost: float) -> str:
    # Plain decimal, never scientific notation: 1.2e-05 reads as 0.000012.
    return format(Decimal(repr(cost)), "f")


def _count(n: int | None) -> str:
    return "unknown" if n is None else f"{n:,}"


def _question(turn: TurnRecord) -> str | None:
    for m in reversed(turn.request.messages):
        if m.role == "user":
            return m.content
    return None


def _error_line(err: ErrorInfo) -> str:
    parts = [_code(err.kind)]
    if err.status is not None:
        parts.append(f"HTTP {err.status}")
    if err.code:
        parts.append(f"code {_code(err.code)}")
    if err.retryable:
        parts.append("retryable")
    return ", ".join(parts) + (f": {md.inline(err.message)}" if err.message else "")


def _usage_line(res: TurnResult) -> str:
    u = res.usage
    parts: list[str] = []
    if u.prompt_tokens is not None or u.completion_tokens is not None:
        tokens = f"{_count(u.prompt_tokens)} prompt, {_count(u.completion_tokens)} completion tokens"
        if u.reasoning_tokens is not None:
            tokens += f" ({_count(u.reasoning_tokens)} reasoning)"
        parts.append(tokens)
    if u.cost is not None:
        parts.append(f"cost {_cost(u.cost)}")
    if res.ttft_s is not None:
        parts.append(f"ttft {_seconds(res.ttft_s)}")
    parts.append(f"latency {_seconds(res.latency_s)}")
    if res.attempts != 1:
        parts.append(f"{res.attempts} attempts")
    return "*" + " · ".join(parts) + "*"


def _step(turn: TurnRecord) -> str:
    return f" · step {_code(turn.step_key)}" if turn.step_key else ""


def _model(turn: TurnRecord) -> str:
    reported = turn.result.model_reported
    line = _code(turn.request.model)
    if reported and reported != turn.request.model:
        line += f" (reported {_code(reported)})"
    return line


# -- the log listing -------------------------------------------------------------------------------


def _turn_summary(turn: TurnRecord) -> str:
    res = turn.result
    out = [
        f"## {md.inline(turn.voice_name)} — {_when(res.started_at)}",
        "",
        f"- **Turn:** {turn.id if turn.id is not None else '—'} · **Session:** {_code(turn.session_id)}"
        f" · seq {turn.seq}{_step(turn)}",
        f"- **Voice:** {_code(turn.voice)} ({turn.role}) · **Provider:** {_code(turn.provider)}",
        f"- **Model:** {_model(turn)}",
    ]
    if res.flags:
        out.append(f"- **Flags:** ⚠ {', '.join(res.flags)}")
    if res.error is not None:
        out.append(f"- **Error:** {_error_line(res.error)}")
    question = _question(turn)
    if question is not None and question.strip():
        out += ["", "**Question**", "", md.blockquote(question)]
    out += ["", "**Answer**", ""]
    if res.text.strip():
        out.append(md.blockquote(res.text))
    else:
        note = "*No answer text.*"
        if res.reasoning.strip():
            where = f"`symposia show {turn.id}`" if turn.id is not None else "the turn detail"
            note = f"*No answer text ({len(res.reasoning):,} characters of reasoning: see {where}).*"
        out.append(note)
    out += ["", _usage_line(res)]
    return "\n".join(out) + "\n"


def turns_markdown(turns: Sequence[TurnRecord]) -> str:
    """The ``symposia log`` view: one section per turn, in the order given."""
    return "\n".join(_turn_summary(t) for t in turns)


# -- the detail view -------------------------------------------------------------------------------


def turn_detail_markdown(turn: TurnRecord) -> str:
    """The ``symposia show ID`` view: everything recorded about one call."""
    req, res = turn.request, turn.result
    title = f"Turn {turn.id}" if turn.id is not None else "Turn"
    status = "error" if res.error is not None else ("flagged" if res.flags else "ok")
    out = [
        f"# {title} — {md.inline(turn.voice_name)}",
        "",
        f"- **Session:** {_code(turn.session_id)} · seq {turn.seq}{_step(turn)}",
        f"- **Voice:** {_code(turn.voice)} ({turn.role}) · **Provider:** {_code(turn.provider)}",
        f"- **Model requested:** {_code(req.model)}",
        f"- **Model reported:** {_code(res.model_reported)}",
        f"- **Request id:** {_code(res.request_id)}",
        f"- **Status:** {status}",
        *([f"- **Flags:** ⚠ {', '.join(res.flags)}"] if res.flags else []),
        f"- **Finish reason:** {res.finish_reason}",
        f"- **Attempts:** {res.attempts}",
        f"- **Started:** {_when(res.started_at, precise=True)}",
        f"- **Ended:** {_when(res.ended_at, precise=True)}",
        "",
        "## Usage",
        "",
        f"- **Prompt tokens:** {_count(res.usage.prompt_tokens)}",
        f"- **Completion tokens:** {_count(res.usage.completion_tokens)}",
        f"- **Reasoning tokens:** {_count(res.usage.reasoning_tokens)}",
        f"- **Cost:** {'unknown' if res.usage.cost is None else _cost(res.usage.cost)}",
        f"- **Time to first token:** {'unknown' if res.ttft_s is None else _seconds(res.ttft_s)}",
        f"- **Latency:** {_seconds(res.latency_s)}",
    ]
    if res.error is not None:
        err = res.error
        out += [
            "",
            "## Error",
            "",
            f"- **Kind:** {_code(err.kind)}",
            f"- **HTTP status:** {err.status if err.status is not None else '—'}",
            f"- **Code:** {_code(err.code)}",
            f"- **Retryable:** {'yes' if err.retryable else 'no'}",
            "",
            md.fence(err.message),
        ]
    params = req.params.to_dict()
    out += ["", "## Parameters", ""]
    out.append(md.fence(json.dumps(params, indent=2, ensure_ascii=False), "json") if params
               else "*None set: provider defaults.*")
    out += ["", "## System prompt", ""]
    out.append(md.fence(req.system) if req.system is not None else "*None.*")
    out += ["", f"## Messages ({len(req.messages)})"]
    for i, m in enumerate(req.messages, 1):
        out += ["", f"### {i} · {m.role}", "", md.fence(m.content)]
    out += ["", "## Reasoning", ""]
    out.append(md.blockquote(res.reasoning) if res.reasoning.strip() else "*None.*")
    out += ["", "## Answer", ""]
    out.append(md.blockquote(res.text) if res.text.strip() else "*No answer text.*")
    if turn.meta:
        out += ["", "## Meta", "", md.fence(json.dumps(turn.meta, indent=2, ensure_ascii=False), "json")]
    return "\n".join(out) + "\n"
