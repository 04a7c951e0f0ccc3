"""What a command prints and how it exits when calls fail, retry or are asked for nonsense."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import fake_config
from symposia.archive import Archive
from symposia.cli.main import cli
from symposia.testing import FakeServer, Fault, Reply

KEY = "k-outcomes-123456"


def _voices(home: Path, srv: FakeServer, attempts: int = 3, extra: str = "") -> None:
    fake_config(home, srv.openai_base_url, [("sage", "fake/sage-1", "Sage One", "Sage"),
                                            ("muse", "fake/muse-1", "Muse One", "Muse")], max_attempts=attempts,
                extra=extra)


def _retried_answer(srv: FakeServer, partial: str = "PARTIAL ") -> None:
    """A reply that fails mid-stream after showing some text, then the real answer on the retry."""
    srv.enqueue(Reply(text=partial * 30, chunk_chars=8, fault=Fault("midstream_error", after_chunks=12)),
                Reply(text="The real answer."))


def _on_a_terminal(args: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[int, str]:
    """Run ``symposia ARGS`` with its stdout on a pseudo-terminal (stdin piped); its exit code and
    everything it wrote to the terminal."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "symposia", *args], env=env, stdout=follower,
                            stderr=subprocess.PIPE, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
    os.close(follower)
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin.encode())
        proc.stdin.close()
    shown = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(leader)
    return proc.returncode, shown.decode("utf-8", "replace")


def _assert_erased(text: str) -> None:
    partial_end = text.rfind("PARTIAL")
    assert partial_end >= 0, text  # the failed attempt was shown as it streamed ...
    erase = text.find("\x1b[J", partial_end)
    assert erase > partial_end  # ... then erased, cursor moved up over its rows first
    assert "\x1b[1A" in text[partial_end:erase] or "A\x1b[J" in text[partial_end:erase + 3]
    assert "The real answer." in text[erase:] and "PARTIAL" not in text[erase:]


