"""The quote-case table: every case of ``symposia.testing.provenance.CASES`` run through verify-quote.

Builds the case archive (indexed with the real embedding model for the cases that need meaning),
then prints a Markdown table — category, voice, quote, expected verdict, actual verdict, the real
words when they differ, ✔/✘ — and a JSON summary line. The same cases are asserted by
tests/test_provenance_cases.py.

Run: .venv/bin/python bench/quote_cases.py [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from symposia.archive.origin import EXIT_CODES, verify_quote
from symposia.archive.semantic import default_embedder, index_archive
from symposia.testing.provenance import CASES, build_case_archive


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true", help="one JSON object instead of the Markdown table")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        archive = build_case_archive(Path(tmp) / "cases.db")
        index_archive(archive, default_embedder())
        for i, case in enumerate(CASES, start=1):
            v = verify_quote(archive, case.voice, case.quote, semantic=case.semantic)
            shown = (v.mine or v.paraphrase or v.others)
            real = shown[0].place.text if shown else (v.reversed.text if v.reversed else "")
            rows.append({"n": i, "category": case.category, "voice": case.voice, "quote": case.quote,
                         "expected": case.expected, "actual": v.status, "exit_code": EXIT_CODES[v.status],
                         "real_words": real, "meaning": case.semantic, "right": v.status == case.expected})
        archive.close()
    right = sum(r["right"] for r in rows)
    if args.json:
        print(json.dumps({"cases": rows, "right": right, "total": len(rows)}, ensure_ascii=False, indent=2))
        return
    print("| # | category | voice | quote | expected | actual | exit | real words | |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        quote = r["quote"].replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")
        real = r["real_words"].replace("|", "\\|").replace("*", "\\*").replace("_", "\\_").replace("\n", " ")
        meaning = " (meaning)" if r["meaning"] else ""
        print(f"| {r['n']} | {r['category']}{meaning} | {r['voice']} | {quote} | {r['expected']} | {r['actual']} "
              f"| {r['exit_code']} | {real} | {'✔' if r['right'] else '✘'} |")
    print()
    print(json.dumps({"right": right, "total": len(rows)}))


if __name__ == "__main__":
    main()
