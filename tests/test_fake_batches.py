"""The fake server's batch APIs, driven by the official SDKs: OpenAI files + batches, Anthropic Message Batches."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symposia.testing import BatchSettings, FakeServer, Fault, Reply

KEY = "sk-test-batch-key"


@pytest.fixture(scope="module")
def shared() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def srv(shared: FakeServer) -> FakeServer:
    shared.reset()
    shared.default = Reply()
    return shared


@pytest.fixture(scope="module")
def oa(shared: FakeServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=shared.openai_base_url, api_key=KEY, max_retries=0, timeout=5)


@pytest.fixture(scope="module")
def an(shared: FakeServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=shared.anthropic_base_url, api_key=KEY, max_retries=0, timeout=5)


def oa_line(custom_id: str, text: str = "hello", model: str = "gpt-x") -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": text}]}}


def oa_submit(oa: openai.OpenAI, lines: list[dict[str, Any]]) -> Any:
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    f = oa.files.create(file=("in.jsonl", data), purpose="batch")
    assert f.purpose == "batch" and f.bytes == len(data)
    return oa.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h",
                             metadata={"symposia": "test"})


def oa_wait(oa: openai.OpenAI, batch_id: str, timeout: float = 10.0) -> Any:
    end = time.monotonic() + timeout
    while True:
        b = oa.batches.retrieve(batch_id)
        if b.status in ("completed", "failed", "expired", "cancelled"):
            return b
        assert time.monotonic() < end, f"batch still {b.status}"
        time.sleep(0.02)


def oa_lines(oa: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    return [json.loads(x) for x in oa.files.content(file_id).text.splitlines() if x.strip()]


def an_params(text: str = "hello", model: str = "claude-x") -> dict[str, Any]:
    return {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}]}


def an_wait(an: anthropic.Anthropic, batch_id: str, timeout: float = 10.0) -> Any:
    end = time.monotonic() + timeout
    while True:
        b = an.messages.batches.retrieve(batch_id)
        if b.processing_status == "ended":
            return b
        assert time.monotonic() < end
        time.sleep(0.02)


# -- OpenAI ----------------------------------------------------------------------------------------


def test_openai_batch_answers_each_request_from_the_script(srv: FakeServer, oa: openai.OpenAI) -> None:
    srv.enqueue(Reply(text="first answer"), Reply(text="second answer", finish_reason="length"))
    batch = oa_submit(oa, [oa_line("a"), oa_line("b"), oa_line("c")])
    assert batch.status in ("validating", "in_progress", "finalizing", "completed")
    done = oa_wait(oa, batch.id)
    assert done.status == "completed" and done.completed_at is not None
    assert done.request_counts is not None and done.request_counts.total == 3
    assert done.request_counts.completed == 3 and done.error_file_id is None
    out = {x["custom_id"]: x for x in oa_lines(oa, done.output_file_id)}
    assert set(out) == {"a", "b", "c"}
    a = out["a"]["response"]
    assert a["status_code"] == 200 and a["body"]["choices"][0]["message"]["content"] == "first answer"
    assert out["b"]["response"]["body"]["choices"][0]["finish_reason"] == "length"
    assert out["c"]["response"]["body"]["usage"]["prompt_tokens"] == 1
    assert srv.batch_submissions == [(batch.id, "a"), (batch.id, "b"), (batch.id, "c")]
    assert srv.request_count == 0  # no live call was made


def test_openai_partial_failures_go_to_the_error_file(srv: FakeServer, oa: openai.OpenAI) -> None:
    srv.enqueue(Reply(text="fine"), Reply(fault=Fault("http_400", message="bad prompt")),
                Reply(fault=Fault("midstream_error")))
    done = oa_wait(oa, oa_submit(oa, [oa_line("ok"), oa_line("bad"), oa_line("broken")]).id)
    assert done.status == "completed"
    assert done.request_counts.completed == 1 and done.request_counts.failed == 2
    errors = {x["custom_id"]: x for x in oa_lines(oa, done.error_file_id)}
    assert errors["bad"]["response"]["status_code"] == 400
    assert errors["bad"]["response"]["body"]["error"]["message"] == "bad prompt"
    assert errors["broken"]["response"]["status_code"] == 500
    assert [x["custom_id"] for x in oa_lines(oa, done.output_file_id)] == ["ok"]


def test_openai_expiry_keeps_what_finished(srv: FakeServer, oa: openai.OpenAI) -> None:
    srv.batch_settings = BatchSettings(processing_s=0.6, expire_after_s=0.3)
    done = oa_wait(oa, oa_submit(oa, [oa_line(f"r{i}") for i in range(6)]).id)
    assert done.status == "expired" and done.expired_at is not None
    ok = [x["custom_id"] for x in oa_lines(oa, done.output_file_id)]
    expired = [x for x in oa_lines(oa, done.error_file_id)]
    assert ok == ["r0", "r1", "r2"]
    assert [x["custom_id"] for x in expired] == ["r3", "r4", "r5"]
    assert all(x["response"] is None and x["error"]["code"] == "batch_expired" for x in expired)


def test_openai_cancel_stops_the_rest(srv: FakeServer, oa: openai.OpenAI) -> None:
    srv.batch_settings = BatchSettings(processing_s=30.0, cancelling_s=0.2)
    batch = oa_submit(oa, [oa_line(f"r{i}") for i in range(4)])
    cancelling = oa.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    done = oa_wait(oa, batch.id)
    assert done.status == "cancelled" and done.output_file_id is None
    assert {x["error"]["code"] for x in oa_lines(oa, done.error_file_id)} == {"batch_cancelled"}


@pytest.mark.parametrize(("lines", "code"), [
    ([oa_line("a"), oa_line("a")], "duplicate_custom_id"),
    ([oa_line("a", model="m1"), oa_line("b", model="m2")], "model_mismatch"),
    ([{"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {}}], "invalid_url"),
])
def test_openai_invalid_input_fails_the_batch(srv: FakeServer, oa: openai.OpenAI, lines: list[dict[str, Any]],
                                              code: str) -> None:
    done = oa_wait(oa, oa_submit(oa, lines).id)
    assert done.status == "failed" and done.failed_at is not None
    assert done.errors is not None and code in [e.code for e in done.errors.data or []]
    assert srv.batch_submissions == []


def test_openai_limits_are_enforced(srv: FakeServer, oa: openai.OpenAI) -> None:
    srv.batch_settings = BatchSettings(max_requests=2, max_bytes=1000)
    done = oa_wait(oa, oa_submit(oa, [oa_line(f"r{i}") for i in range(3)]).id)
    assert done.status == "failed" and done.errors is not None
    assert [e.code for e in done.errors.data or []] == ["too_many_requests"]
    with pytest.raises(openai.BadRequestError, match="too large"):
        oa.files.create(file=("in.jsonl", b"x" * 1001), purpose="batch")


def test_openai_list_pages_newest_first(srv: FakeServer, oa: openai.OpenAI) -> None:
    ids = [oa_submit(oa, [oa_line("a")]).id for _ in range(3)]
    first = oa.batches.list(limit=2)
    assert [b.id for b in first.data] == ids[::-1][:2] and first.has_more
    assert [b.id for b in oa.batches.list(limit=2)] == ids[::-1]  # the SDK follows the cursor


def test_openai_batch_requires_a_key(srv: FakeServer) -> None:
    r = httpx.get(srv.openai_base_url + "/batches", timeout=5)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


# -- Anthropic --------------------------------------------------------------------------------------


def test_anthropic_batch_results_stream(srv: FakeServer, an: anthropic.Anthropic) -> None:
    srv.batch_settings = BatchSettings(processing_s=0.2)
    srv.enqueue(Reply(text="one", reasoning="thinking it over"),
                Reply(fault=Fault("http_529")), Reply(text="three"))
    batch = an.messages.batches.create(requests=[
        {"custom_id": f"q{i}", "params": an_params()} for i in range(3)])  # type: ignore[misc]
    assert batch.processing_status == "in_progress" and batch.results_url is None
    assert batch.request_counts.processing == 3  # counts move only when the batch ends
    done = an_wait(an, batch.id)
    assert done.request_counts.succeeded == 2 and done.request_counts.errored == 1
    assert done.results_url is not None and done.ended_at is not None
    results = {r.custom_id: r.result for r in an.messages.batches.results(batch.id)}
    assert results["q0"].type == "succeeded"
    blocks = results["q0"].message.content  # type: ignore[union-attr]
    assert [b.type for b in blocks] == ["thinking", "text"] and blocks[1].text == "one"  # type: ignore[union-attr]
    assert results["q1"].type == "errored"
    assert results["q1"].error.error.type == "overloaded_error"  # type: ignore[union-attr]
    assert results["q2"].type == "succeeded"


def test_anthropic_results_before_the_end_are_refused(srv: FakeServer, an: anthropic.Anthropic) -> None:
    srv.batch_settings = BatchSettings(processing_s=30)
    batch = an.messages.batches.create(requests=[{"custom_id": "a", "params": an_params()}])  # type: ignore[misc]
    r = httpx.get(f"{srv.base_url}/v1/messages/batches/{batch.id}/results",
                  headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"}, timeout=5)
    assert r.status_code == 400 and "still processing" in r.json()["error"]["message"]


def test_anthropic_cancel_and_expiry(srv: FakeServer, an: anthropic.Anthropic) -> None:
    srv.batch_settings = BatchSettings(processing_s=30.0, cancelling_s=0.1)
    batch = an.messages.batches.create(requests=[
        {"custom_id": f"c{i}", "params": an_params()} for i in range(3)])  # type: ignore[misc]
    canceling = an.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    done = an_wait(an, batch.id)
    assert done.request_counts.canceled == 3
    assert {r.result.type for r in an.messages.batches.results(batch.id)} == {"canceled"}

    srv.batch_settings = BatchSettings(processing_s=0.4, expire_after_s=0.2)
    batch = an.messages.batches.create(requests=[
        {"custom_id": f"e{i}", "params": an_params()} for i in range(4)])  # type: ignore[misc]
    done = an_wait(an, batch.id)
    assert (done.request_counts.succeeded, done.request_counts.expired) == (2, 2)
    assert [r.result.type for r in an.messages.batches.results(batch.id)] == [
        "succeeded", "succeeded", "expired", "expired"]


@pytest.mark.parametrize(("requests", "status", "match"), [
    ([{"custom_id": "has space", "params": an_params()}], 400, "custom_id"),
    ([{"custom_id": "a", "params": an_params()}] * 2, 400, "duplicate"),
    ([{"custom_id": "a", "params": {"model": "m", "messages": []}}], 400, "max_tokens"),
    ([{"custom_id": f"n{i}", "params": an_params()} for i in range(3)], 400, "limit"),
    ([{"custom_id": "big", "params": an_params("word " * 200)}], 413, "maximum size"),
])
def test_anthropic_rejects_bad_batches(srv: FakeServer, requests: list[dict[str, Any]], status: int,
                                       match: str) -> None:
    srv.batch_settings = BatchSettings(max_requests=2, max_bytes=600)
    r = httpx.post(f"{srv.base_url}/v1/messages/batches", json={"requests": requests},
                   headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"}, timeout=5)
    assert r.status_code == status and match in r.json()["error"]["message"]
    assert srv.batch_submissions == []


def test_anthropic_list_follows_the_cursor(srv: FakeServer, an: anthropic.Anthropic) -> None:
    ids = [an.messages.batches.create(requests=[{"custom_id": "a", "params": an_params()}]).id  # type: ignore[misc]
           for _ in range(3)]
    assert [b.id for b in an.messages.batches.list(limit=2)] == ids[::-1]


@settings(deadline=None, max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 30), rate=st.sampled_from([0.0, 0.3, 1.0]))
def test_every_request_gets_exactly_one_result(srv: FakeServer, an: anthropic.Anthropic, n: int,
                                               rate: float) -> None:
    srv.reset()
    srv.batch_settings = BatchSettings(failure_rate=rate)
    batch = an.messages.batches.create(requests=[
        {"custom_id": f"r{i}", "params": an_params()} for i in range(n)])  # type: ignore[misc]
    done = an_wait(an, batch.id)
    results = list(an.messages.batches.results(batch.id))
    assert sorted(r.custom_id for r in results) == sorted(f"r{i}" for i in range(n))
    errored = sum(r.result.type == "errored" for r in results)
    assert done.request_counts.errored == errored and done.request_counts.succeeded == n - errored
    if rate in (0.0, 1.0):
        assert errored == n * rate
