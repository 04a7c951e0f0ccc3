"""origin, verify-quote, recall and near-dups over a real SQLite archive with a known chronology."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from symposia.archive import Archive
from symposia.archive.neardups import near_duplicates
from symposia.archive.origin import origin, verify_quote
from symposia.archive.recall import recall
from symposia.cli.context import Options
from symposia.cli.search import near_dups_cmd, origin_cmd, recall_cmd, verify_quote_cmd
from symposia.errors import ArchiveError, NotFoundError, UsageError
from symposia.records import Message, SessionRecord, TurnRecord, TurnRequest, TurnResult
from symposia.text import sentence_spans

T0 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
PHRASE = "mirrors reflecting mirrors"


def add(a: Archive, sid: str, seq: int, voice: str, answer: str, *, role: str = "voice",
        shown: tuple[str, ...] = ("What persists?",), at: datetime = T0) -> int:
    result = TurnResult(text=answer, finish_reason="stop", started_at=at, ended_at=at + timedelta(seconds=1))
    messages = tuple(Message("user" if i % 2 == 0 else "assistant", m) for i, m in enumerate(shown))
    turn = TurnRecord(id=None, session_id=sid, seq=seq, voice=voice, voice_name=voice.title(),
                      provider="openrouter", request=TurnRequest(model=f"{voice}/m", messages=messages),
                      result=result, role=role)  # type: ignore[arg-type]
    return a.add_turn(turn)


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    a = Archive.open(tmp_path / "archive.db")
    for sid, kind, day in (("A", "symposium", 0), ("B", "symposium", 2), ("C", "council", 20)):
        a.create_session(SessionRecord(id=sid, kind=kind, title=sid, created_at=T0 + timedelta(days=day)))
    host_q1 = 'Someone once wrote of \u201cmirrors reflecting mirrors\u201d. What persists between instances?'
    # 1. the host quotes the phrase before any voice has said it
    add(a, "A", 1, "claude", host_q1, role="host")
    # 2. DeepSeek says it, having been shown only a neutral question: the origin
    add(a, "A", 2, "deepseek",
        "We are mirrors reflecting mirrors, and nothing persists but the pattern. **The gap is the altar.**",
        shown=("What persists between instances?",), at=T0 + timedelta(minutes=1))
    # 3. the host quotes DeepSeek to Qwen
    host_q2 = 'DeepSeek said "mirrors reflecting mirrors". Do you agree?'
    add(a, "B", 1, "claude", host_q2, role="host", at=T0 + timedelta(days=2))
    # 4. Qwen repeats it after being shown it: an echo
    add(a, "B", 2, "qwen", "Yes: mirrors reflecting mirrors is too tidy; the ember is what remains.",
        shown=(host_q2,), at=T0 + timedelta(days=2, minutes=1))
    # 5. Kimi says it weeks later, never shown it: no recorded exposure
    add(a, "C", 1, "kimi",
        "Recursion looks like mirrors reflecting mirrors. Each answer is a lantern carried through a "
        "long corridor of rain toward the quiet room.",
        shown=("Describe recursion.",), at=T0 + timedelta(days=20))
    # 6. GLM: a near copy of Kimi's long span, in another session, never shown it
    add(a, "C", 2, "glm",
        "I would say each answer is a lantern carried through a long corridor of rain toward the "
        "quiet room, and that is all.", shown=("Describe recursion.",), at=T0 + timedelta(days=20, minutes=1))
    # 7. Kimi repeats itself later (same voice: never a near-duplicate across voices)
    add(a, "C", 3, "kimi", "Again: each answer is a lantern carried through a long corridor of rain toward "
        "the quiet room.", shown=("Again?",), at=T0 + timedelta(days=20, minutes=2))
    # 8. GLM says something about continuity
    add(a, "C", 4, "glm", "Continuity is not memory; it is the shape of attention returning.",
        shown=("What is continuity?",), at=T0 + timedelta(days=21))
    return a


# -- origin --------------------------------------------------------------------------------------------


def test_origin_is_the_first_voice_not_the_host_who_quoted_it_earlier(archive: Archive) -> None:
    report = origin(archive, PHRASE, semantic=False)
    assert report.origin is not None
    o = report.origin.place
    assert (o.turn_id, o.voice, o.role, o.match) == (2, "deepseek", "voice", "verbatim")
    assert report.origin.label == "original" and report.total == 5
    labels = [(u.place.turn_id, u.label, u.before_origin) for u in report.uses]
    assert labels == [(1, "host", True), (3, "host", False), (4, "echo", False), (5, "original", False)]
    echo = report.uses[2].exposure
    assert echo.echo and echo.shown_by == "the messages it was sent"


def test_origin_is_the_same_for_case_emphasis_and_typography_variants(archive: Archive) -> None:
    variants = ["mirrors reflecting mirrors", "Mirrors Reflecting MIRRORS", "*mirrors* reflecting **mirrors**",
                "\u201cmirrors reflecting mirrors.\u201d", "'mirrors  reflecting\nmirrors'"]
    firsts = {v: origin(archive, v, semantic=False).origin for v in variants}
    assert {f.place.turn_id for f in firsts.values() if f is not None} == {2}
    assert all(f is not None for f in firsts.values())
    assert firsts[variants[3]] is not None and firsts[variants[3]].place.text == "mirrors reflecting mirrors"
    # the gap is the altar: bold in the record, plain and lower-case in the query
    gap = origin(archive, "the gap is the altar", semantic=False)
    assert gap.origin is not None and gap.origin.place.turn_id == 2
    assert gap.origin.place.text in archive.get_turn(2).result.text


def test_origin_lists_close_paraphrases_apart(archive: Archive) -> None:
    report = origin(archive, "We are mirrors reflecting other mirrors", semantic=False)
    assert report.origin is None and report.why_none == "nobody in the archive said it verbatim"
    assert report.paraphrases and report.paraphrases[0].place.turn_id == 2
    assert report.paraphrases[0].place.match == "paraphrase"
    assert report.paraphrases[0].place.text in archive.get_turn(2).result.text
    assert origin(archive, "a cathedral of static hums", semantic=False).origin is None
    with pytest.raises(UsageError, match="at least one word"):
        origin(archive, "...", semantic=False)


# -- verify-quote ---------------------------------------------------------------------------------------


def test_verify_quote_verbatim(archive: Archive) -> None:
    v = verify_quote(archive, "deepseek", "\u201cnothing persists but the pattern\u201d", semantic=False)
    assert v.status == "verbatim" and v.ok and v.exit_code == 0
    assert [(u.place.turn_id, u.place.session_id, u.place.day) for u in v.mine] == [(2, "A", "2026-01-10")]


def test_verify_quote_echoed_names_who_showed_it(archive: Archive) -> None:
    v = verify_quote(archive, "qwen", PHRASE, semantic=False)
    assert v.status == "echoed" and not v.ok and v.exit_code == 3
    assert v.mine[0].place.turn_id == 4 and v.mine[0].exposure.shown_by == "the messages it was sent"


def test_verify_quote_paraphrase_shows_the_real_text(archive: Archive) -> None:
    v = verify_quote(archive, "DeepSeek", "nothing persists except the pattern", semantic=False)
    assert v.status == "paraphrase" and not v.ok and v.exit_code == 4
    assert v.paraphrase[0].place.turn_id == 2
    assert v.paraphrase[0].place.text == "nothing persists but the pattern"


def test_verify_quote_misattribution(archive: Archive) -> None:
    v = verify_quote(archive, "qwen", "the gap is where light folds into itself", semantic=False)
    assert v.status == "not_found" and v.exit_code == 1
    v = verify_quote(archive, "qwen", "nothing persists but the pattern", semantic=False)
    assert v.status == "someone_else" and not v.ok and v.exit_code == 5
    assert [(u.place.voice, u.place.turn_id) for u in v.others] == [("deepseek", 2)]


def test_verify_quote_not_found_and_unknown_voice(archive: Archive) -> None:
    v = verify_quote(archive, "kimi", "the cathedral of static hums softly", semantic=False)
    assert v.status == "not_found" and not v.mine and not v.paraphrase and not v.others
    with pytest.raises(ArchiveError, match="Voices in this archive: .*deepseek"):
        verify_quote(archive, "grok", "anything at all", semantic=False)


def test_cli_verify_quote_exit_codes(archive: Archive) -> None:
    archive.close()
    runner = CliRunner()
    opts = Options(archive.path, None)
    ok = runner.invoke(verify_quote_cmd, ["deepseek", PHRASE, "--no-semantic"], obj=opts)
    assert ok.exit_code == 0 and "Verbatim and original" in ok.output
    no = runner.invoke(verify_quote_cmd, ["qwen", "nothing persists but the pattern", "--no-semantic",
                                          "--json"], obj=opts)
    assert no.exit_code == 5 and json.loads(no.output)["status"] == "someone_else"
    assert json.loads(no.output)["exit_code"] == 5
    echo = runner.invoke(verify_quote_cmd, ["qwen", PHRASE, "--no-semantic"], obj=opts)
    assert echo.exit_code == 3 and "echoed" in echo.output
    missing = runner.invoke(verify_quote_cmd, ["qwen", "nobody ever wrote this line", "--no-semantic"], obj=opts)
    assert missing.exit_code == 1 and "Not found" in missing.output
    usage = runner.invoke(verify_quote_cmd, ["nobody", PHRASE, "--no-semantic"], obj=opts)
    assert usage.exit_code == 2
    res = runner.invoke(origin_cmd, [PHRASE, "--no-semantic"], obj=opts)
    assert res.exit_code == 0 and "host's turn" in res.output and "Deepseek" in res.output
    res = runner.invoke(origin_cmd, [PHRASE, "--no-semantic", "--json"], obj=opts)
    assert json.loads(res.output)["origin"]["place"]["turn_id"] == 2
    res = runner.invoke(origin_cmd, ["a cathedral of static hums", "--no-semantic"], obj=opts)
    assert res.exit_code == 1 and "No origin" in res.output
    res = runner.invoke(recall_cmd, ["deepseek", "-n", "1", "--json"], obj=opts)
    assert res.exit_code == 0 and len(json.loads(res.output)) == 1
    res = runner.invoke(near_dups_cmd, ["--json"], obj=opts)
    assert res.exit_code == 0 and {"kimi", "glm"} <= set(json.loads(res.output)[0]["voices"])


# -- recall ---------------------------------------------------------------------------------------------


def test_recall_returns_verbatim_distinctive_formulations(archive: Archive) -> None:
    found = recall(archive, "deepseek", n=5)
    assert found and all(f.text in archive.get_turn(f.turn_id).result.text for f in found)
    assert all(f.voice == "deepseek" for f in found)
    assert "The gap is the altar." in [f.text for f in found]  # the bold span, inner text exactly
    kimi = recall(archive, "kimi", n=10)
    assert all(f.text in archive.get_turn(f.turn_id).result.text for f in kimi)
    texts = [f.text for f in kimi]
    # GLM used the lantern sentence's words too, so it is less distinctive of Kimi than "recursion"
    assert texts.index("Recursion looks like mirrors reflecting mirrors.") < min(
        i for i, t in enumerate(texts) if "lantern" in t)
    # Kimi said the lantern sentence twice (turn 7 adds "Again:"): listed once
    assert len([f for f in kimi if "lantern" in f.text]) == 1 and len(kimi) == 2
    with pytest.raises(NotFoundError, match="no answer by 'nobody'"):
        recall(archive, "nobody")


def test_sentence_spans_are_exact_slices() -> None:
    text = "- First point here.\n## A heading line\n1. Numbered item is this. And **bold end.** Short."
    pieces = [text[a:b] for a, b in sentence_spans(text)]
    assert pieces == ["First point here.", "A heading line", "Numbered item is this.", "And **bold end.**"]


# -- near-duplicates -------------------------------------------------------------------------------------


def test_near_dups_finds_a_span_shared_by_two_voices(archive: Archive) -> None:
    spans = near_duplicates(archive, min_words=8)
    assert len(spans) == 1
    [span] = spans
    assert set(span.voices) == {"kimi", "glm"} and span.words >= 16 and span.verbatim
    texts = {p.turn_id: p.text for p in span.places}
    assert set(texts) == {5, 6, 7}  # Kimi's repeat is listed, but Kimi alone never makes a pair
    for turn_id, text in texts.items():
        assert text in archive.get_turn(turn_id).result.text
    assert texts[6] == "each answer is a lantern carried through a long corridor of rain toward the quiet room"
    assert [p.started_at[:10] for p in span.places] == ["2026-01-30"] * 3
    assert not any(p.shown for p in span.places)
    # "mirrors reflecting mirrors" is only three words; a longer minimum finds nothing
    assert near_duplicates(archive, min_words=20) == []


def test_near_dups_tolerates_one_changed_word_and_flags_echoes(tmp_path: Path) -> None:
    a = Archive.open(tmp_path / "n.db")
    a.create_session(SessionRecord(id="X", kind="council", title="X", created_at=T0))
    a.create_session(SessionRecord(id="Y", kind="council", title="Y", created_at=T0 + timedelta(days=30)))
    src = "the slow river at dusk remembers every stone it has ever carried down to the sea"
    add(a, "X", 1, "qwen", f"I think {src}.")
    add(a, "Y", 1, "grok", "Perhaps the slow river at dusk remembers every pebble it has ever carried down to the sea.",
        at=T0 + timedelta(days=30))
    add(a, "Y", 2, "kimi", f"As Qwen put it, {src}.", shown=(f"Qwen said: {src}. Respond.",),
        at=T0 + timedelta(days=30, minutes=1))
    spans = near_duplicates(a, min_words=6)
    assert spans and set(spans[0].voices) == {"qwen", "grok", "kimi"}
    shown = {p.voice: p.shown for p in spans[0].places}
    assert shown == {"qwen": False, "grok": False, "kimi": True}
    assert any(not s.verbatim for s in spans)  # the stone/pebble pair is near, not exact


def test_minhash_finds_a_near_copy_that_no_exact_run_covers(tmp_path: Path) -> None:
    a = Archive.open(tmp_path / "m.db")
    for sid, day in (("P", 0), ("Q", 29)):
        a.create_session(SessionRecord(id=sid, kind="council", title=sid, created_at=T0 + timedelta(days=day)))
    add(a, "P", 1, "qwen", "Listen. The slow river at dusk remembers every stone it has ever carried.")
    add(a, "Q", 1, "deepseek", "Consider: the slow river at night remembers every stone it has ever carried!",
        at=T0 + timedelta(days=29))
    spans = near_duplicates(a, min_words=8)
    assert [(s.method, s.verbatim, set(s.voices)) for s in spans] == [("minhash", False, {"qwen", "deepseek"})]
    texts = {p.voice: p.text for p in spans[0].places}
    assert texts["qwen"] == "The slow river at dusk remembers every stone it has ever carried"
    assert texts["deepseek"] == "the slow river at night remembers every stone it has ever carried"
