"""Workers on one PostgreSQL archive: a study queued (`study --queue`) and made by `symposia worker`
processes. Prints one JSON object.

Two questions, answered separately:

* **Correctness under a kill** (``--kill-run``, on by default): three workers, one SIGKILLed a third of the
  way through; checked from the archive: every planned step stored exactly once (``duplicate_ok_turns``
  and ``missing`` are 0); ``server_calls`` counts calls the server answered (a call in flight in the
  killed worker is made again: it had not finished).
* **Scaling**: the same study made by 1 worker and by 3 workers (none killed), ``--runs`` times each,
  alternating; every worker runs at most ``--concurrency`` calls at once (the same for both), and the
  provider's ``concurrency`` is set to ``3 x --concurrency`` so it never holds three workers back. Each run
  reports its wall time (from starting ``study --queue`` to its end; the workers are started and
  registered before, as they would be in use), calls per second, and where the CPU went: user + system
  seconds of the workers (their start-up not counted), the ``study --queue`` process (start-up
  included), PostgreSQL (the postmaster and its backends) and this process (the fake server), per
  call, and the whole machine's busy share over the run (``machine_busy``: 1.0 = every core busy, other
  programs included). Medians are printed under ``scaling``.

The fake server (in this process) answers each call after ``--latency LO,HI`` seconds (uniform, seeded).

Run: .venv/bin/python bench/workers.py [--prompts 20 --samples 25 --concurrency 16 --latency 0.05,0.5
     --runs 2 --no-kill-run --profile DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from symposia.archive import Archive
from symposia.testing import FakeServer, Reply
from symposia.testing.postgres import TempCluster
from symposia.testing.workers import WorkerPool

ROOT = Path(__file__).resolve().parents[1]
VOICES = ("alpha", "beta", "gamma", "delta")
TICK = os.sysconf("SC_CLK_TCK")


def write_config(home: Path, srv: FakeServer, provider_concurrency: int) -> None:
    text = (f'[providers.fake]\nkind = "openai"\nbase_url = "{srv.openai_base_url}"\nkey_env = "FAKE_API_KEY"\n'
            f"concurrency = {provider_concurrency}\nmax_attempts = 2\n")
    for v in VOICES:
        text += f'\n[voices.{v}]\nprovider = "fake"\nmodel = "fake/{v}"\nname = "{v.title()}"\n'
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "data").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(text, encoding="utf-8")


def _stat(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2:].split()  # fields from "state" on (the name may hold spaces)


def postgres_cpu_s(cluster: TempCluster) -> float:
    """CPU seconds of the cluster so far: the postmaster, its exited children, its live backends."""
    master = int((cluster.dir / "data" / "postmaster.pid").read_text().split()[0])
    f = _stat(master)
    total = sum(int(x) for x in f[11:15])  # utime stime cutime cstime
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                g = _stat(int(entry))
            except (OSError, ValueError):
                continue  # gone meanwhile
            if int(g[1]) == master:
                total += int(g[11]) + int(g[12])
    return total / TICK


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of every core since boot."""
    cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = cpu[3] + cpu[4]
    return sum(cpu) - idle, sum(cpu)


