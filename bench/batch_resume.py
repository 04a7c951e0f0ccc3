"""A 2,000-call study through `symposia study --batch`, killed twice (SIGKILL) and resumed; prints one JSON object.

The fake server runs in this process (OpenAI or Anthropic batch wire, results spread over
``--processing`` seconds per batch); the study runs as the real CLI in a subprocess. It is killed once
while its batches are being submitted and once while their results are being collected, then resumed
with ``--resume ID --batch`` until it completes. Checked from the server's own log of accepted batch
requests and from the archive:

* ``duplicate_custom_ids``: custom_ids the server accepted more than once (must be 0);
* ``lost``: planned calls without a successful stored turn (must be 0);
* ``cost``: the archive's total against tokens x price x 0.5 (the batch price).

Run: .venv/bin/python bench/batch_resume.py --wire openai   (and --wire anthropic)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from symposia.testing import BatchSettings, FakeServer, Reply

ROOT = Path(__file__).resolve().parents[1]
PRICE_IN, PRICE_OUT = 3.0, 15.0  # USD per million tokens, live
VOICES = ("alpha", "beta", "gamma", "delta")


def write_config(home: Path, srv: FakeServer, wire: str, max_requests: int) -> None:
    url = srv.openai_base_url if wire == "openai" else srv.anthropic_base_url
    prices = ", ".join(f'"fake/{v}" = {{ input = {PRICE_IN}, output = {PRICE_OUT} }}' for v in VOICES)
    text = (f'[providers.fake]\nkind = "{wire}"\nbase_url = "{url}"\nkey_env = "FAKE_API_KEY"\nmax_attempts = 3\n'
            f"options = {{ batch = true, batch_poll_s = 0.2, batch_poll_max_s = 1.0, "
            f"batch_max_requests = {max_requests}, prices = {{ {prices} }} }}\n")
    for v in VOICES:
        text += f'\n[voices.{v}]\nprovider = "fake"\nmodel = "fake/{v}"\nname = "{v.title()}"\n'
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "data").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(text, encoding="utf-8")


def ledger(db: Path) -> dict[str, int]:
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            rows = conn.execute("SELECT status, count(*) FROM batch_jobs GROUP BY status").fetchall()
    except sqlite3.Error:
        return {}
    return {str(s): int(n) for s, n in rows}


def run_until(cmd: list[str], env: dict[str, str], log: Path, stop: object | None, timeout: float) -> str:
    """Run the CLI; SIGKILL it as soon as ``stop()`` is true. Returns "killed", "exited" or "timeout"."""
    with log.open("a") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)
        end = time.monotonic() + timeout
        while proc.poll() is None:
            if stop is not None and stop():  # type: ignore[operator]
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return "killed"
            if time.monotonic() > end:
                proc.kill()
                proc.wait()
                return "timeout"
            time.sleep(0.02)
        return "exited" if proc.returncode == 0 else f"exit {proc.returncode}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--wire", choices=["openai", "anthropic"], default="openai")
    ap.add_argument("--prompts", type=int, default=20)
    ap.add_argument("--samples", type=int, default=25)
    ap.add_argument("--max-requests", type=int, default=200, help="requests per batch (split point)")
    ap.add_argument("--processing", type=float, default=3.0, help="seconds over which a batch's results appear")
    args = ap.parse_args()
    calls = args.prompts * len(VOICES) * args.samples
    tmp = Path(tempfile.mkdtemp(prefix="symposia-batch-bench-"))
    home, db, log = tmp / "user", tmp / "study.db", tmp / "cli.log"
    prompts = tmp / "prompts.txt"
    prompts.write_text("".join(f"Question {i}: what is worth keeping?\n" for i in range(args.prompts)))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FAKE_API_KEY": "k-bench-123456",
           "SYMPOSIA_CONFIG_DIR": str(home / "config"), "SYMPOSIA_DATA_DIR": str(home / "data")}
    base = [sys.executable, "-m", "symposia", "--archive", str(db), "study"]
    t0 = time.perf_counter()
    with FakeServer() as srv:
        srv.default = Reply(text="A short answer worth keeping.", prompt_tokens=40, completion_tokens=12)
        srv.batch_settings = BatchSettings(processing_s=args.processing, max_requests=args.max_requests)
        write_config(home, srv, args.wire, args.max_requests)
        first = base + [str(prompts), "--voices", ",".join(VOICES), "--samples", str(args.samples), "--batch",
                        "--no-report"]
        # 1: killed while its batches are being submitted (a few accepted, the rest not yet sent)
        r1 = run_until(first, env, log, lambda: len(srv.batch_submissions) >= 3 * args.max_requests, 300)
        subs_1 = len(srv.batch_submissions)
        with sqlite3.connect(db) as conn:
            sid = str(conn.execute("SELECT id FROM sessions ORDER BY created_at DESC LIMIT 1").fetchone()[0])
        resume = base + ["--resume", sid, "--batch", "--no-report"]
        # 2: killed while results are being collected (some batches collected, others still open)
        r2 = run_until(resume, env, log, lambda: ledger(db).get("collected", 0) >= 2, 300)
        state_2 = ledger(db)
        # 3: resumed to the end
        r3 = run_until(resume, env, log, None, 600)
        submissions = list(srv.batch_submissions)
    wall = time.perf_counter() - t0
    with sqlite3.connect(db) as conn:
        ok = conn.execute("SELECT count(DISTINCT step_key), count(*), sum(cost) FROM turns "
                          "WHERE session_id = ? AND status = 'ok'", (sid,)).fetchone()
        errors = conn.execute("SELECT count(*) FROM turns WHERE session_id = ? AND status = 'error'", (sid,)).fetchone()
        jobs = conn.execute("SELECT count(*), sum(requests), sum(cost) FROM batch_jobs").fetchone()
        status = conn.execute("SELECT status FROM sessions WHERE id = ?", (sid,)).fetchone()[0]
    counts = Counter(cid for _, cid in submissions)
    expected_cost = calls * (40 * PRICE_IN + 12 * PRICE_OUT) / 1e6 * 0.5
    print(json.dumps({
        "wire": args.wire, "calls_planned": calls, "runs": [r1, r2, r3],
        "submitted_before_kill_1": subs_1, "ledger_at_kill_2": state_2,
        "server_accepted_requests": len(submissions), "unique_custom_ids": len(counts),
        "duplicate_custom_ids": sum(1 for n in counts.values() if n > 1),
        "stored_ok_turns": ok[1], "distinct_steps_ok": ok[0], "error_turns": errors[0],
        "lost": calls - ok[0], "session_status": status,
        "batches": jobs[0], "batch_requests": jobs[1],
        "cost_recorded": round(ok[2] or 0.0, 6), "cost_in_ledger": round(jobs[2] or 0.0, 6),
        "cost_expected_at_batch_price": round(expected_cost, 6),
        "wall_s": round(wall, 1), "archive": str(db), "log": str(log),
    }, indent=2))
    return 0 if counts and max(counts.values()) == 1 and ok[0] == calls else 1


if __name__ == "__main__":
    sys.exit(main())
