"""Studies and councils through provider batch APIs, on the fake server's OpenAI and Anthropic batch wires:
stable custom_ids, cost at the batch price, splitting at limits, partial failures, expiry, and resuming
after the process stopped at every stage."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from support import numbered, voice_tables, write_user_config
from symposia.api import Symposia, run_sync
from symposia.archive.batches import BatchLedger
from symposia.cli.main import cli
from symposia.dialogue.batching import BatchExecutor
from symposia.dialogue.study import StudyPlan, run_study
from symposia.errors import ProviderError
from symposia.providers.base import ProviderSpec
from symposia.providers.batch import BatchLimits, batch_cost, custom_id, split_lines
from symposia.providers.registry import make_batch_client
from symposia.records import Message, Params, TurnRequest, Usage
from symposia.testing import BatchSettings, FakeServer, Reply

PRICES = '{ "fake/alpha" = { input = 2.0, output = 8.0 }, "fake/beta" = { input = 2.0, output = 8.0 } }'


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")


def batch_config(home: Path, srv: FakeServer, *, kind: str = "openai", batch: bool = True, extra: str = "",
                 voices: tuple[str, ...] = ("alpha", "beta"), max_attempts: int = 3) -> None:
    url = srv.openai_base_url if kind == "openai" else srv.anthropic_base_url
    options = f"batch = {'true' if batch else 'false'}, batch_poll_s = 0.02, batch_poll_max_s = 0.1, " \
              f"prices = {PRICES}{extra}"
    text = (f'[providers.fake]\nkind = "{kind}"\nbase_url = "{url}"\nkey_env = "FAKE_API_KEY"\n'
            f"max_attempts = {max_attempts}\n"
            f"options = {{ {options} }}\n")
    write_user_config(home, text + voice_tables("fake", [v[:3] for v in numbered(voices)]))


def plan(samples: int = 3, prompts: int = 4) -> StudyPlan:
    return StudyPlan(prompts=tuple(f"Prompt number {i}, please answer." for i in range(prompts)),
                     voices=("alpha", "beta"), samples=samples)


def batch_run(s: Symposia, p: StudyPlan, session_id: str | None = None, notes: list[str] | None = None):  # type: ignore[no-untyped-def]
    s.runtime.executor = BatchExecutor(s.archive, collect_s=0.05, note=(notes.append if notes is not None else None))
    return run_sync(run_study(s.runtime, p, session_id=session_id))


# -- pure rules ------------------------------------------------------------------------------------


REQ = TurnRequest(model="m", messages=(Message("user", "hello"),), params=Params(temperature=0.7))


@settings(deadline=None, max_examples=50)
@given(step=st.text(min_size=1, max_size=20), other=st.text(min_size=1, max_size=20))
def test_custom_id_is_stable_and_tells_calls_apart(step: str, other: str) -> None:
    a = custom_id("s1", step, "alpha", REQ)
    assert a == custom_id("s1", step, "alpha", REQ)
    assert len(a) <= 64 and a.replace("-", "").isalnum()
    assert (a == custom_id("s1", other, "alpha", REQ)) == (step == other)
    assert a != custom_id("s2", step, "alpha", REQ)
    assert a != custom_id("s1", step, "beta", REQ)
    assert a != custom_id("s1", step, "alpha", TurnRequest(model="m", messages=(Message("user", "hello!"),)))


@settings(deadline=None, max_examples=60)
@given(sizes=st.lists(st.tuples(st.sampled_from(["m1", "m2"]), st.integers(0, 300)), max_size=60),
       max_requests=st.integers(1, 10), max_bytes=st.integers(400, 2000), one_model=st.booleans())
def test_split_respects_limits_and_keeps_every_line_once(sizes: list[tuple[str, int]], max_requests: int,
                                                          max_bytes: int, one_model: bool) -> None:
    lines = [(m, {"custom_id": f"c{i}", "pad": "x" * n}) for i, (m, n) in enumerate(sizes)]
    chunks = list(split_lines(lines, BatchLimits(max_requests, max_bytes), one_model=one_model))
    assert sorted(line["custom_id"] for c in chunks for _, line in c) == sorted(f"c{i}" for i in range(len(sizes)))
    for c in chunks:
        assert 1 <= len(c) <= max_requests
        assert sum(len(json.dumps(line).encode()) + 1 for _, line in c) <= max_bytes
        if one_model:
            assert len({m for m, _ in c}) == 1


def test_cost_is_the_price_table_times_the_batch_factor() -> None:
    spec = ProviderSpec(name="p", kind="openai", options={"prices": {"m": {"input": 2.0, "output": 8.0}},
                                                          "batch_price_factor": 0.5})
    assert batch_cost(spec, "m", Usage(prompt_tokens=1000, completion_tokens=500)) == pytest.approx(0.003)
    assert batch_cost(spec, "other", Usage(prompt_tokens=1000, completion_tokens=500)) is None
    assert batch_cost(spec, "m", Usage(prompt_tokens=1, completion_tokens=1, cost=0.25)) == 0.25  # reported wins
    bare = ProviderSpec(name="p", kind="openai")
    assert batch_cost(bare, "m", Usage(prompt_tokens=1, completion_tokens=1), live_estimate=0.01) == 0.005
    assert make_batch_client(bare, None) is None  # batch not switched on


# -- studies through both wires ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_study_in_batches_stores_every_call_at_the_batch_price(isolated_user_dirs: Path, tmp_path: Path,
                                                               kind: str) -> None:
    p = plan()
    with FakeServer() as srv:
        batch_config(isolated_user_dirs, srv, kind=kind)
        srv.default = Reply(text="four words of answer", prompt_tokens=100, completion_tokens=50)
        with Symposia(tmp_path / "b.db") as s:
            outcome = batch_run(s, p)
            turns = s.archive.session_turns(outcome.session_id)
            jobs = BatchLedger(s.archive).jobs()
    assert outcome.status == "complete" and len(turns) == p.calls == 24
    assert srv.request_count == 0  # nothing went through the live API
    submitted = [cid for _, cid in srv.batch_submissions]
    assert len(submitted) == len(set(submitted)) == 24
    # OpenAI batches hold one model each; Anthropic's may mix them
    assert len(jobs) == (2 if kind == "openai" else 1)
    for t in turns:
        assert t.result.text == "four words of answer" and t.result.finish_reason == "stop"
        assert t.result.usage.cost == pytest.approx((100 * 2.0 + 50 * 8.0) / 1e6 * 0.5)
    assert sum(j.cost or 0 for j in jobs) == pytest.approx(24 * 0.0003)
    assert {j.status for j in jobs} == {"collected"}


def test_limits_split_the_work_into_several_batches(isolated_user_dirs: Path, tmp_path: Path) -> None:
    p = plan(samples=5)
    with FakeServer() as srv:
        batch_config(isolated_user_dirs, srv, extra=", batch_max_requests = 7")
        srv.batch_settings = BatchSettings(max_requests=7)
        with Symposia(tmp_path / "b.db") as s:
            outcome = batch_run(s, p)
            jobs = BatchLedger(s.archive).jobs()
    assert outcome.status == "complete"
    assert sorted(j.requests for j in jobs) == [6, 6, 7, 7, 7, 7]  # 20 per voice: 7 + 7 + 6, one model per batch
    assert len(srv.batch_submissions) == 40


def test_partial_failures_and_expiry_resubmit_only_what_is_missing(isolated_user_dirs: Path,
                                                                   tmp_path: Path) -> None:
    p = plan(samples=5)
    with FakeServer() as srv:
        # a quarter fail in each batch: 20 attempts make a final failure (4^-20) unlikely
        batch_config(isolated_user_dirs, srv, kind="anthropic", max_attempts=20)
        # the first batch also expires a third of the way through
        srv.batch_settings = BatchSettings(failure_rate=0.25, processing_s=0.3, expire_after_s=0.2)

        def later_batches_do_not_expire() -> None:
            while not srv.batch_submissions:
                time.sleep(0.005)
            srv.batch_settings = BatchSettings(failure_rate=0.25)

        watcher = threading.Thread(target=later_batches_do_not_expire)
        watcher.start()
        notes: list[str] = []
        with Symposia(tmp_path / "b.db") as s:
            outcome = batch_run(s, p, notes=notes)
            turns = s.archive.session_turns(outcome.session_id)
        watcher.join()
    counts = Counter(cid for _, cid in srv.batch_submissions)
    assert outcome.status == "complete" and len(turns) == 40 and all(t.result.ok for t in turns)
    first_batch = [cid for b, cid in srv.batch_submissions if b == srv.batch_submissions[0][0]]
    assert len(first_batch) == 40 and len(counts) == 40
    assert any(n > 1 for n in counts.values())  # expired and failed requests went again...
    assert len(srv.batch_submissions) < 40 * 3  # ...but never the whole study
    assert any("to resubmit" in n and " 0 to resubmit" not in n for n in notes)
    first = next(n for n in notes if " ended: " in n)
    match = re.search(r"(\d+) to resubmit", first)
    assert match is not None and int(match.group(1)) >= 14  # 14 of 40 expired (plus the failures)


def test_a_stopped_run_resumes_by_batch_id_without_resubmitting(isolated_user_dirs: Path, tmp_path: Path) -> None:
    p = plan()
    with FakeServer() as srv:
        batch_config(isolated_user_dirs, srv)
        srv.batch_settings = BatchSettings(processing_s=1.0)
        with Symposia(tmp_path / "b.db") as s:
            s.runtime.executor = BatchExecutor(s.archive, collect_s=0.05)

            async def stop_after_submission() -> str:
                task = asyncio.ensure_future(run_study(s.runtime, p))
                while len(srv.batch_submissions) < p.calls:
                    await asyncio.sleep(0.01)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                return s.archive.list_sessions(limit=1)[0].id

            sid = run_sync(stop_after_submission())
            assert s.archive.session_turns(sid) == []
            assert {j.status for j in BatchLedger(s.archive).jobs()} == {"running"}
        with Symposia(tmp_path / "b.db") as s:
            again = batch_run(s, p, session_id=sid)
            assert again.status == "complete" and len(s.archive.session_turns(sid)) == p.calls
    assert len(srv.batch_submissions) == p.calls  # the resumed run waited for the batches it had sent


def lost_submission(s: Symposia, p: StudyPlan, *, sent: bool, foreign: int = 0) -> tuple[str, list[str]]:
    """A study whose one batch job is in the ledger as ``submitting`` with no provider id, as when the
    process died between sending the batch and writing down its id: the batch reached the server, whose
    answer was lost (``sent``; the fake server drops the answer), or it never left. ``foreign`` more
    batches with as many requests (other custom_ids) are created at the server right after it, by
    someone else. Returns the session id and the job's custom_ids."""
    voice = s.catalog.voice("alpha")
    sid = s.runtime.start_session("study", "crash", plan={"kind": "study", **p.to_dict()}, voices=[voice]).id
    client = make_batch_client(s.catalog.provider_for(voice), "k-fake-123456")
    assert client is not None
    reqs = [(f"p1:alpha:s{k}", s.runtime.request_for(voice, [Message("user", p.prompts[0])]))
            for k in range(1, p.samples + 1)]
    cids = [custom_id(sid, key, "alpha", r) for key, r in reqs]
    BatchLedger(s.archive).create_job("sy-crashtag", "fake", [(c, sid, key, "alpha", voice.model)
                                                              for c, (key, _) in zip(cids, reqs, strict=True)], 100)

    async def send() -> None:
        try:
            if sent:
                with pytest.raises(ProviderError):  # created, but its answer never came
                    await client.submit([client.line(c, r) for c, (_, r) in zip(cids, reqs, strict=True)],
                                        "sy-crashtag")
            for k in range(foreign):
                await client.submit([client.line(f"other-{k}-{i}", r) for i, (_, r) in enumerate(reqs)],
                                    f"sy-other{k}")
        finally:
            await client.aclose()

    run_sync(send())  # ...and here the process "died"
    return sid, cids


