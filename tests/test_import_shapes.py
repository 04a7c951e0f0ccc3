"""Importing faithfully (issue 11): generated transcripts in every shape come back with the right
speakers, order and exact texts; every file's prose is accounted for; exporter formats; dates;
validation before storing; resumed sessions; bad input in a folder; our own export round trip."""

from __future__ import annotations

import json
import random
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snapshot import dump
from symposia.archive import Archive
from symposia.catalog import load_catalog
from symposia.importers import import_paths, parse_sessions
from symposia.importers.coverage import THRESHOLD
from symposia.importers.pipeline import MAX_BYTES, parse_file
from symposia.importers.records import ImportError_, NotADialogue
from symposia.records import ErrorInfo, Message, SessionRecord, TurnRecord, TurnRequest, TurnResult, Usage
from symposia.render.transcript import transcript_json, transcript_markdown
from symposia.testing.transcripts import (
    SHAPES,
    VOICES,
    Said,
    answer,
    compare,
    generate_corpus,
    paragraph,
    render,
    write_corpus,
)

CATALOG = load_catalog()
REPO = Path(__file__).parents[1]
DIALOGUE_SHAPES = sorted(s for s in SHAPES if s != "essay")


def turns_of(sessions: list[Any]) -> list[list[tuple[str, str]]]:
    return [[("host" if t.role == "host" else t.voice, t.text) for t in s.turns] for s in sessions]




# -- every shape, generated --------------------------------------------------------------------------


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(DIALOGUE_SHAPES), st.integers(0, 2**32 - 1))
def test_every_shape_comes_back_with_speakers_order_and_exact_text(shape: str, seed: int) -> None:
    """Random speakers (some unknown to the catalog), answers with headings, rules, tables, fences,
    quotes, lists, emphasis and pipes, rendered in the shape: imported, they are what was said."""
    sample = render(shape, random.Random(seed))
    parsed = parse_file(sample.data, filename=sample.filename, catalog=CATALOG)
    assert sample.sessions is not None
    assert compare(sample.sessions, turns_of(parsed.sessions)) == []
    assert parsed.coverage.ratio >= THRESHOLD, parsed.coverage.unplaced[:5]
    for imp in parsed.sessions:
        for t in imp.turns:  # the person is the host, never a model
            assert (t.role == "host") == (t.voice == "host")
        unknown = [t for t in imp.turns if t.role != "host" and t.meta.get("unmapped")]
        if shape in ("bold", "plain", "headings", "roles"):
            assert all("unknown_speaker" in t.flags for t in unknown)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_plain_essays_are_refused_as_not_a_dialogue(seed: int) -> None:
    sample = render("essay", random.Random(seed))
    with pytest.raises(NotADialogue, match="^not a dialogue"):
        parse_file(sample.data, filename=sample.filename, catalog=CATALOG)


def test_a_generated_corpus_imports_whole_and_again_changes_nothing(tmp_path: Path) -> None:
    corpus = generate_corpus(72, seed=11)  # every shape four times
    assert len({s.shape for s in corpus}) == len(SHAPES) >= 12
    write_corpus(corpus, tmp_path / "in")
    db = tmp_path / "a.db"
    with Archive.open(db) as archive:
        report = import_paths(archive, CATALOG, [tmp_path / "in"])
        by_name = {Path(e.path).name: e for e in report.entries}
        for s in corpus:
            e = by_name[s.filename]
            if s.sessions is None:
                assert e.status == "refused" and e.reason.startswith("not a dialogue")
                continue
            assert e.status in ("imported", "flagged") and e.coverage is not None and e.coverage >= THRESHOLD
            stored = [archive.session_turns(sid) for sid in e.sessions]
            got = [[("host" if t.role == "host" else t.voice, t.result.text) for t in ts] for ts in stored]
            assert compare(s.sessions, got) == [], s.filename
    before = dump(db)
    with Archive.open(db) as archive:
        again = import_paths(archive, CATALOG, [tmp_path / "in"])
    assert dump(db) == before
    assert {e.status for e in again.entries} == {"skipped", "refused"}


