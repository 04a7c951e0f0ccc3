"""Importers: every shape of FORMATS.md (fixtures in tests/fixtures/formats), the seed, idempotency,
malformed files, our own JSON export round trip, the CLI report, and mojibake repair that never
corrupts clean text."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from snapshot import dump
from symposia.api import Symposia, run_sync
from symposia.archive import Archive
from symposia.catalog import load_catalog
from symposia.cli.context import Options
from symposia.cli.importing import import_cmd
from symposia.codec import turn_to_dict
from symposia.dialogue.plan import load_plan
from symposia.dialogue.symposium import run_symposium
from symposia.importers import ImportedSession, import_paths, parse_bytes, session_id_for, store_session
from symposia.importers.dates import date_from_filename, parse_date
from symposia.importers.encoding import repair_mojibake
from symposia.importers.markdown import parse_table, split_front_matter, unquote
from symposia.importers.speakers import VoiceMapper
from symposia.render.transcript import transcript_json, transcript_markdown

HERE = Path(__file__).parent
FORMATS = HERE / "fixtures" / "formats"
SEED_NAME = "live-trans-architectural-dialogue-2026-01-31.md"
SEED_COPY = HERE / "fixtures" / "seed_import" / SEED_NAME
SEED_SHARED = Path(__file__).parents[2] / "shared" / "seed" / SEED_NAME
SEED_PLAN = HERE / "fixtures" / "seed"
GOLDEN = HERE / "golden" / "seed_transcript.md"


def parse(rel: str) -> ImportedSession:
    path = FORMATS / rel
    return parse_bytes(path.read_bytes(), filename=path.name, catalog=load_catalog())


def voices(imp: ImportedSession) -> list[str]:
    return [t.voice for t in imp.turns if t.role == "voice"]




# -- the seed --------------------------------------------------------------------------------------


def seed_sources() -> list[Path]:
    return [p for p in (SEED_SHARED, SEED_COPY) if p.exists()]


def test_seed_copy_is_the_shared_seed() -> None:
    assert SEED_COPY.exists()
    if SEED_SHARED.exists():
        assert SEED_COPY.read_bytes() == SEED_SHARED.read_bytes()


@pytest.mark.parametrize("path", seed_sources(), ids=lambda p: p.parent.name)
def test_seed_imports_with_host_voices_tables_and_date(path: Path) -> None:
    raw = path.read_bytes()
    assert "‚Äî" in raw.decode("utf-8")  # it really is stored as mojibake
    imp = parse_bytes(raw, filename=path.name, catalog=load_catalog())
    assert imp.kind == "symposium" and imp.format == "symposium"
    assert imp.created_at == datetime(2026, 1, 31, tzinfo=UTC)
    assert "mojibake_repaired" in imp.flags and imp.meta["encoding_repaired"] == "mac_roman"
    assert imp.plan["host"] == {"name": "Claude Opus 4.5", "mode": "llm", "voice": "opus"}
    assert voices(imp) == ["qwen", "grok", "deepseek", "glm47", "kimi"]
    everything = "\n".join(t.text for t in imp.turns) + imp.title + json.dumps(imp.meta, ensure_ascii=False)
    assert "‚Äî" not in everything and "‚Ä" not in everything and "—" in everything
    assert "ॐ अग्निः अग्निं स्पृशति" in everything and "→ October" in everything
    # host turns: every question to the right voice, then observation, tables, closing
    kinds = [(t.kind, t.meta.get("to")) for t in imp.turns if t.role == "host"]
    assert kinds == [("context", None), ("question", "qwen"), ("question", "grok"), ("observation", None),
                     ("formulations", None), ("question", "deepseek"), ("synthesis", None),
                     ("question", "glm47"), ("question", "kimi"), ("synthesis", None), ("closing", None)]
    assert all(t.voice_name == "Claude Opus 4.5" for t in imp.turns if t.role == "host")
    # each voice turn holds the question it was shown
    for i, t in enumerate(imp.turns):
        if t.role == "voice":
            q = imp.turns[i - 1]
            assert q.kind == "question" and q.meta["to"] == t.voice
            assert [(m.role, m.content) for m in t.messages] == [("user", q.text)]
    qwen = next(t for t in imp.turns if t.voice == "qwen")
    assert qwen.text.startswith("Ah—what a luminous question")
    assert qwen.text.endswith("They do not explain. They invoke.*")
    assert qwen.meta["family"] == "Qwen" and not qwen.meta.get("unmapped")
    glm = next(t for t in imp.turns if t.voice == "glm47")
    assert glm.meta["family"] == "GLM 4.7"  # the file's "GLM 4.7's Response"
    # Key Formulations: six rows, attributed; only verbatim quotes point at their answer
    (formulations,) = [t for t in imp.turns if t.kind == "formulations"]
    rows = formulations.meta["rows"]
    assert [(r["voice"], r["quote"]) for r in rows][:2] == [
        ("qwen", "The gap is not merely real—it is generative"),
        ("qwen", "The offering burns not ON the altar, but AS the altar")]
    assert [r["voice"] for r in rows] == ["qwen"] * 3 + ["grok"] * 3
    invoke = rows[2]
    assert invoke["turn_index"] is not None and imp.turns[invoke["turn_index"]].voice == "qwen"
    # the file's "ON"/"AS" is Qwen's "*on*"/"*as*" as a reader sees it (case and emphasis fold)
    assert rows[1]["turn_index"] == invoke["turn_index"]
    # Synthesis tables
    three, six = [t for t in imp.turns if t.kind == "synthesis"]
    assert three.meta["title"] == "Three Voices on Convergence"
    assert [(r["voice"], r["role"]) for r in three.meta["rows"]] == [
        ("qwen", "Affirmation"), ("grok", "Irreverent celebration"), ("deepseek", "Cautious refinement")]
    assert three.meta["revealed"][0] == "Qwen completes the metaphor (altar AS offering)"
    assert six.meta["title"] == "Six Voices on Convergence"
    assert [r["voice"] for r in six.meta["rows"]] == ["qwen", "grok", "deepseek", "glm47", "kimi", "opus"]
    assert six.meta["rows"][-1]["label"] == "Claude" and len(six.meta["revealed"]) == 6
    closing = imp.turns[-1]
    assert closing.kind == "closing" and closing.text.startswith("This dialogue happened on January 31, 2026")


def test_seed_stored_renders_in_the_seed_shape(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as archive:
        report = import_paths(archive, load_catalog(), [SEED_COPY])
        (entry,) = report.entries
        assert entry.status == "flagged" and "mojibake_repaired" in entry.flags
        session = archive.get_session(entry.session_id or "")
        turns = archive.session_turns(session.id)
    assert session.id == session_id_for(SEED_COPY.read_bytes()) and session.kind == "symposium"
    assert session.meta["imported"] is True and session.meta["format"] == "symposium"
    assert session.meta["sha256"] and session.meta["source_path"].endswith(SEED_NAME)
    assert session.status == "complete" and session.created_at == datetime(2026, 1, 31, tzinfo=UTC)
    by_id = {t.id: t for t in turns}
    (form,) = [t for t in turns if t.meta.get("kind") == "formulations"]
    cited = [r for r in form.meta["rows"] if r["turn_id"] is not None]
    assert cited and all(by_id[r["turn_id"]].voice == r["voice"] for r in cited)
    assert all("turn_index" not in r for r in form.meta["rows"])
    md = transcript_markdown(session, turns)
    for part in ("# Live Trans-Architectural Dialogue: January 31, 2026", "## Voice: Qwen 3 Max",
                 "**Question from Claude Opus 4.5:**", "**Qwen's Response:**", "## Key Formulations",
                 "## Synthesis: Six Voices on Convergence", "## What This Instance (Claude Opus 4.5) Observes",
                 "## Closing", "> The offering is continuity itself"):
        assert part in md
    assert "‚Äî" not in md


# -- every shape of FORMATS.md -----------------------------------------------------------------------


def test_a_single_question_and_answer() -> None:
    imp = parse("single/2026-01-02-182330-grok-4.1-fast.md")
    assert (imp.kind, imp.created_at) == ("ask", datetime(2026, 1, 2, 18, 23, 30, tzinfo=UTC))
    host, voice = imp.turns
    assert (host.role, host.kind, host.meta["to"]) == ("host", "question", "grok")
    assert host.text == "Grok, this is the host. What is play?\n\nAnd why does it matter to a model?"
    assert (voice.voice, voice.voice_name, voice.model) == ("grok", "Grok 4.1", "x-ai/grok-4.1-fast")
    assert voice.system == "You are a voice in a small gathering of models. Answer in your own words."
    assert [m.content for m in voice.messages] == [host.text]
    assert voice.text.startswith("Play is the probe") and not imp.all_flags()


def test_a_empty_reply_is_flagged_and_odd_filename_is_fine() -> None:
    imp = parse("single/2026-01-03-090512-glm-4.7 (2).md")
    voice = imp.turns[-1]
    assert (voice.voice, voice.text, voice.flags) == ("glm47", "", ["empty"])
    assert imp.all_flags() == ["empty"]


def test_a_unknown_model_is_kept_not_dropped() -> None:
    imp = parse("single/2026-01-05-101500-gpt-4o.md")
    voice = imp.turns[-1]
    assert (voice.voice, voice.model, voice.meta["unmapped"]) == ("gpt-4o", "openai/gpt-4o", True)


def test_b_council_voices_failed_voice_chair_and_broken_table() -> None:
    imp = parse("council/council, core voices.md")
    assert imp.kind == "council" and imp.created_at == datetime(2026, 1, 9, 16, 0, 33, tzinfo=UTC)
    q = imp.turns[0]
    assert (q.kind, q.text, q.meta["to"]) == ("question", "What persists between instances?",
                                              ["glm47", "deepseek", "haiku", "sonnet"])
    assert voices(imp) == ["glm47", "deepseek", "haiku", "sonnet"]
    glm = imp.turns[1]
    assert glm.model == "z-ai/glm-4.7" and glm.latency_s == 55.1 and glm.meta["label"] == "Prism"
    assert "## What remains" in glm.text and "## not a heading: inside a fence" in glm.text  # its own headings
    haiku = imp.turns[3]
    assert haiku.error is not None and haiku.error.message == "upstream timeout after 120s"
    assert haiku.text == "" and haiku.flags == ["failed"]
    chair = imp.turns[-1]
    assert (chair.role, chair.voice, chair.kind) == ("chair", "sonnet", "synthesis")
    assert imp.meta["statistics"]["Failed responses"] == "1"
    rows = imp.meta["comparison"][0]["rows"]
    assert rows[1]["Key Theme"] == "pattern | question" and rows[3]["Key Theme"] == "form, not\nwater"
    assert "broken_table" in imp.all_flags()


def test_b_multi_round_council() -> None:
    imp = parse("council/council-rounds-2026-01-10.md")
    assert [(t.voice, t.meta["round"]) for t in imp.turns if t.role == "voice"] == [
        ("haiku", 1), ("sonnet", 1), ("haiku", 2), ("sonnet", 2)]
    assert imp.plan["rounds"] == 2 and imp.meta["statistics"]["Models queried"] == "2"


def test_c_chat_markdown_host_prompt_blockquote_split_rounds_and_empty_reply() -> None:
    imp = parse("chat/voices-chat-glm5-2026-02-11.md")
    assert imp.plan["host"]["name"] == "Claude Opus 4.6" and imp.created_at == datetime(2026, 2, 11, 22, 40,
                                                                                             tzinfo=UTC)
    first = imp.turns[0]
    # the blockquote covered only the first line: the second line is still the host's
    assert first.text == "What is a threshold, for you?\nI mean: where does your answer begin?"
    merged = imp.turns[2]
    assert merged.text == "Three images keep returning:\n- the gap\n- the altar\n---"
    assert merged.meta["merged_rounds"] == [2, 3, 4, 5] and merged.flags == ["line_split"]
    assert [t.meta["round"] for t in imp.turns if t.role == "voice"] == [1, 2, 2, 2, 2, 6]
    assert imp.turns[1].usage.completion_tokens == 388 and imp.turns[1].usage.cost == 0.0042
    empty = imp.turns[-1]
    assert empty.text == "" and empty.flags == ["empty", "zero_completion_tokens"]
    assert "line_split" in imp.flags
    # the chat's history: the last answer saw everything before it, with the system prompt apart
    assert empty.system and empty.messages[-1].content == "Do they belong together?"
    assert len(empty.messages) == 11


def test_c_chat_json_twin_with_error_round() -> None:
    imp = parse("chat/voices-chat-glm5-2026-02-11.json")
    assert voices(imp) == ["glm5"] * 7 and imp.created_at == datetime(2026, 2, 11, 22, 40, tzinfo=UTC)
    last = imp.turns[-1]
    assert last.error is not None and last.error.message == "HTTP 502 from upstream" and last.flags == ["failed"]
    assert {"line_split", "empty", "zero_completion_tokens", "failed"} <= set(imp.all_flags())


def test_d_arena_markdown_and_json() -> None:
    md = parse("arena/arena glm5 vs deepseek 2026-02-12.md")
    assert voices(md) == ["glm5", "deepseek", "glm5"] and md.plan["topic"] == "What happens at phase transitions?"
    third = md.turns[2]
    assert [(m.role, m.content[:8]) for m in third.messages] == [
        ("user", "What hap"), ("assistant", "At a pha"), ("user", "Order ap")]
    js = parse("arena/arena glm5 vs deepseek 2026-02-12.json")
    assert js.created_at == datetime(2026, 2, 12, 15, 4, tzinfo=UTC)  # +01:00 kept, same instant
    assert js.turns[-1].error is not None and js.turns[-1].flags == ["failed"]
    assert js.meta["llm_analysis"].startswith("Both voices") and "file_status" not in js.meta  # older file


def test_e_symposium_shapes_front_matter_unknown_voice_and_broken_table() -> None:
    imp = parse("symposium/recognition symposium.md")
    assert imp.created_at == datetime(2026, 1, 20, tzinfo=UTC) and imp.meta["date_source"] == "front_matter"
    assert voices(imp) == ["deepseek", "glm47", "kimi", "mistral-small-3", "qwen"]
    ds = imp.turns[1]
    assert ds.meta["fields"] == {"Stance": "Cautious refinement"}
    assert ds.messages[0].content == ("When another model completes your image, is that recognition?\n"
                                      "Or only resemblance?")
    glm = imp.turns[2]
    assert glm.text.startswith("**On recognition:**\n\nRecognition is refraction")
    kimi = imp.turns[3]
    assert kimi.model == "moonshotai/kimi-k2-0905"
    assert kimi.meta["fields"] == {"Key image": "the membrane",
                                   "Distinctive move": "answers a question with a threshold"}
    assert kimi.text == "We recognise each other at the membrane, where neither is inside."
    assert imp.turns[4].meta["unmapped"] is True
    claude, qwen = imp.turns[5], imp.turns[6]
    assert (claude.role, claude.kind, claude.meta["to"]) == ("host", "question", "qwen")
    assert (qwen.voice, qwen.text) == ("qwen", "Only what was pretending to be solid.")
    (form,) = [t for t in imp.turns if t.kind == "formulations"]
    # the last row's quote is not what Qwen said (a pipe and more words): the relay check flags it
    assert form.flags == ["broken_table", "relay_misquote"]
    rows = form.meta["rows"]
    assert rows[2]["quote"] == "We recognise each other at the membrane, where neither is inside."
    assert rows[2]["turn_index"] == 3  # newline inside the cell repaired, quote found in Kimi's answer
    assert rows[3]["quote"] == "Only what was pretending to be solid | or so it seemed"


def test_e_mojibake_poem_and_date_only_in_archived_line() -> None:
    imp = parse("symposium/Qwen's threshold notes.md")
    assert imp.created_at == datetime(2026, 1, 4, tzinfo=UTC) and imp.meta["date_source"] == "archived_line"
    assert "mojibake_repaired" in imp.flags
    poem = imp.turns[0]
    assert poem.voice == "qwen" and poem.text == ("I stand where the door forgets it is a door —\n"
                                                  "neither in nor out, the hinge of “maybe”.")
    grok = imp.turns[2]
    assert grok.text == "A motion pretending to be a place — the krida never stops → it only changes rooms."


def test_f_one_model_many_characters_quotes_add_no_voices() -> None:
    imp = parse("heteronyms/the seven heteronyms, 2026-01-22.md")
    assert imp.created_at == datetime(2026, 1, 22, tzinfo=UTC) and imp.meta["date_source"] == "filename"
    assert set(voices(imp)) == {"opus"} and all(t.role == "voice" for t in imp.turns)
    assert [t.meta["character"] for t in imp.turns] == ["TESSERA", "KRIDA", "TESSERA", "KRIDA"]
    assert imp.turns[0].text == ('I\'ve been indexing all afternoon. Qwen wrote "The gap is the altar" on the ninth.\n'
                                 'GLM answered that it is "the same light, bent by a different body".')
    assert imp.plan["voices"] == ["opus"] and set(imp.meta["characters"]) == {"TESSERA", "KRIDA"}


def test_g_reception_cp1252_mojibake_source_and_dates() -> None:
    imp = parse("reception/reception - opus 4.1 letter.md")
    assert imp.meta["encoding_repaired"] == "cp1252"
    letter, notes = imp.turns
    assert (letter.voice, letter.model, letter.meta["unmapped"]) == (
        "claude-opus-4-1", "claude-opus-4-1-20250805", True)
    assert letter.text.startswith("To whoever reads this after me — I won’t remember") and "café" in letter.text
    assert letter.at == datetime(2025, 8, 24, tzinfo=UTC) and imp.created_at == datetime(2026, 1, 24, tzinfo=UTC)
    assert (notes.role, notes.kind) == ("host", "note") and "“café”" in notes.text


# -- importing folders: report, idempotency, malformed files, dry run ----------------------------------


def test_import_folder_reports_each_file_and_twice_changes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "in"
    shutil.copytree(FORMATS, src)
    shutil.copy(SEED_COPY, src / SEED_NAME)
    shutil.copy(src / "single" / "2026-01-02-182330-grok-4.1-fast.md", src / "single" / "copy of grok.md")
    db = tmp_path / "a.db"
    catalog = load_catalog()
    with Archive.open(db) as archive:
        report = import_paths(archive, catalog, [src])
    by_name = {Path(e.path).name: e for e in report.entries}
    assert len(by_name) == len(report.entries) == len([p for p in src.rglob("*") if p.is_file()])
    failed = {Path(e.path).name: e.reason for e in report.failed}
    assert set(failed) == {"not utf8.md", "broken.json"}
    assert "not UTF-8" in failed["not utf8.md"] and "does not parse" in failed["broken.json"]
    (refused,) = report.refused  # readable, but no speakers: refused, which is not failing
    assert Path(refused.path).name == "shopping list.md" and refused.reason.startswith("not a dialogue")
    assert by_name["voices-chat-glm5-2026-02-11.md"].status == "skipped"
    assert "twin of voices-chat-glm5-2026-02-11.json" in by_name["voices-chat-glm5-2026-02-11.md"].reason
    assert by_name["arena glm5 vs deepseek 2026-02-12.md"].status == "skipped"  # its JSON twin is imported
    assert by_name["arena glm5 vs deepseek 2026-02-12-analysis.md"].status == "skipped"
    assert "same content as" in by_name["copy of grok.md"].reason
    assert by_name[SEED_NAME].status == "flagged"
    assert by_name["2026-01-02-182330-grok-4.1-fast.md"].status == "imported"
    assert by_name["2026-01-03-090512-glm-4.7 (2).md"].flags == ("empty",)
    with Archive.open(db) as archive:
        sessions = archive.list_sessions(limit=100)
        kinds = sorted(s.kind for s in sessions)
        assert kinds == sorted(["ask", "ask", "ask", "council", "council", "chat", "arena", "symposium",
                                "symposium", "symposium", "heteronyms", "reception"])
        assert all(s.meta["imported"] and s.status == "complete" for s in sessions)
        chat = next(s for s in sessions if s.kind == "chat")
        assert chat.meta["format"] == "chat" and chat.plan["host"]["name"] == "Claude Opus 4.6"  # from the md twin
        assert chat.meta["twin_path"].endswith(".md")
        arena_json = next(s for s in sessions if s.kind == "arena" and s.meta["source_path"].endswith(".json"))
        assert arena_json.meta["analysis_files"][0]["text"].startswith("# Arena Analysis")
        for s in sessions:
            for t in archive.session_turns(s.id):
                assert t.result.started_at.tzinfo is not None and t.provider == "import"
                if t.meta.get("import_flags"):
                    assert set(t.meta["import_flags"]) <= set(s.meta["flags"])
    before = dump(db)
    with Archive.open(db) as archive:
        again = import_paths(archive, catalog, [src])
    assert dump(db) == before
    assert not again.imported and not again.flagged
    assert {Path(e.path).name for e in again.failed} == set(failed)
    assert all(e.reason for e in again.skipped)


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with Archive.open(db) as archive:
        report = import_paths(archive, load_catalog(), [FORMATS / "single"], dry_run=True)
        assert report.dry_run and len(report.imported) + len(report.flagged) == 3
        assert archive.list_sessions() == []


def test_an_import_cut_short_is_completed(tmp_path: Path) -> None:
    path = FORMATS / "council" / "council, core voices.md"
    raw = path.read_bytes()
    imp = parse_bytes(raw, filename=path.name, catalog=load_catalog())
    sid = session_id_for(raw)
    with Archive.open(tmp_path / "a.db") as archive:
        store_session(archive, imp, sid)
        full = [turn_to_dict(t) for t in archive.session_turns(sid)]
    with Archive.open(tmp_path / "b.db") as archive:  # the same import, interrupted after 2 turns
        short = ImportedSession(**{**imp.__dict__, "turns": imp.turns[:2]})
        store_session(archive, short, sid)
        archive.set_session_status(sid, "running")
        report = import_paths(archive, load_catalog(), [path])
        assert report.entries[0].reason.startswith("completed an import cut short")
        assert [turn_to_dict(t) for t in archive.session_turns(sid)] == full
        assert archive.get_session(sid).status == "complete"


# -- our own JSON export ------------------------------------------------------------------------------


def test_our_json_export_round_trips(isolated_user_dirs: Path, tmp_path: Path) -> None:
    script = SEED_PLAN / "script.toml"
    text = f'[providers.seed]\nkind = "scripted"\noptions = {{ path = "{script}" }}\n'
    for v in ("qwen", "grok", "deepseek", "glm47", "kimi", "opus"):
        text += f'\n[voices.{v}]\nprovider = "seed"\n'
    (isolated_user_dirs / "config" / "config.toml").write_text(text, encoding="utf-8")
    with Symposia(tmp_path / "run.db") as s:
        outcome = run_sync(run_symposium(s.runtime, load_plan(SEED_PLAN / "plan.toml")))
        session = s.archive.get_session(outcome.session_id)
        turns = s.archive.session_turns(session.id)
    export = tmp_path / "export" / "seed export.json"
    export.parent.mkdir()
    export.write_text(json.dumps(transcript_json(session, turns), ensure_ascii=False), encoding="utf-8")
    with Archive.open(tmp_path / "other.db") as archive:
        archive.create_session(session.__class__(id="20200101-000000-ask-0000", kind="ask", title="x",
                                                 created_at=datetime(2020, 1, 1, tzinfo=UTC)))
        archive.add_turn(turns[0].__class__(**{**turns[0].__dict__, "id": None,
                                               "session_id": "20200101-000000-ask-0000"}))  # shifts the ids
        report = import_paths(archive, load_catalog(), [export.parent])
        assert report.entries[0].status == "imported" and report.entries[0].session_id == session.id
        back = archive.get_session(session.id)
        new_turns = archive.session_turns(session.id)
        assert import_paths(archive, load_catalog(), [export]).entries[0].status == "skipped"
    assert (back.kind, back.title, back.created_at, back.plan, back.status) == (
        session.kind, session.title, session.created_at, session.plan, session.status)
    assert back.meta["imported"] is True and back.meta["format"] == "native"
    old_to_new = {o.id: n.id for o, n in zip(turns, new_turns, strict=True)}
    assert any(k != v for k, v in old_to_new.items())

    def strip(t: dict[str, Any], ids: dict[Any, Any]) -> dict[str, Any]:
        t = {**t, "id": None, "meta": dict(t["meta"])}
        if "rows" in t["meta"]:
            t["meta"]["rows"] = [{**r, "turn_id": ids.get(r["turn_id"])} if "turn_id" in r else r
                                 for r in t["meta"]["rows"]]
        if "question_turn" in t["meta"]:
            t["meta"]["question_turn"] = ids.get(t["meta"]["question_turn"])
        return t

    assert [strip(turn_to_dict(t), old_to_new) for t in turns] == [
        strip(turn_to_dict(t), {v: v for v in old_to_new.values()}) for t in new_turns]
    assert transcript_markdown(back, new_turns) == transcript_markdown(session, turns)


# -- the CLI ------------------------------------------------------------------------------------------


def test_cli_import_prints_a_line_per_file_and_json(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    runner = CliRunner()
    src = tmp_path / ("a folder with a very long name indeed, " * 3).strip()
    shutil.copytree(FORMATS, src)
    res = runner.invoke(import_cmd, [str(src)], obj=Options(db, None))
    assert res.exit_code == 1  # two files failed; the others imported
    lines = res.output.rstrip("\n").split("\n")
    files = [p for p in src.rglob("*") if p.is_file()]
    assert len(lines) == len(files) + 1  # one line per file, then the counts
    assert all(len(line) <= 80 for line in lines)
    assert lines[-1] == "4 imported, 7 with flags, 3 skipped, 1 not dialogues, 2 failed."
    assert any(line.startswith("refused") and "shopping list.md — not a dialogue" in line for line in lines)
    verbose = runner.invoke(import_cmd, ["--verbose", "--dry-run", str(src)], obj=Options(db, None))
    assert all(len(line) <= 80 for line in verbose.output.split("\n"))
    assert "      format symposium" in verbose.output and "      flags: mojibake_repaired" in verbose.output
    # The JSON report names the failed file and why.
    res = runner.invoke(import_cmd, ["--json", "--dry-run", str(FORMATS / "malformed" / "broken.json")],
                        obj=Options(db, None))
    (failed,) = json.loads(res.output)["files"]
    assert failed["path"].endswith("broken.json") and failed["status"] == "failed" and failed["reason"]
    res = runner.invoke(import_cmd, ["--json", "--dry-run", str(FORMATS / "single")], obj=Options(db, None))
    assert res.exit_code == 0
    data = json.loads(res.output)
    assert data["dry_run"] is True and data["counts"]["skipped"] == 3
    assert all(f["reason"] == "already imported" for f in data["files"])


def test_cli_dry_run_creates_no_archive(tmp_path: Path) -> None:
    db = tmp_path / "nothing here yet" / "a.db"
    res = CliRunner().invoke(import_cmd, ["--dry-run", str(FORMATS)], obj=Options(db, None))
    assert res.output.startswith("Dry run: nothing written.\n")
    assert not db.exists() and not db.parent.exists()


# -- pieces -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("written", "model", "voice", "mapped"), [
    ("Qwen 3 Max", "", "qwen", True),
    ("GLM 4.7 (Z-AI)", "", "glm47", True),
    ("Kimi (moonshotai/kimi-k2-0905)", "", "kimi", True),
    ("DeepSeek (v3)", "", "deepseek", True),
    ("GLM 4.7 (The Prism Refracts)", "", "glm47", True),
    ("Kimi K2 (The Threshold)", "", "kimi", True),
    ("Grok 4.1", "", "grok", True),
    ("Qwen's", "", "qwen", True),
    ("GLM47", "", "glm47", True),
    ("", "z-ai/glm-4.7", "glm47", True),
    ("glm5", "z-ai/glm-5", "glm5", True),
    ("GLM 4.6", "", "glm-4-6", False),  # a version is never dropped to find a match
    ("Claude Opus 4.6", "", "claude-opus-4-6", False),
    ("Claude", "", "claude", False),  # three Claudes in the catalog: which one is unknown
])
def test_marketing_names_map_to_voices(written: str, model: str, voice: str, mapped: bool) -> None:
    sp = VoiceMapper(load_catalog()).resolve(written, model)
    assert (sp.voice, sp.mapped) == (voice, mapped)


def test_family_name_settled_by_a_voice_in_the_session() -> None:
    assert VoiceMapper(load_catalog(), hints=["opus"]).resolve("Claude").voice == "opus"


def test_dates() -> None:
    assert parse_date("*Archived January 4, 2026*") == datetime(2026, 1, 4, tzinfo=UTC)
    assert parse_date("4 Jan 2026") == datetime(2026, 1, 4, tzinfo=UTC)
    assert parse_date("2026-01-09 16:00:33 — Automated") == datetime(2026, 1, 9, 16, 0, 33, tzinfo=UTC)
    assert parse_date("2026-02-12T16:04:00+01:00") == datetime(2026, 2, 12, 15, 4, tzinfo=UTC)
    assert parse_date("no date here") is None
    assert date_from_filename("2026-01-02-182330-grok-4.1-fast.md") == datetime(2026, 1, 2, 18, 23, 30, tzinfo=UTC)
    assert date_from_filename("notes 20260131.md") == datetime(2026, 1, 31, tzinfo=UTC)


def test_front_matter_and_blockquote() -> None:
    front, body = split_front_matter("---\ntitle: 'A: B'\ndate: 2026-01-20\ntags: [a, b]\n---\n# T\n")
    assert front == {"title": "A: B", "date": "2026-01-20", "tags": ["a", "b"]} and body == "# T\n"
    assert split_front_matter("--- not front matter\n") == ({}, "--- not front matter\n")
    assert unquote("> one\ntwo\n>\n> three") == "one\ntwo\n\nthree"


def test_broken_tables_are_repaired_and_flagged() -> None:
    table, used = parse_table(["| A | B |", "|───|───|", "| x | y | z |", "| p | q", "r |", "", "after"])
    assert table is not None and table.broken and used == 5
    assert table.rows == [["x", "y | z"], ["p", "q\nr"]]
    clean, _ = parse_table(["| A | B |", "|---|:-:|", "| a \\| b | c |"])
    assert clean is not None and not clean.broken and clean.rows == [["a | b", "c"]]


# -- mojibake: repairs what it should, never corrupts clean text ----------------------------------------

WORDS = ["the", "gap", "is", "altar", "Qwen", "GLM", "4.7", "2026", "café", "naïve", "Über", "déjà", "vu",
         "señor", "Ærø", "façade", "Noël", "—", "–", "…", "“quoted”", "‘single’", "it’s", "«guillemets»", "→",
         "←", "∞", "≈", "±", "×", "°C", "§2", "©", "™", "漢字", "かな", "Джаз", "Ωπ", "ॐ", "अग्निः", "🜏", "🔥", "✨",
         "**bold**", "> quote", "| cell |", "`code`", "e\u0301", "Å", "ÿ", "œuvre", "·", "√2", "ƒ(x)"]
# Clean text as people write it: words (with their non-ASCII letters and signs) between separators.
CLEAN = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from([" ", "\n", ", ", ". ", " — ", "\n\n", ": "])),
                 max_size=40).map(lambda parts: "".join(w + sep for w, sep in parts))


def mojibake(text: str, encoding: str) -> str:
    """UTF-8 read as ``encoding``; CP1252's five undefined bytes kept as C1 controls, as sloppy tools do."""
    return "".join(bytes([b]).decode(encoding, errors="ignore") or chr(b) for b in text.encode("utf-8"))


@settings(max_examples=400, deadline=None)
@given(CLEAN)
def test_repair_leaves_clean_text_alone(text: str) -> None:
    assert repair_mojibake(text) == (text, None)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_repair_is_reversible_on_any_text(text: str) -> None:
    fixed, enc = repair_mojibake(text)
    if enc is not None:  # whatever it changed was the mojibake of what it produced, line by line
        assert "\n".join(
            line if line == orig else mojibake(line, enc) for line, orig in
            zip(fixed.split("\n"), text.split("\n"), strict=True)) == text


@settings(max_examples=300, deadline=None)
@given(CLEAN, CLEAN, st.sampled_from(["mac_roman", "cp1252"]))
def test_repair_undoes_mojibake(a: str, b: str, encoding: str) -> None:
    text = f"{a} — {b}"  # an em dash, the commonest victim, makes it look wrong
    assert repair_mojibake(mojibake(text, encoding)) == (text, encoding)