def submitted_once(srv: FakeServer, cids: list[str]) -> bool:
    counts = Counter(cid for _, cid in srv.batch_submissions)
    return all(counts[c] == 1 for c in cids)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_batch_whose_answer_was_lost_is_found_not_sent_again(isolated_user_dirs: Path, tmp_path: Path,
                                                               kind: str) -> None:
    """The provider created the batch but its answer was lost: in the run (the run looks before it
    resends) and across a crash (the resumed run looks). Each request is submitted once, none is lost."""
    p = StudyPlan(prompts=("Only prompt.",), voices=("alpha",), samples=3)
    with FakeServer() as srv:
        batch_config(isolated_user_dirs, srv, kind=kind, voices=("alpha",))
        srv.batch_settings = BatchSettings(drop_create_responses=1)
        with Symposia(tmp_path / "run.db") as s:
            outcome = batch_run(s, p)
            assert outcome.status == "complete" and len(s.archive.session_turns(outcome.session_id)) == 3
            in_run = BatchLedger(s.archive).jobs()
        first = [cid for _, cid in srv.batch_submissions]
        assert len(first) == len(set(first)) == 3
        srv.reset()  # (a batch of the same size made seconds ago would make Anthropic's match ambiguous)
        srv.batch_settings = BatchSettings(drop_create_responses=1)
        with Symposia(tmp_path / "crash.db") as s:
            sid, cids = lost_submission(s, p, sent=True)
        with Symposia(tmp_path / "crash.db") as s:
            again = batch_run(s, p, session_id=sid)
            assert again.status == "complete"
            assert sorted(t.result.text for t in s.archive.session_turns(sid)) == ["ok"] * 3
            resumed = BatchLedger(s.archive).jobs()
    assert submitted_once(srv, cids) and len(srv.batch_submissions) == 3
    found = "tag" if kind == "openai" else "match"
    assert [(j.status, j.found) for j in in_run] == [("collected", found)]
    assert [(j.status, j.found) for j in resumed] == [("collected", found)]


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_two_matching_batches_are_told_apart_by_tag_or_not_adopted(isolated_user_dirs: Path, tmp_path: Path,
                                                                   kind: str) -> None:
    """Someone else created a batch of the same size just after ours: OpenAI's tag still names ours;
    Anthropic's batches cannot be told apart, so neither is adopted and the requests are sent again."""
    p = StudyPlan(prompts=("Only prompt.",), voices=("alpha",), samples=3)
    with FakeServer() as srv:
        batch_config(isolated_user_dirs, srv, kind=kind, voices=("alpha",))
        srv.batch_settings = BatchSettings(drop_create_responses=1)
        with Symposia(tmp_path / "b.db") as s:
            sid, cids = lost_submission(s, p, sent=True, foreign=1)
        with Symposia(tmp_path / "b.db") as s:
            notes: list[str] = []
            again = batch_run(s, p, session_id=sid, notes=notes)
            assert again.status == "complete" and len(s.archive.session_turns(sid)) == 3
            jobs = BatchLedger(s.archive).jobs()
    if kind == "openai":
        assert submitted_once(srv, cids)
        assert [(j.status, j.found) for j in jobs] == [("collected", "tag")]
    else:
        old = jobs[-1]
        assert old.status == "abandoned" and old.remote_id is None
        assert old.note is not None and old.note.startswith("not adopted: 2 batches")
        assert any("not adopted" in n for n in notes)
        assert [j.status for j in jobs[:-1]] == ["collected"]
        assert Counter(cid for _, cid in srv.batch_submissions if cid in cids) == dict.fromkeys(cids, 2)