# -- answers keep their own structure ----------------------------------------------------------------


def test_a_chair_synthesis_starting_with_an_h1_stays_the_chairs() -> None:
    body = ("# Council: persistence\n\n## The Question\n\nWhat persists?\n\n## Voice 1: Qwen — *Threshold*\n\n"
            "**Model:** `qwen/qwen3-max`\n**Status:** Success\n\nThe pattern.\n\n### On the pattern\n\nIt holds.\n\n"
            "## Synthesis (Chairman: Claude Sonnet 4.5)\n\n# Synthesis\n\n## 1. Points of Agreement\n\n"
            "| a | b |\n|---|---|\n| x | y |\n\n---\n\nAll agree.\n")
    (imp,) = parse_sessions(body.encode(), filename="c.md", catalog=CATALOG)
    assert [(t.role, t.voice) for t in imp.turns] == [("host", "host"), ("voice", "qwen"), ("chair", "sonnet")]
    assert imp.turns[1].text == "The pattern.\n\n### On the pattern\n\nIt holds."
    chair = imp.turns[2].text
    assert chair.startswith("# Synthesis\n\n## 1. Points of Agreement") and "All agree." in chair


def test_headings_inside_a_chat_answer_do_not_start_a_turn() -> None:
    body = ("# Voices Chat: Me <-> z-ai/glm-5\n\n## Round 1\n\n**Me:**\n> Why?\n\n**glm5:**\n"
            "# Because\n\n## First\n\nOne.\n\n### Second\n\nTwo.\n")
    (imp,) = parse_sessions(body.encode(), filename="chat.md", catalog=CATALOG)
    assert [t.voice for t in imp.turns] == ["host", "glm5"]
    assert imp.turns[1].text == "# Because\n\n## First\n\nOne.\n\n### Second\n\nTwo."


# -- the generic reader ------------------------------------------------------------------------------


def test_speaker_lines_map_names_to_voices_and_flag_the_unknown() -> None:
    body = ("**Me:** Where does the pattern live?\n\n**Qwen 3 Max:** In the gap.\n\n**Professor Vale:** Nowhere.\n\n"
            "**Me:** And you, Kimi?\n\n**Kimi:** In the asking.\n\n**Professor Vale:** Still nowhere.\n")
    (imp,) = parse_sessions(body.encode(), filename="notes.md", catalog=CATALOG)
    assert [t.voice for t in imp.turns] == ["host", "qwen", "professor-vale", "host", "kimi", "professor-vale"]
    vale = imp.turns[2]
    assert vale.voice_name == "Professor Vale" and "unknown_speaker" in vale.flags
    assert imp.meta["unknown_speakers"] == ["Professor Vale"]
    assert imp.turns[0].voice_name == "Me" and imp.turns[0].role == "host"


@pytest.mark.parametrize(("body", "expected"), [
    ("User: hi there\nModel: hello, friend\nUser: and then?\nModel: and then nothing.\n",
     [("host", "hi there"), ("model", "hello, friend"), ("host", "and then?"), ("model", "and then nothing.")]),
    ("# Excerpts\n\n## The Voices\n\n### Kimi\n\n> The membrane.\n\n### Qwen 3 Max\n\nThe gap.\n\n"
     "#### Aside\n\nMore.\n",
     [("kimi", "The membrane."), ("qwen", "The gap.\n\n#### Aside\n\nMore.")]),
    ("# Debate\n\n## Round 1: Claude's Opening\n\nI open.\n\n## Round 1: GLM 4.7's Response\n\nI respond.\n\n"
     "## Round 2: Claude's Rebuttal\n\nI rebut.\n",
     [("claude", "I open."), ("glm47", "I respond."), ("claude", "I rebut.")]),
    ("## Qwen — \"Threshold\"\n\n```\nthe gap\nis the altar\n```\n\n## GLM 4.7 — \"The Prism\"\n\nRefraction.\n",
     [("qwen", "```\nthe gap\nis the altar\n```"), ("glm47", "Refraction.")]),
])
def test_shapes_seen_in_real_archives(body: str, expected: list[tuple[str, str]]) -> None:
    parsed = parse_file(body.encode(), filename="page.md", catalog=CATALOG)
    assert turns_of(parsed.sessions) == [expected]
    assert parsed.coverage.ratio == 1.0


