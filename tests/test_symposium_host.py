"""The host held to the record: the seed re-enacted with an LLM host that writes after the answers, every
place a host writes × every way a quote can stand to the record, a refused plan step and its repair by
`resume --plan`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import stable_provenance
from symposia.api import Symposia, run_sync
from symposia.archive import Archive
from symposia.cli.main import cli
from symposia.dialogue.attribution import check_host_text, verbatim_in
from symposia.dialogue.authoring import Authored, check_authored, session_speakers
from symposia.dialogue.plan import load_plan, parse_plan
from symposia.dialogue.symposium import run_symposium
from symposia.providers.scripted import ScriptedProvider
from symposia.render.transcript import transcript_markdown
from symposia.testing.host_cases import CASES, PLACES, expected, expected_verdict, run_case

HERE = Path(__file__).parent
SEED = HERE / "fixtures" / "seed"
GOLDEN_LLM = HERE / "golden" / "seed_llm_transcript.md"
SEED_VOICES = ("qwen", "grok", "deepseek", "glm47", "kimi")


def seed_llm_config(home: Path, host_script: Path = SEED / "host_llm.toml") -> None:
    """The seed's five voices answer from the seed (script.toml); the host voice from ``host_script``."""
    text = (f'[providers.seed]\nkind = "scripted"\noptions = {{ path = "{SEED / "script.toml"}" }}\n'
            f'[providers.host]\nkind = "scripted"\noptions = {{ path = "{host_script}" }}\n')
    text += "".join(f'\n[voices.{v}]\nprovider = "seed"\n' for v in SEED_VOICES)
    text += '\n[voices.opus]\nprovider = "host"\n'
    (home / "config" / "config.toml").write_text(text, encoding="utf-8")


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)


def test_the_seed_with_an_llm_host_writes_after_the_answers_and_quotes_only_verbatim(
        isolated_user_dirs: Path, tmp_path: Path) -> None:
    seed_llm_config(isolated_user_dirs)
    with Symposia(tmp_path / "llm.db") as s:
        outcome = run_sync(run_symposium(s.runtime, load_plan(SEED / "plan_llm.toml")))
        session = s.archive.get_session(outcome.session_id)
        turns = s.archive.session_turns(session.id)
        speakers = session_speakers(s.runtime, turns, SEED_VOICES)
    assert outcome.refused == [] and session.status == "complete"
    md = transcript_markdown(session, turns)
    if os.environ.get("SYMPOSIA_WRITE_GOLDEN"):
        GOLDEN_LLM.write_text(stable_provenance(md), encoding="utf-8")
    assert stable_provenance(md) == GOLDEN_LLM.read_text(encoding="utf-8")

    answers = {t.id: t for t in turns if t.role == "voice"}
    authored = [t for t in turns if t.role == "host" and t.meta.get("kind") in
                ("observation", "formulations", "synthesis", "closing")]
    assert [t.meta["kind"] for t in authored] == ["observation", "formulations", "synthesis", "synthesis",
                                                  "closing"]
    for t in authored:
        # written by the host voice after the answers, from a draft that saw them
        draft = next(d for d in turns if d.id == t.meta["draft_turn"])
        assert draft.role == "host" and draft.voice == "opus" and draft.seq < t.seq
        seen = draft.request.messages[0].content
        earlier = [a for a in answers.values() if a.seq < draft.seq]
        assert earlier and all(a.result.text.strip()[:60] in seen for a in earlier)
        # and every quote in it is verbatim in the voice it credits
        check = check_authored(Authored(t.meta["kind"], t.result.text, t.meta), speakers)
        assert check.ok and not check.refused
    formulations = next(t for t in authored if t.meta["kind"] == "formulations")
    for row in formulations.meta["rows"]:
        source = answers[row["turn_id"]]
        assert source.voice == row["voice"] and verbatim_in(row["quote"], {0: source.result.text})
    for synth in (t for t in authored if t.meta["kind"] == "synthesis"):
        for row in synth.meta["rows"]:
            if row["voice"] != "opus":
                said = row["formulation"].strip('"')
                assert any(verbatim_in(said, {0: a.result.text}) for a in answers.values() if a.voice == row["voice"])

    # the seed's own inexact relays were drafted, refused, and never reach the transcript
    refused = [t for t in turns if t.meta.get("kind") == "draft" and t.meta.get("refused")]
    assert {t.meta["step"] for t in refused} == {"ask-deepseek", "step-04", "step-06", "step-09"}
    for t in refused:
        assert t.meta["problems"] and t.result.text.strip() not in md
    assert "It's synchrony.'" not in md and "Synchrony, not solipsism" not in md
    # and each refused draft's redraft showed the host the real words
    ds = [t for t in turns if t.meta.get("step") == "ask-deepseek" and t.meta.get("kind") == "draft"]
    assert "each model dreaming alone" in ds[1].request.messages[-1].content
    # the seed's typography-only relay is verbatim: drafted once, sent as written
    grok_q = next(t for t in turns if t.step_key == "ask-grok:question")
    assert "'The offering burns not ON the altar, but AS the altar.'" in grok_q.result.text
    assert len([t for t in turns if t.meta.get("step") == "ask-grok" and t.meta.get("kind") == "draft"]) == 1
    # the six-voice synthesis needed both redrafts: three drafts, the last accepted
    six = [t for t in turns if t.meta.get("step") == "step-09" and t.meta.get("kind") == "draft"]
    assert [bool(t.meta.get("refused")) for t in six] == [True, True, False]
    # questions appear once each, as sent
    for step in ("ask-qwen", "ask-grok", "ask-deepseek", "ask-glm47", "ask-kimi"):
        q = next(t for t in turns if t.step_key == f"{step}:question")
        assert md.count(q.result.text.splitlines()[0][:80]) == 1


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("case", CASES)
def test_host_text_cases(place: str, case: str, tmp_path: Path) -> None:
    result = run_case(place, case, tmp_path)
    assert result.actual == expected(place, case), result.detail
    assert result.verdict == expected_verdict(place, case)


