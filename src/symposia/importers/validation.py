"""What may be stored: imported records checked with pydantic before anything is written.

A file from outside can say anything: ``"prompt_tokens": "many"``, a ``null`` session id, an id
with ``/`` or a line break in it. Such a file is refused, naming the field, instead of being
stored and breaking ``log``/``show`` later. Two checks:

- :func:`check_export` reads our own JSON export (``symposia.transcript/1``) field by field;
- :func:`check_records` checks every session and turn record right before it is stored (types
  strict: an int is an int), whatever shape it came from.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError

from symposia.codec import session_to_dict, turn_to_dict
from symposia.importers.records import ImportError_
from symposia.records import SessionRecord, TurnRecord

__all__ = ["SESSION_ID", "check_export", "check_records", "check_session_id"]

SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$")  # no "/", "\\", spaces, CR/LF, and not ".."


def check_session_id(value: Any, where: str = "session.id") -> str:
    """A session id from outside, or ImportError_ saying what is wrong with it."""
    if not isinstance(value, str) or not value:
        raise ImportError_(f"{where}: a session id must be a non-empty string, not {value!r}")
    if not SESSION_ID.match(value) or ".." in value:
        raise ImportError_(f"{where}: {value!r} is not a safe session id (letters, digits and . _ : @ + - only, "
                           "no '..', at most 128 characters)")
    return value


SessionId = Annotated[StrictStr, Field(min_length=1, max_length=128)]
Number = StrictInt | StrictFloat


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Usage(_Model):
    prompt_tokens: StrictInt | None = None
    completion_tokens: StrictInt | None = None
    reasoning_tokens: StrictInt | None = None
    cost: Number | None = None


class _Message(_Model):
    role: Literal["system", "user", "assistant"]
    content: StrictStr


class _Request(_Model):
    model: StrictStr
    messages: list[_Message] = []
    system: StrictStr | None = None


class _Error(_Model):
    kind: StrictStr
    message: StrictStr


class _Result(_Model):
    text: StrictStr = ""
    usage: _Usage = _Usage()
    latency_s: Number | None = None
    ttft_s: Number | None = None
    attempts: StrictInt = 1
    error: _Error | None = None
    started_at: datetime
    ended_at: datetime


class _Turn(_Model):
    id: StrictInt | None = None
    seq: StrictInt
    voice: Annotated[StrictStr, Field(min_length=1)]
    voice_name: StrictStr | None = None
    provider: StrictStr
    role: Literal["voice", "host", "chair"] = "voice"
    step_key: StrictStr | None = None
    request: _Request
    result: _Result
    meta: dict[str, Any] = {}


class _Session(_Model):
    id: SessionId
    kind: Annotated[StrictStr, Field(min_length=1)]
    title: StrictStr = ""
    created_at: datetime
    status: Literal["running", "complete", "failed", "interrupted"] = "running"
    plan: dict[str, Any] = {}
    meta: dict[str, Any] = {}


class _Export(_Model):
    format: StrictStr
    session: _Session
    turns: list[_Turn] = []


def _where(err: Any) -> str:
    return ".".join(str(p) for p in err["loc"]) or "the file"


def _refuse(e: ValidationError, what: str) -> ImportError_:
    first = e.errors()[0]
    more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
    got = first.get("input")
    shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
    return ImportError_(f"{what}: field {_where(first)}: {first['msg']}{shown}{more}")


def check_export(data: dict[str, Any]) -> None:
    """Our JSON export, every field a reader relies on, typed; raises ImportError_ naming the field."""
    try:
        _Export.model_validate(data)
    except ValidationError as e:
        raise _refuse(e, "not a valid symposia transcript") from None
    check_session_id(data["session"]["id"])


def check_records(session: SessionRecord, turns: list[TurnRecord]) -> None:
    """Every record typed as the archive and ``log``/``show`` expect (the same check as an export
    read back: the records as they would be exported); raises ImportError_ naming turn and field."""
    check_session_id(session.id)
    try:
        _Session.model_validate(session_to_dict(session))
    except ValidationError as e:
        raise _refuse(e, "the session") from None
    for i, t in enumerate(turns, 1):
        try:
            _Turn.model_validate(turn_to_dict(t))
        except (ValidationError, AttributeError, TypeError) as e:
            if isinstance(e, ValidationError):
                raise _refuse(e, f"turn {i}") from None
            raise ImportError_(f"turn {i}: a field of the wrong type ({e})") from None