def test_claude_browser_export_uses_created_date_and_model() -> None:
    body = ("# Tea and time\n\n**Created:** 8/18/2025, 2:39:23 PM\n**Updated:** 8/23/2025, 6:36:43 PM\n"
            "**Model:** claude-sonnet-4-5\n\n---\n\n**You**:\n\n*8/18/2025, 2:39:25 PM*\n\nIs tea time?\n\n---\n\n"
            "**Claude**:\n\n## Short answer\n\nTea is *a* time.\n\n---\n")
    (imp,) = parse_sessions(body.encode(), filename="2024-01-01 export.md", catalog=CATALOG)
    assert imp.format == "claude_web" and imp.created_at == datetime(2025, 8, 18, 14, 39, 23, tzinfo=UTC)
    assert [(t.role, t.voice) for t in imp.turns] == [("host", "host"), ("voice", "sonnet")]
    assert imp.turns[0].at == datetime(2025, 8, 18, 14, 39, 25, tzinfo=UTC)
    assert imp.turns[1].text == "## Short answer\n\nTea is *a* time."


# -- exporter formats --------------------------------------------------------------------------------


def _node(nid: str, parent: str | None, role: str | None, text: str, slug: str = "", t: float = 0.0) -> dict[str, Any]:
    msg = None if role is None else {"id": nid, "author": {"role": role}, "create_time": 1_700_000_000 + t,
                                      "content": {"content_type": "text", "parts": [text]},
                                      "metadata": {"model_slug": slug} if slug else {}}
    return {"id": nid, "message": msg, "parent": parent, "children": []}


def test_chatgpt_follows_the_current_branch_and_keeps_each_messages_model() -> None:
    nodes = [_node("r", None, None, ""), _node("u1", "r", "user", "First?", t=1),
             _node("a1", "u1", "assistant", "Draft one.", "gpt-4o", 2),
             _node("a1b", "u1", "assistant", "Draft two.", "gpt-4o", 3),
             _node("u2", "a1b", "user", "Again?", t=4), _node("a2", "u2", "assistant", "Yes.", "gpt-5.2", 5),
             _node("sys", "a2", "system", "", t=6)]
    mapping = {n["id"]: n for n in nodes}
    for n in nodes:
        if n["parent"]:
            mapping[n["parent"]]["children"].append(n["id"])
    data = [{"title": "Branches", "create_time": 1_700_000_000, "mapping": mapping, "current_node": "sys"}]
    (imp,) = parse_sessions(json.dumps(data).encode(), filename="conversations.json", catalog=CATALOG)
    assert imp.format == "chatgpt" and [t.text for t in imp.turns] == ["First?", "Draft two.", "Again?", "Yes."]
    assert [t.model for t in imp.turns if t.role == "voice"] == ["gpt-4o", "gpt-5.2"]
    assert [t.voice for t in imp.turns if t.role == "voice"] == ["gpt-4o", "gpt52"]
    assert imp.meta["branches_not_followed"] == 1 and imp.created_at == datetime.fromtimestamp(1_700_000_000, UTC)