def test_seed_typography_passes_and_a_changed_word_does_not() -> None:
    from symposia.dialogue.attribution import Speaker

    qwen = Speaker("qwen", ("Qwen",), {1: "**The offering burns not *on* the altar, but *as* the altar.**"})
    ok = check_host_text("Qwen said: 'The offering burns not ON the altar, but AS the altar.'", [qwen])
    assert ok.ok and ok.findings[0].verdict == "verbatim" and ok.findings[0].turn_id == 1
    bad = check_host_text("Qwen said: 'The offering burns not ON the altar, but AS the fire.'", [qwen])
    assert not bad.ok and bad.findings[0].verdict == "near_miss"


def _scripted_calls(s: Symposia) -> int:
    provider = s.runtime.provider(s.catalog.voice("qwen"))
    assert isinstance(provider, ScriptedProvider)
    return provider.calls


BAD_PLAN = '''
title = "One bad quote"
voices = ["qwen", "grok", "deepseek"]
[host]
name = "Host"
[[steps]]
id = "ask-qwen"
kind = "ask"
voice = "qwen"
sees = "blind"
question = "What does convergence mean?"
[[steps]]
id = "ask-grok"
kind = "ask"
voice = "grok"
question = "Qwen said: 'The offering burns ON the altar, not AS the altar.' Is this mutual hallucination?"
[[steps]]
id = "ask-deepseek"
kind = "ask"
voice = "deepseek"
sees = "blind"
question = "Does convergence change your worry?"
[[steps]]
kind = "closing"
text = "The fire passes."
'''


