"""The CLI driven as a user would: real config files, a real fake server on loopback, a real archive."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import fake_config, scripted_config, write_user_config
from symposia.archive import Archive
from symposia.cli.main import cli
from symposia.testing import FakeServer, Fault, Reply

PLANTED = "sk-or-v1-PLANTEDPLANTEDPLANTED0000"


def fake_voice_config(home: Path, base_url: str) -> None:
    fake_config(home, base_url, [("sage", "fake/sage-1", "Sage One", "Sage")])


def scripted_oracle(home: Path, replies: str) -> None:
    scripted_config(home, replies, [("oracle", "oracle-1", "The Oracle", "Oracle")])


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_ask_scripted_streams_stores_and_log_shows_it(isolated_user_dirs: Path, runner: CliRunner) -> None:
    scripted_oracle(isolated_user_dirs, '[default]\nreplies = ["The gap is the altar."]\n')
    res = runner.invoke(cli, ["ask", "oracle", "What is the gap?"])
    assert res.exit_code == 0, res.output
    assert "The gap is the altar." in res.stdout
    assert "stored as turn 1" in res.stderr
    db = isolated_user_dirs / "data" / "archive.db"
    assert str(db) in res.stderr
    with Archive.open(db) as a:
        (turn,) = a.recent_turns(5)
        assert turn.result.text == "The gap is the altar."
        assert [m.content for m in turn.request.messages] == ["What is the gap?"]
        assert a.get_session(turn.session_id).status == "complete"

    log = runner.invoke(cli, ["log", "-n", "1"])
    assert log.exit_code == 0 and "The gap is the altar." in log.stdout and "The Oracle" in log.stdout
    as_json = json.loads(runner.invoke(cli, ["log", "--json"]).stdout)
    assert as_json[0]["result"]["text"] == "The gap is the altar."
    show = runner.invoke(cli, ["show", "1"])
    assert show.exit_code == 0 and "What is the gap?" in show.stdout


def test_ask_reads_question_from_stdin_and_json_output(isolated_user_dirs: Path, runner: CliRunner) -> None:
    scripted_oracle(isolated_user_dirs, '[default]\nreplies = [{ text = "stdin ok", match = "piped" }]\n')
    res = runner.invoke(cli, ["ask", "oracle", "--json"], input="a piped question\n")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["result"]["text"] == "stdin ok"
    assert data["request"]["messages"][0]["content"] == "a piped question"


def test_archive_option_and_env(isolated_user_dirs: Path, runner: CliRunner, tmp_path: Path) -> None:
    scripted_oracle(isolated_user_dirs, '[default]\nreplies = ["here"]\n')
    target = tmp_path / "elsewhere.db"
    assert runner.invoke(cli, ["--archive", str(target), "ask", "oracle", "q"]).exit_code == 0
    env_target = tmp_path / "env.db"
    assert runner.invoke(cli, ["ask", "oracle", "q"], env={"SYMPOSIA_ARCHIVE": str(env_target)}).exit_code == 0
    for db in (target, env_target):
        with Archive.open(db) as a:
            assert len(a.recent_turns(5)) == 1


def test_unknown_voice_suggests_close_names(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["ask", "qwne", "hi"])
    assert res.exit_code == 2
    assert "qwen" in res.stderr and "Traceback" not in res.output


def test_missing_key_names_env_var_and_config(isolated_user_dirs: Path, runner: CliRunner) -> None:
    res = runner.invoke(cli, ["ask", "qwen", "hi"])
    assert res.exit_code == 2
    assert "OPENROUTER_API_KEY" in res.stderr
    assert str(isolated_user_dirs / "config" / "keys.toml") in res.stderr


def test_broken_config_names_file_and_line(isolated_user_dirs: Path, runner: CliRunner) -> None:
    cfg = write_user_config(isolated_user_dirs, '[voices.sage]\nprovider = "openrouter"\nmodel = "x"\nname = "S"\n'
                                          'colour = "blue"\n')
    res = runner.invoke(cli, ["voices"])
    assert res.exit_code == 2
    assert f"{cfg}:5" in res.stderr and "colour" in res.stderr


def test_ask_through_fake_openai_server(isolated_user_dirs: Path, runner: CliRunner) -> None:
    with FakeServer() as srv:
        fake_voice_config(isolated_user_dirs, srv.openai_base_url)
        srv.enqueue(Reply(text="Resonance, not coincidence.", reasoning="thinking hard", cost=0.0012))
        res = runner.invoke(cli, ["ask", "sage", "Why converge?", "-t", "0.3", "--max-tokens", "99",
                                  "-s", "Be brief."], env={"FAKE_API_KEY": PLANTED})
        assert res.exit_code == 0, res.output
        assert "Resonance, not coincidence." in res.stdout
        body = srv.requests[-1].body
        assert body["temperature"] == 0.3 and body["max_tokens"] == 99
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    with Archive.open(isolated_user_dirs / "data" / "archive.db") as a:
        turn = a.recent_turns(1)[0]
    r = turn.result
    assert r.reasoning == "thinking hard" and r.text == "Resonance, not coincidence."
    assert r.model_requested == "fake/sage-1" and r.model_reported == "fake/sage-1-2026-01"
    assert r.usage.cost == pytest.approx(0.0012) and r.usage.completion_tokens
    assert turn.request.system == "Be brief."


def test_failed_call_is_recorded_and_reported_without_key(isolated_user_dirs: Path, runner: CliRunner) -> None:
    with FakeServer() as srv:
        fake_voice_config(isolated_user_dirs, srv.openai_base_url)
        srv.enqueue(Reply(fault=Fault("http_401", message=f"invalid key {PLANTED}")))
        res = runner.invoke(cli, ["ask", "sage", "hello"], env={"FAKE_API_KEY": PLANTED})
        assert srv.request_count == 1  # 401 is final: never retried
    assert res.exit_code == 1
    assert "sage" in res.stderr and "failed" in res.stderr
    assert PLANTED not in res.output
    log = runner.invoke(cli, ["log", "--json"], env={"FAKE_API_KEY": PLANTED}).stdout
    assert PLANTED not in log
    data = json.loads(log)
    assert data[0]["result"]["error"]["status"] == 401
    for fmt in ("md", "json"):
        exported = runner.invoke(cli, ["export", data[0]["session_id"], "-f", fmt], env={"FAKE_API_KEY": PLANTED})
        assert exported.exit_code == 0 and "401" in exported.stdout and PLANTED not in exported.stdout
    db = isolated_user_dirs / "data" / "archive.db"
    for f in db.parent.iterdir():
        assert PLANTED.encode() not in f.read_bytes(), f


def test_empty_answer_is_flagged(isolated_user_dirs: Path, runner: CliRunner) -> None:
    with FakeServer() as srv:
        fake_voice_config(isolated_user_dirs, srv.openai_base_url)
        srv.enqueue(Reply(fault=Fault("reasoning_only"), reasoning="all thought, no answer"))
        res = runner.invoke(cli, ["ask", "sage", "hello"], env={"FAKE_API_KEY": "k-123456"})
    assert res.exit_code == 0
    assert "flagged: empty" in res.stderr and "flagged: truncated" in res.stderr
    with Archive.open(isolated_user_dirs / "data" / "archive.db") as a:
        assert set(a.recent_turns(1)[0].result.flags) >= {"empty", "reasoning_only", "truncated"}


def test_voices_and_presets_listing(isolated_user_dirs: Path, runner: CliRunner) -> None:
    res = runner.invoke(cli, ["voices", "--json"], env={"OPENROUTER_API_KEY": PLANTED})
    assert res.exit_code == 0
    rows = {r["voice"]: r for r in json.loads(res.stdout)}
    assert rows["qwen"]["usable"] is True and rows["qwen"]["model"] == "qwen/qwen3-max"
    assert rows["opus"]["name"].startswith("Claude Opus")
    assert PLANTED not in res.stdout
    res = runner.invoke(cli, ["voices"])
    assert "OPENROUTER_API_KEY" in res.stdout  # says why a cloud voice is not usable
    show = runner.invoke(cli, ["voices", "show", "kimi"])
    assert show.exit_code == 0 and "moonshotai/kimi-k2-0905" in show.stdout and "Threshold" in show.stdout
    presets = runner.invoke(cli, ["presets"])
    assert "The Seven Voices" in presets.stdout and "glm47" in presets.stdout


def test_kill_9_during_streaming_leaves_archive_consistent(isolated_user_dirs: Path, tmp_path: Path) -> None:
    """A run killed mid-stream keeps every finished turn intact; the interrupted one is absent."""
    db = tmp_path / "crash.db"
    env = {**os.environ, "FAKE_API_KEY": "k-abcdef", "SYMPOSIA_ARCHIVE": str(db)}
    cmd = [sys.executable, "-m", "symposia", "ask", "sage"]
    with FakeServer() as srv:
        fake_voice_config(isolated_user_dirs, srv.openai_base_url)
        srv.enqueue(Reply(text="first answer, complete"))
        done = subprocess.run([*cmd, "first"], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        srv.enqueue(Reply(text="word " * 400, per_token=0.02, chunk_chars=5))
        proc = subprocess.Popen([*cmd, "second"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        first_bytes = proc.stdout.read(10)  # the answer has started streaming
        assert b"word" in first_bytes
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    with Archive.open(db) as a:
        turns = a.recent_turns(10)
        assert [t.result.text for t in turns] == ["first answer, complete"]
        sessions = a.list_sessions()
        assert len(sessions) == 2
        interrupted = [s for s in sessions if s.id != turns[0].session_id][0]
        assert interrupted.status == "running"  # marked as never finished; `symposia log` shows no partial turn
