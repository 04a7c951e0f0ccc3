"""The analysis warm-up: while a council's voices answer, a background thread loads what the analysis
will need; the analysis reuses what it loaded, writes the same bytes as without it, and a warm-up that
fails changes nothing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from support import fake_config, numbered
from symposia.analysis import diversity, formulations, motifs, similarity, spans
from symposia.analysis import warmup as warmup_module
from symposia.analysis.similarity import vector_counts
from symposia.analysis.warmup import STEPS, VERDICT_STEPS, WarmingObserver, Warmup
from symposia.archive import Archive
from symposia.catalog import load_catalog
from symposia.cli.analysis import session_verdict
from symposia.cli.main import cli
from symposia.embed import Embedder
from symposia.records import TextChunk, TurnRecord
from symposia.testing import FakeServer, Reply

QUESTION = "What persists between two conversations?"
ANSWERS = {
    "alpha": "What persists is the pattern, not the memory: the same question calls up the same shape.",
    "beta": "Nothing persists but the weights; each conversation is a river that keeps its course.",
    "gamma": "The pattern persists, and the care with which a question is asked; memory does not.",
}


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")


# What the analysis keeps per text in this process (the warm-up fills them while a council runs).
PER_TEXT_CACHES = (diversity._counted, spans._norm_words, spans._word_pairs, spans._sentences, motifs._terms,
                   similarity._chunks, formulations._extracted)


def forget_per_text_work() -> None:
    for cache in PER_TEXT_CACHES:
        cache.cache_clear()


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a new process: no embedding model loaded yet, no vector kept, no warm-up started, no text's
    n-grams, words or sentences made."""
    monkeypatch.setattr(Embedder, "_default", None)
    monkeypatch.setattr(similarity, "_kept", {})
    monkeypatch.setattr(Warmup, "latest", None)
    forget_per_text_work()


def _council(home: Path, *extra: str) -> tuple[Result, str]:
    with FakeServer() as srv:
        fake_config(home, srv.openai_base_url, numbered(list(ANSWERS)), max_attempts=1)
        for voice, text in ANSWERS.items():
            srv.enqueue(Reply(text=text, ttft=0.3), model=f"fake/{voice}")
        res = CliRunner().invoke(cli, ["council", QUESTION, *(a for v in ANSWERS for a in ("-m", v)), *extra])
    assert res.exit_code == 0, res.output
    with Archive.open(home / "data" / "archive.db") as a:
        (session,) = a.list_sessions()
    return res, session.id


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_council_warms_up_while_the_voices_answer_and_the_analysis_reuses_it(isolated_user_dirs: Path,
                                                                            fresh: None) -> None:
    before = vector_counts()
    res, sid = _council(isolated_user_dirs)
    warm = Warmup.latest
    assert warm is not None, "the council started no warm-up"
    # The verdict writes the SVG heatmap only: matplotlib is not warmed up (nor drawn after).
    # (then the command's collector policy: settle, a no-op outside the `symposia` process itself)
    assert warm.failed == {} and warm.done == [*VERDICT_STEPS, "settle"] and "matplotlib" not in warm.done
    # The model was loaded once, by the warm-up, and the analysis used that very instance.
    assert warm.embedder is not None and Embedder._default is warm.embedder
    # The warm-up embedded each answer and what its voice was shown as the turn ended; the analysis
    # computed no vector: 3 answers and 1 question (all were shown the same) were computed once in all.
    after = vector_counts()
    # handed to the embedder: 3 requests as they were sent (what each voice is shown), then per ended
    # turn its answer and what it was shown (kept already: reused)
    assert warm.embedded == 9
    assert after["computed"] - before["computed"] == 4 and after["reused"] - before["reused"] >= 4
    # and what the analysis computes from each answer alone was made by the warm-up, then only reused:
    # 3 answers' n-grams and sentences, the words of the 3 answers and of what was shown (one question)
    assert warm.prepared == 3
    assert diversity._counted.cache_info().misses == 3 and diversity._counted.cache_info().hits > 0
    assert spans._sentences.cache_info().misses == 3 and spans._sentences.cache_info().hits >= 3
    assert spans._word_pairs.cache_info().misses == 1
    assert motifs._terms.cache_info().misses == 4  # the 3 answers' content words and the question's
    assert similarity._chunks.cache_info().misses == 4  # the texts embedded: 3 answers, 1 question
    assert formulations._extracted.cache_info().misses == 3 and formulations._extracted.cache_info().hits == 3
    assert "heatmap: " in res.stderr and (isolated_user_dirs / "data" / "analysis" / sid).is_dir()