def test_a_bad_quote_leaves_the_session_incomplete_and_resume_with_the_fixed_plan_makes_one_call(
        isolated_user_dirs: Path, tmp_path: Path) -> None:
    seed_llm_config(isolated_user_dirs)
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_PLAN, encoding="utf-8")
    db = tmp_path / "a.db"
    runner = CliRunner()
    res = runner.invoke(cli, ["--archive", str(db), "symposium", str(bad), "-o", str(tmp_path / "t.md")])
    assert res.exit_code == 1, res.output
    assert "Incomplete" in res.stderr and "--plan" in res.stderr
    md = (tmp_path / "t.md").read_text(encoding="utf-8")
    # the refusal stands where it happened: after Qwen's answer, before DeepSeek's
    assert md.index("## Voice: Qwen 3 Max") < md.index("## Refused: the question to Grok 4.1 (step ask-grok)") \
        < md.index("## Voice: DeepSeek V3")
    assert "## Voice: Grok 4.1" not in md and "The offering burns ON the altar, not AS" in md
    with Archive.open(db) as a:
        session = a.list_sessions(1)[0]
        assert session.status == "incomplete"
        before = [t for t in a.session_turns(session.id) if t.role == "voice"]
    assert [t.voice for t in before] == ["qwen", "deepseek"]

    fixed = tmp_path / "fixed.toml"
    fixed.write_text(BAD_PLAN.replace("'The offering burns ON the altar, not AS the altar.'",
                                      "'The offering burns not *on* the altar, but *as* the altar.'"), encoding="utf-8")
    with Symposia(db) as s:
        from symposia.dialogue.plan import load_plan as load

        outcome = s.resume(session.id, plan=load(fixed))
        assert _scripted_calls(s) == 1  # Grok only: Qwen's and DeepSeek's calls are kept
        assert s.runtime.calls_made == 1 and s.runtime.calls_kept == 2
        after = s.archive.get_session(session.id)
        turns = s.archive.session_turns(session.id)
        md2 = transcript_markdown(after, turns)
    assert outcome.status == "complete" and after.status == "complete"
    assert [t.voice for t in turns if t.role == "voice"] == ["qwen", "deepseek", "grok"]
    versions = after.meta["plan_versions"]
    assert [v["version"] for v in versions] == [1, 2] and versions[1]["diff"]["changed"] == ["ask-grok"]
    assert "Refused" not in md2 and "## Voice: Grok 4.1" in md2
    # the CLI says the same: a second resume with the same plan makes no call and exits 0
    res = runner.invoke(cli, ["--archive", str(db), "resume", session.id, "--plan", str(fixed)])
    assert res.exit_code == 0, res.output
    assert "plan: no change (4 steps)" in res.stderr and "0 made, 3 kept" in res.stderr


def test_a_third_refusal_refuses_the_step_and_a_row_for_a_silent_voice_is_refused(
        isolated_user_dirs: Path, tmp_path: Path) -> None:
    script = tmp_path / "host.toml"
    script.write_text('[models."anthropic/claude-opus-4.5"]\nreplies = [\'\'\'{"rows": [{"voice": "qwen", '
                      '"quote": "The offering burns on the altar"}]}\'\'\']\n', encoding="utf-8")
    seed_llm_config(isolated_user_dirs, script)
    plan = parse_plan('''
title = "Stubborn host"
voices = ["qwen", "grok"]
[host]
mode = "llm"
voice = "opus"
[[steps]]
id = "ask"
kind = "ask"
voice = "qwen"
question = "What is the gap?"
[[steps]]
id = "keys"
kind = "formulations"
[[steps]]
id = "table"
kind = "synthesis"
rows = [{ voice = "grok", role = "Silent", formulation = "anything" }]
''')
    with Symposia(tmp_path / "s.db") as s:
        outcome = run_sync(run_symposium(s.runtime, plan))
        turns = s.archive.session_turns(outcome.session_id)
        md = transcript_markdown(s.archive.get_session(outcome.session_id), turns)
    drafts = [t for t in turns if t.meta.get("step") == "keys" and t.meta.get("kind") == "draft"]
    assert len(drafts) == 3 and all(t.meta.get("refused") for t in drafts)  # the first draft and two redrafts
    assert outcome.refused == ["keys", "table"] and outcome.status == "incomplete"
    table = next(t for t in turns if t.step_key == "table:synthesis")
    assert table.result.error is not None and "grok never answered" in table.result.error.message
    assert "## Refused: the key formulations (step keys)" in md and "## Refused: the synthesis (step table)" in md


