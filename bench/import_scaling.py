"""Import time against transcript size, up to 50 MB: is it linear? Prints one JSON object.

For each shape (arena, chat, speaker-labelled, symposium) a transcript is generated at doubling
sizes up to ``--max-mb`` (default 50) and parsed (decode, detect, parse, coverage: everything
but storing) with the new importer, best of ``--repeat`` runs; today's importer (the merge base
with ``main``, loaded beside it by ``bench/baseline.py``) parses the same files up to
``--baseline-max-mb`` (default 4: beyond that it takes minutes on the quadratic shapes). The
exponent ``k`` of ``time ~ size^k`` is the least-squares slope of log(time) on log(size): 1.0 is
linear. The ratio is today's time over the new one's at the largest size both ran.

Run: PYTHONPATH=src .venv/bin/python bench/import_scaling.py [--max-mb 50] [--shapes arena,chat]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from symposia.catalog import load_catalog
from symposia.importers.pipeline import parse_file
from symposia.testing.transcripts import VOICES, Dialogue, Said, _arena, _bold, _chat, _symposium, answer, dialogue

sys.path.insert(0, str(Path(__file__).parent))
from baseline import base_commit, load_main_importers  # noqa: E402

CATALOG = load_catalog()


def _turns_for(mb: float, per_turn: int = 1200) -> int:
    return max(4, int(mb * 1e6 / per_turn))


def make(shape: str, mb: float, seed: int = 0) -> bytes:
    """A transcript of about ``mb`` megabytes in ``shape``."""
    rng = random.Random(seed)
    target = int(mb * 1e6)
    if shape == "symposium":
        turns: list[Said] = []
        size = 0
        k = 0
        while size < target:
            name, key = VOICES[1 + k % 8]
            q, a = Said("host", "A question?", "Me"), Said(key, answer(rng, structure=True, heading_levels=(3,)), name)
            turns += [q, a]
            size += len(a.text) + 60
            k += 1
        return _symposium(Dialogue("Scale", turns, dialogue(rng).when, host="Claude Opus 4.5")).encode()
    fn: Callable[[Dialogue], str] = {"arena": _arena, "chat": _chat, "labelled": _bold}[shape]
    n = _turns_for(mb)
    d = dialogue(rng, voices=1 if shape == "chat" else 2, turns=n, levels=(3,), with_host=shape != "arena")
    data = fn(d).encode()
    while len(data) < target * 0.9:  # the texts are random in length: top up
        n = int(n * target / max(1, len(data))) + 1
        d = dialogue(rng, voices=1 if shape == "chat" else 2, turns=n, levels=(3,), with_host=shape != "arena")
        data = fn(d).encode()
    return data


def timed(fn: Callable[[], Any], repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def slope(points: list[tuple[float, float]]) -> float | None:
    pts = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / den if den else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-mb", type=float, default=50.0)
    ap.add_argument("--min-mb", type=float, default=0.4)
    ap.add_argument("--baseline-max-mb", type=float, default=4.0)
    ap.add_argument("--shapes", default="arena,chat,labelled,symposium")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    old = load_main_importers()
    sizes = []
    mb = args.min_mb
    while mb <= args.max_mb * 1.001:
        sizes.append(round(mb, 3))
        mb *= 2
    if sizes[-1] < args.max_mb:
        sizes.append(args.max_mb)
    out: dict[str, Any] = {"bench": "import_scaling", "python": platform.python_version(),
                           "baseline": base_commit()[:10], "shapes": {}}
    for shape in args.shapes.split(","):
        rows = []
        for mb in sizes:
            data = make(shape, mb)
            name = "x.md"
            parsed = parse_file(data, filename=name, catalog=CATALOG)
            new_s = timed(partial(parse_file, data, filename=name, catalog=CATALOG), args.repeat)
            row: dict[str, Any] = {"mb": round(len(data) / 1e6, 2), "new_s": round(new_s, 3),
                                   "new_mb_per_s": round(len(data) / 1e6 / new_s, 2),
                                   "turns": sum(len(s.turns) for s in parsed.sessions),
                                   "coverage": round(parsed.coverage.ratio, 4)}
            if mb <= args.baseline_max_mb:
                try:
                    row["old_s"] = round(timed(partial(old.parse_bytes, data, filename=name, catalog=CATALOG),
                                               args.repeat), 3)
                except Exception as e:  # today's importer refuses some shapes outright
                    row["old_error"] = f"{type(e).__name__}: {str(e)[:80]}"
            rows.append(row)
            print(json.dumps({"shape": shape, **row}), file=sys.stderr, flush=True)
        k_new = slope([(r["mb"], r["new_s"]) for r in rows])
        k_old = slope([(r["mb"], r["old_s"]) for r in rows if "old_s" in r])
        both = [r for r in rows if "old_s" in r]
        out["shapes"][shape] = {
            "rows": rows,
            "exponent_new": None if k_new is None else round(k_new, 2),
            "exponent_old": None if k_old is None else round(k_old, 2),
            "old_over_new_at_largest_common": round(both[-1]["old_s"] / both[-1]["new_s"], 2) if both else None,
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
