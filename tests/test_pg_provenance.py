"""origin, verify-quote and recall on PostgreSQL give the same answers as on SQLite, and neither backend's
candidate retrieval loses a true verbatim use.

Generated corpora (Markdown emphasis, links, HTML entities, typographic apostrophes and quotes, dashes,
ellipses, accented words, quotations attributed to other voices, hosts, characters, echoes) are written
to a SQLite archive and copied to a fresh PostgreSQL database with ``archive copy``; then exact quotes,
edited quotes, quotes spanning two turns, typographic variants and invented quotes are asked of both.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symposia.api import Symposia
from symposia.archive import Archive
from symposia.archive.origin import origin, verbatim_places, verify_quote
from symposia.archive.recall import recall
from symposia.archive.tokens import answer_terms, answer_words
from symposia.archive.transfer import copy_archive
from symposia.cli.main import cli
from symposia.records import Message, Params, SessionRecord, TurnRecord, TurnRequest, TurnResult
from symposia.testing.postgres import create_database
from symposia.testing.provenance import write_cases
from symposia.text import find_all, fold

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
VOICES = ("qwen", "kimi", "grok", "host")
WORDS = ("the", "lantern", "forgets", "its", "own", "light", "river", "argues", "with", "banks", "a", "seam",
         "where", "two", "silences", "meet", "café", "naïve", "resonance", "is", "not", "coincidence",
         "memory", "ember", "salt", "remembers", "sea", "threshold", "door", "quiet", "never")
DECOR = ("plain", "bold", "italic", "apostrophe", "curly", "dash", "ellipsis", "link", "entity", "upper", "br")


def _decorate(words: list[str], how: str, i: int) -> str:
    """Words as a voice might write them: the matcher reads every one of these as the same words."""
    w = list(words)
    if how == "bold":
        w[i % len(w)] = f"**{w[i % len(w)]}**"
    elif how == "italic":
        w[i % len(w)] = f"*{w[i % len(w)]}*"
    elif how == "apostrophe":
        w[i % len(w)] = "it’s" if i % 2 else "don't"
    elif how == "curly":
        return "“" + " ".join(w) + "”"
    elif how == "dash":
        w.insert(i % len(w), "—")
    elif how == "ellipsis":
        return " ".join(w) + "…"
    elif how == "link":
        j = i % len(w)
        w[j] = f"[{w[j]}](https://example.org/{w[j]}/page)"
    elif how == "entity":
        w.insert(i % len(w), "&amp;")
    elif how == "upper":
        w = [x.upper() for x in w]
    elif how == "br":
        w.insert(i % len(w), "<br>")
    return " ".join(w)


sentence = st.tuples(st.lists(st.sampled_from(WORDS), min_size=3, max_size=9), st.sampled_from(DECOR),
                     st.integers(0, 50))
answer = st.lists(sentence, min_size=1, max_size=3).map(
    lambda ss: " ".join(_decorate(ws, how, i) + "." for ws, how, i in ss))
turn_spec = st.tuples(st.sampled_from(VOICES), answer, st.booleans(), st.sampled_from((None, "ORIN")))
corpus = st.lists(st.lists(turn_spec, min_size=1, max_size=5), min_size=1, max_size=3)


Spec = tuple[str, str, bool, str | None]  # voice, answer, shown the previous answer, character


def _write(a: Archive, sessions: list[list[Spec]]) -> list[str]:
    answers: list[str] = []
    at = T0
    for s, turns in enumerate(sessions):
        sid = f"s{s}"
        a.create_session(SessionRecord(id=sid, kind="council", title=f"Session {s}", created_at=at))
        shown: list[str] = []
        for seq, (voice, text, echo, character) in enumerate(turns, start=1):
            at += timedelta(minutes=7)
            messages = (Message("user", shown[-1]),) if echo and shown else (Message("user", "Go on."),)
            a.add_turn(TurnRecord(
                id=None, session_id=sid, seq=seq, voice=voice, voice_name=voice.title(), provider="fake",
                role="host" if voice == "host" else "voice",
                request=TurnRequest(model="m/1", messages=messages, params=Params()),
                result=TurnResult(text=text, started_at=at, ended_at=at + timedelta(seconds=3)),
                meta={"character": character} if character and voice != "host" else {}))
            shown.append(text)
            answers.append(text)
    return answers


def _plain_words(text: str) -> list[str]:
    return [w for w in fold(text).text.replace(".", " ").split() if w.isalpha()]


def _phrases(answers: list[str], pick: int) -> list[str]:
    """Exact quotes, a typographic variant, an edited quote, one spanning two turns, an invented one."""
    words = [_plain_words(a) for a in answers]
    first = words[pick % len(words)]
    exact = " ".join(first[1:5]) if len(first) > 4 else " ".join(first)
    out = [exact, exact.replace("'", "’").upper(), f"**{exact}**", exact.replace(" ", " … ", 1)]
    edited = exact.split()
    edited[len(edited) // 2] = "lighthouse"
    out.append(" ".join(edited))
    if len(words) > 1:
        nxt = words[(pick + 1) % len(words)]
        out.append(" ".join(first[-2:] + nxt[:2]))
    out.append("the marmalade orchestra tunes its teeth")
    return [p for p in out if any(c.isalnum() for c in p)]


def _scan(a: Archive, phrase: str) -> int:
    """How many answers hold ``phrase`` verbatim, by reading every answer (what no index may miss)."""
    return sum(1 for r in a.query("SELECT answer FROM turns WHERE status != 'error'")
               if find_all(phrase, fold(str(r[0]))))


@settings(deadline=None, max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sessions=corpus, pick=st.integers(0, 20))
def test_origin_verify_quote_and_recall_answer_alike_on_both_backends(
        pg_server: str, tmp_path_factory: pytest.TempPathFactory, sessions: list[list[Spec]], pick: int) -> None:
    path = tmp_path_factory.mktemp("parity") / "a.db"
    with Archive.open(path) as lite, Archive.open(create_database(pg_server)) as pg:
        answers = _write(lite, sessions)
        copy_archive(lite, pg)
        for phrase in _phrases(answers, pick):
            truth = _scan(lite, phrase)
            assert verbatim_places(lite, phrase)[1] == verbatim_places(pg, phrase)[1] == truth, phrase
            assert origin(lite, phrase, semantic=False) == origin(pg, phrase, semantic=False), phrase
            characters = {c for t in sessions for v, *_, c in t if c and v != "host"}
            for voice in {v for t in sessions for v, *_ in t} | characters:
                assert verify_quote(lite, voice, phrase, semantic=False) == verify_quote(
                    pg, voice, phrase, semantic=False), (voice, phrase)
        for voice in {v for t in sessions for v, *_ in t} - {"host"}:
            assert recall(lite, voice, n=5, min_words=3) == recall(pg, voice, n=5, min_words=3), voice


def test_the_cli_and_api_answer_on_a_postgresql_archive(pg_url: str, tmp_path: Path) -> None:
    sessions = [[("kimi", "We said it: the *archive* dreams in footnotes — and only there.", False, None),
                 ("qwen", "As Kimi put it, “the archive dreams in footnotes”.", True, None),
                 ("grok", "Salt remembers the sea, and the river argues with its banks.", False, None)]]
    with Archive.open(tmp_path / "a.db") as lite:
        _write(lite, sessions)
    copied = CliRunner().invoke(cli, ["archive", "copy", str(tmp_path / "a.db"), pg_url])
    assert copied.exit_code == 0, copied.output
    runs = {}
    for where in (str(tmp_path / "a.db"), pg_url):
        base = ["--archive", where]
        found = CliRunner().invoke(cli, [*base, "origin", "The archive dreams in footnotes", "--no-semantic", "--json"])
        assert found.exit_code == 0, found.output
        ok = CliRunner().invoke(cli, [*base, "verify-quote", "kimi", "the archive dreams in footnotes",
                                      "--no-semantic"])
        quoted = CliRunner().invoke(cli, [*base, "verify-quote", "qwen", "the archive dreams in footnotes",
                                          "--no-semantic", "--json"])
        none = CliRunner().invoke(cli, [*base, "verify-quote", "grok", "the marmalade orchestra", "--no-semantic"])
        said = CliRunner().invoke(cli, [*base, "recall", "grok", "-n", "2", "--json"])
        assert (ok.exit_code, quoted.exit_code, none.exit_code, said.exit_code) == (0, 5, 1, 0), ok.output
        assert "archive copy" not in ok.output + quoted.output
        runs[where] = (json.loads(found.output), ok.output, json.loads(quoted.output), none.output,
                       json.loads(said.output))
    lite_run, pg_run = runs.values()
    assert lite_run == pg_run
    assert lite_run[0]["origin"]["place"]["voice"] == "kimi"


def test_turns_without_terms_are_still_found_and_the_migration_fills_old_ones(pg_url: str) -> None:
    with Archive.open(pg_url) as pg:
        _write(pg, [[("kimi", "The ember keeps its own counsel.", False, None)]])
        with pg.transaction() as c:  # another program's insert: no terms
            c.execute("INSERT INTO turns (session_id, seq, voice, voice_name, provider, model_requested, "
                      "messages_json, answer, status, started_at, ended_at) VALUES ('s0', 2, 'grok', 'Grok', 'p', "
                      "'m', '[]', 'Grok: the **ember** keeps its own counsel', 'ok', '2026-02-01T00:00:00.000000Z', "
                      "'2026-02-01T00:00:01.000000Z')")
        assert verbatim_places(pg, "the ember keeps its own counsel")[1] == 2
        with pg.transaction() as c:  # an archive from before m010_answer_terms
            c.execute("ALTER TABLE turns DROP COLUMN terms")
            c.execute("ALTER TABLE turns DROP COLUMN words")
            c.execute("DELETE FROM _migrations WHERE name = 'm010_answer_terms'")
    with Archive.open(pg_url) as pg:
        rows = pg.query("SELECT answer, terms, words FROM turns ORDER BY id")
        assert [list(r[1]) for r in rows] == [answer_terms(str(r[0])) for r in rows] and len(rows) == 2
        assert [r[2] for r in rows] == [answer_words(str(r[0])) for r in rows]
        assert origin(pg, "the ember keeps its own counsel", semantic=False).origin is not None


def test_the_python_api_answers_on_a_postgresql_archive(pg_url: str, isolated_user_dirs: Path) -> None:
    with Archive.open(pg_url) as pg:
        write_cases(pg)
    with Symposia(pg_url) as s:
        assert s.archive.dialect == "postgresql"
        assert s.verify_quote("ORIN", "salt remembers the sea", semantic=False).status == "verbatim"
        assert s.verify_quote("qwen", "the lantern forgets its own light", semantic=False).exit_code == 0
        first = s.origin("the lantern forgets its own light", semantic=False).origin
        assert first is not None and (first.place.voice, first.place.session_id) == ("qwen", "A")
        assert s.recall("deepseek", 3)
