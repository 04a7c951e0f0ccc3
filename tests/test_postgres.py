"""The PostgreSQL archive on a real server: the same records and verbs as SQLite, full-text search through
tsvector (phrases included), concurrency through the database, and lossless copies both ways."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import numbered, voice_tables, write_user_config
from symposia.api import Symposia, run_sync
from symposia.archive import Archive
from symposia.archive.batches import BatchLedger
from symposia.archive.search import SearchFilters, search
from symposia.archive.transfer import copy_archive, dump_archive
from symposia.cli.main import cli
from symposia.dialogue.batching import BatchExecutor
from symposia.dialogue.study import StudyPlan, run_study
from symposia.errors import ArchiveError
from symposia.records import ErrorInfo, Message, Params, SessionRecord, TurnRecord, TurnRequest, TurnResult, Usage
from symposia.testing import FakeServer
from symposia.testing.postgres import create_database

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def session(sid: str, kind: str = "council") -> SessionRecord:
    return SessionRecord(id=sid, kind=kind, title=f"Title of {sid} — ünïcode", created_at=T0,
                         plan={"voices": ["a", "b"], "n": 2}, meta={"note": "x"})


def turn(sid: str, seq: int, answer: str, *, step: str | None = None, question: str = "What is a river?",
         error: bool = False, voice: str = "alpha") -> TurnRecord:
    result = TurnResult(
        text="" if error else answer, reasoning="thinking…" if seq % 2 else "",
        finish_reason="error" if error else "stop",
        model_requested="m/1", model_reported="m/1-2026", request_id=f"req-{seq}",
        usage=Usage(prompt_tokens=10 + seq, completion_tokens=5, reasoning_tokens=None, cost=0.000123 * seq),
        ttft_s=0.25 if seq % 3 else None, latency_s=1.5, attempts=1,
        error=ErrorInfo(kind="server_error", message="boom", status=500, retryable=True) if error else None,
        started_at=T0 + timedelta(seconds=seq), ended_at=T0 + timedelta(seconds=seq, milliseconds=500))
    request = TurnRequest(model="m/1", messages=(Message("user", question),), system="Be brief.",
                          params=Params(temperature=0.7, max_tokens=100))
    return TurnRecord(id=None, session_id=sid, seq=seq, voice=voice, voice_name=voice.title(), provider="fake",
                      request=request, result=result, step_key=step, meta={"round": 1})


def fill(archive: Archive) -> None:
    archive.create_session(session("s1"))
    archive.create_session(session("s2", kind="study"))
    archive.add_turn(turn("s1", 1, "The quiet river runs under the old bridge.", step="r1:alpha"))
    archive.add_turn(turn("s1", 2, "A river, quiet at dawn, and a bridge.", step="r1:beta", voice="beta"))
    archive.add_turn(turn("s1", 3, "", step="r1:gamma", error=True, voice="gamma"))
    archive.add_turn(turn("s2", 1, "Mountains hold snow; the river is quiet.", question="Name a mountain."))
    ledger = BatchLedger(archive)
    job = ledger.create_job("sy-tag1", "fake", [("sy-c1", "s1", "r1:alpha", "alpha", "m/1")], 321)
    ledger.set_submitted(job, "msgbatch_1")
    with archive.transaction() as c:
        c.execute("INSERT INTO turn_chunks (turn_id, chunk, char_start, char_end, dim, scale, vector) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)", (1, 0, 0, 10, 4, 0.0125, bytes([1, 2, 250, 7])))
        c.execute("INSERT INTO embedded_turns (turn_id, model, chunks, embedded_at) VALUES (?, ?, ?, ?)",
                  (1, "mini", 1, "2026-03-01T12:00:00.000000+00:00"))


def test_records_and_verbs_behave_as_on_sqlite(pg_url: str) -> None:
    with Archive.open(pg_url) as a:
        assert a.dialect == "postgresql" and "postgresql://" in str(a.path)
        fill(a)
        assert [s.id for s in a.list_sessions()] == ["s2", "s1"]  # same created_at: id descending
        assert a.get_session("s2").kind == "study" and a.get_session("s1").plan == {"voices": ["a", "b"], "n": 2}
        with pytest.raises(ArchiveError, match="ambiguous"):
            a.get_session("s")
        turns = a.session_turns("s1")
        assert [t.seq for t in turns] == [1, 2, 3] and turns[0].result.usage.cost == pytest.approx(0.000123)
        assert turns[1].result.reasoning == "" and turns[0].result.reasoning == "thinking…"
        assert turns[2].result.error is not None and turns[2].result.error.status == 500
        assert a.find_turn("s1", "r1:alpha") == turns[0]
        assert a.next_seq("s1") == 4 and a.next_seq("nobody") == 1
        with pytest.raises(ArchiveError, match="already has a turn for step"):
            a.add_turn(turn("s1", 9, "again", step="r1:alpha"))
        a.add_turn(turn("s1", 9, "", step="r1:gamma", error=True))  # failed attempts may repeat
        with pytest.raises(ArchiveError, match="create_session"):
            a.add_turn(turn("missing", 1, "x"))
        with pytest.raises(ArchiveError, match="already exists"):
            a.create_session(session("s1"))
        a.set_session_status("s1", "complete")
        assert a.get_session("s1").status == "complete"
        assert [(t.voice, t.seq) for t in a.recent_turns(2)] == [("alpha", 9), ("gamma", 3)]


def test_full_text_search_uses_tsvector_with_phrases(pg_url: str) -> None:
    with Archive.open(pg_url) as a:
        fill(a)
        words = search(a, "quiet river", mode="fts")
        assert words.mode == "fts" and {h.turn_id for h in words.hits} == {1, 2, 4}
        phrase = search(a, '"quiet river"', mode="fts")
        assert [h.turn_id for h in phrase.hits] == [1]  # only the turn with the words side by side
        hit = phrase.hits[0]
        marked = [hit.snippet[s:e] for s, e in hit.highlights]
        assert marked == ["quiet", "river"] and hit.session_kind == "council"
        assert [h.turn_id for h in search(a, "river -bridge", mode="fts").hits] == [4]
        assert [h.turn_id for h in search(a, "mountain", mode="fts", field="question").hits] == [4]
        only_beta = search(a, "river", mode="fts", filters=SearchFilters(voice="BETA"))
        assert [h.voice for h in only_beta.hits] == ["beta"]
        plan = a.query("EXPLAIN SELECT id FROM turns WHERE fts @@ websearch_to_tsquery('simple', 'river')")
        assert any("turns_fts" in str(r[0]) or "Seq Scan" in str(r[0]) for r in plan)  # the GIN index exists
        assert a.query("SELECT indexdef FROM pg_indexes WHERE indexname = 'turns_fts'")[0][0].endswith("(fts)")


def test_copy_sqlite_to_postgresql_and_back_is_lossless(pg_url: str, tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        fill(a)
        original = list(dump_archive(a))
        with Archive.open(pg_url) as p:
            counts = copy_archive(a, p)
            assert counts["turns"] == 4 and counts["batch_items"] == 1 and counts["turn_chunks"] == 1
            assert list(dump_archive(p)) == original
            with Archive.open(tmp_path / "b.db") as b:
                copy_archive(p, b)
                assert list(dump_archive(b)) == original
            new_id = p.add_turn(turn("s2", 2, "after the copy"))  # identities continue after the copied ids
            assert new_id == 5 and p.get_turn(5).result.text == "after the copy"
            assert [h.turn_id for h in search(p, '"quiet river"', mode="fts").hits] == [1]  # index rebuilt


def test_copy_refuses_a_destination_that_is_not_empty(pg_url: str, tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a, Archive.open(pg_url) as p:
        fill(a)
        p.create_session(session("other"))
        with pytest.raises(ArchiveError, match="not empty"):
            copy_archive(a, p)


@settings(deadline=None, max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                              max_size=40), min_size=1, max_size=5),
       cost=st.one_of(st.none(), st.floats(0, 10, allow_nan=False)))
def test_any_text_and_number_survive_the_round_trip(pg_server: str, tmp_path_factory: pytest.TempPathFactory,
                                                     texts: list[str], cost: float | None) -> None:
    folder = tmp_path_factory.mktemp("rt")
    with Archive.open(folder / "a.db") as a:
        a.create_session(session("s"))
        for i, text in enumerate(texts, 1):
            t = turn("s", i, text)
            a.add_turn(TurnRecord(**{**t.__dict__, "result": TurnResult(**{**t.result.__dict__,
                                                                        "usage": Usage(1, 2, 3, cost)})}))
        with Archive.open(create_database(pg_server)) as p, Archive.open(folder / "b.db") as b:
            copy_archive(a, p)
            copy_archive(p, b)
            assert list(dump_archive(b)) == list(dump_archive(a))
            assert [t.result.text for t in p.session_turns("s")] == texts


def test_concurrent_writers_share_one_database(pg_url: str) -> None:
    archives = [Archive.open(pg_url) for _ in range(3)]  # three processes' worth of connections
    try:
        archives[0].create_session(session("s"))

        def write(k: int) -> None:
            for i in range(40):
                archives[k].add_turn(turn("s", 1000 * k + i, f"writer {k} line {i}", step=f"w{k}:{i}"))

        threads = [threading.Thread(target=write, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stored = archives[1].session_turns("s")
        assert len(stored) == 120 and len({t.step_key for t in stored}) == 120
    finally:
        for a in archives:
            a.close()


def test_opening_a_new_database_from_many_processes_migrates_once(pg_url: str) -> None:
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            Archive.open(pg_url).close()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Archive.open(pg_url) as a:
        names = [r[0] for r in a.query("SELECT name FROM _migrations")]
    assert len(names) == len(set(names)) == 6


def test_a_batch_study_on_a_postgresql_archive(pg_url: str, isolated_user_dirs: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    monkeypatch.setenv("SYMPOSIA_ARCHIVE", pg_url)  # selected by the environment, as a user would
    with FakeServer() as srv:
        write_user_config(isolated_user_dirs, f'[providers.fake]\nkind = "anthropic"\nbase_url = '
                          f'"{srv.anthropic_base_url}"\nkey_env = "FAKE_API_KEY"\noptions = {{ batch = true, '
                          'batch_poll_s = 0.02 }\n' + voice_tables("fake", [v[:3] for v in numbered(("alpha",))]))
        with Symposia() as s:
            assert s.archive.dialect == "postgresql"
            s.runtime.executor = BatchExecutor(s.archive, collect_s=0.05)
            plan = StudyPlan(prompts=("One?", "Two?"), voices=("alpha",), samples=3)
            outcome = run_sync(run_study(s.runtime, plan))
            assert outcome.status == "complete" and len(s.archive.session_turns(outcome.session_id)) == 6
        listing = CliRunner().invoke(cli, ["batches", "--json"])
    assert listing.exit_code == 0, listing.output
    assert '"status": "collected"' in listing.stdout and len(srv.batch_submissions) == 6


def test_archive_copy_cli_round_trip(pg_url: str, tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a.db") as a:
        fill(a)
    r1 = CliRunner().invoke(cli, ["archive", "copy", str(tmp_path / "a.db"), pg_url])
    assert r1.exit_code == 0, r1.output
    r2 = CliRunner().invoke(cli, ["archive", "copy", pg_url, str(tmp_path / "b.db")])
    assert r2.exit_code == 0, r2.output
    dumps = [CliRunner().invoke(cli, ["archive", "dump", str(tmp_path / n)]).stdout for n in ("a.db", "b.db")]
    assert dumps[0] == dumps[1] and dumps[0].count('"table": "turns"') == 4
    bad = CliRunner().invoke(cli, ["--archive", "postgresql://nobody:secretpw@127.0.0.1:1/none", "log"])
    assert bad.exit_code != 0 and "cannot connect" in bad.output and "secretpw" not in bad.output
