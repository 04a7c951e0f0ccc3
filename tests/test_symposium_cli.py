"""`symposia symposium PLAN` end to end on the fake server: one plan with every step kind, what each voice was
sent (its visibility), what the record holds, the transcript written, and the dry run that calls nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from support import fake_config, numbered
from symposia.archive import Archive
from symposia.cli.main import cli
from symposia.dialogue.plan import load_plan
from symposia.testing import FakeServer, Reply

PLAN = '''title = "Every step"
voices = ["alpha", "beta"]
context = "We meet to ask what persists."

[host]
name = "The Host"

[[steps]]
id = "ask-alpha"
kind = "ask"
voice = "alpha"
sees = "blind"
question = "What persists, alpha?"

[[steps]]
id = "blind"
kind = "blind_round"
question = "What is the gap?"

[[steps]]
id = "again"
kind = "round"

[[steps]]
id = "chair"
kind = "chair"
voice = "gamma"
prompt = "Say where they agree."

[[steps]]
id = "noticed"
kind = "observe"
text = "Both return to the gap."

[[steps]]
id = "quotes"
kind = "formulations"
rows = [{ voice = "alpha", quote = "the gap holds" }]

[[steps]]
id = "summary"
kind = "synthesis"
title = "Two Voices"
rows = [{ voice = "alpha", role = "Holding", formulation = "the gap holds" },
        { label = "Beta", role = "Bridging", formulation = "a bridge of words" }]
revealed = ["the gap is shared"]
note = "A small council."

[[steps]]
id = "end"
kind = "closing"
text = "Until the next gap."
'''

ANSWERS = {
    "fake/alpha": ["Alpha persists: the gap holds.", "ALPHA-BLIND: the gap holds everything.",
                   "ALPHA-ROUND: beta builds a bridge; the gap holds."],
    "fake/beta": ["BETA-BLIND: a bridge of words.", "BETA-ROUND: alpha is right."],
    "fake/gamma": ["CHAIR: both hold the gap."],
}


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(PLAN, encoding="utf-8")
    return path


def test_every_step_kind_through_the_cli(isolated_user_dirs: Path, plan_file: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    out = isolated_user_dirs / "every-step.md"
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(["alpha", "beta", "gamma"]))
        for model, texts in ANSWERS.items():
            srv.enqueue(*(Reply(text=t) for t in texts), model=model)
        res = CliRunner().invoke(cli, ["symposium", str(plan_file), "-o", str(out)])
        assert res.exit_code == 0, res.output
        models = [r.model for r in srv.requests]
    # the ask, then each round's two calls side by side (in either order), then the chair
    assert models[0] == "fake/alpha" and models[5:] == ["fake/gamma"]
    assert sorted(models[1:3]) == sorted(models[3:5]) == ["fake/alpha", "fake/beta"]
    with Archive.open(isolated_user_dirs / "data" / "archive.db") as a:
        (session,) = a.list_sessions()
        turns = a.session_turns(session.id)
    assert session.kind == "symposium" and session.status == "complete"
    by_key = {t.step_key: t for t in turns}
    # host turns the plan writes, voice turns the steps call, in the order of the plan
    assert [t.step_key for t in turns if t.role == "host"] == [
        "context:context", "ask-alpha:question", "blind:question", "noticed:observation", "quotes:formulations",
        "summary:synthesis", "end:closing"]
    assert {k for k, t in by_key.items() if t.role == "voice"} == {
        "ask-alpha", "blind:alpha", "blind:beta", "again:alpha", "again:beta"}
    assert by_key["chair"].role == "chair" and by_key["chair"].voice == "gamma"

    def seen(key: str) -> str:
        return "\n".join(m.content for m in by_key[key].request.messages)

    # ask, sees = "blind": only the question
    assert by_key["ask-alpha"].request.messages[-1].content.endswith("What persists, alpha?")
    assert "We meet" not in seen("ask-alpha")
    # blind round: the same question to both, neither sees the other
    assert "What is the gap?" in seen("blind:alpha") and "What is the gap?" in seen("blind:beta")
    assert "ALPHA-BLIND" not in seen("blind:beta") and "BETA-BLIND" not in seen("blind:alpha")
    # round: each sees the other's previous answer, not its own as another's
    assert "BETA-BLIND" in seen("again:alpha") and "ALPHA-BLIND" in seen("again:beta")
    # chair: both answers of the last round and its prompt
    for words in ("ALPHA-ROUND", "BETA-ROUND", "Say where they agree."):
        assert words in seen("chair")
    # formulations and synthesis rows as the plan wrote them
    assert by_key["quotes:formulations"].meta["rows"][0]["quote"] == "the gap holds"
    assert by_key["summary:synthesis"].meta["revealed"] == ["the gap is shared"]
    transcript = out.read_text(encoding="utf-8")
    for text in ("We meet to ask what persists.", "Both return to the gap.", "Two Voices", "Until the next gap.",
                 "CHAIR: both hold the gap.", "the gap holds"):
        assert text in transcript


def test_dry_run_validates_and_calls_nothing(isolated_user_dirs: Path, plan_file: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(["alpha", "beta", "gamma"]))
        res = CliRunner().invoke(cli, ["symposium", str(plan_file), "--dry-run"])
        assert res.exit_code == 0, res.output
        assert srv.request_count == 0
    plan = load_plan(plan_file)
    for step in plan.steps:
        assert f"{step.id}: {step.kind}" in res.stdout
    assert "What persists, alpha?" in res.stdout
    db = isolated_user_dirs / "data" / "archive.db"
    if db.exists():
        with Archive.open(db) as a:
            assert a.list_sessions() == []


def test_a_broken_plan_names_its_line_and_exits_2(isolated_user_dirs: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(PLAN.replace('sees = "blind"', 'sees = "everything"'), encoding="utf-8")
    res = CliRunner().invoke(cli, ["symposium", str(bad)])
    assert res.exit_code == 2
    assert f"{bad}:12:" in res.stderr and "steps[0].sees" in res.stderr
