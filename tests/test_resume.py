"""`symposia resume ID` for every kind of session that can be resumed (council, symposium, arena, study):
the failed call is made again, the finished ones are not (nor paid for twice), and the session completes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from support import fake_config, numbered
from symposia.archive import Archive
from symposia.cli.main import cli
from symposia.testing import FakeServer, Fault, Reply

PLAN = '''title = "Two asks"
voices = ["alpha", "beta"]
[[steps]]
kind = "ask"
voice = "alpha"
question = "What persists?"
[[steps]]
kind = "ask"
voice = "beta"
question = "What changes?"
'''


def _start(kind: str, home: Path) -> list[str]:
    """The command that starts a session of ``kind`` with alpha and beta."""
    if kind == "council":
        return ["council", "What persists?", "-m", "alpha", "-m", "beta"]
    if kind == "symposium":
        plan = home / "plan.toml"
        plan.write_text(PLAN, encoding="utf-8")
        return ["symposium", str(plan)]
    if kind == "arena":
        return ["arena", "alpha", "beta", "--turns", "2", "--topic", "What persists?"]
    prompts = home / "prompts.txt"
    prompts.write_text("What persists between two conversations?\n", encoding="utf-8")
    return ["study", str(prompts), "--voices", "alpha,beta", "--samples", "1", "--concurrency", "1"]


@pytest.mark.parametrize("kind", ["council", "symposium", "arena", "study"])
def test_resume_makes_only_the_failed_call_again(kind: str, isolated_user_dirs: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    runner = CliRunner()
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(["alpha", "beta"]))
        srv.default = Reply(text="An answer about what persists and what changes.")
        srv.enqueue(Reply(fault=Fault("http_400", message="bad request")), model="fake/beta")  # final: not retried
        runner.invoke(cli, _start(kind, isolated_user_dirs))
        made = srv.request_count
        with Archive.open(isolated_user_dirs / "data" / "archive.db") as a:
            (session,) = a.list_sessions()
            failed = [t for t in a.session_turns(session.id) if not t.result.ok]
        assert session.kind == kind and [t.voice for t in failed] == ["beta"]

        res = runner.invoke(cli, ["resume", session.id])
        assert res.exit_code == 0, res.output
        assert srv.request_count == made + 1  # the failed call, and only it
        assert srv.requests[-1].model == "fake/beta"
    with Archive.open(isolated_user_dirs / "data" / "archive.db") as a:
        after = a.get_session(session.id)
        by_step: dict[str | None, bool] = {}
        for t in a.session_turns(session.id):  # oldest first: the last turn of a step is its outcome
            by_step[t.step_key] = t.result.ok
    assert after.status == "complete" and all(by_step.values())


def test_resume_of_a_session_that_cannot_be_resumed_exits_2(isolated_user_dirs: Path) -> None:
    CliRunner().invoke(cli, ["ask", "qwen", "hi"])  # no key: nothing is stored
    res = CliRunner().invoke(cli, ["resume", "no-such-session"])
    assert res.exit_code == 2 and "no session" in res.stderr
