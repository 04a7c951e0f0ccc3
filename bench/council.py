"""The whole `symposia council` command, process start to exit, against the loopback fake server.

What a user waits for is the command, not the engine: interpreter start, imports, catalog, archive,
the calls, the usage table and the transcript. Each scenario runs ``python -m symposia council ...``
with default settings (a user config that names the fake server and its voices, nothing else) and
measures, per run:

* ``wall_s``: from just before the process is started to its exit;
* ``over_ideal_s``: ``wall_s`` minus the ideal, which is the slowest voice of each round, summed;
* ``first_request_s``: from process start to the fake server reading the first request;
* ``cpu_s``: the process's CPU time (user + system), which other load on the machine hardly changes.

Scenarios (the issue's): ``seven`` voices answering in 1…7 s; ``twelve`` voices × 2 s; ``rounds``:
3 rounds × 12 voices × 2 s; ``hundred`` voices × 50 ms, whose per-turn overhead is
``(wall(100 voices) - wall(2 voices)) / 98`` (both whole commands with 50 ms voices, so the fixed
cost cancels out: start-up, and with the analysis its stack and model, which a council of one voice
does not load since it has nothing to compare), and its CPU the same way. Any scenario with the
suffix ``_engine`` (``twelve_engine``, ``hundred_engine``...) runs with ``--no-analyze``: the calls
alone, without the closing analysis, whose cost is the difference (it compares every pair of voices:
4,950 pairs for 100). ``help``: ``symposia --help``. Medians of ``--repeats`` runs are printed as JSON.

``--src DIR`` runs another source tree's symposia (say a checkout of an older commit) the same way,
interleaved with this one, so that before/after are measured on the same machine at the same time;
``--importtime`` adds the top 12 cumulative imports of ``--help`` and of a ``council --dry-run``.

Run: .venv/bin/python bench/council.py [--repeats 3] [--src /path/to/old/src] [--only seven,twelve]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from symposia.testing import FakeServer, Reply

HERE_SRC = Path(__file__).resolve().parents[1] / "src"
KEY = "bench-key-1234567890"
QUESTION = "What persists between two conversations?"

# name -> (per-voice answer times in seconds, rounds)
SCENARIOS: dict[str, tuple[list[float], int]] = {
    "seven": ([float(i) for i in range(1, 8)], 1),
    "twelve": ([2.0] * 12, 1),
    "rounds": ([2.0] * 12, 3),
    "hundred": ([0.05] * 100, 1),
    "one": ([0.05], 1),
    "two": ([0.05] * 2, 1),
}


def write_config(home: Path, base_url: str, n: int) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    text = f'[providers.fake]\nkind = "openai"\nbase_url = "{base_url}"\nkey_env = "BENCH_FAKE_KEY"\n'
    for i in range(1, n + 1):
        text += f'\n[voices.v{i}]\nprovider = "fake"\nmodel = "fake/v{i}"\nname = "Voice {i}"\nfamily = "V{i}"\n'
    (home / "config" / "config.toml").write_text(text, encoding="utf-8")


def env_for(home: Path, src: Path) -> dict[str, str]:
    """The environment of one source tree's runs: its own data dir and archive (schemas may differ)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    data = home / f"data-{abs(hash(str(src))) % 10**8}"
    data.mkdir(exist_ok=True)
    env.update(SYMPOSIA_CONFIG_DIR=str(home / "config"), SYMPOSIA_DATA_DIR=str(data),
               SYMPOSIA_ARCHIVE=str(data / "archive.db"), BENCH_FAKE_KEY=KEY, PYTHONPATH=str(src))
    env.pop("SYMPOSIA_ARCHIVE_URL", None)
    return env


