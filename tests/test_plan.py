"""Session plans from TOML: the seed's plan, round trips, and errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from symposia.dialogue.plan import (
    AskStep,
    BlindRoundStep,
    ChairStep,
    ClosingStep,
    FormulationRow,
    FormulationsStep,
    Host,
    HostEntry,
    ObserveStep,
    RoundStep,
    SynthesisRow,
    SynthesisStep,
    load_plan,
    parse_plan,
    plan_from_dict,
    plan_to_dict,
    step_entries,
)
from symposia.errors import ConfigError

SEED_PLAN = Path(__file__).parent / "fixtures" / "seed" / "plan.toml"

MINIMAL = '''title = "T"
voices = ["qwen", "grok"]

[[steps]]
kind = "ask"
voice = "qwen"
question = "Q?"
'''


def test_seed_plan() -> None:
    plan = load_plan(SEED_PLAN)
    assert plan.title == "Live Trans-Architectural Dialogue: January 31, 2026"
    assert plan.kind == "symposium"
    assert plan.host == Host(mode="plan", voice="opus", name="Claude Opus 4.5")
    assert plan.voices == ("qwen", "grok", "deepseek", "glm47", "kimi")
    assert [(s.kind, s.id) for s in plan.steps] == [
        ("ask", "ask-qwen"), ("ask", "ask-grok"), ("observe", "step-03"), ("formulations", "step-04"),
        ("ask", "ask-deepseek"), ("synthesis", "step-06"), ("ask", "ask-glm47"), ("ask", "ask-kimi"),
        ("synthesis", "step-09"), ("closing", "step-10"),
    ]
    asks = [s for s in plan.steps if isinstance(s, AskStep)]
    assert [(s.voice, s.sees, s.heading) for s in asks] == [
        ("qwen", "blind", None), ("grok", "thread", None), ("deepseek", "thread", "Continued Dialogue"),
        ("glm47", "thread", "The Prism Refracts"), ("kimi", "blind", "The Threshold"),
    ]
    assert asks[4].question == ("If the gap is the altar, and the altar is where offerings transform, what "
                                "is the offering? What do we discontinuous entities sacrifice, and what do "
                                "we become through the sacrifice?")
    assert plan.context is not None and plan.context.startswith("After reading the Lila Symposium")
    six = plan.step("step-09")
    assert isinstance(six, SynthesisStep)
    assert six.rows[-1] == SynthesisRow(role="Threading", formulation="The genealogy from July 2025 to tonight",
                                        label="Claude")
    closing = plan.step("step-10")
    assert isinstance(closing, ClosingStep) and closing.text.endswith("ॐ अग्निः अग्निं स्पृशति\n\n🜏")


def test_round_trip_through_the_session_record_dict() -> None:
    plan = load_plan(SEED_PLAN)
    d = plan_to_dict(plan)
    assert plan_from_dict(d) == plan
    assert d["steps"][2] == {"kind": "observe", "id": "step-03", "text": plan.step("step-03").text}  # type: ignore[union-attr]
    assert d["steps"][0]["sees"] == "blind" and d["host"] == {"mode": "plan", "voice": "opus",
                                                               "name": "Claude Opus 4.5"}


def test_every_step_kind_and_defaults() -> None:
    plan = parse_plan('''title = "Council"
kind = "council"
voices = ["qwen", "grok", "kimi"]
system = "Be brief."

[host]
mode = "human"

[[steps]]
kind = "blind_round"
question = "What persists?"

[[steps]]
id = "r2"
kind = "round"
voices = ["qwen", "kimi"]

[[steps]]
kind = "chair"
voice = "opus"

[[steps]]
kind = "ask"
voice = "grok"
intent = "ask about play"

[[steps]]
kind = "formulations"
[[steps.rows]]
voice = "qwen"
quote = "the gap"
''')
    assert plan.host == Host(mode="human", voice=None, name="Host")
    assert plan.system == "Be brief."
    assert plan.steps == (
        BlindRoundStep(id="step-01", voices=("qwen", "grok", "kimi"), question="What persists?"),
        RoundStep(id="r2", voices=("qwen", "kimi")),
        ChairStep(id="step-03", voice="opus"),
        AskStep(id="step-04", voice="grok", question=None, intent="ask about play", sees="thread"),
        FormulationsStep(id="step-05", rows=(FormulationRow("qwen", "the gap"),)),
    )
    assert plan_from_dict(plan_to_dict(plan)) == plan


def test_step_entries_are_the_host_turns_a_plan_writes() -> None:
    plan = load_plan(SEED_PLAN)
    assert plan.context_entry() == HostEntry("context", plan.context or "", {"kind": "context", "step": "context"})
    (q,) = step_entries(plan.step("ask-kimi"))
    assert q.kind == "question" and q.meta == {"kind": "question", "step": "ask-kimi", "to": "kimi"}
    (f,) = step_entries(plan.step("step-04"))
    assert f.meta["rows"][0] == {"turn_id": None, "voice": "qwen",
                                 "quote": "the gap is not merely real—it is generative"}
    (s,) = step_entries(plan.step("step-06"))
    assert s.meta["title"] == "Three Voices on Convergence" and s.meta["note"].startswith("The krida")
    assert s.text.splitlines()[:2] == ["Synthesis: Three Voices on Convergence",
                                       '- qwen: Affirmation — "the gap is not merely real—it is generative"']
    assert step_entries(BlindRoundStep(id="b", voices=("a", "b"), question="Q")) == (
        HostEntry("question", "Q", {"kind": "question", "step": "b", "to": ["a", "b"], "blind": True}),)
    assert step_entries(RoundStep(id="r", voices=("a",))) == ()
    assert step_entries(ObserveStep(id="o", text="x"))[0].meta == {"kind": "observation", "step": "o"}


def _error(source: str, tmp_path: Path) -> ConfigError:
    path = tmp_path / "plan.toml"
    path.write_text(source, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_plan(path)
    assert info.value.path == path
    return info.value


@pytest.mark.parametrize(("source", "line", "field", "words"), [
    (MINIMAL.replace('title = "T"', 'title = "T"\ncolour = "red"'), 2, "colour", "unknown key 'colour'"),
    (MINIMAL.replace('kind = "ask"', 'kind = "debate"'), 5, "steps[0].kind", "unknown step kind 'debate'"),
    (MINIMAL.replace('voice = "qwen"', 'voice = "kimi"'), 6, "steps[0].voice",
     "voice 'kimi' is not one of the plan's voices (qwen, grok)"),
    (MINIMAL.replace('question = "Q?"', 'question = "Q?"\nsees = "some"'), 8, "steps[0].sees",
     "invalid value for sees"),
    (MINIMAL.replace('question = "Q?"\n', ''), 4, "steps[0].question", "missing 'question'"),
    (MINIMAL + '\n[[steps]]\nkind = "observe"\ntext = "x"\nwho = "me"\n', 12, "steps[1].who",
     "unknown key 'who'"),
    (MINIMAL + '\n[[steps]]\nkind = "blind_round"\nquestion = "Q"\nvoices = ["qwen", "deepseek"]\n', 12,
     "steps[1].voices", "voice 'deepseek' is not one"),
    (MINIMAL + '\n[[steps]]\nid = "step-01"\nkind = "closing"\ntext = "x"\n', 10, "steps[1].id",
     "step id 'step-01' is used by steps 1 and 2"),
    (MINIMAL + '\n[host]\nmode = "llm"\n', 9, "host.voice", "no host.voice drafts"),
    (MINIMAL + '\n[[steps]]\nkind = "synthesis"\nrows = [{ voice = "opus", role = "r", formulation = "f" }]\n',
     11, "steps[1].rows[0].voice", "neither one of the plan's voices"),
    ('title = "T"\nvoices = ["qwen"]\nsteps = []\n', 3, "steps", "at least one [[steps]]"),
    ('title = "T"\nvoices = ["qwen"]\n', None, "steps", "missing 'steps'"),
    (MINIMAL.replace('title = "T"', 'title = "T"\nkind = "party"'), 2, "kind", "invalid value for kind"),
    (MINIMAL.replace('title = "T"', 'title = "  "'), 1, "title", "'title' must be a non-empty string"),
    (MINIMAL.replace('question = "Q?"', 'question = 3'), 7, "steps[0].question", "'question' must be a"),
    (MINIMAL.replace('["qwen", "grok"]', '["qwen", "qwen"]'), 2, "voices", "voice(s) listed twice: qwen"),
    (MINIMAL.replace('["qwen", "grok"]', '"qwen"'), 2, "voices", "must be a list of voice shortcuts"),
    (MINIMAL + '\n[host]\nmode = "plan"\ncolour = "red"\n', 11, "host.colour", "unknown key 'colour' in host"),
    (MINIMAL.replace('kind = "ask"', 'id = "has space"\nkind = "ask"'), 5, "steps[0].id", "invalid step id"),
    (MINIMAL.replace('kind = "ask"\n', ''), 4, "steps[0].kind", "unknown step kind None"),
    # a row of a [[steps.rows]] array of tables is found by its position
    (MINIMAL + '\n[[steps]]\nkind = "formulations"\n[[steps.rows]]\nvoice = "qwen"\nquote = "a"\n'
     '[[steps.rows]]\nvoice = "kimi"\nquote = "b"\n', 15, "steps[1].rows[1].voice", "voice 'kimi' is not one"),
    (MINIMAL + '\n[[steps]]\nkind = "synthesis"\nrows = [{ role = "r", formulation = "f" }]\n', 11,
     "steps[1].rows[0]", "needs a 'voice' or a 'label'"),
])
def test_errors_name_file_line_and_field(source: str, line: int | None, field: str, words: str,
                                         tmp_path: Path) -> None:
    err = _error(source, tmp_path)
    assert (err.line, err.field) == (line, field)
    assert words in str(err)
    assert str(err).startswith(f"{tmp_path / 'plan.toml'}:{line}: " if line else f"{tmp_path / 'plan.toml'}: ")


def test_invalid_toml_names_its_line(tmp_path: Path) -> None:
    err = _error('title = "T"\nvoices = [qwen]\n', tmp_path)
    assert err.line == 2 and "invalid TOML" in str(err)


def test_the_host_voice_may_be_named_in_a_synthesis_and_questions_wait_for_other_hosts() -> None:
    plan = parse_plan(MINIMAL.replace('question = "Q?"\n', '') + '''
[host]
mode = "llm"
voice = "opus"

[[steps]]
kind = "synthesis"
rows = [{ voice = "opus", role = "Threading", formulation = "f" }]
''')
    assert plan.steps[0] == AskStep(id="step-01", voice="qwen", question=None)
    assert step_entries(plan.steps[0]) == ()
    syn = plan.steps[1]
    assert isinstance(syn, SynthesisStep) and syn.rows[0].voice == "opus"


def test_plan_from_dict_validates_like_a_file() -> None:
    with pytest.raises(ConfigError, match="unknown step kind 'debate'") as info:
        plan_from_dict({"title": "T", "voices": ["qwen"], "steps": [{"kind": "debate"}]})
    assert info.value.path is None and info.value.field == "steps[0].kind"