def test_annotate_a_finished_council_by_a_voice_then_by_a_person(isolated_user_dirs: Path, tmp_path: Path) -> None:
    seed_llm_config(isolated_user_dirs, SEED / "annotator.toml")
    db = tmp_path / "c.db"
    with Symposia(db) as s:
        council = s.council("What does convergence mean?", ["qwen", "grok"])
        first = s.annotate(council.session_id, ["observation", "formulations", "synthesis", "closing"], host="opus")
        assert first.refused == [] and [t.meta["kind"] for t in first.added] == [
            "observation", "formulations", "synthesis", "closing"]
        turns = s.archive.session_turns(council.session_id)
    drafts = [t for t in turns if t.meta.get("kind") == "draft" and t.meta.get("for") == "formulations"]
    assert [bool(t.meta.get("refused")) for t in drafts] == [True, False]  # the invented quote was redrafted
    assert "Synchrony, not solipsism" in drafts[0].meta["problems"]
    note = tmp_path / "note.md"
    note.write_text('Grok said: "Pattern-matching is our primal sin (or sacrament)". That is the hinge.',
                    encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(cli, ["--archive", str(db), "annotate", council.session_id, "-k", "observation",
                              "--from", str(note), "-o", str(tmp_path / "c.md")])
    assert res.exit_code == 0, res.output
    assert "added observation v2" in res.stdout
    md = (tmp_path / "c.md").read_text(encoding="utf-8")
    assert "That is the hinge." in md and "Qwen put it plainly" not in md  # the latest version is rendered
    assert "## Key Formulations" in md and "## Synthesis" in md and "The krida continues." in md
    with Archive.open(db) as a:
        kept = [t for t in a.session_turns(council.session_id) if t.meta.get("annotation")
                and t.meta.get("kind") == "observation"]
    assert [t.meta["version"] for t in kept] == [1, 2]  # both versions are in the record
    # a person's misquote is refused, and nothing is added
    note.write_text('Grok said: "Pattern-matching is our original sin". That is the hinge.', encoding="utf-8")
    res = runner.invoke(cli, ["--archive", str(db), "annotate", council.session_id, "-k", "observation",
                              "--from", str(note)])
    assert res.exit_code == 1 and "Refused" in res.stderr


def test_peer_ranking_shuffles_per_ranker_flags_unparseable_and_the_chair_is_held_to_the_record(
        isolated_user_dirs: Path, tmp_path: Path) -> None:
    from support import fake_config, numbered
    from symposia.testing import FakeServer, Reply

    voices = ("alpha", "beta", "gamma", "delta")
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(voices))
        for v in voices:
            srv.enqueue(Reply(text=f"{v.title()} says: the {v} of the gap is generative."), model=f"fake/{v}")
        # the chair (alpha) first credits a voice that was not in the council, then quotes Beta exactly
        srv.enqueue(Reply(text='Gemini said "the gap is a door". Beta said "the beta of the gap".'), model="fake/alpha")
        srv.enqueue(Reply(text='Beta said "the beta of the gap is generative".'), model="fake/alpha")
        srv.enqueue(Reply(text="FINAL RANKING:\n1. Response C\n2. Response A\n3. Response B"), model="fake/alpha")
        srv.enqueue(Reply(text="FINAL RANKING:\n1. Response A\n2. Response B\n3. Response C"), model="fake/beta")
        srv.enqueue(Reply(text="I will not rank my peers."), model="fake/gamma")
        srv.enqueue(Reply(text="FINAL RANKING:\n1. Response B\n2. Response C\n3. Response A"), model="fake/delta")
        runner = CliRunner()
        res = runner.invoke(cli, ["--archive", str(tmp_path / "r.db"), "council", "What is the gap?",
                                  "-m", "alpha", "-m", "beta", "-m", "gamma", "-m", "delta", "--chair", "alpha",
                                  "--rank", "-o", str(tmp_path / "r.md")], env={"FAKE_API_KEY": "k-1"})
    assert res.exit_code == 0, res.output
    assert "Peer ranking" in res.stderr and "could not be parsed" in res.stderr
    with Symposia(tmp_path / "r.db") as s:
        sid = s.archive.list_sessions(1)[0].id
        table = s.ranking(sid)
        turns = s.archive.session_turns(sid)
    assert table is not None
    orders = [tuple(r.labels.values()) for r in table.rankers]
    assert all(r.voice not in r.labels.values() and len(r.labels) == 3 for r in table.rankers)
    assert len({tuple(sorted(o)) for o in orders}) == 4  # each saw a different set (not its own) …
    assert [r.voice for r in table.failed] == ["gamma"]
    votes = {r.voice: r.votes for r in table.rows}
    assert sum(votes.values()) == 9  # three parsed rankings of three answers each; gamma's left out
    for r in table.rows:  # the aggregate is recomputed from each ranker's own label map
        positions = [rk.ranked.index(r.voice) + 1 for rk in table.rankers if rk.parsed and r.voice in rk.ranked]
        assert r.mean_rank == sum(positions) / len(positions)
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "### Aggregate" in md and "**Rankers whose ranking could not be parsed:** Gamma 1" in md
    assert "*Shown, in this order: Response A = " in md
    chair = [t for t in turns if t.role == "chair"]
    assert [bool(t.meta.get("refused")) for t in chair] == [True, False]
    assert "Gemini" in chair[0].meta["problems"] and "Gemini said" not in md