def run_council(srv: FakeServer, home: Path, src: Path, times: list[float], rounds: int,
                extra: tuple[str, ...] = ()) -> dict[str, float]:
    srv.reset()
    for i, t in enumerate(times, start=1):
        for _ in range(rounds):
            srv.enqueue(Reply(text=f"Voice {i} answers: what persists is the pattern, not the instance.", ttft=t),
                        model=f"fake/v{i}")
    args = [sys.executable, "-m", "symposia", "council", QUESTION, "--rounds", str(rounds), *extra]
    for i in range(1, len(times) + 1):
        args += ["-m", f"v{i}"]
    cpu0 = _children_cpu()
    t0 = time.monotonic()
    done = subprocess.run(args, env=env_for(home, src), capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - t0
    cpu = _children_cpu() - cpu0
    if done.returncode != 0:
        raise RuntimeError(f"council failed ({done.returncode}): {done.stderr[-2000:]}")
    reqs = srv.requests
    if len(reqs) != len(times) * rounds:
        raise RuntimeError(f"expected {len(times) * rounds} requests, the server saw {len(reqs)}")
    ideal = max(times) * rounds
    return {"wall_s": wall, "over_ideal_s": wall - ideal, "first_request_s": min(r.t for r in reqs) - t0,
            "cpu_s": cpu}


def _children_cpu() -> float:
    """CPU seconds (user + system) used so far by finished child processes: unlike wall time, it
    hardly moves when other programs load the machine."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_help(home: Path, src: Path) -> dict[str, float]:
    cpu0 = _children_cpu()
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "symposia", "--help"], env=env_for(home, src), capture_output=True,
                   check=True, timeout=60)
    return {"wall_s": time.monotonic() - t0, "cpu_s": _children_cpu() - cpu0}


def importtime(home: Path, src: Path, args: list[str], top: int = 12) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "symposia", *args], env=env_for(home, src),
                          capture_output=True, text=True, timeout=120)
    rows = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            rows.append({"module": m.group(4), "cumulative_ms": int(m.group(2)) / 1000, "depth": len(m.group(3)) // 2})
    total = max((r["cumulative_ms"] for r in rows if r["depth"] == 0), default=0.0)
    top_rows = sorted(rows, key=lambda r: -r["cumulative_ms"])[:top]
    return [{"module": r["module"], "cumulative_ms": round(r["cumulative_ms"], 1)} for r in top_rows] + [
        {"module": "(largest top-level import)", "cumulative_ms": round(total, 1)}]


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--src", type=Path, help="another source tree to measure the same way (e.g. the base commit)")
    ap.add_argument("--only", default="help,seven,twelve,rounds,hundred,two,hundred_engine,two_engine")
    ap.add_argument("--importtime", action="store_true")
    args = ap.parse_args()
    wanted = args.only.split(",")
    trees = {"this": HERE_SRC} | ({"other": args.src.resolve()} if args.src else {})
    results: dict[str, Any] = {name: {} for name in trees}
    with FakeServer() as srv, tempfile.TemporaryDirectory(prefix="symposia-bench-") as tmp:
        home = Path(tmp)
        write_config(home, srv.openai_base_url, 100)
        for scenario in wanted:
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
            for _ in range(args.repeats):
                for name, src in trees.items():  # interleaved: both see the same machine load
                    if scenario == "help":
                        runs[name].append(run_help(home, src))
                    else:
                        # NAME_engine: scenario NAME with --no-analyze (the calls alone, no closing analysis)
                        times, rounds = SCENARIOS[scenario.removesuffix("_engine")]
                        extra = ("--no-analyze",) if scenario.endswith("_engine") else ()
                        runs[name].append(run_council(srv, home, src, times, rounds, extra))
            for name in trees:
                results[name][scenario] = median_of(runs[name])
        for name, src in trees.items():
            r = results[name]
            for many, few in (("hundred", "two"), ("hundred_engine", "two_engine")):
                if many in r and few in r:
                    h, o = r[many], r[few]
                    h["per_turn_overhead_ms"] = round((h["wall_s"] - o["wall_s"]) / 98 * 1000, 2)
                    h["per_turn_cpu_ms"] = round((h["cpu_s"] - o["cpu_s"]) / 98 * 1000, 2)
            if args.importtime:
                r["importtime_help"] = importtime(home, src, ["--help"])
                r["importtime_council_dry_run"] = importtime(home, src, ["council", QUESTION, "-m", "v1", "--dry-run"])
    out: dict[str, Any] = {"bench": "council whole command", "repeats": args.repeats,
                           "python": platform.python_version(), "cpus": os.cpu_count(), "results": results}
    if args.src:
        out["ratios_this_over_other"] = {
            s: round(results["this"][s]["wall_s"] / results["other"][s]["wall_s"], 3)
            for s in wanted if s in results["this"] and s in results["other"]}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