def one_run(cluster: TempCluster, srv: FakeServer, env: dict[str, str], prompts: Path, args: argparse.Namespace,
            workers: int, kill_one: bool, log: Path, profile: Path | None = None) -> dict[str, Any]:
    url = cluster.create_database()
    calls = len(prompts.read_text().splitlines()) * len(VOICES) * args.samples
    lo, hi = args.latency
    srv.reset()
    rng = random.Random(3)
    srv.enqueue(*(Reply(text=f"answer {i}", ttft=rng.uniform(lo, hi)) for i in range(calls + 200)))
    base = [sys.executable, "-m", "symposia", "--archive", url]
    with log.open("a") as fh, WorkerPool(url, env, workers, log, concurrency=args.concurrency, stalled_s=4,
                                         cwd=ROOT, profile_dir=profile) as pool:
        if not pool.wait_ready():  # started and registered before the clock starts (as in real use)
            raise SystemExit(f"the workers did not start: see {log}")
        warm = pool.cpu_so_far()
        pg0, me0, (busy0, all0) = postgres_cpu_s(cluster), resource.getrusage(resource.RUSAGE_SELF), machine_ticks()
        t0 = time.perf_counter()
        study = subprocess.Popen(base + ["study", str(prompts), "--voices", ",".join(VOICES), "--samples",
                                         str(args.samples), "--queue", "--no-report"], env=env, stdout=fh,
                                 stderr=subprocess.STDOUT, cwd=ROOT)
        killed_at = None
        while True:
            pid, status, study_usage = os.wait4(study.pid, os.WNOHANG)
            if pid:
                study.returncode = os.waitstatus_to_exitcode(status)
                break
            if kill_one and killed_at is None and srv.request_count >= calls // 3:
                pool.kill(0)  # mid-run, with calls in flight
                killed_at = srv.request_count
            if time.perf_counter() - t0 > 1800:
                study.kill()
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        pg1, me1, (busy1, all1) = postgres_cpu_s(cluster), resource.getrusage(resource.RUSAGE_SELF), machine_ticks()
    worker_cpu = {n: round(c - warm.get(n, 0.0), 2) for n, c in pool.cpu_s.items()}  # start-up not counted
    cpu = {"workers": round(sum(worker_cpu.values()), 2),
           "study": round(study_usage.ru_utime + study_usage.ru_stime, 2),
           "postgres": round(pg1 - pg0, 2),
           "fake_server": round(me1.ru_utime + me1.ru_stime - me0.ru_utime - me0.ru_stime, 2)}
    with Archive.open(url) as a:
        ok = a.query("SELECT count(*), count(DISTINCT step_key) FROM turns WHERE status = 'ok'")[0]
        errors = a.query("SELECT count(*) FROM turns WHERE status = 'error'")[0][0]
        by_worker = {str(r[0]): int(r[1]) for r in a.query(
            "SELECT meta_json::jsonb ->> 'worker', count(*) FROM turns GROUP BY 1 ORDER BY 1")}
    total_cpu = sum(cpu.values())
    return {"workers": workers, "killed_one": kill_one, "killed_after_server_calls": killed_at,
            "study_exit": study.returncode, "calls_planned": calls, "stored_ok_turns": ok[0],
            "distinct_steps_ok": ok[1], "duplicate_ok_turns": ok[0] - ok[1], "missing": calls - ok[1],
            "error_turns": errors, "server_calls": srv.request_count, "peak_in_flight": srv.peak_in_flight,
            "turns_by_worker": by_worker, "wall_s": round(wall, 1), "calls_per_s": round(calls / wall, 1),
            "cpu_s": cpu, "cpu_s_per_worker": worker_cpu,
            "cpu_ms_per_call": {k: round(1000 * v / calls, 2) for k, v in {**cpu, "total": total_cpu}.items()},
            "machine_busy": round((busy1 - busy0) / max(1, all1 - all0), 2),
            "load_avg_1m_end": os.getloadavg()[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--prompts", type=int, default=20)
    ap.add_argument("--samples", type=int, default=25)
    ap.add_argument("--concurrency", type=int, default=16, help="calls at once per worker (the same for 1 and 3)")
    ap.add_argument("--latency", default="0.05,0.5", help="LO,HI seconds the fake server takes per call")
    ap.add_argument("--runs", type=int, default=2, help="scaling runs of each (1 and 3 workers)")
    ap.add_argument("--no-kill-run", dest="kill_run", action="store_false")
    ap.add_argument("--profile", type=Path, help="run the 1-worker scaling run's worker under cProfile, into DIR")
    args = ap.parse_args()
    args.latency = tuple(float(x) for x in args.latency.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="symposia-workers-bench-"))
    home, log = tmp / "user", tmp / "runs.log"
    prompts = tmp / "prompts.txt"
    prompts.write_text("".join(f"Question {i}: what is worth keeping?\n" for i in range(args.prompts)))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FAKE_API_KEY": "k-bench-123456",
           "SYMPOSIA_CONFIG_DIR": str(home / "config"), "SYMPOSIA_DATA_DIR": str(home / "data")}
    out: dict[str, Any] = {"settings": {"calls": args.prompts * len(VOICES) * args.samples,
                                        "latency_s": args.latency, "concurrency_per_worker": args.concurrency,
                                        "provider_concurrency": 3 * args.concurrency, "cores": os.cpu_count()}}
    runs: dict[int, list[dict[str, Any]]] = {1: [], 3: []}
    with TempCluster() as cluster, FakeServer() as srv:
        write_config(home, srv, 3 * args.concurrency)
        if args.kill_run:
            out["three_workers_one_killed"] = one_run(cluster, srv, env, prompts, args, 3, True, log)
        for k in range(args.runs):
            for n in (1, 3):
                prof = args.profile if args.profile is not None and n == 1 and k == 0 else None
                if prof is not None:
                    prof.mkdir(parents=True, exist_ok=True)
                runs[n].append(one_run(cluster, srv, env, prompts, args, n, False, log, prof))
    out["runs"] = {f"{n}_worker{'s' * (n > 1)}": r for n, r in runs.items()}
    if args.runs:
        med = {n: {"wall_s": statistics.median(r["wall_s"] for r in rs),
                   "cpu_ms_per_call_total": statistics.median(r["cpu_ms_per_call"]["total"] for r in rs),
                   "machine_busy": statistics.median(r["machine_busy"] for r in rs),
                   "peak_in_flight": statistics.median(r["peak_in_flight"] for r in rs)} for n, rs in runs.items()}
        out["scaling"] = {"median_1_worker": med[1], "median_3_workers": med[3],
                          "speedup_3_over_1": round(med[1]["wall_s"] / med[3]["wall_s"], 2)}
    out["log"] = str(log)
    print(json.dumps(out, indent=2))
    every = [*runs[1], *runs[3], *([out["three_workers_one_killed"]] if args.kill_run else [])]
    return 0 if all(r["duplicate_ok_turns"] == 0 and r["missing"] == 0 for r in every) else 1


if __name__ == "__main__":
    sys.exit(main())