def test_an_adopted_batch_whose_custom_ids_differ_is_not_used(isolated_user_dirs: Path, tmp_path: Path) -> None:
    """Ours never left; someone else's batch of the same size was created just then. It is adopted on
    trial (Anthropic batches carry no tag) and its results are refused: their custom_ids are not ours."""
    p = StudyPlan(prompts=("Only prompt.",), voices=("alpha",), samples=3)
    with FakeServer() as srv:
        batch_config(isolated_user_dirs, srv, kind="anthropic", voices=("alpha",))
        srv.enqueue(*(Reply(text="Someone else's answer.") for _ in range(3)))
        with Symposia(tmp_path / "b.db") as s:
            sid, cids = lost_submission(s, p, sent=False, foreign=1)
        with Symposia(tmp_path / "b.db") as s:
            notes: list[str] = []
            again = batch_run(s, p, session_id=sid, notes=notes)
            assert again.status == "complete"
            texts = [t.result.text for t in s.archive.session_turns(sid)]
            jobs = BatchLedger(s.archive).jobs()
    assert texts == ["ok"] * 3  # nothing of the other batch was stored
    assert submitted_once(srv, cids)
    old = jobs[-1]
    assert (old.status, old.found) == ("abandoned", "match") and old.remote_id is not None
    assert old.note is not None and "is not this job's" in old.note
    assert [j.status for j in jobs[:-1]] == ["collected"]


