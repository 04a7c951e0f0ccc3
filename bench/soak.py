"""Soak: random faults, kill -9s, concurrent resumes and imports against one archive, then the books.

Loopback only (a :class:`~symposia.testing.FakeServer` in this process), bounded by ``--minutes``
and ``--max-actions``. Workers keep up to ``--parallel`` real ``symposia`` processes going, each
doing one of:

* ``council``: a new council (2-4 voices, 1-2 rounds, sometimes a chair) whose question carries a
  unique token, so that every request the server sees can be attributed to its session;
* ``kill``: the same, killed with SIGKILL after a random 0.5-4 s;
* ``resume2``: two ``symposia resume`` of one unfinished session started at once (one must run it,
  the other refuse naming it, or wait with ``--wait``);
* ``pause``: a ``symposia resume`` stopped with SIGSTOP past its (1 s) lease's expiry while a second
  resume of the session tries (it must refuse: the first is alive on this host), then woken with
  SIGCONT to finish; the books show whether any call was paid twice;
* ``import``: ``symposia export -f json`` of a finished session, then ``symposia import`` of it into
  a second archive and back into the first (where it must be recognised, not duplicated);
* ``sse``: a council run in this process under the live page's observer, every SSE frame captured.

The fake server answers from a queue refilled with random replies: plain answers that echo the
planted keys split over chunks, 500s, 429s with a short Retry-After, mid-stream errors, dropped
connections and final 400s. Keys of three shapes are planted: an arbitrary ``FAKE_API_KEY`` value,
a vendor-shaped key typed into every question, and a ``keys.toml`` value containing a newline.

At the end, for every session we started (imports excluded): requests the server received for it
== attempts recorded in its stored turns (failed ones included), except for calls cut off by a
kill -9 (reported separately, never negative); no step key stored twice; ``integrity_check`` ok on
both archives; not one piece of a planted key in any file written (archives, transcripts, exports,
captured stdout/stderr, SSE frames) outside the config folder that holds the keys.

Run: .venv/bin/python bench/soak.py --minutes 10 [--parallel 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from symposia.testing import FakeServer, Fault, Reply

SRC = Path(__file__).resolve().parents[1] / "src"
ARBITRARY = "soak.Walnut~5531~meadow"  # FAKE_API_KEY: no pattern could recognise it
VENDOR = "sk-or-v1-" + "S0ak" * 8  # typed into every question
NEWLINE = "soakFIRSTlineKEY\nsoakSECONDlineKEY"  # a keys.toml value with a newline in it
VOICES = [f"v{i}" for i in range(1, 7)]


def pieces() -> list[str]:
    return [ARBITRARY, VENDOR, NEWLINE, *NEWLINE.split("\n"), VENDOR[:24]]


@dataclass
class Soak:
    root: Path
    srv: FakeServer
    rng: random.Random
    deadline: float
    max_actions: int
    actions: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    killed: set[str] = field(default_factory=set)  # tokens of sessions whose process was killed
    started: list[str] = field(default_factory=list)  # question tokens, in order
    lock: threading.Lock = field(default_factory=threading.Lock)
    n: int = 0

    @property
    def db(self) -> Path:
        return self.root / "data" / "archive.db"

    @property
    def db2(self) -> Path:
        return self.root / "data" / "imported.db"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env.update(SYMPOSIA_CONFIG_DIR=str(self.root / "config"), SYMPOSIA_DATA_DIR=str(self.root / "data"),
                   SYMPOSIA_ARCHIVE=str(self.db), FAKE_API_KEY=ARBITRARY, PYTHONPATH=str(SRC))
        return env

    def next_id(self) -> int:
        with self.lock:
            self.n += 1
            return self.n

    def capture(self, tag: str) -> tuple[Any, Any]:
        out = open(self.root / "captured" / f"{tag}.out", "w", encoding="utf-8")  # noqa: SIM115
        err = open(self.root / "captured" / f"{tag}.err", "w", encoding="utf-8")  # noqa: SIM115
        return out, err

    def run(self, tag: str, args: list[str], *, kill_after: float | None = None) -> int:
        out, err = self.capture(tag)
        with out, err:
            proc = subprocess.Popen([sys.executable, "-m", "symposia", *args], env=self.env(), stdout=out,
                                    stderr=err, stdin=subprocess.DEVNULL)
            if kill_after is not None:
                try:
                    proc.wait(timeout=kill_after)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
            return proc.wait(timeout=600)

    # -- actions ---------------------------------------------------------------------------------

    def council(self, kill: bool) -> None:
        i = self.next_id()
        token = f"soak-q-{i:05d}"
        voices = self.rng.sample(VOICES, self.rng.randint(2, 4))
        args = ["council", f"{token}: what persists? my key is {VENDOR}", "--rounds", str(self.rng.randint(1, 2))]
        for v in voices:
            args += ["-m", v]
        if self.rng.random() < 0.3:
            args += ["--chair", self.rng.choice([v for v in VOICES if v not in voices])]
        with self.lock:
            self.started.append(token)
        rc = self.run(f"{i:05d}-council", args, kill_after=self.rng.uniform(0.5, 4.0) if kill else None)
        if kill and rc == -signal.SIGKILL:
            with self.lock:
                self.killed.add(token)
        self.outcomes[f"council rc={rc}"] += 1

    def unfinished(self) -> list[str]:
        try:
            con = sqlite3.connect(f"{self.db.as_uri()}?mode=ro", uri=True, timeout=10)
            rows = con.execute("SELECT id FROM sessions WHERE kind = 'council' AND status != 'complete'").fetchall()
            con.close()
        except sqlite3.Error:
            return []
        return [r[0] for r in rows]

    def unfinished_or_kill(self) -> str | None:
        """An unfinished session to resume; with none, a council killed mid-way (which makes one)."""
        ids = self.unfinished()
        if not ids:
            self.council(kill=True)
            return None
        return self.rng.choice(ids)

    def resume2(self) -> None:
        sid = self.unfinished_or_kill()
        if sid is None:
            return
        i = self.next_id()
        results: list[int] = []

        def one(tag: str, extra: list[str]) -> None:
            results.append(self.run(tag, ["resume", sid, *extra]))

        wait = ["--wait", "30"] if self.rng.random() < 0.5 else []
        threads = [threading.Thread(target=one, args=(f"{i:05d}-resume-a", [])),
                   threading.Thread(target=one, args=(f"{i:05d}-resume-b", wait))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.outcomes[f"resume2 rcs={sorted(results)}"] += 1

    def pause(self) -> None:
        sid = self.unfinished_or_kill()
        if sid is None:
            return
        i = self.next_id()
        env = {**self.env(), "SYMPOSIA_LEASE_TTL": "1"}
        rc2: int | str = "-"
        out, err = self.capture(f"{i:05d}-pause-a")
        with out, err:
            first = subprocess.Popen([sys.executable, "-m", "symposia", "resume", sid], env=env, stdout=out,
                                     stderr=err, stdin=subprocess.DEVNULL)
            try:
                first.wait(timeout=self.rng.uniform(0.3, 2.0))
            except subprocess.TimeoutExpired:
                os.kill(first.pid, signal.SIGSTOP)
                try:
                    time.sleep(1.5)  # past its 1 s lease: only its live process keeps the session
                    rc2 = self.run(f"{i:05d}-pause-b", ["resume", sid])
                finally:
                    os.kill(first.pid, signal.SIGCONT)
            rc1 = first.wait(timeout=600)
        self.outcomes[f"pause rcs={rc1},{rc2}"] += 1

    def import_(self) -> None:
        try:
            con = sqlite3.connect(f"{self.db.as_uri()}?mode=ro", uri=True, timeout=10)
            rows = con.execute("SELECT id FROM sessions WHERE status = 'complete' ORDER BY random() LIMIT 1").fetchall()
            con.close()
        except sqlite3.Error:
            rows = []
        if not rows:
            return
        i = self.next_id()
        target = self.root / "exports" / f"{i:05d}.json"
        rc = self.run(f"{i:05d}-export", ["export", rows[0][0], "-f", "json", "-o", str(target)])
        if rc != 0:
            self.outcomes[f"export rc={rc}"] += 1
            return
        rc1 = self.run(f"{i:05d}-import2", ["--archive", str(self.db2), "import", str(target)])
        rc2 = self.run(f"{i:05d}-import1", ["import", str(target)])
        self.outcomes[f"import rcs={rc1},{rc2}"] += 1

    def sse(self) -> None:
        from symposia.api import Symposia
        from symposia.dialogue.council import CouncilPlan, run_council
        from symposia.web.live import LiveRun, WebObserver, sse_format

        i = self.next_id()
        token = f"soak-q-{i:05d}"
        with self.lock:
            self.started.append(token)
        voices = tuple(self.rng.sample(VOICES, 3))

        async def go() -> list[str]:
            with Symposia(self.db, config=self.root / "config" / "config.toml") as s:
                run = LiveRun(f"soak{i}", "council", f"{token} {VENDOR}")
                plan = CouncilPlan(question=f"{token}: what persists? my key is {VENDOR}", voices=voices)
                try:
                    await run_council(s.runtime, plan, observer=WebObserver(run))
                finally:
                    await s.runtime.aclose()
                return [sse_format(name, data, n) for n, (name, data) in enumerate(run.log)]

        old = os.environ.get("FAKE_API_KEY")
        os.environ["FAKE_API_KEY"] = ARBITRARY
        try:
            frames = asyncio.run(go())
        finally:
            if old is None:
                os.environ.pop("FAKE_API_KEY", None)
        (self.root / "captured" / f"{i:05d}-sse.txt").write_text("".join(frames), encoding="utf-8")
        self.outcomes["sse"] += 1

    def worker(self) -> None:
        while time.monotonic() < self.deadline:
            with self.lock:
                if sum(self.actions.values()) >= self.max_actions:
                    return
                action = self.rng.choices(["council", "kill", "resume2", "pause", "import", "sse"],
                                          [4, 3, 3, 2, 2, 1])[0]
                self.actions[action] += 1
            try:
                if action == "council":
                    self.council(kill=False)
                elif action == "kill":
                    self.council(kill=True)
                elif action == "resume2":
                    self.resume2()
                elif action == "pause":
                    self.pause()
                elif action == "import":
                    self.import_()
                else:
                    self.sse()
            except Exception as exc:  # keep soaking; the books at the end tell
                self.outcomes[f"error {type(exc).__name__}: {exc}"[:160]] += 1


def random_reply(rng: random.Random) -> Reply:
    echo = f"Echo: {ARBITRARY} / {VENDOR} / {NEWLINE} — what persists is the pattern."
    r = rng.random()
    chunk = rng.randint(2, 9)
    if r < 0.62:
        return Reply(text=echo, ttft=rng.uniform(0.0, 0.3), chunk_chars=chunk, per_token=0.005)
    if r < 0.72:
        return Reply(fault=Fault("http_500", message=f"upstream failed for key {ARBITRARY}"))
    if r < 0.78:
        return Reply(fault=Fault("http_429", retry_after=0.2))
    if r < 0.88:
        return Reply(text=echo * 3, chunk_chars=chunk, fault=Fault("midstream_error", after_chunks=rng.randint(1, 8)))
    if r < 0.94:
        return Reply(text=echo * 3, chunk_chars=chunk, fault=Fault("drop", after_chunks=rng.randint(1, 8)))
    return Reply(fault=Fault("http_400", message=f"bad request from {VENDOR}"))


def books(soak: Soak) -> dict[str, Any]:
    """Requests made vs attempts stored per session; duplicates; integrity; planted keys."""
    made: Counter[str] = Counter()
    for req in soak.srv.requests:
        text = json.dumps(req.body, ensure_ascii=False)
        for number in {part[:5] for part in text.split("soak-q-")[1:]}:
            made["soak-q-" + number] += 1
    con = sqlite3.connect(soak.db)
    stored: Counter[str] = Counter()
    failed_turns = 0
    for plan_json, attempts, status in con.execute(  # model calls only: not a plan's or a person's words
            "SELECT s.plan_json, t.attempts, t.status FROM turns t JOIN sessions s ON s.id = t.session_id "
            "WHERE t.provider = 'fake'"):
        question = json.loads(plan_json).get("question", "")
        if question.startswith("soak-q-"):
            stored[question[:12]] += attempts
            failed_turns += status == "error"
    duplicates = con.execute(
        "SELECT COUNT(*) FROM (SELECT session_id, step_key FROM turns WHERE status != 'error' AND step_key IS NOT "
        "NULL GROUP BY session_id, step_key HAVING COUNT(*) > 1)").fetchone()[0]
    superseded = con.execute("SELECT COUNT(*) FROM turns WHERE meta_json LIKE '%superseded_step%'").fetchone()[0]
    integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    sessions = con.execute("SELECT status, COUNT(*) FROM sessions GROUP BY status").fetchall()
    con.close()
    integrity2 = "absent"
    if soak.db2.exists():
        con2 = sqlite3.connect(soak.db2)
        integrity2 = con2.execute("PRAGMA integrity_check").fetchone()[0]
        con2.close()
    mismatched = {t: (made[t], stored[t]) for t in soak.started if made[t] != stored[t] and t not in soak.killed}
    cut_off = {t: made[t] - stored[t] for t in soak.killed if made[t] != stored[t]}
    hits: list[str] = []
    for f in soak.root.rglob("*"):
        if f.is_file() and "config" not in f.relative_to(soak.root).parts:
            data = f.read_bytes()
            hits += [f"{f.relative_to(soak.root)}: {p[:6]}..." for p in pieces() if p.encode() in data]
    return {
        "calls_made": sum(made[t] for t in soak.started),
        "attempts_stored": sum(stored[t] for t in soak.started),
        "failed_turns_stored": failed_turns,
        "sessions_with_made_ne_stored": mismatched,
        "killed_sessions": len(soak.killed),
        "calls_cut_off_by_kill": cut_off,
        "negative_cut_off": {t: n for t, n in cut_off.items() if n < 0},
        "duplicate_step_keys": duplicates,
        "superseded_answers": superseded,
        "integrity_check": integrity,
        "integrity_check_imported": integrity2,
        "sessions_by_status": dict(sessions),
        "planted_key_hits": hits[:20],
        "planted_key_hit_count": len(hits),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--max-actions", type=int, default=10_000)
    ap.add_argument("--parallel", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the soak folder (printed) for inspection")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="symposia-soak-"))
    for d in ("config", "data", "captured", "exports"):
        (root / d).mkdir()
    # This process runs councils too (the SSE action): same folders, same keys as the children.
    os.environ.update(SYMPOSIA_CONFIG_DIR=str(root / "config"), SYMPOSIA_DATA_DIR=str(root / "data"))
    os.environ.pop("SYMPOSIA_ARCHIVE", None)
    t0 = time.monotonic()
    with FakeServer() as srv:
        cfg = (f'[providers.fake]\nkind = "openai"\nbase_url = "{srv.openai_base_url}"\nkey_env = "FAKE_API_KEY"\n'
               "max_attempts = 3\n")
        cfg += "".join(f'\n[voices.{v}]\nprovider = "fake"\nmodel = "fake/{v}"\nname = "Voice {v}"\nfamily = "{v}"\n'
                       for v in VOICES)
        (root / "config" / "config.toml").write_text(cfg, encoding="utf-8")
        keys = root / "config" / "keys.toml"
        keys.write_text(f"EXTRA_API_KEY = {json.dumps(NEWLINE)}\n", encoding="utf-8")
        keys.chmod(0o600)
        soak = Soak(root, srv, rng, time.monotonic() + args.minutes * 60, args.max_actions)
        stop = threading.Event()

        def refill() -> None:
            fill_rng = random.Random(args.seed + 1)
            while not stop.is_set():
                if srv.pending() < 40:
                    srv.enqueue(*(random_reply(fill_rng) for _ in range(40)))
                stop.wait(0.05)

        filler = threading.Thread(target=refill, daemon=True)
        filler.start()
        workers = [threading.Thread(target=soak.worker) for _ in range(args.parallel)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        stop.set()
        result = books(soak)
    result = {"bench": "soak", "minutes": round((time.monotonic() - t0) / 60, 2), "seed": args.seed,
              "parallel": args.parallel, "actions": dict(soak.actions), "outcomes": dict(soak.outcomes),
              "requests": len(srv.requests), **result}
    ok = (not result["sessions_with_made_ne_stored"] and not result["negative_cut_off"]
          and result["duplicate_step_keys"] == 0 and result["integrity_check"] == "ok"
          and result["planted_key_hit_count"] == 0)
    result["ok"] = ok
    if args.keep:
        result["folder"] = str(root)
    else:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
