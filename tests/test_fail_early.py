"""Fail before side effects: keys, voices and plans are resolved before a session row, a transcript or a paid
call exists. Each test here failed on the code before this rule (a session left `running`, an empty
`interrupted` session with a transcript and a resume hint that cannot work, paid calls before an unknown chair)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from support import fake_config
from symposia.api import Symposia, run_sync
from symposia.archive import Archive
from symposia.cli.main import cli
from symposia.dialogue.plan import parse_plan
from symposia.dialogue.symposium import run_symposium
from symposia.errors import MissingKeyError, UnknownVoiceError
from symposia.testing import FakeServer, Reply

VOICES = [("alpha", "fake/alpha", "Alpha 1", "Alpha"), ("beta", "fake/beta", "Beta 1", "Beta")]


def _nothing_written(home: Path) -> None:
    db = home / "data" / "archive.db"
    if db.exists():
        with Archive.open(db) as a:
            assert a.list_sessions() == []
    assert not (home / "data" / "transcripts").exists() or not any((home / "data" / "transcripts").iterdir())


def test_ask_without_a_key_writes_no_session(isolated_user_dirs: Path) -> None:
    res = CliRunner().invoke(cli, ["ask", "qwen", "hello"])
    assert res.exit_code == 2 and "OPENROUTER_API_KEY" in res.stderr
    _nothing_written(isolated_user_dirs)


def test_council_without_a_key_writes_no_session_no_transcript_and_suggests_no_resume(
        isolated_user_dirs: Path) -> None:
    res = CliRunner().invoke(cli, ["council", "What persists?", "-m", "qwen", "-m", "grok"])
    assert res.exit_code == 2 and "OPENROUTER_API_KEY" in res.stderr
    assert "Resume with" not in res.stderr and "transcript:" not in res.stderr
    _nothing_written(isolated_user_dirs)


def test_a_failing_council_does_not_report_an_earlier_session(isolated_user_dirs: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, VOICES)
        srv.enqueue(Reply(text="first"))
        assert CliRunner().invoke(cli, ["ask", "alpha", "q"]).exit_code == 0
    monkeypatch.delenv("FAKE_API_KEY")
    res = CliRunner().invoke(cli, ["council", "Q", "-m", "alpha", "-m", "beta"])
    assert res.exit_code == 2 and "FAKE_API_KEY" in res.stderr
    assert "Resume with" not in res.stderr  # the earlier `ask` session is not this council's
    with Archive.open(isolated_user_dirs / "data" / "archive.db") as a:
        assert [s.kind for s in a.list_sessions()] == ["ask"]


PLAN = '''title = "T"
voices = ["alpha", "beta"]

[[steps]]
kind = "blind_round"
question = "What persists?"

[[steps]]
kind = "chair"
voice = "{chair}"
'''


def test_a_plan_whose_chair_does_not_exist_makes_no_call(isolated_user_dirs: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    plan_file = isolated_user_dirs / "plan.toml"
    plan_file.write_text(PLAN.format(chair="nobody"), encoding="utf-8")
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, VOICES)
        res = CliRunner().invoke(cli, ["symposium", str(plan_file)])
        assert res.exit_code == 2 and "Unknown voice 'nobody'" in res.stderr
        assert srv.request_count == 0
        # the Python API too: nothing is paid for, nothing is stored
        with Symposia() as s, pytest.raises(UnknownVoiceError):
            run_sync(run_symposium(s.runtime, parse_plan(PLAN.format(chair="nobody"))))
        assert srv.request_count == 0
    _nothing_written(isolated_user_dirs)


def test_a_chair_without_a_key_stops_the_symposium_before_the_first_call(isolated_user_dirs: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    plan_file = isolated_user_dirs / "plan.toml"
    plan_file.write_text(PLAN.format(chair="opus"), encoding="utf-8")  # opus: Anthropic, whose key is unset
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, VOICES)
        res = CliRunner().invoke(cli, ["symposium", str(plan_file)])
        assert res.exit_code == 2 and "No API key" in res.stderr
        assert srv.request_count == 0
    _nothing_written(isolated_user_dirs)


def test_python_api_ask_without_a_key_raises_before_writing(isolated_user_dirs: Path) -> None:
    with Symposia() as s, pytest.raises(MissingKeyError):
        s.ask("qwen", "hello")
    _nothing_written(isolated_user_dirs)


@pytest.mark.parametrize("args", [
    ["arena", "qwen", "grok", "--turns", "2", "--topic", "What persists?"],
    ["study", "{prompts}", "--voices", "qwen,grok", "--samples", "1"],
    ["council", "What persists?", "-m", "alpha", "--chair", "qwen"],  # the chair's key is missing, not alpha's
], ids=["arena", "study", "council-chair"])
def test_other_sessions_without_a_key_write_nothing(args: list[str], isolated_user_dirs: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    prompts = isolated_user_dirs / "prompts.txt"
    prompts.write_text("What persists?\n", encoding="utf-8")
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, VOICES)
        res = CliRunner().invoke(cli, [a.format(prompts=prompts) for a in args])
        assert res.exit_code == 2 and "OPENROUTER_API_KEY" in res.stderr, res.output
        assert srv.request_count == 0
    _nothing_written(isolated_user_dirs)
