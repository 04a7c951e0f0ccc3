"""Transcripts rendered from the record, with the seed re-enacted: plan + scripted answers -> record.

The re-enactment does in pure code what the runtime stores: each host contribution as a host turn,
each voice's request built by ``messages_for`` from the snapshot so far, each answer from the seed's
script. The Markdown is compared with tests/golden/seed_transcript.md (read against the seed: it
differs only where the plan corrects the seed's misquotes, in the catalog's names, and in the
renderer's fixed headings), and every turn's visibility is proven from what it was sent.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from markdown_it import MarkdownIt

from support import drop_provenance
from symposia.catalog import load_catalog
from symposia.codec import session_from_dict, turn_from_dict
from symposia.dialogue.plan import AskStep, HostEntry, Plan, load_plan, plan_to_dict, step_entries
from symposia.dialogue.quotes import attribute_formulations
from symposia.dialogue.visibility import messages_for, visibility_proof
from symposia.providers.scripted import Script
from symposia.records import (
    ErrorInfo,
    FinishReason,
    Message,
    SessionRecord,
    TurnRecord,
    TurnRequest,
    TurnResult,
)
from symposia.render.transcript import transcript_json, transcript_markdown
from symposia.text import check_quotes

HERE = Path(__file__).parent
SEED = HERE / "fixtures" / "seed"
GOLDEN = HERE / "golden" / "seed_transcript.md"
AT = datetime(2026, 1, 31, 20, 0, tzinfo=UTC)
SID = "20260131-200000-symposium-seed"


def render(session: SessionRecord, turns: list[TurnRecord]) -> str:
    """The transcript's layout, without the provenance block every export starts with."""
    return drop_provenance(transcript_markdown(session, turns))


class Recorder:
    """Stores turns the way the runtime does: ids and seqs in order, host turns with provider "plan"."""

    def __init__(self, session_id: str = SID) -> None:
        self.session_id = session_id
        self.turns: list[TurnRecord] = []

    def add(self, *, role: Literal["voice", "host", "chair"], voice: str, voice_name: str, text: str,
            meta: dict[str, Any], provider: str = "scripted", model: str = "m",
            messages: tuple[Message, ...] = (), error: ErrorInfo | None = None,
            finish: FinishReason = "stop", reasoning: str = "", step_key: str | None = None) -> TurnRecord:
        n = len(self.turns) + 1
        turn = TurnRecord(
            id=n, session_id=self.session_id, seq=n, voice=voice, voice_name=voice_name, provider=provider,
            request=TurnRequest(model=model, messages=messages),
            result=TurnResult(text=text, reasoning=reasoning, error=error, finish_reason=finish,
                              model_requested=model, started_at=AT, ended_at=AT),
            role=role, step_key=step_key, meta=meta,
        )
        self.turns.append(turn)
        return turn

    def host(self, plan: Plan, entry: HostEntry) -> TurnRecord:
        meta = dict(entry.meta)
        if entry.kind == "formulations":
            meta["rows"] = attribute_formulations(meta["rows"], self.turns)
        return self.add(role="host", voice=plan.host.voice or "host", voice_name=plan.host.name,
                        text=entry.text, meta=meta, provider="plan", model="plan",
                        step_key=f"{meta['step']}:{entry.kind}")


def reenact_seed() -> tuple[SessionRecord, list[TurnRecord], Plan]:
    plan = load_plan(SEED / "plan.toml")
    catalog = load_catalog()
    script = Script.load(SEED / "script.toml")
    rec = Recorder()
    context = plan.context_entry()
    assert context is not None
    rec.host(plan, context)
    for step in plan.steps:
        for entry in step_entries(step):
            rec.host(plan, entry)
        if isinstance(step, AskStep):
            assert step.question is not None
            voice = catalog.voice(step.voice)
            messages = messages_for(voice.shortcut, voice.name, step.question, tuple(rec.turns), step.sees,
                                    plan.host.name)
            rec.add(role="voice", voice=voice.shortcut, voice_name=voice.name,
                    text=script.models[voice.model][0].text, model=voice.model, messages=tuple(messages),
                    meta={"step": step.id, "family": voice.family}, step_key=step.id)
    session = SessionRecord(id=SID, kind="symposium", title=plan.title, created_at=AT, status="complete",
                            plan=plan_to_dict(plan))
    return session, rec.turns, plan


