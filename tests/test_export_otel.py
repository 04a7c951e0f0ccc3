"""`export -f otel`: a council as OTLP-JSON spans that OpenTelemetry's own protobuf schema accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from support import fake_config, numbered
from symposia.cli.main import cli
from symposia.testing import FakeServer, Fault, Reply

VOICES = ("alpha", "beta", "gamma")
KEY = "k-fake-otel-PLANTED-123456"


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", KEY)


def _attrs(span: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in span.attributes:
        kind = kv.value.WhichOneof("value")
        value = getattr(kv.value, kind)
        if kind == "array_value":
            value = [getattr(v, v.WhichOneof("value")) for v in value.values]
        out[kv.key] = value
    return out


def _council(home: Path, srv: FakeServer, archive: Path) -> str:
    fake_config(home, srv.openai_base_url, numbered(VOICES), max_attempts=1)
    srv.enqueue(Reply(text="Alpha: the gap is generative."), model="fake/alpha")
    srv.enqueue(Reply(text=f"Beta repeats a secret: {KEY}"), model="fake/beta")
    srv.enqueue(Reply(fault=Fault("http_400", message="bad request")), model="fake/gamma")
    result = CliRunner().invoke(cli, ["--archive", str(archive), "council", "What persists?",
                                      "-m", "alpha", "-m", "beta", "-m", "gamma"])
    assert result.exit_code in (0, 1), result.output
    sessions = CliRunner().invoke(cli, ["--archive", str(archive), "log", "--json", "-n", "5"])
    return str(json.loads(sessions.output)[0]["session_id"])


def _export(archive: Path, session_id: str, *extra: str) -> tuple[str, ExportTraceServiceRequest]:
    result = CliRunner().invoke(cli, ["--archive", str(archive), "export", session_id, "-f", "otel", *extra])
    assert result.exit_code == 0, result.output
    # The proto schema is the judge: unknown fields or wrong types make Parse raise.
    return result.output, Parse(result.output, ExportTraceServiceRequest())


def test_a_council_exports_as_genai_spans(isolated_user_dirs: Path, tmp_path: Path) -> None:
    archive = tmp_path / "a.db"
    with FakeServer() as srv:
        session_id = _council(isolated_user_dirs, srv, archive)
    text, request = _export(archive, session_id)
    spans = request.resource_spans[0].scope_spans[0].spans
    root, calls = spans[0], spans[1:]
    assert len(calls) == 3
    assert _attrs(root)["gen_ai.conversation.id"] == session_id
    assert {c.parent_span_id for c in calls} == {root.span_id}
    assert {c.trace_id for c in spans} == {root.trace_id}
    by_voice = {_attrs(c)["symposia.voice"]: c for c in calls}
    alpha = _attrs(by_voice["alpha"])
    assert by_voice["alpha"].name == "chat fake/alpha"
    assert alpha["gen_ai.operation.name"] == "chat"
    assert alpha["gen_ai.request.model"] == "fake/alpha"
    assert alpha["gen_ai.usage.output_tokens"] > 0
    assert alpha["gen_ai.response.finish_reasons"] == ["stop"]
    gamma = by_voice["gamma"]
    assert gamma.status.code == 2 and _attrs(gamma)["error.type"]
    assert by_voice["alpha"].end_time_unix_nano >= by_voice["alpha"].start_time_unix_nano > 0
    # No content unless asked for.
    assert "gen_ai.input.messages" not in alpha and "generative" not in text
    # Exporting twice gives the same trace.
    assert _export(archive, session_id)[0] == text


def test_content_only_when_asked_and_never_a_key(isolated_user_dirs: Path, tmp_path: Path) -> None:
    archive = tmp_path / "a.db"
    with FakeServer() as srv:
        session_id = _council(isolated_user_dirs, srv, archive)
    text, request = _export(archive, session_id, "--include-content")
    calls = request.resource_spans[0].scope_spans[0].spans[1:]
    alpha = next(_attrs(c) for c in calls if _attrs(c)["symposia.voice"] == "alpha")
    assert json.loads(alpha["gen_ai.input.messages"])[0]["parts"][0]["content"] == "What persists?"
    out = json.loads(alpha["gen_ai.output.messages"])
    assert out[0]["parts"][0]["content"] == "Alpha: the gap is generative."
    assert KEY not in text


def test_dash_writes_to_standard_output(isolated_user_dirs: Path, tmp_path: Path) -> None:
    archive = tmp_path / "a.db"
    with FakeServer() as srv:
        session_id = _council(isolated_user_dirs, srv, archive)
    result = CliRunner().invoke(cli, ["--archive", str(archive), "export", session_id, "-o", "-"])
    assert result.exit_code == 0
    assert "What persists?" in result.output
    assert not (Path.cwd() / "-").exists()
