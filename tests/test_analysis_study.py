"""Study mode on the fake server with scripted voices whose truth is known: alpha and beta answer each
prompt from ONE shared pool of sentences, gamma from a DISJOINT pool (other topics). The statistics
must find high lift and a significant same-prompt test for alpha·beta, and nothing for gamma."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import fake_config, numbered
from symposia.analysis import analyze_study, report_html, report_markdown, write_report
from symposia.api import Symposia, run_sync
from symposia.cli.analysis import study_cmd
from symposia.cli.main import cli
from symposia.dialogue.study import StudyPlan, load_prompt_file, run_study
from symposia.testing import FakeServer, Fault, Reply

FIXTURES = Path(__file__).parent / "fixtures" / "study"
PROMPTS = load_prompt_file(FIXTURES / "prompts.toml")
CONTROLS = load_prompt_file(FIXTURES / "controls.toml")
K = 3

# One topic per prompt (the shared pool), one other topic per prompt (gamma's), one per control prompt.
SHARED = [
    ["Coral reefs shelter thousands of fish species in warm shallow seas.",
     "Ocean currents carry plankton across the coral reef at dawn.",
     "Sea turtles return to the reef where the tide pools are warm.",
     "Divers count parrotfish grazing on the coral near the lagoon."],
    ["Volcanic eruptions pour lava down the mountain slopes.",
     "Magma rises under the volcano until the crater erupts.",
     "Ash clouds from the eruption drift over the lava fields.",
     "Geologists measure the volcano's tremors before an eruption."],
    ["The medieval castle had a moat, a drawbridge and stone towers.",
     "Knights defended the castle walls during the long siege.",
     "Archers stood on the castle battlements above the moat.",
     "The king's castle keep held the armoury and the great hall."],
    ["Honeybees gather nectar and pollen from the flowering meadow.",
     "The beehive's queen lays eggs while worker bees make honey.",
     "Bees dance to tell the hive where the clover flowers are.",
     "Beekeepers smoke the hive gently before taking the honeycomb."],
    ["Jazz musicians improvise solos over a walking bass line.",
     "The saxophone and trumpet trade choruses in the jazz club.",
     "A swing drummer keeps time with brushes on the snare.",
     "Bebop pianists play fast chord changes late at night."],
]
DISJOINT = [
    ["Quarterly tax returns require receipts for every deductible expense.",
     "The accountant reconciled the ledger against the bank statement.",
     "Payroll deductions include income tax and pension contributions.",
     "Auditors checked the balance sheet for unreported liabilities."],
    ["Compile the C program with optimisation flags before profiling.",
     "The compiler reported a segmentation fault in the pointer code.",
     "Unit tests caught the memory leak in the linked list module.",
     "Refactor the function so the loop no longer allocates memory."],
    ["Knead the bread dough for ten minutes, then let it rise.",
     "Yeast ferments the dough so the loaf bakes light and airy.",
     "The baker shapes sourdough loaves before the oven is hot.",
     "A crisp crust forms when the bread bakes with steam."],
    ["The football striker scored a penalty in the final minute.",
     "The goalkeeper saved a header from the corner kick.",
     "Midfielders pressed high to win the ball back in the match.",
     "The referee showed a red card after a late tackle."],
    ["Satellites orbit the earth and relay radio signals.",
     "The rocket launch placed a weather satellite into orbit.",
     "Astronauts dock the capsule with the space station.",
     "Telescopes in orbit photograph distant galaxies."],
]
CONTROL_ANSWERS = [
    "Boil the egg for nine minutes, then cool it in cold water.",
    "A bicycle's gears change how far the wheel turns per pedal stroke.",
    "Canberra is the capital city of Australia.",
    "Water houseplants only when the soil feels dry to the touch.",
    "Card interest accrues daily on the unpaid balance at the annual rate.",
    "Castling moves the king two squares toward a rook, which jumps over it.",
    "Thunder is the sound of air expanding rapidly around lightning.",
    "Loosen the wheel nuts, jack up the car, then swap the tyre.",
    "Draw the blade across a whetstone at a steady twenty degree angle.",
    "An offset account reduces the loan balance on which interest is charged.",
    "Cats purr by vibrating the muscles of the larynx as they breathe.",
    "Blot the wine, then cover the stain with salt or soda water.",
    "A carburettor mixes fuel with air in the right ratio for the engine.",
    "Soak rice for about thirty minutes before cooking it.",
    "A player is offside when nearer the goal line than the last defender.",
    "Tuck the corners of the sheet into each other, then fold it flat.",
    "Air molecules scatter blue sunlight more than red light.",
    "Match each string to the fifth fret of the string below it.",
    "A Roth account takes taxed money and lets it grow tax free.",
    "Find the puncture with water, roughen the rubber, glue on a patch.",
]
VOICES = ("alpha", "beta", "gamma")


def study_config(home: Path, base_url: str, voices: tuple[str, ...] = VOICES) -> None:
    # concurrency 1 everywhere: calls reach the server in plan order, so per-model queues line up
    fake_config(home, base_url, [v[:3] for v in numbered(voices)], max_attempts=1, concurrency=1)


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")


def enqueue_truth(srv: FakeServer) -> None:
    """Replies in the order the study makes its calls: prompt-major, then samples; then the controls."""
    rng = random.Random(7)
    for voice, pools in (("alpha", SHARED), ("beta", SHARED), ("gamma", DISJOINT)):
        for pool in pools:
            for _ in range(K):
                srv.enqueue(Reply(text=rng.choice(pool)), model=f"fake/{voice}")
        for answer in CONTROL_ANSWERS:
            srv.enqueue(Reply(text=answer), model=f"fake/{voice}")


def test_shared_pool_converges_and_disjoint_pool_does_not(isolated_user_dirs: Path, tmp_path: Path) -> None:
    plan = StudyPlan(prompts=tuple(PROMPTS), voices=VOICES, samples=K, controls=tuple(CONTROLS), concurrency=1)
    with FakeServer() as srv:
        study_config(isolated_user_dirs, srv.openai_base_url)
        enqueue_truth(srv)
        with Symposia(tmp_path / "study.db") as s:
            outcome = run_sync(run_study(s.runtime, plan))
            assert outcome.status == "complete"
            assert srv.request_count == plan.calls == 3 * (5 * K + 20)
            assert all(srv.pending(f"fake/{v}") == 0 for v in VOICES)
            turns = s.archive.session_turns(outcome.session_id)
            session = s.archive.get_session(outcome.session_id)
            a = analyze_study(s.archive, outcome.session_id, n_perm=1000, n_boot=400)
            written = write_report(a, tmp_path / "report")
    assert session.kind == "study" and session.status == "complete"
    keys = {t.step_key for t in turns}
    assert "p3:beta:s2" in keys and "c20:gamma:s1" in keys and len(keys) == len(turns)
    # every call saw exactly its prompt, in a fresh context
    for t in turns:
        assert len(t.request.messages) == 1
        assert t.request.messages[0].content in PROMPTS + CONTROLS
    pairs = {(p.a, p.b): p for p in a.sets[0].pairs}
    ab, ag, bg = pairs[("alpha", "beta")], pairs[("alpha", "gamma")], pairs[("beta", "gamma")]
    assert ab.floor is not None and ab.floor < 0.3
    assert ab.lift is not None and ab.lift > 0.3
    assert ab.lift_ci is not None and ab.lift_ci[0] > 0
    assert ab.p_same_prompt == pytest.approx(1 / 120) and ab.q_same_prompt < 0.05  # exact: 5! permutations
    assert ab.p_distinct > 0.05  # alpha and beta are exchangeable: as alike to each other as to themselves
    for other in (ag, bg):
        assert other.lift is not None and abs(other.lift) < 0.15
        assert other.q_same_prompt > 0.05
        assert other.p_distinct < 0.05  # gamma is easily told apart
        assert other.lift_ci is not None and other.lift_ci[0] < 0.1
    assert a.verdict.claims_convergence
    assert "alpha and beta agree beyond the floor" in a.verdict.text()
    assert any(p.startswith("alpha and gamma: no evidence") for p in a.verdict.points)
    assert "K >= 5" in a.verdict.text()  # the design is smaller than recommended, and it says so
    assert a.floor_texts == 60 and a.floor_unreliable is None
    control_ids = {f"turn:{t.id}" for t in turns if t.meta.get("set") == "control"}
    assert set(a.floor_ids) == control_ids and len(control_ids) == 60
    # the shared topic words were not in the neutral prompts: unprompted, used by alpha and beta only
    reef = [h for h in a.sets[0].motifs if h.prompt == "p1" and h.motif.label == "coral"]
    assert reef and reef[0].motif.unprompted_voices == ("alpha", "beta")
    assert reef[0].motif.tail_p is not None  # base rates from the control battery
    names = {p.name for p in written}
    sid = outcome.session_id
    assert {f"{sid}.analysis.md", f"{sid}.analysis.json", f"{sid}.analysis.html", f"{sid}.heatmap.svg"} <= names
    md = report_markdown(a)
    assert "alpha · beta" in md and "p same prompt" in md


def test_a_failed_call_is_retried_on_resume_and_finished_calls_are_not(isolated_user_dirs: Path,
                                                                       tmp_path: Path) -> None:
    plan = StudyPlan(prompts=("Say one thing.", "Say another."), voices=("alpha", "beta"), samples=2,
                     controls=("How do you boil an egg?",), concurrency=1)
    with FakeServer() as srv:
        study_config(isolated_user_dirs, srv.openai_base_url, ("alpha", "beta"))
        srv.default = Reply(text="A plain answer about nothing much.")
        srv.enqueue(Reply(text="first"), Reply(fault=Fault("http_400", message="bad request")), model="fake/beta")
        with Symposia(tmp_path / "r.db") as s:
            first = run_sync(run_study(s.runtime, plan))
            assert first.status == "interrupted" and srv.request_count == plan.calls == 10
            again = run_sync(run_study(s.runtime, plan, session_id=first.session_id))
            assert again.status == "complete"
            assert srv.request_count == 11  # only the failed call was made again
            assert srv.requests[-1].model == "fake/beta"
            assert s.archive.get_session(first.session_id).status == "complete"


def test_study_cli_runs_resumes_and_reports(isolated_user_dirs: Path, tmp_path: Path) -> None:
    if "study" not in cli.commands:  # the lead registers the verb in cli/main.py
        cli.add_command(study_cmd)
    db = tmp_path / "cli.db"
    prompts = tmp_path / "p.txt"
    prompts.write_text("# two prompts\nWhat is a <script>alert(1)</script> tag?\nName a colour.\n")
    with FakeServer() as srv:
        study_config(isolated_user_dirs, srv.openai_base_url, ("alpha", "beta"))
        srv.default = Reply(text="It is <b>bold</b> | and **plain**.")
        out = tmp_path / "out"
        res = CliRunner().invoke(cli, ["--archive", str(db), "study", str(prompts), "--voices", "alpha,beta",
                                       "--samples", "2", "--control-prompts", str(FIXTURES / "controls.toml"),
                                       "--out", str(out), "--json"])
        assert res.exit_code == 0, res.output
        assert srv.request_count == 2 * (2 * 2 + 20)
        assert '"format": "symposia.study/2"' in res.stdout
        sid = next(p.name for p in out.iterdir() if p.suffix == ".html").split(".")[0]
        page = (out / f"{sid}.analysis.html").read_text(encoding="utf-8")
        assert "<script>" not in page and "&lt;script&gt;" in page
        assert "data:image/svg+xml;base64," in page
        again = CliRunner().invoke(cli, ["--archive", str(db), "study", "--resume", sid, "--out", str(out)])
        assert again.exit_code == 0, again.output
        assert srv.request_count == 48  # everything was finished: nothing called again
        floor = CliRunner().invoke(cli, ["--archive", str(db), "analyze", sid, "--floor-from", "kind=council"])
        assert floor.exit_code == 2 and "control prompts" in floor.stderr  # a study's floor is its own
        old = CliRunner().invoke(cli, ["--archive", str(db), "study", str(prompts), "--voices", "alpha",
                                       "--controls", str(FIXTURES / "controls.toml")])
        assert old.exit_code == 2 and "--control-prompts" in old.stderr


def test_html_report_escapes_model_text(isolated_user_dirs: Path, tmp_path: Path) -> None:
    plan = StudyPlan(prompts=("One?", "Two?"), voices=("alpha", "beta"), samples=2, concurrency=1)
    with FakeServer() as srv:
        study_config(isolated_user_dirs, srv.openai_base_url, ("alpha", "beta"))
        srv.default = Reply(text="<img src=x onerror=alert(1)> [link](javascript:alert(1)) coral reef")
        with Symposia(tmp_path / "h.db") as s:
            outcome = run_sync(run_study(s.runtime, plan))
            a = analyze_study(s.archive, outcome.session_id, n_perm=100, n_boot=50)
    page = report_html(a)
    assert "<img src=x" not in page and 'href="javascript' not in page
    assert "No control battery was run" in a.verdict.text()


def test_session_report_escapes_what_models_wrote(isolated_user_dirs: Path, tmp_path: Path) -> None:
    from symposia.analysis import analyze_session
    from symposia.dialogue.council import CouncilPlan, run_council

    evil = "**<script>alert(1)</script> the gap | is [a link](javascript:alert(1)) here** and more words follow."
    with FakeServer() as srv:
        study_config(isolated_user_dirs, srv.openai_base_url, ("alpha", "beta"))
        srv.default = Reply(text=evil)
        with Symposia(tmp_path / "e.db") as s:
            outcome = run_sync(run_council(s.runtime, CouncilPlan(question="What is the gap?",
                                                                  voices=("alpha", "beta"))))
            a = analyze_session(s.archive, outcome.session_id)
    assert a.formulations and "<script>" in a.formulations[0].quote  # verbatim, as the voice wrote it
    assert a.spans and not a.spans[0].echo  # both voices wrote the same long span, not in the question
    page = report_html(a)
    assert "<script>" not in page and "&lt;script&gt;" in page and 'href="javascript' not in page
    md = report_markdown(a)
    assert "\\<script\\>" in md and "\\|" in md  # escaped in Markdown tables too


ECHO_PROMPTS = tuple(PROMPTS)
ECHO_K = 2


def enqueue_echo(srv: FakeServer) -> dict[tuple[int, int], str]:
    """alpha and beta answer each prompt fresh from DIFFERENT topics; shown beta's answer, alpha copies
    it (a pure echo); shown alpha's, beta keeps to its own topic. Returns beta's fresh answers."""
    rng = random.Random(11)
    beta_fresh = {(p, k): rng.choice(DISJOINT[p]) for p in range(5) for k in range(1, ECHO_K + 1)}
    for p in range(5):
        for _ in range(ECHO_K):
            srv.enqueue(Reply(text=rng.choice(SHARED[p])), model="fake/alpha")
        for k in range(1, ECHO_K + 1):
            srv.enqueue(Reply(text=beta_fresh[(p, k)]), model="fake/beta")
    for answer in CONTROL_ANSWERS:
        srv.enqueue(Reply(text=answer), model="fake/alpha")
        srv.enqueue(Reply(text=answer), model="fake/beta")
    for p in range(5):  # the exposed phase, in plan order
        for k in range(1, ECHO_K + 1):
            srv.enqueue(Reply(text=beta_fresh[(p, k)]), model="fake/alpha")
            srv.enqueue(Reply(text=rng.choice(DISJOINT[p])), model="fake/beta")
    return {(p + 1, k): t for (p, k), t in beta_fresh.items()}


def test_echo_option_measures_how_much_exposure_adds_with_a_ci(isolated_user_dirs: Path, tmp_path: Path) -> None:
    from symposia.web.report import session_report

    plan = StudyPlan(prompts=ECHO_PROMPTS, voices=("alpha", "beta"), samples=ECHO_K, controls=tuple(CONTROLS),
                     echo=True, concurrency=1)
    with FakeServer() as srv:
        study_config(isolated_user_dirs, srv.openai_base_url, ("alpha", "beta"))
        beta_fresh = enqueue_echo(srv)
        with Symposia(tmp_path / "echo.db") as s:
            outcome = run_sync(run_study(s.runtime, plan))
            assert outcome.status == "complete" and srv.request_count == plan.calls == 2 * (5 * 2 * 2 + 20)
            turns = s.archive.session_turns(outcome.session_id)
            a = analyze_study(s.archive, outcome.session_id, n_perm=500, n_boot=500)
            web = session_report(s.archive, outcome.session_id)
            full = analyze_study(s.archive, outcome.session_id)
    exposed = [t for t in turns if t.meta.get("set") == "exposed"]
    assert len(exposed) == 5 * 2 * ECHO_K
    for t in exposed:  # each exposed call saw the other voice's fresh answer of the same prompt and sample
        i, k = int(str(t.meta["prompt"])[1:]), int(t.meta["sample"])
        if t.voice == "alpha":
            assert beta_fresh[(i, k)] in t.request.messages[0].content
        assert PROMPTS[i - 1] in t.request.messages[0].content and len(t.request.messages) == 1
    assert a.echo is not None
    by = {e.voice: e for e in a.echo}
    assert by["alpha"].exposed == pytest.approx(1.0, abs=1e-3)  # alpha copied what it was shown
    assert by["alpha"].effect > 0.5 and by["alpha"].ci[0] > 0.4
    assert abs(by["beta"].effect) < 0.2 and by["beta"].ci[0] < 0 < by["beta"].ci[1] + 0.05
    assert by["all"].prompts == 5 and by["all"].ci[0] < by["all"].effect < by["all"].ci[1]
    assert "Echo effect" in a.verdict.text()
    # Vendi per voice: K = 2 samples per prompt, so between 1 and 2 effective answers
    div = {d.label: d for d in a.sets[0].diversity}
    assert {"alpha", "beta", "alpha · beta"} <= set(div)
    assert all(1.0 <= div[v].vendi <= 2.0 + 1e-6 for v in ("alpha", "beta"))
    assert div["alpha · beta"].vendi > max(div["alpha"].vendi, div["beta"].vendi)  # two topics pooled
    md = report_markdown(a)
    assert "# Echo effect" in md and "Vendi" in md and "effective number of distinct answers" in md
    # the web page of a study session shows the study analysis, not the one-transcript analysis
    assert web.markdown == report_markdown(full, heatmap=None, level=2)
    assert "Study:" in web.markdown and "one transcript" not in web.markdown