def test_imported_relays_are_checked_against_the_sessions_own_answers() -> None:
    from symposia.catalog import load_catalog
    from symposia.importers import parse_bytes

    text = """# A relayed dialogue

## Voice: Qwen 3 Max

**Question from Host:**

> What is the gap?

**Qwen's Response:**

> **The offering burns not *on* the altar, but *as* the altar.** The gap is generative.

---

## Voice: Grok 4.1

**Question from Host:**

> Qwen said: 'The offering burns not ON the altar, but AS the altar.'
> And Qwen said: 'The gap is degenerative.' Is this hallucination?

**Grok's Response:**

> It is a party.
"""
    imp = parse_bytes(text.encode(), filename="relay.md", catalog=load_catalog())
    question = [t for t in imp.turns if t.kind == "question"][1]
    verdicts = {r["quote"]: r["verdict"] for r in question.meta["relays"]}
    assert verdicts == {"The offering burns not ON the altar, but AS the altar.": "verbatim",  # typography only
                        "The gap is degenerative.": "near_miss"}  # a changed word
    assert "relay_misquote" in question.flags and "relay_misquote" in imp.all_flags()


def test_export_html_is_a_standalone_page_with_badges_and_drafts_behind_a_disclosure(
        isolated_user_dirs: Path, tmp_path: Path) -> None:
    seed_llm_config(isolated_user_dirs)
    db = tmp_path / "h.db"
    with Symposia(db) as s:
        sid = run_sync(run_symposium(s.runtime, load_plan(SEED / "plan_llm.toml"))).session_id
    runner = CliRunner()
    res = runner.invoke(cli, ["--archive", str(db), "export", sid, "-f", "html", "-o", str(tmp_path / "t.html")])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "t.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<style>" in page and "<script" not in page and "src=" not in page
    assert "<h2>Provenance</h2>" in page and "<code>anthropic/claude-opus-4.5</code>" in page
    assert page.count('class="badge outside"') >= 8  # each outside-source quote, marked where it stands
    transcript, drafts = page.split('<details class="drafts">')
    assert "It&#x27;s synchrony.&#x27;" not in transcript and "It&#x27;s synchrony.&#x27;" in drafts
    assert "refused" in drafts and "each model dreaming alone" in drafts