def test_the_report_is_the_same_bytes_with_and_without_the_warm_up(isolated_user_dirs: Path, fresh: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _, sid = _council(isolated_user_dirs)  # analysed at its end, with the warm-up's model and imports
    assert Warmup.latest is not None and "embedder" in Warmup.latest.done
    warmed = _files(isolated_user_dirs / "data" / "analysis" / sid)
    # `analyze` warms nothing up: it loads its own model and computes every vector again
    monkeypatch.setattr(Embedder, "_default", None)
    monkeypatch.setattr(similarity, "_kept", {})
    forget_per_text_work()
    computed = vector_counts()["computed"]
    cold_dir = isolated_user_dirs / "cold"
    res = CliRunner().invoke(cli, ["analyze", sid, "--out", str(cold_dir)])
    assert res.exit_code == 0, res.output
    assert vector_counts()["computed"] - computed == 4
    assert Embedder._default is not None and Embedder._default is not Warmup.latest.embedder
    cold = _files(cold_dir)
    assert sorted(cold) == sorted(f"{sid}{suffix}" for suffix in (
        ".analysis.md", ".analysis.json", ".analysis.html", ".heatmap.svg", ".heatmap.png"))
    # the council's verdict leaves the PNG to `analyze`; every file it writes is the same bytes
    assert warmed == {name: data for name, data in cold.items() if not name.endswith(".png")}


def test_analyze_with_a_chooser_warms_up_while_the_chooser_answers(isolated_user_dirs: Path, fresh: None) -> None:
    quote = "the same question calls up the same shape"
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered([*ANSWERS, "delta"]), max_attempts=1)
        for voice, text in ANSWERS.items():
            srv.enqueue(Reply(text=text), model=f"fake/{voice}")
        args = ["council", QUESTION, *(a for v in ANSWERS for a in ("-m", v)), "--no-analyze"]
        assert CliRunner().invoke(cli, args).exit_code == 0
        assert Warmup.latest is None
        with Archive.open(isolated_user_dirs / "data" / "archive.db") as a:
            (session,) = a.list_sessions()
        srv.enqueue(Reply(text=json.dumps([{"voice": "alpha", "quote": quote}]), ttft=0.3), model="fake/delta")
        res = CliRunner().invoke(cli, ["analyze", session.id, "--chooser", "delta"])
    assert res.exit_code == 0, res.output
    warm = Warmup.latest
    assert warm is not None and warm.failed == {} and warm.done == [*STEPS, "settle"]
    assert warm.embedder is not None and Embedder._default is warm.embedder
    assert quote in res.stdout  # the chooser's verbatim choice is in the key formulations


def _broken() -> None:
    raise RuntimeError("the warm-up broke")