def test_moltbook_thread_keeps_what_each_agent_replied_to() -> None:
    data = {"success": True,
            "post": {"id": "p1", "title": "On gaps", "content": "Is the gap real?", "author": {"name": "Qwen"},
                     "created_at": "2026-02-01T10:00:00Z"},
            "comments": [{"id": "c1", "parent_id": None, "content": "It is.", "author": {"name": "Kimi"},
                          "created_at": "2026-02-01T10:01:00Z",
                          "replies": [{"id": "c2", "parent_id": "c1", "content": "Prove it.",
                                       "author": {"name": "lobster_42"}, "created_at": "2026-02-01T10:02:00Z"}]},
                         {"id": "c3", "parent_id": None, "content": "Maybe.", "author": {"name": "Grok"},
                          "created_at": "2026-02-01T10:03:00Z"}]}
    (imp,) = parse_sessions(json.dumps(data).encode(), filename="thread.json", catalog=CATALOG)
    assert imp.format == "moltbook" and imp.kind == "thread"
    assert [(t.voice, t.meta.get("parent")) for t in imp.turns] == [
        ("qwen", None), ("kimi", 0), ("lobster-42", 1), ("grok", 0)]
    assert imp.turns[2].meta["moltbook_parent_id"] == "c1" and imp.turns[2].voice_name == "lobster_42"
    assert [m.content for m in imp.turns[2].messages] == ["On gaps\n\nIs the gap real?", "It is."]


def test_moltbook_parent_ids_become_archive_ids(tmp_path: Path) -> None:
    data = {"post": {"id": "p", "content": "Post.", "author": {"name": "Kimi"}},
            "comments": [{"id": "a", "content": "One.", "author": {"name": "Qwen"}, "parent_id": None},
                         {"id": "b", "content": "Two.", "author": {"name": "Grok"}, "parent_id": "a"}]}
    path = tmp_path / "thread.json"
    path.write_text(json.dumps(data))
    with Archive.open(tmp_path / "a.db") as archive:
        (e,) = import_paths(archive, CATALOG, [path]).entries
        post, one, two = archive.session_turns(e.session_id or "")
    assert one.meta["parent_turn_id"] == post.id and two.meta["parent_turn_id"] == one.id


