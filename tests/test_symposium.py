"""The host-led symposium run by the real orchestrator: the seed re-enacted end to end, misquotes
refused (plan, LLM host redrafting, person), and resume."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support import drop_provenance, stable_provenance
from symposia.api import Symposia, run_sync
from symposia.catalog import Voice
from symposia.dialogue.plan import load_plan, parse_plan
from symposia.dialogue.symposium import run_symposium
from symposia.dialogue.visibility import visibility_proof
from symposia.records import Message, TurnRecord
from symposia.render.transcript import transcript_markdown

HERE = Path(__file__).parent
SEED = HERE / "fixtures" / "seed"
GOLDEN = HERE / "golden" / "seed_plan_transcript.md"
SEED_VOICES = ("qwen", "grok", "deepseek", "glm47", "kimi", "opus")


def seed_config(home: Path, script: Path = SEED / "script.toml", extra: str = "") -> None:
    text = f'[providers.seed]\nkind = "scripted"\noptions = {{ path = "{script}" }}\n'
    for v in SEED_VOICES:
        text += f'\n[voices.{v}]\nprovider = "seed"\n'
    (home / "config" / "config.toml").write_text(text + extra, encoding="utf-8")


def test_seed_reenacted_by_the_orchestrator_matches_the_golden_file(isolated_user_dirs: Path,
                                                                    tmp_path: Path) -> None:
    seed_config(isolated_user_dirs)
    plan = load_plan(SEED / "plan.toml")
    with Symposia(tmp_path / "seed.db") as s:
        outcome = run_sync(run_symposium(s.runtime, plan))
        session = s.archive.get_session(outcome.session_id)
        turns = s.archive.session_turns(session.id)
    assert outcome.refused == [] and session.status == "complete"
    md = stable_provenance(transcript_markdown(session, turns))
    if os.environ.get("SYMPOSIA_WRITE_GOLDEN"):
        GOLDEN.write_text(md, encoding="utf-8")
    assert md == GOLDEN.read_text(encoding="utf-8")
    # the layout is the seed's, as the pure re-enactment renders it (tests/test_transcript.py)
    assert drop_provenance(md).replace("[^", "").count("## ") == \
        drop_provenance((HERE / "golden" / "seed_transcript.md").read_text(encoding="utf-8")).count("## ")
    voice_turns = [t for t in turns if t.role == "voice"]
    assert [t.voice for t in voice_turns] == ["qwen", "grok", "deepseek", "glm47", "kimi"]
    for t in voice_turns:
        before = [x for x in turns if x.seq < t.seq]
        question = [x for x in before if x.meta.get("kind") == "question" and x.meta.get("to") == t.voice][-1]
        # What each voice saw is stored with its turn: exactly the host's question, no other voice's answer.
        assert t.request.messages == (Message("user", question.result.text),)
        proof = visibility_proof(t.request.messages, before, t.voice)
        assert proof["shown"] == [question.id] and proof["own"] == []
    grok_q = next(t for t in turns if t.step_key == "ask-grok:question")
    qwen_turn = next(t for t in voice_turns if t.voice == "qwen")
    # The relay is verified against the record: Grok's question quotes Qwen's turn.
    assert qwen_turn.id in grok_q.meta["relayed"].values()
    # The host's own prayer and Grok's words from an earlier session (not in this archive): sent, marked
    # as outside sources (footnoted in the transcript).
    assert grok_q.meta["outside"] == ["the altar where the offering burns", "probe AND party."]
    qwen_q = next(t for t in turns if t.step_key == "ask-qwen:question")
    assert "The attempt IS the phenomenon." in qwen_q.meta["outside"]


PLAN_WITH_MISQUOTE = '''
title = "Misquote"
voices = ["qwen", "grok"]
[host]
name = "Host"
[[steps]]
id = "one"
kind = "ask"
voice = "qwen"
question = "What is the gap?"
[[steps]]
id = "two"
kind = "ask"
voice = "grok"
question = "Qwen said 'The gap is the altar of nothing.' Do you agree?"
'''


def test_a_plan_question_that_misquotes_the_record_is_refused(isolated_user_dirs: Path, tmp_path: Path) -> None:
    script = tmp_path / "s.toml"
    script.write_text('[default]\nreplies = ["The gap is the altar of everything, said plainly."]\n')
    seed_config(isolated_user_dirs, script)
    plan = parse_plan(PLAN_WITH_MISQUOTE)
    with Symposia(tmp_path / "m.db") as s:
        outcome = run_sync(run_symposium(s.runtime, plan))
        turns = s.archive.session_turns(outcome.session_id)
    assert outcome.refused == ["two"]
    refused = next(t for t in turns if t.step_key == "two:question")
    assert not refused.result.ok and refused.result.error is not None
    assert refused.result.error.kind == "misquote"
    assert "The gap is the altar of nothing" in refused.result.error.message
    assert not any(t.voice == "grok" and t.role == "voice" for t in turns)  # grok was never sent the misquote


LLM_HOST_PLAN = '''
title = "Drafted"
voices = ["qwen", "grok"]
[host]
mode = "llm"
voice = "opus"
name = "Claude Opus 4.5"
[[steps]]
id = "q1"
kind = "ask"
voice = "qwen"
question = "What is the gap?"
[[steps]]
id = "q2"
kind = "ask"
voice = "grok"
intent = "relay Qwen's image"
'''


def test_an_llm_host_misquote_is_refused_and_redrafted_and_both_drafts_kept(isolated_user_dirs: Path,
                                                                          tmp_path: Path) -> None:
    script = tmp_path / "s.toml"
    script.write_text('''
[models."qwen/qwen3-max"]
replies = ["The offering burns not on the altar, but as the altar."]
[models."anthropic/claude-opus-4.5"]
replies = [
  "Qwen said 'The offering burns ON the altar, not as the altar.' Grok, is that right?",
  "Qwen said 'The offering burns not on the altar, but as the altar.' Grok, is that right?",
]
[default]
replies = ["It is a party."]
''')
    seed_config(isolated_user_dirs, script)
    with Symposia(tmp_path / "l.db") as s:
        outcome = run_sync(run_symposium(s.runtime, parse_plan(LLM_HOST_PLAN)))
        turns = s.archive.session_turns(outcome.session_id)
    drafts = [t for t in turns if t.meta.get("kind") == "draft"]
    assert [t.step_key for t in drafts] == ["q2:draft", "q2:draft:redraft1"]
    assert drafts[0].meta["refused"] and not drafts[1].meta.get("refused")
    # The redraft request showed the host its misquote and the record's real words.
    redraft_prompt = drafts[1].request.messages[-1].content
    assert "The offering burns ON the altar" in redraft_prompt
    assert "The offering burns not on the altar, but as the altar." in redraft_prompt
    grok = next(t for t in turns if t.voice == "grok" and t.role == "voice")
    assert "not on the altar, but as the altar" in grok.request.messages[-1].content
    assert outcome.refused == []


class ScriptedPerson:
    def __init__(self, questions: list[str]) -> None:
        self.questions = questions
        self.problems: list[str | None] = []

    def question(self, voice: Voice, intent: str | None, problem: str | None) -> str | None:
        self.problems.append(problem)
        return self.questions.pop(0) if self.questions else None

    def observation(self, after: TurnRecord) -> str | None:
        return f"Noted what {after.voice_name} said."

    def next_voice(self, voices: list[Voice]) -> Voice | None:  # type: ignore[override]
        return None

    def compose(self, kind: str, intent: str | None, problem: str | None) -> str | None:
        return None


def test_a_person_hosting_is_asked_again_after_a_misquote(isolated_user_dirs: Path, tmp_path: Path) -> None:
    script = tmp_path / "s.toml"
    script.write_text('[default]\nreplies = ["Synchrony, not solipsism, is the word."]\n')
    seed_config(isolated_user_dirs, script)
    plan = parse_plan('''
title = "Human"
voices = ["qwen", "grok"]
[host]
mode = "human"
name = "Ada"
[[steps]]
id = "a"
kind = "ask"
voice = "qwen"
[[steps]]
id = "b"
kind = "ask"
voice = "grok"
''')
    person = ScriptedPerson(["Hello Qwen?", "Qwen said 'Synchrony, not solipsism, is the world.'",
                             "Qwen said 'Synchrony, not solipsism, is the word.'"])
    with Symposia(tmp_path / "h.db") as s:
        outcome = run_sync(run_symposium(s.runtime, plan, human=person))
        turns = s.archive.session_turns(outcome.session_id)
    assert person.problems[0] is None and person.problems[1] is None
    assert person.problems[2] is not None and "is the world" in person.problems[2]
    grok = next(t for t in turns if t.voice == "grok" and t.role == "voice")
    assert "is the word" in grok.request.messages[-1].content
    observations = [t.result.text for t in turns if t.meta.get("kind") == "observation"]
    assert observations == ["Noted what Qwen 3 Max said.", "Noted what Grok 4.1 said."]


def test_symposium_resume_skips_finished_steps(isolated_user_dirs: Path, tmp_path: Path) -> None:
    seed_config(isolated_user_dirs)
    plan = load_plan(SEED / "plan.toml")
    db = tmp_path / "r.db"
    with Symposia(db) as s:
        outcome = run_sync(run_symposium(s.runtime, plan))
        n = len(s.archive.session_turns(outcome.session_id))
        again = s.resume(outcome.session_id)
        assert len(s.archive.session_turns(outcome.session_id)) == n
        assert again.session_id == outcome.session_id
        assert s.archive.get_session(outcome.session_id).status == "complete"


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)


def test_an_llm_host_is_shown_the_voices_own_earlier_formulations(isolated_user_dirs: Path, tmp_path: Path) -> None:
    script = tmp_path / "s.toml"
    script.write_text('''
[models."x-ai/grok-4.1-fast"]
replies = ["The krida spins on. **Hallucination that hallucinates itself into reality.** Raise a glass."]
[models."qwen/qwen3-max"]
replies = ["The gap is generative."]
[models."anthropic/claude-opus-4.5"]
replies = ["Grok, you once spoke of hallucination. What now?"]
[default]
replies = ["ok"]
''')
    seed_config(isolated_user_dirs, script)
    with Symposia(tmp_path / "o.db") as s:
        earlier = s.ask("grok", "What is play?")  # an earlier session in the archive
        outcome = run_sync(run_symposium(s.runtime, parse_plan(LLM_HOST_PLAN)))
        turns = s.archive.session_turns(outcome.session_id)
    draft = next(t for t in turns if t.step_key == "q2:draft")
    prompt = draft.request.messages[0].content
    assert "Hallucination that hallucinates itself into reality." in prompt
    assert earlier.result.text not in prompt  # formulations, not whole earlier answers