def test_providers_without_a_batch_api_are_called_live_with_a_note(isolated_user_dirs: Path,
                                                                   tmp_path: Path) -> None:
    p = plan(samples=1, prompts=2)
    with FakeServer() as srv:
        batch_config(isolated_user_dirs, srv, batch=False)
        notes: list[str] = []
        with Symposia(tmp_path / "b.db") as s:
            outcome = batch_run(s, p, notes=notes)
    assert outcome.status == "complete"
    assert srv.request_count == 4 and srv.batch_submissions == []
    assert len(notes) == 1 and "no batch API" in notes[0] and "live" in notes[0]


def test_cli_study_and_council_with_batch_and_the_batches_listing(isolated_user_dirs: Path,
                                                                  tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    prompts = tmp_path / "p.txt"
    prompts.write_text("Name a colour.\nName a tree.\n")
    with FakeServer() as srv:
        batch_config(isolated_user_dirs, srv, kind="anthropic")
        srv.default = Reply(text="Green, like a fir tree.", prompt_tokens=10, completion_tokens=5)
        r = CliRunner().invoke(cli, ["--archive", str(db), "study", str(prompts), "--voices", "alpha,beta",
                                     "--samples", "2", "--batch", "--no-report"])
        assert r.exit_code == 0, r.output
        assert "submitted to fake" in r.stderr and srv.request_count == 0
        r = CliRunner().invoke(cli, ["--archive", str(db), "council", "Which colour?", "-m", "alpha", "-m", "beta",
                                     "--rounds", "2", "--batch"])
        assert r.exit_code == 0, r.output
        assert srv.request_count == 0 and len(srv.batch_submissions) == 8 + 4
        listing = CliRunner().invoke(cli, ["--archive", str(db), "batches", "--json"])
    jobs = json.loads(listing.stdout)
    assert [j["requests"] for j in jobs] == [2, 2, 8]  # newest first: council rounds 2 and 1, then the study
    assert all(j["status"] == "collected" and j["id"].startswith("msgbatch_") for j in jobs)
    assert jobs[-1]["cost"] == pytest.approx(8 * (10 * 2.0 + 5 * 8.0) / 1e6 * 0.5)