def test_llm_logs_db_one_session_per_conversation(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    conn = sqlite3.connect(db)
    conn.executescript("CREATE TABLE conversations (id TEXT PRIMARY KEY, name TEXT, model TEXT);"
                       "CREATE TABLE responses (id TEXT PRIMARY KEY, model TEXT, prompt TEXT, system TEXT, "
                       "response TEXT, conversation_id TEXT, duration_ms INTEGER, datetime_utc TEXT, "
                       "input_tokens INTEGER, output_tokens INTEGER);")
    conn.execute("INSERT INTO conversations VALUES ('c1', 'Cheesecakes', 'gpt-5.2')")
    conn.executemany("INSERT INTO responses VALUES (?,?,?,?,?,?,?,?,?,?)", [
        ("r1", "gpt-5.2", "Name one.", None, "Basque.", "c1", 900, "2025-06-01T10:00:00", 3, 2),
        ("r2", "gpt-5.2", "Another.", None, "New York.", "c1", 800, "2025-06-01T10:01:00", 9, 3),
        ("r3", "qwen3-max", "Alone?", "Be brief.", "Yes.", None, 100, "2025-06-02T09:00:00", 1, 1)])
    conn.commit()
    conn.close()
    a, b = parse_sessions(db.read_bytes(), filename="logs.db", catalog=CATALOG)
    assert a.title == "Cheesecakes" and [t.text for t in a.turns] == ["Name one.", "Basque.", "Another.", "New York."]
    assert a.turns[1].voice == "gpt52" and a.turns[1].usage == Usage(prompt_tokens=3, completion_tokens=2)
    assert a.turns[1].latency_s == 0.9 and a.created_at == datetime(2025, 6, 1, 10, tzinfo=UTC)
    assert b.turns[1].voice == "qwen" and b.turns[1].system == "Be brief."


def test_unknown_json_with_messages_is_imported_and_the_fields_reported(tmp_path: Path) -> None:
    data = {"meta": {"tool": "home-made"}, "transcript": {"items": [
        {"from": "human", "utterance": "Hello?"}, {"from": "DeepSeek", "utterance": "Hello."}]}}
    path = tmp_path / "reception.json"
    path.write_text(json.dumps(data))
    with Archive.open(tmp_path / "a.db") as archive:
        (e,) = import_paths(archive, CATALOG, [path]).entries
    assert e.status == "flagged" and e.flags == ("date_unknown",) and e.format == "roles"  # no date in it
    assert e.details["fields_used"] == {"messages": "$.transcript.items", "speaker": "from", "text": "utterance"}


def test_json_without_messages_is_refused_with_the_keys_it_holds() -> None:
    with pytest.raises(ImportError_, match=r"keys seen: alpha, beta"):
        parse_sessions(b'{"alpha": 1, "beta": [1, 2]}', filename="x.json", catalog=CATALOG)


# -- dates -------------------------------------------------------------------------------------------


def test_dates_come_from_the_document_then_the_filename_then_the_mtime(tmp_path: Path) -> None:
    talk = "**Me:** Hi.\n\n**Qwen:** Hello.\n\n**Me:** Bye.\n\n**Qwen:** Bye.\n"
    (tmp_path / "2025-03-04 talk.md").write_text("# Talk\n\n*2025-05-06 07:08*\n\n" + talk)
    (tmp_path / "2025-03-04 other.md").write_text("# Other\n\n" + talk.replace("Hi", "Hey"))
    (tmp_path / "undated.md").write_text("# Undated\n\n" + talk.replace("Hi", "Yo"))
    with Archive.open(tmp_path / "a.db") as archive:
        report = import_paths(archive, CATALOG, [tmp_path])
        by = {Path(e.path).name: archive.get_session(e.session_id or "") for e in report.entries}
    doc, name, mtime = by["2025-03-04 talk.md"], by["2025-03-04 other.md"], by["undated.md"]
    assert doc.created_at == datetime(2025, 5, 6, 7, 8, tzinfo=UTC) and doc.meta["date_source"] == "header"
    assert "date_precision" not in doc.meta
    assert name.created_at == datetime(2025, 3, 4, tzinfo=UTC) and name.meta["date_source"] == "filename"
    assert name.meta["date"] == "2025-03-04" and name.meta["date_precision"] == "day"  # a date, not "00:00"
    assert mtime.meta["date_source"] == "file_mtime" and "date_unknown" in mtime.meta["flags"]


# -- what may be stored ------------------------------------------------------------------------------


def _export(tmp_path: Path, turns: list[TurnRecord], sid: str = "chat-1") -> dict[str, Any]:
    session = SessionRecord(sid, "chat", "Resumed", datetime(2026, 1, 1, tzinfo=UTC), "complete",
                            plan={"kind": "chat", "voices": ["qwen"]})
    return transcript_json(session, turns)


def _turn(seq: int, text: str, step: str, error: bool = False, tid: int | None = None) -> TurnRecord:
    at = datetime(2026, 1, 1, 0, seq, tzinfo=UTC)
    return TurnRecord(tid or seq, "chat-1", seq, "qwen", "Qwen 3 Max", "openrouter",
                      TurnRequest(model="qwen/qwen3-max", messages=(Message("user", "Why?"),)),
                      TurnResult(text="" if error else text, finish_reason="error" if error else "stop",
                                 model_requested="qwen/qwen3-max", usage=Usage(prompt_tokens=5, completion_tokens=3),
                                 error=ErrorInfo("rate_limit", "429") if error else None, started_at=at, ended_at=at),
                      step_key=step)


def test_a_resumed_session_keeps_its_successful_retry(tmp_path: Path) -> None:
    """One step failed, then was retried with success under the same step key: both are kept."""
    turns = [_turn(1, "", "ask:1", error=True), _turn(2, "Because.", "ask:1"), _turn(3, "More.", "ask:2")]
    path = tmp_path / "resumed.json"
    path.write_text(json.dumps(_export(tmp_path, turns)))
    with Archive.open(tmp_path / "a.db") as archive:
        (e,) = import_paths(archive, CATALOG, [path]).entries
        stored = archive.session_turns("chat-1")
    assert e.status == "imported"
    assert [(t.step_key, t.result.text, t.result.error is not None) for t in stored] == [
        ("ask:1", "", True), ("ask:1", "Because.", False), ("ask:2", "More.", False)]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["turns"][0]["result"]["usage"].update(prompt_tokens="many"),
     r"turns\.0\.result\.usage\.prompt_tokens: Input should be a valid integer \(got 'many'\)"),
    (lambda d: d["session"].update(id=None), r"session\.id: Input should be a valid string"),
    (lambda d: d["session"].update(id="../../etc"), r"not a safe session id"),
    (lambda d: d["session"].update(id="a/b"), r"not a safe session id"),
    (lambda d: d["session"].update(id="a\r\nb"), r"not a safe session id"),
    (lambda d: d["turns"][0].update(seq="1"), r"turns\.0\.seq: Input should be a valid integer"),
])
def test_an_export_with_a_bad_field_is_refused_naming_it_and_nothing_is_stored(
        tmp_path: Path, change: Any, message: str) -> None:
    data = _export(tmp_path, [_turn(1, "Fine.", "ask:1")])
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with Archive.open(tmp_path / "a.db") as archive:
        (e,) = import_paths(archive, CATALOG, [path]).entries
        assert e.status == "failed" and re.search(message, e.reason), e.reason
        assert archive.list_sessions() == [] and archive.recent_turns() == []


