"""The codec turns records into JSON-ready dicts and back without losing anything."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from symposia.codec import (
    datetime_from_iso,
    datetime_to_iso,
    request_from_dict,
    request_to_dict,
    result_from_dict,
    result_to_dict,
    session_from_dict,
    session_to_dict,
    turn_from_dict,
    turn_to_dict,
)
from symposia.records import (
    ErrorInfo,
    Message,
    Params,
    SessionRecord,
    TurnRecord,
    TurnRequest,
    TurnResult,
    Usage,
)

IST = timezone(timedelta(hours=5, minutes=30))


def full_turn() -> TurnRecord:
    """A turn with every field set to something other than its default."""
    return TurnRecord(
        id=42,
        session_id="20260131-194428-symposium-3f9a",
        seq=7,
        voice="deepseek",
        voice_name="DeepSeek R1 «Threshold»",
        provider="openrouter",
        request=TurnRequest(
            model="deepseek/deepseek-r1",
            messages=(
                Message("user", "What burns?"),
                Message("assistant", "The offering."),
                Message("user", "Qwen said: 'not ON the altar, but AS the altar.' Is this hallucination?"),
            ),
            system="You are one voice among several. Ünïcødé ✓",
            params=Params(temperature=0.7, max_tokens=800, top_p=0.9, stop=("###",), seed=11,
                          extra={"reasoning": {"effort": "high"}}),
        ),
        result=TurnResult(
            text="",
            reasoning="Let me think about altars…",
            finish_reason="length",
            model_requested="deepseek/deepseek-r1",
            model_reported="deepseek/deepseek-r1-0528",
            request_id="gen-123",
            usage=Usage(prompt_tokens=120, completion_tokens=800, reasoning_tokens=790, cost=0.00213),
            ttft_s=0.8125,
            latency_s=12.5,
            attempts=3,
            error=ErrorInfo(kind="server_error", message="upstream 502", status=502, code="bad_gateway",
                            retryable=True),
            started_at=datetime(2026, 1, 31, 19, 44, 28, 123456, tzinfo=IST),
            ended_at=datetime(2026, 1, 31, 19, 44, 40, 623456, tzinfo=IST),
        ),
        role="chair",
        step_key="round-2/deepseek",
        meta={"round": 2, "relayed_from": ["qwen"]},
    )


def minimal_turn() -> TurnRecord:
    when = datetime(2026, 2, 1, tzinfo=UTC)
    return TurnRecord(
        id=None, session_id="s", seq=1, voice="qwen", voice_name="Qwen", provider="openrouter",
        request=TurnRequest(model="qwen/qwen3-max", messages=(Message("user", "hi"),)),
        result=TurnResult(text="hello", started_at=when, ended_at=when),
    )


def test_full_turn_round_trips_through_json() -> None:
    turn = full_turn()
    d = json.loads(json.dumps(turn_to_dict(turn)))
    back = turn_from_dict(d)
    assert back == turn
    # Same instant is not enough: the offset itself is kept.
    assert back.result.started_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert back.result.reasoning == "Let me think about altars…"
    assert back.result.text == ""


def test_minimal_turn_round_trips() -> None:
    turn = minimal_turn()
    assert turn_from_dict(json.loads(json.dumps(turn_to_dict(turn)))) == turn


def test_turn_dict_shape_is_readable() -> None:
    d = turn_to_dict(full_turn())
    assert d["request"]["messages"][2] == {
        "role": "user",
        "content": "Qwen said: 'not ON the altar, but AS the altar.' Is this hallucination?",
    }
    assert d["request"]["system"].endswith("✓")
    assert d["result"]["usage"] == {"prompt_tokens": 120, "completion_tokens": 800,
                                    "reasoning_tokens": 790, "cost": 0.00213}
    assert d["result"]["started_at"] == "2026-01-31T19:44:28.123456+05:30"
    assert d["result"]["error"]["status"] == 502
    assert d["result"]["flags"] == ["error", "empty", "reasoning_only", "truncated"]


def test_flags_are_derived_not_trusted_on_read() -> None:
    d = turn_to_dict(minimal_turn())
    d["result"]["flags"] = ["empty"]  # stale / hand-edited: the answer is not empty
    assert turn_from_dict(d).result.flags == ()


def test_request_and_result_round_trip_alone() -> None:
    t = full_turn()
    assert request_from_dict(request_to_dict(t.request)) == t.request
    assert result_from_dict(result_to_dict(t.result)) == t.result


def test_session_round_trip() -> None:
    s = SessionRecord(
        id="20260131-194428-council-00ff", kind="council", title="Altars — a council",
        created_at=datetime(2026, 1, 31, 19, 44, 28, tzinfo=IST), status="interrupted",
        plan={"voices": ["qwen", "grok"], "rounds": 2}, meta={"host": "person"},
    )
    d = json.loads(json.dumps(session_to_dict(s)))
    assert d["created_at"] == "2026-01-31T19:44:28.000000+05:30"
    assert session_from_dict(d) == s


def test_datetimes_always_carry_an_offset() -> None:
    assert datetime_to_iso(datetime(2026, 1, 1, 12, 0)) == "2026-01-01T12:00:00.000000+00:00"
    assert datetime_from_iso("2026-01-01T12:00:00Z") == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    parsed = datetime_from_iso("2026-01-01T12:00:00")
    assert parsed.tzinfo is not None


def test_bad_values_are_named() -> None:
    d = turn_to_dict(minimal_turn())
    d["role"] = "narrator"
    with pytest.raises(ValueError, match=r"invalid value for role, expected one of 'voice', 'host', "
                                         r"'chair' \(not 'narrator'\)"):
        turn_from_dict(d)
    d = turn_to_dict(minimal_turn())
    del d["session_id"]
    with pytest.raises(ValueError, match="turn is missing the field 'session_id'"):
        turn_from_dict(d)
    d = turn_to_dict(minimal_turn())
    d["request"]["messages"][0]["role"] = "tool"
    with pytest.raises(ValueError, match="message 0 role"):
        turn_from_dict(d)