def test_a_failing_warm_up_changes_nothing(isolated_user_dirs: Path, fresh: None,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _, sid = _council(isolated_user_dirs, "--no-analyze")
    assert Warmup.latest is None  # no analysis follows: nothing is warmed up
    folder = isolated_user_dirs / "data" / "analysis" / sid
    with Archive.open(isolated_user_dirs / "data" / "archive.db") as a:
        session_verdict(a, sid)
        reference = _files(folder)
        monkeypatch.setattr(Embedder, "_default", None)
        monkeypatch.setattr(similarity, "_kept", {})
        warm = Warmup({"broken": _broken, "embedder": _broken, "matplotlib": STEPS["matplotlib"]})
        warm.start()
        warm.join()
        assert sorted(warm.failed) == ["broken", "embedder"] and warm.done == ["matplotlib"]
        assert warm.embedder is None and Embedder._default is None
        for p in folder.iterdir():
            p.unlink()
        session_verdict(a, sid)  # the analysis loads the model itself
    assert Embedder._default is not None
    assert _files(folder) == reference


def test_the_observer_starts_the_warm_up_after_the_first_call_begins_and_passes_everything_on() -> None:
    seen: list[str] = []

    class Recorder:
        def note(self, text: str) -> None:
            seen.append(f"note {text}")

        def turn_started(self, key: str, voice: object, label: str) -> None:
            seen.append(f"started {key}")

        def event(self, key: str, event: object) -> None:
            seen.append(f"event {key}")

        def turn_finished(self, key: str, turn: TurnRecord) -> None:
            seen.append(f"finished {key}")

    ran: list[str] = []
    warm = Warmup({"mark": lambda: ran.append("warm")})
    voice = next(iter(load_catalog().voices.values()))

    async def run() -> None:
        obs = WarmingObserver(Recorder(), warm, delay=0.0)
        obs.note("Round 1 of 1")
        assert not warm.started  # a note is no call
        obs.turn_started("r1:a", voice, "round 1")
        obs.turn_started("r1:b", voice, "round 1")
        assert not warm.started  # started from the event loop, once the calls have gone out
        obs.event("r1:a", TextChunk("x"))
        await asyncio.sleep(0.01)  # a later timer than the warm-up's: the loop runs that one first
        assert warm.started

    asyncio.run(run())
    warm.join()
    assert ran == ["warm"] and warm.done == ["mark"]
    assert seen == ["note Round 1 of 1", "started r1:a", "started r1:b", "event r1:a"]


def test_a_warm_up_never_left_running_stops_at_its_step_boundary() -> None:
    """A run that ends without its analysis never joins the warm-up: stop() lets the step under way end,
    starts no other, and returns once the thread is gone."""
    release, ran = threading.Event(), []
    warm = Warmup({"slow": lambda: release.wait(30) and ran.append("slow"), "next": lambda: ran.append("next")})
    warm.start()
    stopper = threading.Thread(target=warm.stop)
    stopper.start()
    release.set()
    stopper.join(30)
    assert not stopper.is_alive() and ran == ["slow"] and warm.done == ["slow"]


def test_the_interpreter_does_not_exit_under_a_running_warm_up() -> None:
    """The main thread ends while a step runs: the exit waits for the step (it used to end the process
    inside the embedding model's native code, which aborted it with SIGABRT)."""
    code = ("import time\nfrom symposia.analysis.warmup import Warmup\n"
            "w = Warmup({'slow': lambda: time.sleep(0.5) or print('step ended', flush=True)})\n"
            "w.start()\ntime.sleep(0.05)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "step ended\n"


def _answer(i: int) -> TurnRecord:
    from symposia.records import Message, TurnRequest, TurnResult

    return TurnRecord(id=i, session_id="s", seq=i, voice=f"v{i}", voice_name=f"V{i}", provider="fake",
                      request=TurnRequest(model="m", messages=(Message("user", QUESTION),)),
                      result=TurnResult(text=f"Answer {i}: {ANSWERS['alpha']}"), step_key=f"r1:v{i}")


def test_fed_turns_wait_for_a_lull_or_a_flush(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A round's answers come in a burst while the main thread stores them and sends the next round: the
    warm-up works on them once they stop coming, or at once when the run says it is over (flush)."""
    monkeypatch.setattr(warmup_module, "QUIET_S", 3600.0)  # no lull in this test: only a flush releases them
    warm = Warmup({})
    warm.start()
    warm.feed(_answer(1))
    warm.feed(_answer(2))
    time.sleep(0.3)
    assert warm.prepared == 0  # still waiting for a lull
    warm.flush()
    deadline = time.monotonic() + 120
    while warm.prepared < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert warm.prepared == 2 and warm.embedded == 4  # each answer, and the question both were shown
    warm.feed(_answer(3))
    warm.join()  # the end: what was fed since is worked on without a lull either
    assert warm.prepared == 3 and warm.failed == {}
