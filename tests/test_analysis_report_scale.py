"""A council of many voices: the Markdown and HTML reports list the most and least similar pairs instead of
every pair (the heatmap shows the matrix), and the JSON report keeps every number."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from support import fake_config, numbered
from symposia.analysis import analyze_session, report_html, report_json, report_markdown
from symposia.analysis.report import FULL_TABLES_MAX_VOICES, PAIRS_SHOWN, _clean
from symposia.archive import Archive
from symposia.cli.main import cli
from symposia.testing import FakeServer, Reply

WORDS = ["river", "pattern", "memory", "weights", "flame", "threshold", "silence", "mirror", "garden", "signal",
         "harbor", "lantern", "echo", "orbit", "root", "tide"]


def _council(home: Path, n: int) -> str:
    names = [f"v{i:02d}" for i in range(n)]
    with FakeServer() as srv:
        fake_config(home, srv.openai_base_url, numbered(names), max_attempts=1)
        for i, v in enumerate(names):  # answers that differ, some pairs more alike than others
            a, b = WORDS[i % len(WORDS)], WORDS[(i * 7 + 3) % len(WORDS)]
            srv.enqueue(Reply(text=f"What persists is the {a}; between two conversations only the {b} stays, "
                                   f"and voice {i} says so in its own way."), model=f"fake/{v}")
        args = ["council", "What persists?", "--no-analyze", *(x for v in names for x in ("-m", v))]
        res = CliRunner().invoke(cli, args, env={"FAKE_API_KEY": "k-fake-123456"})
    assert res.exit_code == 0, res.output
    with Archive.open(home / "data" / "archive.db") as arch:
        (session,) = arch.list_sessions()
    return session.id


def _table_rows(md: str, header_start: str) -> list[str]:
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_a_large_council_reports_the_extreme_pairs_and_keeps_every_number_in_the_json(
        isolated_user_dirs: Path) -> None:
    n = FULL_TABLES_MAX_VOICES + 2
    sid = _council(isolated_user_dirs, n)
    with Archive.open(isolated_user_dirs / "data" / "archive.db") as arch:
        a = analyze_session(arch, sid)
    md = report_markdown(a)
    pairs = n * (n - 1) // 2
    assert len(a.pairs) == pairs
    # no N x N matrix: no table has a column per voice
    assert not any(line.count("|") >= n for line in md.splitlines()), "a table with a column per voice"
    assert f"{n} voices: the matrix is the heatmap's" in md
    # the pairs listed: the PAIRS_SHOWN most and least similar, most similar first, nothing in between
    rows = _table_rows(md, "| Voices | Answers | What they were shown |")
    assert len(rows) == 2 * PAIRS_SHOWN
    listed = [float(r.split("|")[2]) for r in rows]
    assert listed == sorted(listed, reverse=True)
    ranked = sorted((p.inter for p in a.pairs), reverse=True)
    assert listed[0] == round(ranked[0], 2) and listed[-1] == round(ranked[-1], 2)
    assert min(listed[:PAIRS_SHOWN]) >= max(listed[PAIRS_SHOWN:])
    assert f"most and {PAIRS_SHOWN} least similar of the {pairs} pairs" in md
    # diversity: each voice, and the listed pairs pooled
    div = _table_rows(md, "| Voices | Answers | Mean cosine |")
    assert len(div) == n + 2 * PAIRS_SHOWN
    # the JSON report keeps every pair and the whole matrix
    data = json.loads(report_json(a))
    assert data == _clean(a.to_dict())  # one record a line, the same data
    assert len(data["pairs"]) == pairs and len(data["similarity"]) == n
    assert all(len(r) == n for r in data["similarity"])
    assert len(data["diversity"]) == n + pairs
    # and the page renders the same summary
    page = report_html(a)
    assert len(re.findall(r"<tr>", page)) < n + pairs


def test_a_council_up_to_the_limit_reports_every_pair(isolated_user_dirs: Path) -> None:
    n = 4
    sid = _council(isolated_user_dirs, n)
    with Archive.open(isolated_user_dirs / "data" / "archive.db") as arch:
        a = analyze_session(arch, sid)
    md = report_markdown(a)
    assert len(_table_rows(md, "| Voices | Answers | What they were shown |")) == n * (n - 1) // 2
    assert len(_table_rows(md, "| Voices | Answers | Mean cosine |")) == n + n * (n - 1) // 2
    assert any(line.count("|") == n + 2 for line in md.splitlines())  # the matrix: a column per voice
