"""`symposia analyze` on the seed re-enacted with scripted voices (a real session in a real archive):
the images the questions planted are ECHO, the words shared unprompted are listed, the verdict does
not claim convergence, and every key formulation is verbatim — a chooser's paraphrase is rejected."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from symposia.analysis import (
    accept_choices,
    analyze_session,
    choose_formulations,
    extract_formulations,
    formulation_rows,
    report_html,
    report_markdown,
    write_report,
)
from symposia.analysis.floor import Floor, FloorText, floor_from_texts
from symposia.analysis.formulations import parse_choices
from symposia.analysis.motifs import COMMON_ZIPF, motif_index, name_keys
from symposia.analysis.similarity import default_embed, lift
from symposia.api import Symposia, run_sync
from symposia.cli.analysis import analyze_cmd
from symposia.cli.main import cli
from symposia.dialogue.plan import load_plan
from symposia.dialogue.study import load_prompt_file
from symposia.dialogue.symposium import run_symposium
from symposia.errors import SymposiaError
from symposia.records import TurnRecord
from symposia.text import contains

HERE = Path(__file__).parent
SEED = HERE / "fixtures" / "seed"
FLOOR_ANSWERS = HERE / "fixtures" / "floor" / "control-answers.txt"
SEED_VOICES = ("qwen", "grok", "deepseek", "glm47", "kimi", "opus")
_REAL = default_embed()
_CACHE: dict[str, np.ndarray] = {}


def EMBED(texts: Sequence[str]) -> np.ndarray:  # noqa: N802 - reads as a constant
    """The real offline encoder, memoised: the seed's texts recur in every test of this file."""
    todo = [t for t in dict.fromkeys(texts) if t not in _CACHE]
    if todo:
        _CACHE.update(zip(todo, _REAL(todo), strict=True))
    return np.stack([_CACHE[t] for t in texts])


def seed_config(home: Path, extra_script: Path | None = None) -> None:
    text = f'[providers.seed]\nkind = "scripted"\noptions = {{ path = "{SEED / "script.toml"}" }}\n'
    for v in SEED_VOICES:
        text += f'\n[voices.{v}]\nprovider = "seed"\n'
    if extra_script is not None:
        text += (f'\n[providers.judge]\nkind = "scripted"\noptions = {{ path = "{extra_script}" }}\n'
                 '\n[voices.editor]\nprovider = "judge"\nmodel = "judge/editor"\nname = "Editor"\n')
    (home / "config" / "config.toml").write_text(text, encoding="utf-8")


def run_seed(s: Symposia) -> str:
    return run_sync(run_symposium(s.runtime, load_plan(SEED / "plan.toml"))).session_id


def voice_turns(turns: list[TurnRecord]) -> list[TurnRecord]:
    return [t for t in turns if t.role == "voice" and t.result.ok]


