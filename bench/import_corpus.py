"""A generated mixed corpus imported by the new importer and by today's; prints one JSON object.

The corpus (``symposia.testing.transcripts.generate_corpus``, default 540 files, 18 shapes: the
seven Markdown shapes of FORMATS.md A-G, Claude.ai browser exports, ``**Name:**`` / ``Name:`` /
``## Name`` speaker-labelled files, ChatGPT/Anthropic/Open WebUI ``conversations.json``, Moltbook
threads, unknown-shape message logs, llm ``logs.db``, and essays that are not dialogues) is
written to a temporary folder and imported into a fresh archive, ``--repeat`` times (median).

Checked for the new importer, against the generator's truth: failures on files with speaker
structure (must be 0), coverage of every imported file (must be >= 98 %), and every stored turn's
speaker and exact text; essays must be refused as "not a dialogue". Then re-importing must change
nothing. Today's importer (the merge base with ``main``, loaded beside it by ``bench/baseline.py``)
imports the same folder into another fresh archive: its files/s and what it got right (it does
not look at .txt or .db files, and fails fast on the shapes it does not know, so its files/s is
also given "like for like": both importers on only the files today's imports).

Run: PYTHONPATH=src .venv/bin/python bench/import_corpus.py [--files 540] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from symposia.archive import Archive
from symposia.catalog import load_catalog
from symposia.importers import import_paths
from symposia.testing.transcripts import Sample, compare, generate_corpus, write_corpus

sys.path.insert(0, str(Path(__file__).parent))
from baseline import base_commit, load_main_importers  # noqa: E402

CATALOG = load_catalog()


def _dump(db: Path) -> list[Any]:
    conn = sqlite3.connect(db)
    try:
        return [sorted(map(tuple, conn.execute(f"SELECT * FROM {t}")), key=repr)
                for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    finally:
        conn.close()


def _check(samples: dict[str, Sample], report: Any, archive: Archive) -> dict[str, Any]:
    """Everything the truth says, for one import's report and archive."""
    out: Counter[str] = Counter()
    by_shape: dict[str, Counter[str]] = {}
    worst: list[tuple[float, str]] = []
    problems: list[str] = []
    for e in report.entries:
        s = samples[Path(e.path).name]
        c = by_shape.setdefault(s.shape, Counter())
        c["files"] += 1
        if s.sessions is None:
            ok = e.status in ("refused",) or (e.status == "failed" and "no recognisable structure" in e.reason)
            out["essays_refused" if ok else "essays_imported"] += 1
            continue
        out["dialogue_files"] += 1
        if e.status not in ("imported", "flagged"):
            out["failures"] += 1
            c["failures"] += 1
            if len(problems) < 10:
                problems.append(f"{s.filename}: {e.status}: {e.reason[:120]}")
            continue
        cov = getattr(e, "coverage", None)
        if cov is not None:
            worst.append((cov, s.filename))
            out["below_98"] += cov < 0.98
        sids = list(getattr(e, "sessions", ()) or [e.session_id])
        stored = [archive.session_turns(sid) for sid in sids if sid]
        got = [[("host" if t.role == "host" else t.voice, t.result.text) for t in ts] for ts in stored]
        for want, have in zip(s.sessions, got, strict=False):
            out["turns"] += len(want)
            for w, h in zip(want, have, strict=False):
                out["speaker_wrong"] += w.speaker != h[0]
                out["text_wrong"] += w.text.strip() != h[1].strip()
            out["turns_missing_or_extra"] += abs(len(want) - len(have))
        diff = compare(s.sessions, got)
        if diff:
            out["files_not_exact"] += 1
            c["not_exact"] += 1
            if len(problems) < 10:
                problems.append(f"{s.filename}: {diff[0][:120]}")
    worst.sort()
    return {**dict(out), "coverage_min": round(worst[0][0], 4) if worst else None,
            "by_shape": {k: dict(v) for k, v in sorted(by_shape.items())}, "problems": problems}


def _run(importer: Any, folder: Path, db: Path) -> tuple[float, Any]:
    if db.exists():
        db.unlink()
    t0 = time.perf_counter()
    with Archive.open(db) as archive:
        report = importer(archive, CATALOG, [folder])
    return time.perf_counter() - t0, report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=540)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    corpus = generate_corpus(args.files, seed=args.seed)
    samples = {s.filename: s for s in corpus}
    tmp = Path(tempfile.mkdtemp(prefix="symposia-import-bench-"))
    try:
        folder = tmp / "corpus"
        write_corpus(corpus, folder)
        old = load_main_importers()
        new_times, old_times = [], []
        for _ in range(args.repeat):  # interleaved, so a busy machine slows both alike
            t, new_report = _run(import_paths, folder, tmp / "new.db")
            new_times.append(t)
            t, old_report = _run(old.import_paths, folder, tmp / "old.db")
            old_times.append(t)
        with Archive.open(tmp / "new.db") as archive:
            new_check = _check(samples, new_report, archive)
        with Archive.open(tmp / "old.db") as archive:
            old_check = _check(samples, old_report, archive)
        # Like for like: only the files today's importer imports, timed with both.
        common = tmp / "common"
        common.mkdir()
        for e in old_report.entries:
            if e.status in ("imported", "flagged"):
                shutil.copy(e.path, common / Path(e.path).name)
        n_common = sum(1 for _ in common.iterdir())
        common_new, common_old = [], []
        for _ in range(args.repeat):
            common_new.append(_run(import_paths, common, tmp / "c-new.db")[0])
            common_old.append(_run(old.import_paths, common, tmp / "c-old.db")[0])
        before = _dump(tmp / "new.db")
        with Archive.open(tmp / "new.db") as archive:
            again = import_paths(archive, CATALOG, [folder])
        reimport_noop = _dump(tmp / "new.db") == before and not again.imported and not again.flagged
        new_med, old_med = statistics.median(new_times), statistics.median(old_times)
        result = {
            "bench": "import_corpus", "python": platform.python_version(), "baseline": base_commit()[:10],
            "files": len(corpus), "shapes": len({s.shape for s in corpus}),
            "dialogue_files": sum(1 for s in corpus if s.sessions is not None),
            "bytes": sum(len(s.data) for s in corpus), "repeat": args.repeat,
            "new": {"seconds_median": round(new_med, 3), "files_per_s": round(len(corpus) / new_med, 1),
                    "counts": new_report.counts(), **new_check},
            "today": {"seconds_median": round(old_med, 3), "files_per_s": round(len(corpus) / old_med, 1),
                      "counts": old_report.to_dict()["counts"], **old_check},
            "new_over_today_files_per_s": round(old_med / new_med, 3),
            "like_for_like": {
                "files": n_common, "note": "only the files today's importer imports",
                "new_files_per_s": round(n_common / statistics.median(common_new), 1),
                "today_files_per_s": round(n_common / statistics.median(common_old), 1),
                "new_over_today_files_per_s": round(statistics.median(common_old) / statistics.median(common_new), 3)},
            "reimport_is_noop": reimport_noop,
        }
        print(json.dumps(result, indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
