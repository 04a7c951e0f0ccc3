"""The analysis does not drift: a session's numbers stay identical when 100 unrelated sessions are
imported between two runs (the floor is declared, drawn with a recorded seed and frozen; images are
judged against a shipped frequency table; spans are only between the session's voices). Also: the
README's analysis examples run as written, and the HTML, Markdown and JSON reports agree on every number."""

from __future__ import annotations

import json
import random
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import fake_config
from symposia.analysis import (
    analyze_session,
    analyze_study,
    floor_from_texts,
    report_html,
    report_json,
    report_markdown,
)
from symposia.api import Symposia, run_sync
from symposia.cli.main import cli
from symposia.dialogue.study import StudyPlan, load_prompt_file, run_study
from symposia.testing import FakeServer, Reply
from symposia.web.report import session_report
from test_analysis_seed import EMBED, FLOOR_ANSWERS, run_seed, seed_config

ROOT = Path(__file__).parent.parent
POOL = load_prompt_file(FLOOR_ANSWERS)


def unrelated_transcripts(folder: Path, n: int, start: int, seed_phrase: str) -> list[Path]:
    """``n`` council transcripts in the importer's Markdown format, voiced by the seed's own voices (Qwen,
    Grok): plain answers on unrelated topics, one of them repeating a seed voice's sentence verbatim."""
    rng = random.Random(start)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, start + n):
        a, b = rng.choice(POOL), rng.choice(POOL)
        if i == start:
            a = f"{seed_phrase} {a}"
        text = (f"# Council: everyday question {i}\n\n*2026-02-{1 + i % 27:02d} 08:30:00*\n\n---\n\n## The Question\n\n"
                f"What should I know about chore {i}?\n\n---\n\n# Round 1\n\n## Qwen\n\n**Model:** `qwen/qwen3-max`\n"
                f"**Status:** Success\n\n{a}\n\n---\n\n## Grok\n\n**Model:** `x-ai/grok-4`\n**Status:** Success\n\n"
                f"{b}\n\n---\n")
        path = folder / f"council-chore-{i:03d}-2026-02-01.md"
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def _cli(db: Path, *args: str) -> dict[str, object]:
    res = CliRunner().invoke(cli, ["--archive", str(db), *args])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout) if "--json" in args else {}


def test_seed_numbers_identical_across_runs_separated_by_100_imported_sessions(isolated_user_dirs: Path,
                                                                               tmp_path: Path) -> None:
    seed_config(isolated_user_dirs)
    db = tmp_path / "a.db"
    with Symposia(db) as s:
        sid = run_seed(s)
        qwen_answer = next(t.result.text for t in s.archive.session_turns(sid) if t.voice == "qwen" and t.result.ok)
    phrase = " ".join(qwen_answer.split()[:12])
    _cli(db, "import", *map(str, unrelated_transcripts(tmp_path / "t1", 60, 0, phrase)))
    first = _cli(db, "analyze", sid, "--floor-from", "kind=council", "--json")
    again = _cli(db, "analyze", sid, "--json")  # no source given: the frozen floor
    _cli(db, "import", *map(str, unrelated_transcripts(tmp_path / "t2", 100, 1000, phrase)))
    after = _cli(db, "analyze", sid, "--json")
    same_source = _cli(db, "analyze", sid, "--floor-from", "kind=council", "--json")
    assert first == again == after == same_source  # every number, every image, every span
    with Symposia(db) as s:  # the web page and the Python API use the same frozen floor as the CLI
        page = session_report(s.archive, sid).markdown
        assert f"**{first['floor']:.2f}**" in page and "frozen with this analysis" in page
        assert s.analyze(sid, embed=EMBED).floor_info.ids == first["floor_detail"]["ids"]  # type: ignore[index]
    detail = first["floor_detail"]
    assert isinstance(detail, dict) and detail["candidates"] == 120 and len(detail["ids"]) == 120
    assert detail["seed"] == 0 and detail["unreliable"] is None
    # the imported sessions repeat a qwen sentence: not a span of this session (spans are between its voices)
    assert all(len({o["voice"] for o in sp["occurrences"]}) >= 2 for sp in first["spans"])  # type: ignore[attr-defined]
    refreshed = _cli(db, "analyze", sid, "--refresh-floor", "--json")
    rd = refreshed["floor_detail"]
    assert isinstance(rd, dict) and rd["candidates"] == 320 and rd["ids"] != detail["ids"]
    assert refreshed["motifs"] == first["motifs"] or refreshed["floor"] != first["floor"]
    other = CliRunner().invoke(cli, ["--archive", str(db), "analyze", sid, "--floor-answers", str(FLOOR_ANSWERS)])
    assert other.exit_code == 2 and "--refresh-floor" in other.stderr
    with Symposia(db) as s:  # refreshed: the page follows the new frozen floor
        assert f"**{refreshed['floor']:.2f}**" in session_report(s.archive, sid).markdown


