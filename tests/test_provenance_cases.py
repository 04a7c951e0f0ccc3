"""The quote-case table: every kind of use verify-quote must tell apart, expected vs actual, all right;
origin on an archive whose first textual occurrence is a host's or a character's quote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from symposia.api import Symposia
from symposia.archive import Archive
from symposia.archive.neardups import near_duplicates
from symposia.archive.origin import origin, verify_quote
from symposia.archive.search import search
from symposia.archive.semantic import default_embedder, index_archive
from symposia.errors import NotFoundError
from symposia.testing.provenance import CASES, ORIGINS, QuoteCase, build_case_archive, write_cases

CATEGORIES = {"verbatim", "emphasis", "case", "typography", "echo", "quote", "character", "someone else",
              "paraphrase", "reversed", "invented", "outside source"}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    a = build_case_archive(tmp_path_factory.mktemp("cases") / "cases.db")
    yield a
    a.close()


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    a = build_case_archive(tmp_path_factory.mktemp("indexed") / "cases.db")
    index_archive(a, default_embedder())
    yield a
    a.close()


def test_the_table_covers_every_kind_of_case() -> None:
    assert len(CASES) >= 40
    assert {c.category for c in CASES} == CATEGORIES


@pytest.mark.parametrize("case", CASES, ids=[f"{c.category}:{c.voice}:{c.quote[:30]}" for c in CASES])
def test_quote_case(case: QuoteCase, archive: Archive, indexed: Archive) -> None:
    a = indexed if case.semantic else archive
    verdict = verify_quote(a, case.voice, case.quote, semantic=case.semantic)
    assert verdict.status == case.expected, (case, verdict)
    # whatever is shown is the record's own text, at the offsets given
    for use in (*verdict.mine, *verdict.paraphrase, *verdict.others):
        p = use.place
        assert a.get_turn(p.turn_id).result.text[p.start:p.end] == p.text


def test_verbatim_cases_stay_verbatim_with_meaning_on(indexed: Archive) -> None:
    for case in CASES:
        if case.expected in ("verbatim", "echoed", "someone_else") and not case.semantic:
            assert verify_quote(indexed, case.voice, case.quote).status == case.expected, case


@pytest.mark.parametrize("phrase", sorted(ORIGINS))
def test_origin_is_the_voice_not_an_earlier_host_or_character_quote(phrase: str, archive: Archive) -> None:
    voice, session = ORIGINS[phrase]
    variants = [phrase, phrase.upper(), phrase.title(), f"*{phrase}*", f"\u201c{phrase}.\u201d",
                phrase.replace(" ", " **", 1).replace(" ", "** ", 2).replace("** **", " ")]
    for typed in variants:
        report = origin(archive, typed, semantic=False)
        assert report.origin is not None, typed
        o = report.origin.place
        assert (o.voice, o.session_id, report.origin.label) == (voice, session, "original"), typed
        assert archive.get_turn(o.turn_id).result.text[o.start:o.end] == o.text


def test_origin_lists_host_and_character_quotes_but_never_picks_them(archive: Archive) -> None:
    report = origin(archive, "the archive dreams in footnotes", semantic=False)
    labels = [(u.place.session_id, u.label, u.exposure.quoting) for u in report.uses]
    assert labels == [("A", "host", "Kimi"), ("H", "character", "Kimi")]
    assert all(u.before_origin for u in report.uses)
    salt = origin(archive, "salt remembers the sea", semantic=False)
    assert [(u.place.character, u.label) for u in salt.uses] == [("ORIN", "character")]
    lantern = origin(archive, "the lantern forgets its own light", semantic=False)
    assert [u.label for u in lantern.uses] == ["quote", "host", "echo", "host"]
    assert lantern.uses[0].exposure.quoting == "Qwen" and lantern.uses[3].exposure.quoting == "Qwen"


def test_imported_echo_and_ties_on_dates_without_time(archive: Archive) -> None:
    seam = origin(archive, "a seam where two silences meet", semantic=False)
    kimi = next(u for u in seam.uses if u.place.voice == "kimi")
    assert kimi.label == "echo" and kimi.exposure.shown_by == "Grok 4" and kimi.exposure.shown_turn is not None
    door = origin(archive, "the door is a verb", semantic=False)
    assert door.origin is not None and door.origin.place.date_only
    assert [(u.place.voice, u.place.session_id) for u in door.ties] == [("kimi", "Y")]
    assert door.origin.place.source_file == "/imports/doors-1.md"


def test_paraphrase_links_in_origin(indexed: Archive) -> None:
    report = origin(indexed, "sacred because unclosable")
    assert report.origin is None and report.semantic
    top = report.paraphrases[0].place
    assert top.voice == "qwen" and top.match == "paraphrase" and "cannot be closed" in top.text
    assert top.meaning is not None and top.meaning > 0.4


def test_origin_links_the_hosts_paraphrase_to_the_voices_line(archive: Archive) -> None:
    report = origin(archive, "sacred because it cannot be closed \u2014 only tended", semantic=False)
    assert report.origin is not None and report.origin.place.voice == "qwen"
    linked = [u.place for u in report.paraphrases if u.place.session_id == "E"]
    assert linked and linked[0].role == "host" and "sacred because unclosable" in linked[0].text


def test_near_dups_across_voices_29_days_apart_with_three_words(archive: Archive) -> None:
    spans = near_duplicates(archive, min_words=3)
    resonance = [s for s in spans if {"kimi", "glm"} <= set(s.voices) and "coincidence" in s.places[0].text]
    assert resonance, [s.places[0].text for s in spans]
    days = sorted(p.started_at[:10] for p in resonance[0].places)
    assert days == ["2026-02-06", "2026-03-07"]
    texts = {p.voice: p.text for p in resonance[0].places}
    assert "coincidence" in texts["kimi"] and "resonance" in texts["glm"]


def test_on_postgresql_search_counts_near_dups_and_every_quote_case_work_as_on_sqlite(pg_url: str,
                                                                                   archive: Archive) -> None:
    with Archive.open(pg_url) as a:
        write_cases(a)
        res = search(a, '"the lantern forgets its own light"', mode="fts")
        # Qwen, Grok quoting it, the host's relay, DeepSeek's echo, the host's blockquote
        assert res.total == len(res.hits) == 5 and res.total_exact
        assert {h.session_title for h in res.hits} == {"Lanterns and seams", "Footnotes"}
        assert search(a, "zzqxv plorbnik", mode="fts").total == 0
        spans = near_duplicates(a, min_words=3)
        assert any({"kimi", "glm"} <= set(s.voices) and "coincidence" in s.places[0].text for s in spans)
        for case in CASES:  # the same verdicts, uses and words as the SQLite archive of the same cases
            assert verify_quote(a, case.voice, case.quote, semantic=False) == verify_quote(
                archive, case.voice, case.quote, semantic=False), case
        for phrase in ORIGINS:
            assert origin(a, phrase, semantic=False) == origin(archive, phrase, semantic=False), phrase


def test_the_python_api_takes_a_character_name(isolated_user_dirs: Path, tmp_path: Path) -> None:
    build_case_archive(tmp_path / "api.db").close()
    with Symposia(tmp_path / "api.db") as s:
        assert s.verify_quote("ORIN", "salt remembers the sea", semantic=False).status == "verbatim"
        assert s.verify_quote("VESPER", "the ember keeps its own counsel", semantic=False).exit_code == 5
        with pytest.raises(NotFoundError, match="Voices in this archive"):
            s.verify_quote("NOBODY", "anything at all", semantic=False)


def test_near_dups_mark_imported_echoes_and_dates_without_time(archive: Archive) -> None:
    seam = [s for s in near_duplicates(archive, min_words=5) if "silences" in s.places[0].text.lower()]
    assert seam
    by_place = {(p.session_id, p.voice): p for p in seam[0].places}
    assert by_place[("C", "kimi")].shown and by_place[("C", "kimi")].date_only
    assert not by_place[("A", "grok")].shown and not by_place[("A", "grok")].date_only