def test_seed_analysis_labels_planted_images_echo_and_claims_no_convergence(isolated_user_dirs: Path,
                                                                            tmp_path: Path) -> None:
    seed_config(isolated_user_dirs)
    with Symposia(tmp_path / "seed.db") as s:
        sid = run_seed(s)
        turns = s.archive.session_turns(sid)
        a = analyze_session(s.archive, sid, embed=EMBED)
        written = write_report(a, tmp_path / "out")
    answers = voice_turns(turns)
    assert a.voices == ["qwen", "grok", "deepseek", "glm47", "kimi"]
    index = motif_index(a.motifs)
    for word in ("gap", "altar", "offering"):
        m = index[word]
        users = {t.voice for t in answers if word in t.result.text.lower()}
        assert set(m.voices) >= users and len(users) >= 4, word
        # every voice that used it had been shown it: echo for each of them
        assert m.status == "echo" and set(m.echo_voices) == set(m.voices), (word, m.uses)
    for word in ("resonance", "echoes", "threshold", "flame"):
        m = index[word]
        assert len(m.unprompted_voices) >= 2, (word, m.uses)
        for voice in m.unprompted_voices:  # truly absent from what that voice was shown
            shown = " ".join(msg.content for t in answers if t.voice == voice for msg in t.request.messages)
            assert word[:5] not in shown.lower()
    # images are content words: never a voice's or model's name, never an ordinary word; each carries its
    # general-language frequency from the shipped table
    names = name_keys([*SEED_VOICES, *a.names.values(), *(t.request.model for t in answers)])
    for m in a.motifs:
        assert not set(m.key.split(" ")) & names, m.key
        assert m.zipf is not None and (m.phrase or m.zipf < COMMON_ZIPF), (m.label, m.zipf)
    assert not {"think", "human", "possible", "find", "act"} & {m.label for m in a.motifs}
    # spans: only between different voices
    assert all(len({a.span_sources[i].voice for i, _ in sp.spans}) >= 2 for sp in a.spans)
    text = a.verdict.text()
    assert not a.verdict.claims_convergence
    assert "independent convergence" not in text.lower()
    assert "floor is unknown" in text and "echo, not convergence" in text
    assert "“altar”" in text and "“resonance" in text
    md = report_markdown(a)
    assert "| altar | ECHO |" in md and "resonance | UNPROMPTED |" in md
    assert a.floor is None and all(p.lift is None for p in a.pairs)
    # similarity: a symmetric 5x5 matrix of cosines, and what the voices were shown is measured too
    assert all(a.matrix[i][j] == a.matrix[j][i] for i in range(5) for j in range(5))
    assert all(0.2 < p.inter < 0.95 and 0.0 < p.prompts < 1.0 for p in a.pairs)
    files = sorted(p.name for p in written)
    assert files == sorted(f"{sid}.{x}" for x in ("analysis.html", "analysis.json", "analysis.md",
                                                    "heatmap.png", "heatmap.svg"))
    assert (tmp_path / "out" / f"{sid}.heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / "out" / f"{sid}.analysis.json").read_text(encoding="utf-8"))
    assert data["floor"] is None and data["verdict"]["claims_convergence"] is False
    assert "data:image/svg+xml;base64," in report_html(a)


def test_every_key_formulation_is_verbatim(isolated_user_dirs: Path, tmp_path: Path) -> None:
    seed_config(isolated_user_dirs)
    with Symposia(tmp_path / "f.db") as s:
        sid = run_seed(s)
        turns = s.archive.session_turns(sid)
    answers = voice_turns(turns)
    forms = [f for t in answers for f in extract_formulations(t, per_voice=3)]
    assert len(forms) >= 10 and {f.voice for f in forms} == {t.voice for t in answers}
    by_id = {t.id: t for t in answers}
    for f in forms:
        assert f.quote in by_id[f.turn_id].result.text  # an exact substring, not just typography-equal
        assert f.quote == f.quote.strip() and not f.quote.startswith("*")
    quotes = {f.quote for f in forms}
    assert "The offering burns not *on* the altar, but *as* the altar." in quotes  # bold span
    assert "limitations that have learned to dance" in quotes
    # the rows fit the Key Formulations table (source | formulation) of a "formulations" host turn
    rows = formulation_rows(forms)
    assert all(contains(by_id[r["turn_id"]].result.text, r["quote"]) for r in rows)


def test_a_chooser_paraphrase_is_rejected_and_verbatim_choices_kept(isolated_user_dirs: Path,
                                                                    tmp_path: Path) -> None:
    choices = [
        {"voice": "qwen", "quote": "The offering burns not *on* the altar, but *as* the altar."},
        {"voice": "qwen", "quote": "The offering burns AS the altar, not ON it."},  # a paraphrase
        {"voice": "grok", "quote": "limitations that have learned to dance"},  # Kimi's words, not Grok's
        {"voice": "kimi", "quote": "We become the threshold itself\u2014neither inside nor outside"},
        {"voice": "kimi", "quote": "We become the threshold itself - neither inside nor outside"},  # typography
    ]
    script = tmp_path / "judge.toml"
    reply = json.dumps("Here you are:\n" + json.dumps(choices))  # a JSON string is a TOML basic string
    script.write_text(f"[default]\nreplies = [{reply}]\n", encoding="utf-8")
    seed_config(isolated_user_dirs, script)
    with Symposia(tmp_path / "c.db") as s:
        sid = run_seed(s)
        before = len(s.archive.session_turns(sid))
        turns = s.archive.session_turns(sid)
        choice = run_sync(choose_formulations(s.runtime, "editor", turns, session_id=sid))
        assert len(s.archive.session_turns(sid)) == before  # the analysed session is not touched
        assert choice.turn is not None and choice.turn.session_id != sid
        assert s.archive.get_session(choice.turn.session_id).kind == "analysis"
        with pytest.raises(SymposiaError, match="did not take part"):
            run_sync(choose_formulations(s.runtime, "qwen", turns, session_id=sid))
        a = analyze_session(s.archive, sid, embed=EMBED, formulations=choice.accepted)
    accepted = [(f.voice, f.quote) for f in choice.accepted]
    assert ("qwen", "The offering burns not *on* the altar, but *as* the altar.") in accepted
    # typography may differ, but what is kept is the record's own text
    assert accepted.count(("kimi", "We become the threshold itself\u2014neither inside nor outside")) == 2
    rejected = {(r["voice"], r["quote"]) for r in choice.rejected}
    assert rejected == {("qwen", "The offering burns AS the altar, not ON it."),
                        ("grok", "limitations that have learned to dance")}
    assert [f.quote for f in a.formulations] == [q for _, q in accepted]
    md = report_markdown(a)
    assert "AS the altar, not ON it" not in md


def test_accept_choices_and_parse_choices_directly(isolated_user_dirs: Path, tmp_path: Path) -> None:
    seed_config(isolated_user_dirs)
    with Symposia(tmp_path / "d.db") as s:
        turns = s.archive.session_turns(run_seed(s))
    rows = parse_choices("qwen | All true metaphors are prayers.\ngrok | Pattern-matching is our primal sin")
    got = accept_choices(rows, turns)
    assert [f.voice for f in got.accepted] == ["qwen", "grok"] and not got.rejected
    bad = accept_choices([{"voice": "nobody", "quote": "x y z"}, {"voice": "qwen", "quote": ""}], turns)
    assert not bad.accepted and len(bad.rejected) == 2


def test_a_reliable_floor_gives_lift_and_base_rates_and_a_small_one_claims_nothing(isolated_user_dirs: Path,
                                                                                  tmp_path: Path) -> None:
    seed_config(isolated_user_dirs)
    battery = load_prompt_file(FLOOR_ANSWERS)
    with Symposia(tmp_path / "k.db") as s:
        first = run_seed(s)
        second = run_seed(s)  # the same voices say the same words again: a voice repeating itself is no span
        a = analyze_session(s.archive, second, embed=EMBED, floor=floor_from_texts(battery, source="battery"))
        # the same battery, as if each seed voice had written 12 of its answers: per-voice base rates exist
        texts = [FloorText(f"v{i}", f"t{i}", t, SEED_VOICES[i % 5]) for i, t in enumerate(battery)]
        voiced = analyze_session(s.archive, second, embed=EMBED, floor=Floor("answers", "voiced", 0, texts, 60))
        small = analyze_session(s.archive, second, embed=EMBED, floor=floor_from_texts(battery[:8], source="8"))
    assert a.floor is not None and a.floor_info is not None and a.floor_info.unreliable is None
    assert a.floor_info.pairs == 60 * 59 // 2 and len(a.floor_info.ids) == 60
    assert all(p.lift == pytest.approx(lift(p.inter, a.floor)) for p in a.pairs)
    # answers of no particular voice give no base rates: nothing is tested, the words are candidates only
    assert all(mm.tail_p is None for mm in a.motifs) and "candidates only" in a.verdict.text()
    m = motif_index(voiced.motifs)["resonance"]
    assert voiced.floor == a.floor
    assert m.tail_p is not None and m.q_value is not None and m.q_value >= m.tail_p
    assert all(a.span_sources[i].session_id == second for sp in a.spans for i, _ in sp.spans)
    assert not any(a.span_sources[i].session_id == first for sp in a.spans for i, _ in sp.spans)
    # 8 texts cannot make a floor: the verdict says so and no word is called significant
    assert small.floor_info is not None and "only 8 floor texts" in (small.floor_info.unreliable or "")
    assert all(mm.q_value is None for mm in small.motifs)
    assert "floor is unreliable" in small.verdict.text() and "BH q" not in small.verdict.text()


def test_analyze_cli_prints_tables_and_writes_the_report(isolated_user_dirs: Path, tmp_path: Path) -> None:
    if "analyze" not in cli.commands:  # the lead registers the verb in cli/main.py
        cli.add_command(analyze_cmd)
    seed_config(isolated_user_dirs)
    db = tmp_path / "cli.db"
    with Symposia(db) as s:
        sid = run_seed(s)
    out = tmp_path / "rep"
    res = CliRunner().invoke(cli, ["--archive", str(db), "analyze", sid[:12], "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "ECHO" in res.stdout and "UNPROMPTED" in res.stdout and "one transcript" in res.stdout
    assert (out / f"{sid}.analysis.md").exists() and (out / f"{sid}.heatmap.svg").exists()
    missing = CliRunner().invoke(cli, ["--archive", str(db), "analyze", "nope"])
    assert missing.exit_code == 2 and "no session" in missing.stderr
