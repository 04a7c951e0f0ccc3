"""Workers on one PostgreSQL archive: a 2,000-call study queued (`study --queue`) and made by three
`symposia worker` processes, one of them SIGKILLed mid-run; then the same study with one worker.
Prints one JSON object.

The fake server (in this process) answers each call after 50-500 ms (uniform, seeded). The provider's
``concurrency`` (48) holds across all workers; each worker runs up to 16 calls at once, so three workers
can use the whole 48 and one worker 16. Checked from the archive: every planned step stored exactly once
(``duplicate_ok_turns`` and ``missing`` must be 0); ``server_calls`` counts calls the server answered
(a call in flight in the killed worker is made again: it had not finished).

Run: .venv/bin/python bench/workers.py [--prompts 20 --samples 25]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from symposia.archive import Archive
from symposia.testing import FakeServer, Reply
from symposia.testing.postgres import TempCluster

ROOT = Path(__file__).resolve().parents[1]
VOICES = ("alpha", "beta", "gamma", "delta")


def write_config(home: Path, srv: FakeServer) -> None:
    text = (f'[providers.fake]\nkind = "openai"\nbase_url = "{srv.openai_base_url}"\nkey_env = "FAKE_API_KEY"\n'
            "concurrency = 48\nmax_attempts = 2\n")
    for v in VOICES:
        text += f'\n[voices.{v}]\nprovider = "fake"\nmodel = "fake/{v}"\nname = "{v.title()}"\n'
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "data").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(text, encoding="utf-8")


def one_run(cluster: TempCluster, srv: FakeServer, env: dict[str, str], prompts: Path, samples: int,
            workers: int, kill_one: bool, log: Path) -> dict[str, Any]:
    url = cluster.create_database()
    calls = len(prompts.read_text().splitlines()) * len(VOICES) * samples
    srv.reset()
    rng = random.Random(3)
    srv.enqueue(*(Reply(text=f"answer {i}", ttft=rng.uniform(0.05, 0.5)) for i in range(calls + 200)))
    base = [sys.executable, "-m", "symposia", "--archive", url]
    with log.open("a") as fh:
        study = subprocess.Popen(base + ["study", str(prompts), "--voices", ",".join(VOICES), "--samples",
                                         str(samples), "--queue", "--no-report"], env=env, stdout=fh,
                                 stderr=subprocess.STDOUT, cwd=ROOT)
        t0 = time.perf_counter()
        procs = [subprocess.Popen(base + ["worker", "--concurrency", "16", "--name", f"w{k}", "--stalled-s", "4"],
                                  env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT) for k in range(workers)]
        killed_at = None
        while study.poll() is None:
            if kill_one and killed_at is None and srv.request_count >= calls // 3:
                procs[0].send_signal(signal.SIGKILL)  # mid-run, with calls in flight
                killed_at = srv.request_count
            if time.perf_counter() - t0 > 900:
                study.kill()
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    with Archive.open(url) as a:
        ok = a.query("SELECT count(*), count(DISTINCT step_key) FROM turns WHERE status = 'ok'")[0]
        errors = a.query("SELECT count(*) FROM turns WHERE status = 'error'")[0][0]
        by_worker = {str(r[0]): int(r[1]) for r in a.query(
            "SELECT meta_json::jsonb ->> 'worker', count(*) FROM turns GROUP BY 1 ORDER BY 1")}
    return {"workers": workers, "killed_one": kill_one, "killed_after_server_calls": killed_at,
            "study_exit": study.returncode, "calls_planned": calls, "stored_ok_turns": ok[0],
            "distinct_steps_ok": ok[1], "duplicate_ok_turns": ok[0] - ok[1], "missing": calls - ok[1],
            "error_turns": errors, "server_calls": srv.request_count, "peak_in_flight": srv.peak_in_flight,
            "turns_by_worker": by_worker, "wall_s": round(wall, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--prompts", type=int, default=20)
    ap.add_argument("--samples", type=int, default=25)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="symposia-workers-bench-"))
    home, log = tmp / "user", tmp / "runs.log"
    prompts = tmp / "prompts.txt"
    prompts.write_text("".join(f"Question {i}: what is worth keeping?\n" for i in range(args.prompts)))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FAKE_API_KEY": "k-bench-123456",
           "SYMPOSIA_CONFIG_DIR": str(home / "config"), "SYMPOSIA_DATA_DIR": str(home / "data")}
    with TempCluster() as cluster, FakeServer() as srv:
        write_config(home, srv)
        three = one_run(cluster, srv, env, prompts, args.samples, 3, True, log)
        one = one_run(cluster, srv, env, prompts, args.samples, 1, False, log)
    print(json.dumps({"three_workers_one_killed": three, "one_worker": one,
                      "wall_ratio_one_over_three": round(one["wall_s"] / three["wall_s"], 2), "log": str(log)},
                     indent=2))
    ok = all(r["duplicate_ok_turns"] == 0 and r["missing"] == 0 for r in (three, one))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