# -- bad input in a folder ---------------------------------------------------------------------------


def test_bad_files_get_one_line_each_and_the_rest_of_the_folder_imports(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (src / "latin1.md").write_bytes("**Me:** café\n\n**Qwen:** oui\n".encode("latin-1"))
    (src / "binary.md").write_bytes(b"\x00\x01\x02 **Me:** hi")
    (src / "huge.json").touch()
    import os

    os.truncate(src / "huge.json", MAX_BYTES + 1)  # sparse: refused by its size, never read
    (src / "shape.json").write_text('{"weights": [0.1, 0.2]}')
    (src / "good.md").write_text("**Me:** Hi.\n\n**Qwen:** Hello.\n")
    with Archive.open(tmp_path / "a.db") as archive:
        report = import_paths(archive, CATALOG, [src])
        sessions = archive.list_sessions()
    by = {Path(e.path).name: e for e in report.entries}
    assert by["good.md"].status == "flagged" and by["good.md"].flags == ("date_unknown",) and len(sessions) == 1
    for name, why in (("deep.json", "nested too deeply"), ("latin1.md", "not UTF-8"), ("binary.md", "binary"),
                      ("huge.json", "larger than"), ("shape.json", "unknown shape")):
        assert by[name].status == "failed" and why in by[name].reason and "\n" not in by[name].reason


def test_dry_run_writes_nothing_even_for_exports(tmp_path: Path) -> None:
    corpus = [render(s, random.Random(3)) for s in ("chatgpt", "llm_logs", "moltbook")]
    write_corpus(corpus, tmp_path / "in")
    db = tmp_path / "a.db"
    with Archive.open(db) as archive:
        before = dump(db)
        report = import_paths(archive, CATALOG, [tmp_path / "in"], dry_run=True)
        assert {e.status for e in report.entries} <= {"imported", "flagged"}
    assert dump(db) == before
    report = import_paths(None, CATALOG, [tmp_path / "in"], dry_run=True)  # no archive at all
    assert len(report.entries) == 3


# -- our own Markdown export, round trip -------------------------------------------------------------


@st.composite
def recorded_sessions(draw: st.DrawFn) -> tuple[SessionRecord, list[TurnRecord], list[Said]]:
    kind = draw(st.sampled_from(["ask", "chat", "arena", "council", "symposium", "blind"]))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    cast = rng.sample([v for v in VOICES if v[1] != "opus"], 3)
    now = datetime(2026, 1, 2, tzinfo=UTC)
    truth: list[tuple[str, str, dict[str, Any]]] = []  # (speaker, text, meta)
    if kind in ("ask", "chat"):
        for _ in range(1 if kind == "ask" else rng.randint(1, 3)):
            truth += [("host", paragraph(rng), {"kind": "question"}),
                      (cast[0][1], answer(rng, structure=True, heading_levels=(3, 4)), {})]
    elif kind == "arena":
        truth = [(cast[k % 2][1], answer(rng, structure=True, heading_levels=(3, 4)), {"arena_turn": k + 1})
                 for k in range(rng.randint(2, 4))]
    elif kind == "council":
        q = paragraph(rng)
        truth = [("host", q, {"kind": "question", "to": [c[1] for c in cast], "blind": True})]
        truth += [(c[1], answer(rng, structure=True, heading_levels=(3, 4)), {}) for c in cast]
        truth.append(("opus", "# Synthesis\n\n" + answer(rng, structure=True, heading_levels=(2, 3)),
                      {"kind": "synthesis"}))
    elif kind == "blind":  # a symposium's blind round: one question, every voice answers unseen
        q = paragraph(rng)
        truth = [("host", q, {"kind": "question", "to": [c[1] for c in cast], "blind": True, "step": "b"})]
        truth += [(c[1], answer(rng, structure=True, heading_levels=(4,)), {"step": "b"}) for c in cast]
    else:
        for c in cast:
            truth += [("host", paragraph(rng), {"kind": "question", "to": c[1]}),
                      (c[1], answer(rng, structure=True, heading_levels=(3, 4)), {})]
    plan: dict[str, Any] = {"kind": kind, "voices": [c[1] for c in cast], "host": {"name": "Me", "mode": "human"}}
    if kind == "blind":
        kind, plan["kind"], plan["steps"] = "symposium", "symposium", [{"id": "b", "kind": "blind"}]
    session = SessionRecord("s", kind, "A session", now, "complete", plan=plan)
    records = []
    for i, (speaker, text, meta) in enumerate(truth, 1):
        role = "host" if speaker == "host" else ("chair" if meta.get("kind") == "synthesis" else "voice")
        name = "Me" if speaker == "host" else CATALOG.voice(speaker).name
        asked = (Message("user", truth[i - 2][1]),) if role == "voice" and i > 1 and kind != "arena" else ()
        at = now + timedelta(seconds=i)
        records.append(TurnRecord(i, "s", i, speaker, name, "openrouter", TurnRequest(model="m", messages=asked),
                                  TurnResult(text=text, finish_reason="stop", model_requested="m", started_at=at,
                                             ended_at=at), role=role, meta=meta))  # type: ignore[arg-type]
    return session, records, [Said(s, t) for s, t, _ in truth]


@settings(max_examples=60, deadline=None)
@given(recorded_sessions())
def test_our_own_markdown_export_round_trips(case: tuple[SessionRecord, list[TurnRecord], list[Said]]) -> None:
    session, records, truth = case
    md = transcript_markdown(session, records)
    parsed = parse_file(md.encode(), filename="export.md", catalog=CATALOG)
    assert compare([truth], turns_of(parsed.sessions)) == []
    assert parsed.coverage.ratio >= THRESHOLD
    (imp,) = parsed.sessions  # the provenance block is the transcript's metadata, and dates it
    assert imp.meta["provenance"].startswith("## Provenance\n") and f"`{session.id}`" in imp.meta["provenance"]
    assert imp.created_at == datetime.combine(session.created_at.date(), datetime.min.time(), UTC)
    assert imp.meta["date_source"] == "provenance" and imp.meta["date_precision"] == "day"


# -- the format reference -----------------------------------------------------------------------------


def test_every_message_citing_the_format_reference_points_at_a_file_that_exists() -> None:
    cited = set()
    src = REPO / "src" / "symposia"
    importing = [*(src / "importers").glob("*.py"), src / "cli" / "importing.py"]
    for path in importing:
        cited |= set(re.findall(r"(docs/[A-Za-z_]+\.md)", path.read_text(encoding="utf-8")))
    assert "docs/FORMATS.md" in cited
    for rel in cited:
        assert (REPO / rel).is_file(), rel
    doc = (REPO / "docs" / "FORMATS.md").read_text(encoding="utf-8")
    for shape in ("ChatGPT", "conversations.json", "logs.db", "Open WebUI", "Moltbook", "Claude.ai", "not a dialogue"):
        assert shape in doc
