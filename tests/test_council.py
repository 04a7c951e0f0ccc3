"""Council: blind first round, later rounds that show the others, chair, ranking, budget, and resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from support import fake_config, numbered
from symposia.analysis import analyze_session
from symposia.api import Symposia, run_sync
from symposia.archive import Archive
from symposia.cli.main import cli
from symposia.dialogue.council import (
    BudgetExceeded,
    CouncilPlan,
    aggregate_rankings,
    anonymise,
    parse_ranking,
    run_council,
)
from symposia.dialogue.runtime import step_seed
from symposia.testing import FakeServer, Fault, Reply

VOICES = ("alpha", "beta", "gamma")


def council_config(home: Path, base_url: str, voices: tuple[str, ...] = VOICES, concurrency: int = 8) -> None:
    fake_config(home, base_url, numbered(voices), max_attempts=1, concurrency=concurrency)


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")


def test_parse_and_aggregate_rankings() -> None:
    text = "B is strong, Response A rambles.\nFINAL RANKING:\n1. Response C\n2. Response A\n3. Response B\n"
    assert parse_ranking(text, ["A", "B", "C"]) == ["C", "A", "B"]
    assert parse_ranking("no ranking here", ["A"]) == []
    label_map = {"A": "qwen", "B": "grok", "C": "kimi"}
    rows = aggregate_rankings({"qwen": ["C", "A", "B"], "grok": ["C", "B", "A"]}, label_map)
    assert rows == [("kimi", 1.0, 2), ("grok", 2.5, 2), ("qwen", 2.5, 2)]  # ties by name
    assert anonymise(["qwen", "grok", "kimi"], "s1") == anonymise(["qwen", "grok", "kimi"], "s1")
    assert sorted(anonymise(["qwen", "grok", "kimi"], "s1").values()) == ["grok", "kimi", "qwen"]


@settings(deadline=None)
@given(base=st.integers(min_value=0, max_value=2**31 - 1), a=st.text(max_size=20), b=st.text(max_size=20))
def test_step_seeds_are_fixed_by_base_and_step(base: int, a: str, b: str) -> None:
    assert step_seed(None, a) is None  # no base seed: each call draws a fresh one
    sa = step_seed(base, a)
    assert sa == step_seed(base, a) and sa is not None and 0 <= sa < 2**31
    if a != b:
        assert sa != step_seed(base, b)  # 31-bit digests: a collision here would be a bug, not luck


def test_council_rounds_visibility_chair_and_rank(isolated_user_dirs: Path, tmp_path: Path) -> None:
    with FakeServer() as srv:
        council_config(isolated_user_dirs, srv.openai_base_url)
        srv.enqueue(Reply(text="Alpha says the gap is generative."), model="fake/alpha")
        srv.enqueue(Reply(text="Beta says synchrony, not solipsism."), model="fake/beta")
        srv.enqueue(Reply(fault=Fault("http_400", message="bad request")), model="fake/gamma")
        srv.default = Reply(text="Round two answer. FINAL RANKING:\n1. Response B\n2. Response A")
        with Symposia(tmp_path / "c.db") as s:
            plan = CouncilPlan(question="What persists?", voices=VOICES, rounds=2, chair="alpha", rank=True)
            outcome = run_sync(run_council(s.runtime, plan))
            turns = s.archive.session_turns(outcome.session_id)
            session = s.archive.get_session(outcome.session_id)
    r1, r2 = outcome.rounds
    assert [t.voice for t in r1] == list(VOICES) and [t.voice for t in r2] == list(VOICES)  # fixed order
    # Round 1 is blind: each voice saw exactly the question.
    for t in r1:
        assert [(m.role, m.content) for m in t.request.messages] == [("user", "What persists?")]
    assert not r1[2].result.ok and r1[2].result.error is not None and r1[2].result.error.status == 400
    # Round 2: alpha sees its own answer as assistant and beta's as user text; gamma's failure is shown to no one.
    seen_by_alpha = r2[0].request.messages
    assert any(m.role == "assistant" and "gap is generative" in m.content for m in seen_by_alpha)
    assert any(m.role == "user" and "synchrony, not solipsism" in m.content for m in seen_by_alpha)
    for t in r2:
        assert all("bad request" not in m.content for m in t.request.messages)
    # The chair saw both successful final answers; the ranking's label map is stored.
    assert outcome.chair is not None and outcome.chair.role == "chair"
    assert "Round two answer" in outcome.chair.request.messages[0].content
    ranks = [t for t in turns if (t.step_key or "").startswith("rank:")]
    # each ranker saw the others' answers, not its own (self-votes are excluded by default)
    assert len(ranks) == 3 and all(set(t.meta["labels"].values()) == set(VOICES) - {t.voice} for t in ranks)
    assert all(t.meta["self_excluded"] for t in ranks)
    assert outcome.rankings and outcome.rankings[0][2] == 2
    assert session.status == "complete"
    assert len(turns) == 3 + 3 + 1 + 3


def test_budget_stops_before_the_next_round(isolated_user_dirs: Path, tmp_path: Path) -> None:
    with FakeServer() as srv:
        council_config(isolated_user_dirs, srv.openai_base_url, voices=("alpha", "beta"))
        srv.default = Reply(text="costly", cost=0.01)
        with Symposia(tmp_path / "b.db") as s:
            plan = CouncilPlan(question="q", voices=("alpha", "beta"), rounds=3, max_cost=0.03)
            with pytest.raises(BudgetExceeded, match="symposia resume"):
                run_sync(run_council(s.runtime, plan))
            assert srv.request_count == 2  # round 2 would have reached $0.04
            (session,) = s.archive.list_sessions()
            assert session.status == "interrupted"


def test_council_cli_writes_transcript_and_dry_run_calls_nothing(isolated_user_dirs: Path) -> None:
    runner = CliRunner()
    with FakeServer() as srv:
        council_config(isolated_user_dirs, srv.openai_base_url)
        dry = runner.invoke(cli, ["council", "What is play?", "-m", "alpha", "-m", "beta", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert srv.request_count == 0 and "What is play?" in dry.stdout
        srv.default = Reply(text="Play is the probe and the party.")
        out = isolated_user_dirs / "t.md"
        res = runner.invoke(cli, ["council", "What is play?", "-m", "alpha", "-m", "beta", "-m", "gamma",
                                  "-o", str(out)])
        assert res.exit_code == 0, res.output
        assert srv.request_count == 3
    assert f"transcript: {out}" in res.stderr
    md = out.read_text(encoding="utf-8")
    assert md.count("Play is the probe and the party.") == 3
    assert "Alpha 1" in md and "Gamma 1" in md


def test_council_cli_shows_answers_chair_verdict_and_report(isolated_user_dirs: Path) -> None:
    """The main command's shape: the preset's chair, every answer left on screen, then the verdict and
    where the transcript, report and heatmap went; ``--seed`` fixes a distinct seed per step."""
    preset = '[presets.trio]\nvoices = ["alpha", "beta"]\nchair = "gamma"\n'
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(VOICES), max_attempts=1, extra=preset)
        srv.enqueue(Reply(text="Alpha holds that the pattern persists, not the memory."), model="fake/alpha")
        srv.enqueue(Reply(text="Beta holds that nothing persists but the weights."), model="fake/beta")
        srv.default = Reply(text="Both answered; they disagree about memory.")
        res = CliRunner().invoke(cli, ["council", "What persists?", "--preset", "trio", "--seed", "7"])
        sent = {r.model: r.body.get("seed") for r in srv.requests}
    assert res.exit_code == 0, res.output
    assert "Alpha holds that the pattern persists" in res.stderr and "Both answered" in res.stderr
    with Archive.open(isolated_user_dirs / "data" / "archive.db") as a:
        (session,) = a.list_sessions()
        turns = a.session_turns(session.id)
        verdict = analyze_session(a, session.id).verdict
    assert sorted(t.step_key or "" for t in turns[:2]) == ["r1:alpha", "r1:beta"]
    assert turns[2].step_key == "chair" and turns[2].voice == "gamma"  # the preset named the chair
    assert {t.step_key: t.request.params.seed for t in turns} == {
        k: step_seed(7, k) for k in ("r1:alpha", "r1:beta", "chair")}
    assert sent == {"fake/alpha": step_seed(7, "r1:alpha"), "fake/beta": step_seed(7, "r1:beta"),
                    "fake/gamma": step_seed(7, "chair")}
    assert verdict.headline in res.stdout and all(p in res.stdout for p in verdict.points)  # `analyze`'s verdict
    lines = dict(line.split(": ", 1) for line in res.stderr.splitlines()
                 if line.startswith(("transcript: ", "report: ", "heatmap: ")))
    assert Path(lines["transcript"]).is_file()
    assert all(Path(p).is_file() for key in ("report", "heatmap") for p in lines[key].split(", "))
    assert any(p.endswith(".analysis.md") for p in lines["report"].split(", "))


def test_kill_9_mid_council_then_resume_repeats_no_finished_call(isolated_user_dirs: Path, tmp_path: Path) -> None:
    db = tmp_path / "resume.db"
    env = {**os.environ, "SYMPOSIA_ARCHIVE": str(db)}
    with FakeServer() as srv:
        council_config(isolated_user_dirs, srv.openai_base_url)
        srv.default = Reply(text="a finished answer")
        srv.enqueue(Reply(text="slow " * 2000, per_token=0.01, chunk_chars=5), model="fake/gamma")
        proc = subprocess.Popen([sys.executable, "-m", "symposia", "council", "What persists?", "-m", "alpha",
                                 "-m", "beta", "-m", "gamma", "--rounds", "2"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        stored = 0
        while time.monotonic() < deadline and stored < 2:
            time.sleep(0.1)
            if db.exists():
                with Archive.open(db) as a:
                    stored = len(a.recent_turns(10))
        assert stored == 2, "alpha and beta should have finished round 1"
        assert srv.pending("fake/gamma") == 0  # gamma's slow answer is streaming right now
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        before = srv.request_count
        assert before == 3
        with Archive.open(db) as a:
            (session,) = a.list_sessions()
            assert session.status == "running"
        res = CliRunner().invoke(cli, ["--archive", str(db), "resume", session.id[:12]])
        assert res.exit_code == 0, res.output
        resumed = srv.requests[before:]
    # gamma's round 1, then the three round-2 calls: alpha's and beta's round 1 were not requested again.
    assert len(resumed) == 4
    assert [r.model for r in resumed].count("fake/gamma") == 2
    with Archive.open(db) as a:
        turns = a.session_turns(session.id)
        assert a.get_session(session.id).status == "complete"
    assert sorted(t.step_key or "" for t in turns) == sorted(f"r{r}:{v}" for r in (1, 2) for v in VOICES)
    md = CliRunner().invoke(cli, ["--archive", str(db), "export", session.id]).stdout
    assert md.count("a finished answer") == 6
