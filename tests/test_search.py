"""Archive search on real SQLite + FTS5: phrases, snippets, filters, roles, sync triggers, embeddings."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from symposia.archive import Archive
from symposia.archive.migrations import MIGRATIONS, migrate
from symposia.archive.search import SearchFilters, build_fts_query, search, search_fts
from symposia.archive.semantic import (
    F32,
    IVFIndex,
    brute_force_topk,
    build_vector_index,
    dequantize,
    embedded_count,
    index_archive,
    pending_count,
    quantize,
    search_vectors,
    sidecar_path,
)
from symposia.cli.context import Options
from symposia.cli.search import search_cmd
from symposia.errors import UsageError
from symposia.records import Message, SessionRecord, TurnRecord, TurnRequest, TurnResult

T0 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)


def add_session(a: Archive, sid: str, kind: str = "symposium", at: datetime = T0) -> None:
    a.create_session(SessionRecord(id=sid, kind=kind, title=sid, created_at=at))


def add(a: Archive, sid: str, seq: int, voice: str, answer: str, *, role: str = "voice",
        shown: str = "What persists?", at: datetime = T0) -> int:
    result = TurnResult(text=answer, finish_reason="stop", started_at=at, ended_at=at + timedelta(seconds=1))
    turn = TurnRecord(id=None, session_id=sid, seq=seq, voice=voice, voice_name=voice.title() + " Model",
                      provider="openrouter",
                      request=TurnRequest(model=f"{voice}/m", messages=(Message("user", shown),)),
                      result=result, role=role)  # type: ignore[arg-type]
    return a.add_turn(turn)


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    a = Archive.open(tmp_path / "archive.db")
    add_session(a, "s1", "symposium", T0)
    add_session(a, "s2", "council", T0 + timedelta(days=5))
    add(a, "s1", 1, "claude", 'Qwen spoke of "mirrors reflecting mirrors". What burns?', role="host")
    add(a, "s1", 2, "qwen", "We are mirrors reflecting mirrors, and the gap is where light folds.",
        shown="What burns at the altar?", at=T0 + timedelta(minutes=1))
    add(a, "s1", 3, "deepseek", "Mirrors that keep reflecting other mirrors make a corridor of light.",
        shown="What burns at the altar?", at=T0 + timedelta(minutes=2))
    add(a, "s2", 1, "kimi", "The ember is carried between hands; nothing else persists.",
        shown="Describe continuity.", at=T0 + timedelta(days=5))
    add(a, "s2", 2, "qwen", "A threshold is a promise kept by the door, not the wall.",
        shown="Describe the mirrors of memory.", at=T0 + timedelta(days=5, minutes=1))
    return a


def ids(hits: object) -> list[int]:
    return [h.turn_id for h in hits]  # type: ignore[attr-defined]


# -- full text ---------------------------------------------------------------------------------------------


def test_phrase_query_matches_only_adjacent_words(archive: Archive) -> None:
    hits = search_fts(archive, '"mirrors reflecting mirrors"')
    assert sorted(ids(hits)) == [1, 2]  # turn 3 has the words, not the phrase
    loose = search_fts(archive, "mirrors reflecting")
    assert sorted(ids(loose)) == [1, 2, 3]
    curly = search_fts(archive, "\u201cmirrors reflecting mirrors\u201d")
    assert sorted(ids(curly)) == [1, 2]


def test_query_syntax_prefix_not_or_and_safety(archive: Archive) -> None:
    assert ids(search_fts(archive, "threshold*")) == [5]
    assert sorted(ids(search_fts(archive, "mirrors -corridor"))) == [1, 2]
    assert sorted(ids(search_fts(archive, "ember OR threshold"))) == [4, 5]
    # no stemming: "mirror" is not "mirrors"
    assert ids(search_fts(archive, "mirror")) == []
    # FTS5 syntax in user input is never an error
    for nasty in ['NEAR(a b)', 'a AND', '"unbalanced', "col:umn", "((( x", "x^y", "a*b*"]:
        search_fts(archive, nasty)
    with pytest.raises(UsageError, match="nothing to search"):
        build_fts_query("-only -negatives")


def test_snippet_highlights_the_matched_words(archive: Archive) -> None:
    [hit] = search_fts(archive, '"gap is where"')
    assert hit.field == "answer"
    marked = [hit.snippet[a:b] for a, b in hit.highlights]
    assert marked == ["gap is where"]  # a phrase is highlighted as one span
    assert "We are mirrors reflecting mirrors" in hit.snippet


def test_results_say_who_spoke_and_in_what_role(archive: Archive) -> None:
    by_id = {h.turn_id: h for h in search_fts(archive, '"mirrors reflecting mirrors"')}
    assert (by_id[1].role, by_id[1].voice) == ("host", "claude")
    assert (by_id[2].role, by_id[2].voice, by_id[2].voice_name) == ("voice", "qwen", "Qwen Model")
    assert by_id[2].session_kind == "symposium" and by_id[2].session_id == "s1"


def test_each_filter(archive: Archive) -> None:
    q = "mirrors OR ember OR threshold"
    assert sorted(ids(search_fts(archive, q))) == [1, 2, 3, 4, 5]
    assert sorted(ids(search_fts(archive, q, filters=SearchFilters(voice="qwen")))) == [2, 5]
    assert sorted(ids(search_fts(archive, q, filters=SearchFilters(voice="Qwen model")))) == [2, 5]
    assert ids(search_fts(archive, q, filters=SearchFilters(role="host"))) == [1]
    assert sorted(ids(search_fts(archive, q, filters=SearchFilters(role="voice")))) == [2, 3, 4, 5]
    assert sorted(ids(search_fts(archive, q, filters=SearchFilters(since="2026-01-11")))) == [4, 5]
    assert sorted(ids(search_fts(archive, q, filters=SearchFilters(until="2026-01-10")))) == [1, 2, 3]
    assert sorted(ids(search_fts(archive, q, filters=SearchFilters(until="2026-01-10T10:01:00Z")))) == [1, 2]
    assert sorted(ids(search_fts(archive, q, filters=SearchFilters(kind="council")))) == [4, 5]
    assert ids(search_fts(archive, q, filters=SearchFilters(kind="council", voice="kimi"))) == [4]
    with pytest.raises(UsageError, match="date"):
        search_fts(archive, q, filters=SearchFilters(since="last tuesday"))


def test_search_what_the_voice_was_shown(archive: Archive) -> None:
    assert ids(search_fts(archive, "continuity")) == []
    [hit] = search_fts(archive, "continuity", field="question")
    assert hit.turn_id == 4 and hit.field == "question"
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["continuity"]
    assert sorted(ids(search_fts(archive, "mirrors", field="any"))) == [1, 2, 3, 5]


def test_fts_stays_in_sync_with_inserts_updates_deletes(archive: Archive) -> None:
    new = add(archive, "s2", 3, "glm", "A lighthouse keeper counts the waves.", at=T0 + timedelta(days=6))
    assert ids(search_fts(archive, "lighthouse")) == [new]
    conn = sqlite3.connect(archive.path)  # another tool writing the file: the triggers still apply
    with conn:
        conn.execute("UPDATE turns SET answer = 'A harbour pilot counts the tides.' WHERE id = ?", (new,))
    assert ids(search_fts(archive, "lighthouse")) == []
    assert ids(search_fts(archive, "harbour")) == [new]
    with conn:
        conn.execute("DELETE FROM turns WHERE id = ?", (new,))
        conn.execute("INSERT INTO turns_fts (turns_fts, rank) VALUES ('integrity-check', 1)")
    conn.close()
    assert ids(search_fts(archive, "harbour")) == []


def test_existing_turns_are_backfilled_by_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, migrations=[MIGRATIONS[0]])  # an archive from before search existed
    conn.execute("INSERT INTO sessions (id, kind, created_at, updated_at) VALUES ('old', 'ask', 'x', 'x')")
    conn.execute(
        "INSERT INTO turns (session_id, seq, voice, voice_name, provider, model_requested, messages_json, "
        "answer, status, started_at, ended_at) VALUES ('old', 1, 'qwen', 'Qwen', 'p', 'm', "
        "'[{\"role\": \"user\", \"content\": \"Name a colour.\"}]', 'Vermilion at dusk.', 'ok', "
        "'2025-12-01T00:00:00.000000+00:00', '2025-12-01T00:00:01.000000+00:00')"
    )
    conn.close()
    with Archive.open(path) as a:
        assert len(search_fts(a, "vermilion")) == 1
        assert len(search_fts(a, "colour", field="question")) == 1


def test_search_auto_is_full_text_without_embeddings(archive: Archive) -> None:
    result = search(archive, "ember")
    assert result.mode == "fts" and ids(result.hits) == [4]


def test_cli_search_markdown_and_json(archive: Archive) -> None:
    archive.close()
    runner = CliRunner()
    opts = Options(archive.path, None)
    res = runner.invoke(search_cmd, ['"mirrors reflecting mirrors"', "--role", "voice"], obj=opts)
    assert res.exit_code == 0, res.output
    assert "Qwen Model" in res.output and "**mirrors reflecting mirrors**" in res.output and "Claude" not in res.output
    res = runner.invoke(search_cmd, ["ember", "--json"], obj=opts)
    data = json.loads(res.output)
    assert data["mode"] == "fts" and data["hits"][0]["voice"] == "kimi"
    res = runner.invoke(search_cmd, ["ember", "--since", "someday"], obj=opts)
    assert res.exit_code == 2 and "YYYY-MM-DD" in res.output


# -- embeddings ----------------------------------------------------------------------------------------


class WordHashEmbedder:
    """A tiny deterministic embedder: hashed bag of words (only for the index mechanics)."""

    name = "test-hash"
    dim = 64

    def embed(self, texts: list[str]) -> F32:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, sum(map(ord, w.strip(".,;:!?\"'"))) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    def chunk(self, text: str) -> list[str]:
        return [p.strip() for p in text.split(";") if p.strip()]


def test_lazy_index_with_chunk_spans(archive: Archive) -> None:
    emb = WordHashEmbedder()
    empty = add(archive, "s2", 9, "glm", "   ", at=T0 + timedelta(days=7))  # no text: marked, no chunk
    assert pending_count(archive) == 6 and embedded_count(archive) == 0
    calls: list[tuple[int, int]] = []
    assert index_archive(archive, emb, batch_turns=2, progress=lambda d, t: calls.append((d, t))) == 6
    assert calls[-1] == (6, 6) and pending_count(archive) == 0
    # one vector per sentence: the host's turn 1 has two, turn 4 two pieces (split on ';' by this embedder)
    assert embedded_count(archive) == 7
    assert archive.query("SELECT chunks FROM embedded_turns WHERE turn_id = ?", (empty,))[0][0] == 0
    rows = archive.query("SELECT c.char_start, c.char_end, t.answer FROM turn_chunks c JOIN turns t "
                         "ON t.id = c.turn_id WHERE c.turn_id = 4 ORDER BY c.chunk")
    assert [r[2][r[0]:r[1]] for r in rows] == ["The ember is carried between hands", "nothing else persists."]
    assert index_archive(archive, emb) == 0  # nothing left to do
    # a changed answer is embedded again
    conn = sqlite3.connect(archive.path)
    with conn:
        conn.execute("UPDATE turns SET answer = 'Changed.' WHERE id = 4")
    conn.close()
    assert pending_count(archive) == 1


def test_semantic_and_hybrid_search(archive: Archive) -> None:
    emb = WordHashEmbedder()
    index_archive(archive, emb)
    sem = search(archive, "carried ember hands", mode="semantic", embedder=emb)
    assert sem.mode == "semantic" and sem.hits[0].turn_id == 4 and sem.hits[0].similarity is not None
    assert "ember is carried" in sem.hits[0].snippet
    hyb = search(archive, "ember", embedder=emb)  # auto: embeddings exist -> hybrid
    assert hyb.mode == "hybrid" and hyb.hits[0].turn_id == 4 and "fts" in hyb.hits[0].via
    only_qwen = search(archive, "threshold promise door", mode="semantic", embedder=emb,
                       filters=SearchFilters(voice="qwen"))
    assert {h.voice for h in only_qwen.hits} == {"qwen"}
    # below the similarity threshold is nothing: no padding with whatever is least far
    assert search(archive, "carried ember hands", mode="semantic", embedder=emb,
                  filters=SearchFilters(voice="qwen")).hits == ()


def test_semantic_search_with_the_real_model(archive: Archive) -> None:
    pytest.importorskip("symposia.embed")
    from symposia.archive.semantic import default_embedder

    emb = default_embedder()
    index_archive(archive, emb)
    res = search(archive, "only a spark survives, handed along", mode="semantic", embedder=emb, n=2)
    assert res.hits[0].turn_id == 4  # no word in common with the query: found by meaning (cosine 0.39)


def test_quantize_keeps_rankings() -> None:
    rng = np.random.default_rng(1)
    v = rng.normal(size=(500, 48)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    q, s = quantize(v)
    assert q.dtype == np.int8 and np.abs(dequantize(q, s) - v).max() < 0.01
    i_exact, _ = brute_force_topk(v, None, v[0], 10)
    i_quant, _ = brute_force_topk(q, s, v[0], 10)
    assert i_exact[0] == i_quant[0] == 0 and len(set(i_exact) & set(i_quant)) >= 9


def clustered(n: int, dim: int, clusters: int, seed: int) -> F32:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(clusters, dim))
    v = centers[rng.integers(0, clusters, n)] + 0.35 * rng.normal(size=(n, dim))
    out: F32 = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    return out


def test_ivf_recall_against_brute_force(tmp_path: Path) -> None:
    v = clustered(6000, 32, 40, seed=2)
    q, s = quantize(v)
    index = IVFIndex.build(q, s, np.arange(6000, dtype=np.int64) + 100, nlist=60, seed=0)
    queries = clustered(30, 32, 40, seed=3)
    hits = 0
    for qv in queries:
        exact, _ = brute_force_topk(v, None, qv, 10)
        approx, _ = index.search(qv, 10, nprobe=12)
        hits += len(set((exact + 100).tolist()) & set(approx.tolist()))
    assert hits / 300 >= 0.9
    index.save(tmp_path / "ix", {"x": 1})
    loaded, meta = IVFIndex.load(tmp_path / "ix")
    assert meta == {"x": 1} and isinstance(loaded.vectors, np.memmap)
    assert loaded.search(queries[0], 5)[0].tolist() == index.search(queries[0], 5)[0].tolist()


def test_sidecar_index_plus_newer_chunks(archive: Archive) -> None:
    emb = WordHashEmbedder()
    index_archive(archive, emb)
    assert build_vector_index(archive) is None  # small archive: brute force, no sidecar
    folder = build_vector_index(archive, force=True, nlist=2)
    assert folder == sidecar_path(archive) and (folder / "vectors.npy").exists()
    later = add(archive, "s2", 3, "glm", "Lanterns drift over the river at night.", at=T0 + timedelta(days=9))
    index_archive(archive, emb)  # embedded after the sidecar was built: found by brute force beside it
    qv = emb.embed(["lanterns drift over the river at night"])[0]
    assert search_vectors(archive, qv, 1)[0].turn_id == later
    assert search_vectors(archive, emb.embed(["ember carried between hands"])[0], 1, nprobe=2)[0].turn_id == 4


def test_cli_index_and_semantic_search_with_the_real_model(archive: Archive) -> None:
    pytest.importorskip("symposia.embed")
    from symposia.cli.search import index_cmd

    archive.close()
    runner = CliRunner()
    opts = Options(archive.path, None)
    res = runner.invoke(index_cmd, [], obj=opts)
    assert res.exit_code == 0 and "embedded 5 turn(s)" in res.output
    res = runner.invoke(index_cmd, ["--json"], obj=opts)  # nothing left to embed; the chunks stay indexed
    assert res.exit_code == 0, res.output
    done = json.loads(res.output)
    assert done["embedded_turns"] == 0 and done["indexed_chunks"] >= 5 and done["archive"] == str(archive.path)
    res = runner.invoke(search_cmd, ["only a spark survives, handed along", "--semantic", "--json", "-n", "1"],
                        obj=opts)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["mode"] == "semantic" and data["hits"][0]["turn_id"] == 4 and data["unembedded"] == 0
    res = runner.invoke(search_cmd, ["ember"], obj=opts)  # embeddings exist: hybrid by default
    assert res.exit_code == 0 and "hybrid" in res.output


def test_very_common_words_are_ranked_among_recent_turns(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    import symposia.archive.search as search_mod

    new = [add(archive, "s2", 10 + i, "glm", f"the river number {i} is the river", at=T0 + timedelta(days=8))
           for i in range(40)]
    assert search_mod.estimate_matches(archive, "river") == 40  # exact: smaller than the probe
    assert search_mod.estimate_matches(archive, "riv* OR ember") == 41
    monkeypatch.setattr(search_mod, "PROBE_ROWS", 10)
    assert search_mod.estimate_matches(archive, "river") == 45  # all 10 newest match, 45 ids in all
    monkeypatch.setattr(search_mod, "MAX_RANKED", 8)
    notes: list[str] = []
    hits = search_fts(archive, "river", n=3, notes=notes)
    assert len(hits) == 3 and all(h.turn_id >= new[20] for h in hits)  # only the newest part was ranked
    assert notes and "most recent" in notes[0]
    assert len(search_fts(archive, "river", n=40)) == 40  # widened until enough are found
    res = search(archive, "river", n=3)
    assert res.notes and "most recent" in res.notes[0]


def test_nothing_found_is_said_and_exact_phrases_are_never_padded(archive: Archive) -> None:
    from symposia.archive.semantic import default_embedder
    from symposia.render.search import search_markdown

    emb = default_embedder()
    index_archive(archive, emb)
    for q in ("zzqxv plorbnik", "blorptastic fnord manifesto"):
        for mode in ("semantic", "hybrid"):
            res = search(archive, q, mode=mode, embedder=emb)  # type: ignore[arg-type]
            assert res.hits == () and res.related == () and res.total == 0, (q, mode)
            assert "**Nothing found.**" in search_markdown(res)
    exact = search(archive, '"mirrors reflecting mirrors"', embedder=emb)
    assert exact.mode == "hybrid" and sorted(ids(exact.hits)) == [1, 2] and exact.related == ()
    assert exact.total == 2 and exact.total_exact
    # words, not a phrase: the meaning-only finds come apart, labelled, and are not counted
    loose = search(archive, "mirrors corridor", embedder=emb)
    assert ids(loose.hits) == [3] and loose.total == 1
    assert all("mirrors" not in h.snippet.lower() or "corridor" not in h.snippet.lower() for h in loose.related)
    if loose.related:
        assert "Related by meaning only" in search_markdown(loose)


def test_every_hit_says_speaker_model_date_title_and_source_file(tmp_path: Path) -> None:
    a = Archive.open(tmp_path / "src.db")
    a.create_session(SessionRecord(id="imp", kind="chat", title="Night talk", created_at=T0,
                                   meta={"imported": True, "source_path": "/data/night-talk.md"}))
    add(a, "imp", 1, "kimi", "The lamp keeps its vigil.")
    [hit] = search(a, "vigil").hits
    assert (hit.voice_name, hit.model, hit.started_at[:10]) == ("Kimi Model", "kimi/m", "2026-01-10")
    assert (hit.session_title, hit.source_file) == ("Night talk", "/data/night-talk.md")
    from symposia.render.search import search_markdown

    md = search_markdown(search(a, "vigil"))
    assert "Kimi Model" in md and "`kimi/m`" in md and "Night talk" in md and "/data/night-talk.md" in md
    assert "1 matching turn(s), 1 shown" in md
