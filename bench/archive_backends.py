"""PostgreSQL against SQLite on the same synthetic archive (default 100,000 turns); prints one JSON object.

The text generator, the queries and the timing of ``bench/archive.py`` are reused, on both backends in
this process, one after the other:

1. Import: the same Zipf-distributed answers, 50,000 turns per transaction, through each backend's
   schema (SQLite: FTS5 triggers; PostgreSQL: ``COPY`` into ``turns`` with its generated tsvector and
   GIN index, and each answer's terms for the provenance verbs, computed here as symposia does).
   Turns per second, and the ratio PostgreSQL / SQLite.
2. Full text: the same ~50 queries (words, word pairs, quoted phrases) through ``search_fts`` (top 10
   with highlighted passages), unfiltered and with a voice filter: p50 / p95 per backend.
3. Live writes: ``Archive.add_turn`` (one transaction per turn) on the full archive.

PostgreSQL is a throwaway local cluster (``symposia.testing.postgres``), fsync off: the numbers
compare query plans and index costs, not disks. Run:

    .venv/bin/python bench/archive_backends.py [--turns 100000]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import archive as base  # noqa: E402 - bench/archive.py, the SQLite benchmark this one mirrors

from symposia.archive import Archive  # noqa: E402
from symposia.archive.tokens import answer_index  # noqa: E402
from symposia.testing.postgres import TempCluster  # noqa: E402

TURN_COLUMNS = ("session_id", "seq", "role", "voice", "voice_name", "provider", "model_requested", "messages_json",
                "answer", "status", "started_at", "ended_at")
SESSION_COLUMNS = ("id", "kind", "title", "created_at", "updated_at", "status", "plan_json", "meta_json")


def import_postgres(url: str, gen: base.Generator, n: int) -> dict[str, Any]:
    archive = Archive.open(url)  # create and migrate
    conn: Any = archive._conn  # the PgConnection: bulk COPY, as `archive copy` of a big archive would
    gen_s = insert_s = 0.0
    for a in range(0, n, base.BATCH):
        b = min(n, a + base.BATCH)
        t = time.perf_counter()
        sessions, turns = base.session_rows(a, b - a), base.turn_rows(gen, a, b - a)
        gen_s += time.perf_counter() - t
        t = time.perf_counter()
        with archive.transaction():
            conn.copy_rows("sessions", SESSION_COLUMNS, sessions)
            # the answer's terms and their order, as Archive.add_turn and `archive copy` store them
            answer = TURN_COLUMNS.index("answer")
            conn.copy_rows("turns", (*TURN_COLUMNS, "terms", "words"),
                           [(*row, *answer_index(row[answer])) for row in turns])
        insert_s += time.perf_counter() - t
    archive.query("ANALYZE turns")
    archive.close()
    return {"turns": n, "generate_s": round(gen_s, 1), "insert_s": round(insert_s, 1),
            "turns_per_s": round(n / insert_s), "batch": base.BATCH, "method": "COPY"}


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=100_000)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="symposia-bench-backends-"))
    started = time.perf_counter()
    report: dict[str, Any] = {"machine": {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version},
                              "turns": args.turns}
    try:
        path = folder / "archive.db"
        report["sqlite"] = {"import": base.import_turns(path, base.Generator(), args.turns),
                            "fts_query": base.bench_fts(path, base.Generator()),
                            "live_add_turn": base.live_inserts(path, base.Generator(), 300)}
        with TempCluster() as cluster:
            url = cluster.create_database()
            with Archive.open(url) as a:
                report["machine"]["postgresql"] = str(a.query("SHOW server_version")[0][0])
            pg_import = import_postgres(url, base.Generator(), args.turns)
            report["postgresql"] = {"import": pg_import, "fts_query": base.bench_fts(url, base.Generator()),  # type: ignore[arg-type]
                                    "live_add_turn": base.live_inserts(url, base.Generator(), 300)}  # type: ignore[arg-type]
        s, p = report["sqlite"], report["postgresql"]
        report["postgresql_over_sqlite"] = {
            "import_rate": ratio(p["import"]["turns_per_s"], s["import"]["turns_per_s"]),
            "fts_p50": ratio(p["fts_query"]["unfiltered"]["p50_ms"], s["fts_query"]["unfiltered"]["p50_ms"]),
            "fts_p95": ratio(p["fts_query"]["unfiltered"]["p95_ms"], s["fts_query"]["unfiltered"]["p95_ms"]),
            "add_turn_p50": ratio(p["live_add_turn"]["p50_ms"], s["live_add_turn"]["p50_ms"]),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report["total_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