def _readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("### Measuring convergence honestly", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [shlex.split(line.split("  #", 1)[0]) for line in block.splitlines() if line.startswith("symposia ")]


def test_readme_analysis_examples_run_as_written(isolated_user_dirs: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    monkeypatch.chdir(ROOT)
    commands = _readme_commands()
    assert [c[1] for c in commands] == ["analyze", "analyze", "analyze", "study"]
    db = tmp_path / "readme.db"
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url,
                    [("qwen", "fake/qwen", "Qwen"), ("grok", "fake/grok", "Grok"), ("kimi", "fake/kimi", "Kimi")],
                    max_attempts=1)
        srv.default = Reply(text="A steady answer about tides, harbours and the moon's pull on the sea.")
        for _ in range(3):
            _cli(db, "council", "What moves the tides?", "-m", "qwen", "-m", "grok", "-m", "kimi")
        with Symposia(db) as s:
            sid = s.archive.list_sessions(limit=1, kind="council")[0].id
        for argv in commands:
            argv = [sid if a == "SESSION_ID" else str(tmp_path / a) if a == "report/" else a for a in argv[1:]]
            res = CliRunner().invoke(cli, ["--archive", str(db), *argv])
            assert res.exit_code == 0, (argv, res.output)
        assert (tmp_path / "report" / f"{sid}.analysis.json").exists()
        assert srv.request_count == 9 + 3 * (5 * 5 * 2 + 20)  # councils, then the study with --echo


_NUM = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.])")


def _json_numbers(x: object) -> set[str]:
    out: set[str] = set()
    if isinstance(x, bool) or x is None:
        return out
    if isinstance(x, float | int):
        for d in (2, 3):
            out.add(f"{round(float(x), 4):.{d}f}")
    elif isinstance(x, str):
        out.update(_NUM.findall(x))
    elif isinstance(x, dict):
        for k, v in x.items():  # keys too: "intra_share_over_0.8" names the threshold the report prints
            out |= set(re.findall(r"\d+\.\d+", k)) | _json_numbers(v)
    elif isinstance(x, list):
        for v in x:
            out |= _json_numbers(v)
    return out


def _html_numbers(page: str) -> list[str]:
    body = re.sub(r'src="data:[^"]*"', "", page.split("<body>", 1)[1])
    return sorted(_NUM.findall(re.sub(r"<[^>]+>", " ", body).replace("&lt;", "<").replace("&gt;", ">")))


def _agree(a: object) -> int:
    md = report_markdown(a, level=1)  # type: ignore[arg-type]
    data = json.loads(report_json(a))  # type: ignore[arg-type]
    md_numbers = sorted(_NUM.findall(md))
    assert md_numbers and _html_numbers(report_html(a)) == md_numbers  # type: ignore[arg-type]
    missing = [n for n in md_numbers if n not in _json_numbers(data)]
    assert not missing, missing
    return len(md_numbers)


def test_html_markdown_and_json_reports_agree_on_every_number(isolated_user_dirs: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    seed_config(isolated_user_dirs)
    with Symposia(tmp_path / "s.db") as s:
        sid = run_seed(s)
        session = analyze_session(s.archive, sid, embed=EMBED, floor=floor_from_texts(POOL, source="battery"))
    assert _agree(session) > 50
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, [("alpha", "fake/alpha", "Alpha"),
                                                                ("beta", "fake/beta", "Beta")], max_attempts=1)
        rng = random.Random(3)
        srv.default = Reply(text=rng.choice(POOL))
        for _ in range(60):
            srv.enqueue(Reply(text=rng.choice(POOL)), model="fake/alpha")
            srv.enqueue(Reply(text=rng.choice(POOL)), model="fake/beta")
        plan = StudyPlan(prompts=("One?", "Two?", "Three?"), voices=("alpha", "beta"), samples=3,
                         controls=tuple(f"Control {i}?" for i in range(25)), echo=True, concurrency=1)
        with Symposia(tmp_path / "st.db") as s:
            outcome = run_sync(run_study(s.runtime, plan))
            study = analyze_study(s.archive, outcome.session_id, n_perm=200, n_boot=200)
    assert _agree(study) > 30