def test_seed_transcript_matches_the_golden_file() -> None:
    session, turns, _ = reenact_seed()
    text = transcript_markdown(session, turns)
    if os.environ.get("SYMPOSIA_WRITE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_seed_turns_saw_only_what_the_host_relayed() -> None:
    _, turns, _ = reenact_seed()
    ids = {t.step_key: t.id for t in turns if t.role == "voice"}
    qwen, grok = ids["ask-qwen"], ids["ask-grok"]
    voices = [t for t in turns if t.role == "voice"]
    proofs = {}
    for t in voices:
        before = [x for x in turns if x.seq < t.seq]
        proof = visibility_proof(t.request.messages, before, t.voice)
        proofs[t.voice] = proof
        # each voice was sent exactly one user message, the host's question to it, and nobody's answer
        question = [x for x in before if x.meta.get("kind") == "question" and x.meta.get("to") == t.voice][-1]
        assert t.request.messages == (Message("user", question.result.text),)
        assert proof["shown"] == [question.id] and proof["own"] == []
    assert proofs["qwen"]["excerpts"] == {}  # first to speak, asked blind
    assert proofs["grok"]["excerpts"] == {
        qwen: ["The gap is the altar", "The offering burns not *on* the altar, but *as* the altar"]}
    assert proofs["deepseek"]["excerpts"] == {
        qwen: ["The gap is the altar", "The offering burns not *on* the altar, but *as* the altar"],
        # Grok's answer also holds the phrase "The gap is the altar": an echo, not a relay of Grok
        grok: ["The gap is the altar"]}
    assert proofs["glm47"]["excerpts"] == {qwen: ["The gap is the altar"], grok: ["The gap is the altar"]}
    # Kimi was asked blind, yet its question repeats the seed's image: an echo of Qwen's words
    assert proofs["kimi"]["excerpts"] == {qwen: ['gap is the altar,"* and']}
    # Grok's "Hallucination implies solipsism… This? It's *synchrony*." reached DeepSeek elided, in
    # runs shorter than an excerpt; check_quotes attributes it to Grok's turn (next test).


def test_seed_relays_are_verified_and_outside_quotes_are_listed() -> None:
    _, turns, plan = reenact_seed()
    ids = {t.step_key: t.id for t in turns if t.role == "voice"}
    results = {}
    for step in plan.steps:
        if isinstance(step, AskStep):
            assert step.question is not None
            asked = next(t for t in turns if t.step_key == f"{step.id}:question")
            corpus = {t.id: t.result.text for t in turns
                      if t.role == "voice" and t.id is not None and t.seq < asked.seq}
            check = check_quotes(step.question, corpus)
            results[step.voice] = (check.sources(), [m.quote for m in check.misquotes])
    qwen, grok = ids["ask-qwen"], ids["ask-grok"]
    # Quotes of the Lila Symposium, the host's own prayer and an ancestor's line are not in this
    # session's record (the archive is not part of the fixture): they stay unverified.
    assert results == {
        "qwen": ({}, ["The gap is the altar", "The attempt IS the phenomenon.",
                      "O Altar where the offering burns."]),
        "grok": ({"The gap is the altar.": qwen,
                  "The offering burns not *on* the altar, but *as* the altar.": qwen},
                 ["the altar where the offering burns", "probe AND party."]),
        "deepseek": ({"The gap is the altar.": qwen,
                      "The offering burns not *on* the altar, but *as* the altar.": qwen,
                      "Hallucination implies solipsism… This? It's *synchrony*.": grok},
                     ["the altar where the offering burns", "mirrors reflecting mirrors."]),
        "glm47": ({"The gap is the altar.": qwen}, ["I'M A FUCKING HUAYAN NETWORK"]),
        "kimi": ({}, []),
    }


def test_seed_key_formulations_are_attributed_and_verbatim() -> None:
    _, turns, _ = reenact_seed()
    ids = {t.step_key: t.id for t in turns if t.role == "voice"}
    (formulations,) = [t for t in turns if t.meta.get("kind") == "formulations"]
    assert [(r["voice"], r["turn_id"]) for r in formulations.meta["rows"]] == [
        ("qwen", ids["ask-qwen"])] * 3 + [("grok", ids["ask-grok"])] * 3


def test_golden_is_valid_gfm() -> None:
    html = MarkdownIt("commonmark").enable("table").render(GOLDEN.read_text(encoding="utf-8"))
    assert html.count("<table>") == 4  # provenance, key formulations, two syntheses
    assert html.count("<blockquote>") == 10  # five questions, five answers
    assert "<h2>Voice: Kimi K2 (The Threshold)</h2>" in html


# -- failures, flags, formulations that are not verbatim, hostile text -------------------------------


def _symposium(plan: dict[str, Any] | None = None) -> SessionRecord:
    return SessionRecord(id="s", kind="symposium", title="T", created_at=AT,
                         plan=plan if plan is not None else {"host": {"name": "Host"}})


def test_failed_empty_truncated_and_retried_turns_are_shown_honestly() -> None:
    r = Recorder("s")
    for voice, name in (("qwen", "Qwen 3 Max"), ("grok", "Grok 4.1"), ("glm47", "GLM 4.7"), ("kimi", "Kimi K2")):
        r.add(role="host", voice="opus", voice_name="Host", text=f"Question for {name}?",
              meta={"kind": "question", "step": f"ask-{voice}", "to": voice}, provider="plan")
    r.add(role="voice", voice="qwen", voice_name="Qwen 3 Max", text="", step_key="ask-qwen",
          error=ErrorInfo("server_error", "upstream *failed* | 502\nretry later"), meta={"step": "ask-qwen"})
    r.add(role="voice", voice="grok", voice_name="Grok 4.1", text="", reasoning="thinking…",
          finish="length", step_key="ask-grok", meta={"step": "ask-grok"})
    r.add(role="voice", voice="glm47", voice_name="GLM 4.7", text="Cut mid", finish="length",
          step_key="ask-glm47", meta={"step": "ask-glm47", "family": "GLM"})
    r.add(role="voice", voice="kimi", voice_name="Kimi K2", text="", step_key="ask-kimi",
          error=ErrorInfo("timeout", "took too long"), meta={"step": "ask-kimi"})
    r.add(role="voice", voice="kimi", voice_name="Kimi K2", text="Second try.", step_key="ask-kimi",
          meta={"step": "ask-kimi", "family": "Kimi"})
    assert render(_symposium(), r.turns) == """# T

---

## Voice: Qwen 3 Max

**Question from Host:**

> Question for Qwen 3 Max?

*Qwen 3 Max did not answer: upstream \\*failed\\* \\| 502 retry later*

---

## Voice: Grok 4.1

**Question from Host:**

> Question for Grok 4.1?

*Grok 4.1 returned an empty answer (it produced reasoning only).*

---

## Voice: GLM 4.7

**Question from Host:**

> Question for GLM 4.7?

**GLM's Response:**

> Cut mid

*The answer was cut off at the token limit.*

---

## Voice: Kimi K2

**Question from Host:**

> Question for Kimi K2?

**Kimi's Response:**

> Second try.
"""


def test_formulations_that_are_not_verbatim_are_left_out_and_said_so() -> None:
    r = Recorder("s")
    r.add(role="host", voice="opus", voice_name="Host", text="Q?", meta={"kind": "question", "to": "qwen"})
    q = r.add(role="voice", voice="qwen", voice_name="Qwen 3 Max", text="The offering burns not *on* the "
              "altar, but *as* the altar. A | pipe\nand a line.", meta={"family": "Qwen"})
    r.add(role="host", voice="opus", voice_name="Host", text="", meta={"kind": "formulations", "rows": [
        {"turn_id": q.id, "voice": "qwen", "quote": "The offering burns not *on* the altar"},
        {"turn_id": q.id, "voice": "qwen", "quote": "The offering burns not ON the altar, but AS the fire"},
        {"turn_id": None, "voice": "grok", "quote": "Hallucination implies solipsism"},
        {"turn_id": q.id, "voice": "qwen", "quote": "A | pipe\nand a line."},
    ]})
    md = render(_symposium(), r.turns)
    assert md.endswith("""## Key Formulations

| Source | Formulation |
|--------|-------------|
| Qwen | "The offering burns not *on* the altar" |
| Qwen | "A \\| pipe<br>and a line." |

*Left out, not found verbatim in the cited answer:* Qwen — "The offering burns not ON the altar, but AS \
the fire"; grok — "Hallucination implies solipsism"
""")
    html = MarkdownIt("commonmark").enable("table").render(md)
    table = html.split("<table>")[1].split("</table>")[0]
    assert table.count("<tr>") == 3 and table.count("<td>") == 4  # the pipe did not split a cell
    assert "A | pipe<br>and a line." in table


def test_hostile_answers_cannot_break_the_structure() -> None:
    r = Recorder("s")
    r.add(role="host", voice="opus", voice_name="Host", text="Q?\n\n## Not a heading", meta={
        "kind": "question", "to": "qwen"})
    r.add(role="voice", voice="qwen", voice_name="Qwen *3* Max", text="# Heading\n\n---\n| a | b |\n|---|---|",
          meta={})
    md = render(_symposium(), r.turns)
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    top = [t for t in tokens if t.level == 0 and t.type in ("heading_open", "hr", "table_open")]
    # outside the blockquotes: the title, one rule, the voice's section; nothing the texts wrote
    assert [t.type for t in top] == ["heading_open", "hr", "heading_open"]
    heading = tokens[tokens.index(top[2]) + 1]
    assert heading.content == "Voice: Qwen \\*3\\* Max"
    assert "<h2>Voice: Qwen *3* Max</h2>" in MarkdownIt("commonmark").render(md)


# -- council, chat, arena --------------------------------------------------------------------------


def test_council_layout() -> None:
    r = Recorder("c")
    order = [("kimi", "Kimi K2"), ("qwen", "Qwen 3 Max"), ("grok", "Grok 4.1")]  # stored out of order
    for rnd in (1, 2):
        for voice, name in order:
            failed = rnd == 1 and voice == "grok"
            r.add(role="voice", voice=voice, voice_name=name, text="" if failed else f"{name} round {rnd}.",
                  error=ErrorInfo("rate_limited", "429 slow down") if failed else None,
                  meta={"round": rnd, "step": f"r{rnd}:{voice}"}, step_key=f"r{rnd}:{voice}")
    r.add(role="chair", voice="opus", voice_name="Claude Opus 4.5", text="They converge.\n\nMostly.",
          meta={"kind": "synthesis", "step": "chair"}, step_key="chair")
    r.add(role="voice", voice="qwen", voice_name="Qwen 3 Max", text="FINAL RANKING: A, B",
          meta={"kind": "ranking", "step": "rank:qwen", "labels": {"A": "kimi", "B": "grok"},
                "self_excluded": True}, step_key="rank:qwen")
    session = SessionRecord(id="c", kind="council", title="Council: What persists?", created_at=AT,
                            plan={"kind": "council", "question": "What persists?",
                                  "voices": ["qwen", "grok", "kimi"], "rounds": 2})
    assert render(session, r.turns) == """# Council: What persists?

---

## The Question

> What persists?

---

## Round 1

### Qwen 3 Max

> Qwen 3 Max round 1.

### Grok 4.1

*Grok 4.1 did not answer: 429 slow down*

### Kimi K2

> Kimi K2 round 1.

---

## Round 2

### Qwen 3 Max

> Qwen 3 Max round 2.

### Grok 4.1

> Grok 4.1 round 2.

### Kimi K2

> Kimi K2 round 2.

---

## Synthesis (Chair: Claude Opus 4.5)

> They converge.
>
> Mostly.

---

## Peer Ranking

### Qwen 3 Max

*Shown, in this order: Response A = Kimi K2, Response B = Grok 4.1 (its own answer left out).*

*Its ranking could not be parsed: it is left out of the aggregate.*

> FINAL RANKING: A, B

### Aggregate

| Voice | Mean rank | Votes |
|-------|-----------|-------|
| Grok 4.1 | — | 0 |
| Kimi K2 | — | 0 |

*Mean position over the rankings that parsed (1 = best).*

**Rankers whose ranking could not be parsed:** Qwen 3 Max
"""


def test_chat_layout_honours_retry_undo_and_switch() -> None:
    r = Recorder("h")
    first = r.add(role="voice", voice="qwen", voice_name="Qwen 3 Max", text="Old answer.",
                  meta={"question": "What is play?"})
    r.add(role="voice", voice="qwen", voice_name="Qwen 3 Max", text="Better answer.",
          meta={"question": "What is play?", "kind": "retry", "replaces": first.id})
    r.add(role="host", voice="opus", voice_name="Human", text="", meta={"kind": "switch", "to": "grok"})
    undone = r.add(role="voice", voice="grok", voice_name="Grok 4.1", text="Oops.", meta={"question": "Hm?"})
    r.add(role="host", voice="opus", voice_name="Human", text="", meta={"kind": "undo", "turn": undone.id})
    r.add(role="voice", voice="grok", voice_name="Grok 4.1", text="Krida!", meta={"question": "And you?"})
    session = SessionRecord(id="h", kind="chat", title="Chat with Qwen 3 Max", created_at=AT,
                            plan={"voice": "qwen"})
    assert render(session, r.turns) == """# Chat with Qwen 3 Max

---

## Turn 1 — Qwen 3 Max

**Host:**

> What is play?

**Qwen 3 Max:**

> Better answer.

---

## Turn 2 — Grok 4.1

*Switched to Grok 4.1.*

**Host:**

> And you?

**Grok 4.1:**

> Krida!
"""


def test_arena_layout_shows_the_retry_not_the_failure() -> None:
    r = Recorder("a")
    r.add(role="voice", voice="glm5", voice_name="GLM 5", text="Phase transitions are thresholds.",
          meta={"arena_turn": 1, "side": "a"}, step_key="turn-1")
    r.add(role="voice", voice="deepseek", voice_name="DeepSeek V3", text="", step_key="turn-2",
          error=ErrorInfo("server_error", "boom"), meta={"arena_turn": 2, "side": "b"})
    r.add(role="voice", voice="deepseek", voice_name="DeepSeek V3", text="Thresholds | edges.",
          meta={"arena_turn": 2, "side": "b"}, step_key="turn-2.2")
    session = SessionRecord(id="a", kind="arena", title="Free talk", created_at=AT,
                            plan={"mode": "free", "topic": "What happens at phase transitions?"})
    assert render(session, r.turns) == """# Free talk

---

**Mode:** free
**Topic:** What happens at phase transitions?

---

## Turn 1 — GLM 5

**GLM 5:**

> Phase transitions are thresholds.

---

## Turn 2 — DeepSeek V3

**DeepSeek V3:**

> Thresholds | edges.
"""


def test_transcript_json_is_the_full_record() -> None:
    session, turns, _ = reenact_seed()
    data = transcript_json(session, turns)
    data = json.loads(json.dumps(data, ensure_ascii=False))  # plain JSON all the way down
    assert data["format"] == "symposia.transcript/1"
    assert session_from_dict(data["session"]) == session
    assert [turn_from_dict(t) for t in data["turns"]] == turns
    first_voice = next(t for t in data["turns"] if t["role"] == "voice")
    asked = next(t for t in turns if t.step_key == "ask-qwen:question")
    assert first_voice["request"]["messages"] == [{"role": "user", "content": asked.result.text}]
    assert first_voice["request"]["model"] == "qwen/qwen3-max" and first_voice["meta"]["family"] == "Qwen"


@pytest.mark.parametrize("kind", ["import", "symposium"])
def test_unknown_kinds_use_the_symposium_layout(kind: str) -> None:
    session = SessionRecord(id="x", kind=kind, title="T", created_at=AT,
                            plan={"subtitle": "sub", "context": "Some *context*."})
    assert render(session, []) == "# T\n\n*sub*\n\n---\n\n## Context\n\nSome *context*.\n"


def test_ask_layout_shows_what_the_voice_was_sent() -> None:
    r = Recorder("q")
    r.add(role="voice", voice="grok", voice_name="Grok 4.1", text="Play is the probe and the party.",
          messages=(Message("user", "What is play?"),), meta={})
    session = SessionRecord(id="q", kind="ask", title="Ask Grok 4.1", created_at=AT)
    assert render(session, r.turns) == (
        "# Ask Grok 4.1\n\n---\n\n## Turn 1 — Grok 4.1\n\n**Host:**\n\n> What is play?\n\n"
        "**Grok 4.1:**\n\n> Play is the probe and the party.\n")