def test_piped_ask_after_a_midstream_failure_prints_only_the_final_answer(isolated_user_dirs: Path) -> None:
    env = {**os.environ, "FAKE_API_KEY": KEY}
    with FakeServer() as srv:
        _voices(isolated_user_dirs, srv)
        srv.enqueue(Reply(text="PARTIAL-ATTEMPT " * 20, chunk_chars=4, fault=Fault("midstream_error", after_chunks=6)),
                    Reply(text="The real answer."))
        done = subprocess.run([sys.executable, "-m", "symposia", "ask", "sage", "q?"], env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "The real answer.\n"  # `ask ... > file` holds exactly the answer
    assert "retrying (attempt 2)" in done.stderr


def test_tty_ask_erases_the_failed_attempts_text(isolated_user_dirs: Path) -> None:
    env = {**os.environ, "FAKE_API_KEY": KEY, "COLUMNS": "60", "TERM": "xterm"}
    with FakeServer() as srv:
        _voices(isolated_user_dirs, srv)
        _retried_answer(srv)
        code, text = _on_a_terminal(["ask", "sage", "q?"], env)
    assert code == 0
    _assert_erased(text)


def test_piped_chat_after_a_midstream_failure_prints_only_the_final_answer(isolated_user_dirs: Path) -> None:
    env = {**os.environ, "FAKE_API_KEY": KEY}
    with FakeServer() as srv:
        _voices(isolated_user_dirs, srv)
        _retried_answer(srv)
        srv.enqueue(Reply(text="The second answer."))
        done = subprocess.run([sys.executable, "-m", "symposia", "chat", "sage"], input="q?\nand then?\n",
                              env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "The real answer.\nThe second answer.\n"  # only the answers that stand
    assert "retrying (attempt 2)" in done.stderr


def test_tty_chat_erases_the_failed_attempts_text(isolated_user_dirs: Path) -> None:
    env = {**os.environ, "FAKE_API_KEY": KEY, "COLUMNS": "60", "TERM": "xterm"}
    with FakeServer() as srv:
        _voices(isolated_user_dirs, srv)
        _retried_answer(srv)
        code, text = _on_a_terminal(["chat", "sage"], env, stdin="q?\n")
    assert code == 0
    _assert_erased(text)


def test_council_exits_1_when_every_voice_failed(isolated_user_dirs: Path) -> None:
    with FakeServer() as srv:
        _voices(isolated_user_dirs, srv, attempts=1)
        srv.default = Reply(fault=Fault("http_400"))
        res = CliRunner().invoke(cli, ["council", "Q?", "-m", "sage", "-m", "muse"], env={"FAKE_API_KEY": KEY})
    assert res.exit_code == 1, res.output
    assert "(failed)" in res.stderr


def test_council_exits_0_when_one_voice_answered(isolated_user_dirs: Path) -> None:
    with FakeServer() as srv:
        _voices(isolated_user_dirs, srv, attempts=1)
        srv.enqueue(Reply(fault=Fault("http_400")), model="fake/sage-1")
        res = CliRunner().invoke(cli, ["council", "Q?", "-m", "sage", "-m", "muse"], env={"FAKE_API_KEY": KEY})
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("args", [["--max-tokens", "-5"], ["--max-tokens", "0"], ["-t", "-0.5"]])
@pytest.mark.parametrize("verb", [["ask", "sage", "q?"], ["council", "q?", "-m", "sage"]])
def test_negative_limits_are_usage_errors(isolated_user_dirs: Path, verb: list[str], args: list[str]) -> None:
    with FakeServer() as srv:
        _voices(isolated_user_dirs, srv)
        res = CliRunner().invoke(cli, [*verb, *args], env={"FAKE_API_KEY": KEY})
        assert srv.request_count == 0
    assert res.exit_code == 2 and "Invalid value" in res.stderr


def test_every_attempt_is_recorded_and_latency_covers_the_whole_call(isolated_user_dirs: Path) -> None:
    with FakeServer() as srv:
        _voices(isolated_user_dirs, srv)
        srv.enqueue(Reply(text="x" * 40, chunk_chars=4, fault=Fault("midstream_error", after_chunks=3)),
                    Reply(fault=Fault("http_503", retry_after=1.0)),
                    Reply(text="final", ttft=0.2))
        res = CliRunner().invoke(cli, ["ask", "sage", "q?", "--json"], env={"FAKE_API_KEY": KEY})
    assert res.exit_code == 0, res.output
    turn = json.loads(res.stdout)
    log = turn["meta"]["attempts"]
    assert [a["status"] for a in log] == ["error", "error", "ok"]
    assert [a["attempt"] for a in log] == [1, 2, 3]
    assert log[0]["kind"] == "stream_error" and log[0]["bytes_streamed"] == 12
    assert log[1]["http_status"] == 503 and log[1]["bytes_streamed"] == 0
    assert all(a["started_at"] <= a["ended_at"] for a in log)
    assert log[0]["ended_at"] <= log[1]["started_at"] <= log[2]["started_at"]
    r = turn["result"]
    assert r["attempts"] == 3
    assert r["started_at"] <= log[0]["started_at"] and r["ended_at"] >= log[2]["ended_at"]
    assert r["latency_s"] >= 1.0  # the Retry-After wait and every attempt are inside the turn's latency


def test_a_retry_after_beyond_30s_is_honoured_up_to_the_ceiling_and_said(isolated_user_dirs: Path) -> None:
    with FakeServer() as srv:
        _voices(isolated_user_dirs, srv, extra="max_retry_after = 40\n")
        srv.enqueue(Reply(fault=Fault("http_429", retry_after=45.0)))
        res = CliRunner().invoke(cli, ["ask", "sage", "q?"], env={"FAKE_API_KEY": KEY})
        assert srv.request_count == 1  # not hammered: 45 s is past this provider's 40 s ceiling
    assert res.exit_code == 1
    assert "retry after 45 s" in res.stderr and "max_retry_after" in res.stderr
    with Archive.open(isolated_user_dirs / "data" / "archive.db") as a:
        (turn,) = a.recent_turns(1)
        assert turn.result.error is not None and "45 s" in turn.result.error.message


def test_a_retry_after_wait_is_said(isolated_user_dirs: Path) -> None:
    with FakeServer() as srv:
        _voices(isolated_user_dirs, srv)
        srv.enqueue(Reply(fault=Fault("http_503", retry_after=1.2)), Reply(text="after the wait"))
        res = CliRunner().invoke(cli, ["ask", "sage", "q?"], env={"FAKE_API_KEY": KEY})
    assert res.exit_code == 0, res.output
    assert "waiting 1 s as the provider asked (Retry-After)" in res.stderr
    assert res.stdout == "after the wait\n"


def test_a_council_of_many_calls_summarises_usage_by_voice() -> None:
    from symposia.cli.live import PER_CALL_ROWS, usage_table
    from symposia.records import ErrorInfo, TurnRecord, TurnRequest, TurnResult, Usage

    def turn(i: int, voices: int = 5) -> TurnRecord:
        err = ErrorInfo(kind="server_error", message="x") if i % 10 == 0 else None
        return TurnRecord(id=i, session_id="s", seq=i, voice=f"v{i % voices}", voice_name="V", provider="fake",
                          request=TurnRequest(model="m", messages=()),
                          result=TurnResult(text="ok", usage=Usage(prompt_tokens=10, completion_tokens=5, cost=0.01),
                                            latency_s=1.0, error=err), step_key=f"r1:{i}")

    small = usage_table([turn(i, voices=PER_CALL_ROWS) for i in range(PER_CALL_ROWS)])
    assert small.row_count == PER_CALL_ROWS + 1  # one call a voice: one row a call, then the total
    rounds = usage_table([turn(i, voices=4) for i in range(12)])  # 4 voices, 3 calls each
    assert rounds.row_count == 4 + 1  # one row a voice, then the total
    assert list(rounds.columns[1].cells)[:4] == ["3"] * 4 and list(rounds.columns[2].cells)[0] == "[red]1[/]"
    big = usage_table([turn(i) for i in range(500)])
    assert big.row_count == 5 + 1  # one row a voice, then the total
    assert list(big.columns[1].cells)[-1] == "500" and list(big.columns[2].cells)[-1] == "50"