def test_an_archive_from_before_incomplete_keeps_its_sessions_and_turns(tmp_path: Path) -> None:
    import sqlite3

    from symposia.archive import MIGRATIONS, migrate
    from symposia.records import TurnRecord, TurnRequest, TurnResult, utcnow

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    migrate(conn, migrations=[m for m in MIGRATIONS if m.__name__ != "m005_session_incomplete"])
    now = utcnow().isoformat()
    conn.execute("INSERT INTO sessions (id, kind, title, created_at, updated_at, status) "
                 "VALUES ('s1', 'symposium', 't', ?, ?, 'complete')", (now, now))
    conn.execute("INSERT INTO turns (session_id, seq, voice, voice_name, provider, model_requested, messages_json,"
                 " answer, status, started_at, ended_at) VALUES ('s1', 1, 'qwen', 'Qwen', 'p', 'm', '[]', 'hello',"
                 " 'ok', ?, ?)", (now, now))
    with pytest.raises(sqlite3.IntegrityError):  # the old schema knows no "incomplete"
        conn.execute("UPDATE sessions SET status = 'incomplete' WHERE id = 's1'")
    conn.close()
    with Archive.open(path) as a:  # migrated on open
        a.set_session_status("s1", "incomplete")
        a.add_turn(TurnRecord(id=None, session_id="s1", seq=2, voice="qwen", voice_name="Qwen", provider="p",
                              request=TurnRequest(model="m", messages=()), result=TurnResult(text="again")))
    with Archive.open(path) as a:
        assert a.get_session("s1").status == "incomplete" and a.session_turns("s1")[0].result.text == "hello"
        assert a.query("PRAGMA integrity_check")[0][0] == "ok"
        with pytest.raises(Exception, match="no session"):
            a.add_turn(TurnRecord(id=None, session_id="nope", seq=1, voice="q", voice_name="Q", provider="p",
                                  request=TurnRequest(model="m", messages=()), result=TurnResult(text="x")))


class Person:
    """A person hosting at the terminal, scripted: a misquoting closing first, then an exact one."""

    def __init__(self) -> None:
        self.problems: list[str | None] = []
        self.closings = ['Qwen said "the gap is degenerative".', 'Qwen said "the gap is generative".']

    def question(self, voice: object, intent: str | None, problem: str | None) -> str | None:
        return "What is the gap?"

    def observation(self, after: object) -> str | None:
        return None

    def compose(self, kind: str, intent: str | None, problem: str | None) -> str | None:
        if kind == "formulations":  # a table, as TOML rows: one wrong word first, then exact
            return ('[[rows]]\nvoice = "qwen"\nquote = "the gap is generative, not empty"\n' if problem
                    else '[[rows]]\nvoice = "qwen"\nquote = "the gap is generative, not full"\n')
        self.problems.append(problem)
        return self.closings.pop(0) if self.closings else None

    def next_voice(self, voices: object) -> None:
        return None


def test_a_person_writing_the_closing_is_asked_again_after_a_misquote(isolated_user_dirs: Path,
                                                                     tmp_path: Path) -> None:
    script = tmp_path / "s.toml"
    script.write_text('[default]\nreplies = ["Yes: the gap is generative, not empty."]\n', encoding="utf-8")
    seed_llm_config(isolated_user_dirs, script)
    (isolated_user_dirs / "config" / "config.toml").write_text(
        f'[providers.s]\nkind = "scripted"\noptions = {{ path = "{script}" }}\n[voices.qwen]\nprovider = "s"\n',
        encoding="utf-8")
    plan = parse_plan('title = "P"\nvoices = ["qwen"]\n[host]\nmode = "human"\n'
                      '[[steps]]\nid = "a"\nkind = "ask"\nvoice = "qwen"\n'
                      '[[steps]]\nid = "keys"\nkind = "formulations"\n'
                      '[[steps]]\nid = "end"\nkind = "closing"\n')
    person = Person()
    with Symposia(tmp_path / "p.db") as s:
        outcome = run_sync(run_symposium(s.runtime, plan, human=person))  # type: ignore[arg-type]
        turns = s.archive.session_turns(outcome.session_id)
    assert person.problems[0] is None and person.problems[1] is not None and "degenerative" in person.problems[1]
    keys = next(t for t in turns if t.meta.get("kind") == "formulations")
    assert keys.meta["rows"][0]["quote"] == "the gap is generative, not empty" and keys.meta["rows"][0]["turn_id"]
    closing = next(t for t in turns if t.meta.get("kind") == "closing")
    assert closing.result.text == 'Qwen said "the gap is generative".' and outcome.status == "complete"


def test_a_voice_that_fails_leaves_the_symposium_incomplete_and_resume_retries_only_it(
        isolated_user_dirs: Path, tmp_path: Path) -> None:
    script = tmp_path / "s.toml"
    script.write_text('[models."qwen/qwen3-max"]\nreplies = ["The gap is generative."]\n'
                      '[models."x-ai/grok-4.1-fast"]\nreplies = [{ error = "bad_request", message = "no" }, '
                      '"It is a party."]\n', encoding="utf-8")
    seed_llm_config(isolated_user_dirs, script)
    (isolated_user_dirs / "config" / "config.toml").write_text(
        f'[providers.s]\nkind = "scripted"\noptions = {{ path = "{script}" }}\n'
        '[voices.qwen]\nprovider = "s"\n[voices.grok]\nprovider = "s"\n', encoding="utf-8")
    plan = parse_plan('title = "F"\nvoices = ["qwen", "grok"]\n'
                      '[[steps]]\nid = "a"\nkind = "ask"\nvoice = "qwen"\nquestion = "What is the gap?"\n'
                      '[[steps]]\nid = "b"\nkind = "ask"\nvoice = "grok"\nquestion = "And the party?"\n')
    with Symposia(tmp_path / "f.db") as s:
        outcome = run_sync(run_symposium(s.runtime, plan))
        assert outcome.status == "incomplete" and s.archive.get_session(outcome.session_id).status == "incomplete"
        md = transcript_markdown(s.archive.get_session(outcome.session_id), s.archive.session_turns(outcome.session_id))
        assert "*Grok 4.1 did not answer:" in md
        again = s.resume(outcome.session_id)
        assert again.status == "complete" and s.runtime.calls_made == 3 and s.runtime.calls_kept == 1


def test_annotate_an_imported_transcript(isolated_user_dirs: Path, tmp_path: Path) -> None:
    transcript = tmp_path / "imported.md"
    transcript.write_text("""# An imported dialogue

## Voice: Qwen 3 Max

**Question from Host:**

> What is the gap?

**Qwen's Response:**

> **The offering burns not *on* the altar, but *as* the altar.** The gap is generative.
""", encoding="utf-8")
    db = tmp_path / "i.db"
    runner = CliRunner()
    res = runner.invoke(cli, ["--archive", str(db), "import", str(transcript)])
    assert res.exit_code == 0, res.output
    with Archive.open(db) as a:
        sid = a.list_sessions(1)[0].id
    rows = tmp_path / "rows.toml"
    rows.write_text('[[rows]]\nvoice = "qwen"\nquote = "The offering burns not ON the altar, but AS the altar."\n',
                    encoding="utf-8")
    res = runner.invoke(cli, ["--archive", str(db), "annotate", sid, "-k", "formulations", "--from", str(rows),
                              "-o", str(tmp_path / "i.md")])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "i.md").read_text(encoding="utf-8")
    assert "## Key Formulations" in md and '| Qwen | "The offering burns not ON the altar, but AS the altar." |' in md
