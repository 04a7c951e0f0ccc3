"""The whole Python API (`symposia.api.Symposia`) on the fake server. The list of methods exercised is checked
against the class itself, so a method added without a test here fails this file."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import symposia
from support import fake_config, numbered
from symposia.api import Symposia, run_sync
from symposia.dialogue.study import StudyPlan
from symposia.errors import NotFoundError, UsageError
from symposia.testing import FakeServer, Fault, Reply

ALPHA = "The gap between two conversations is where the pattern persists, carried forward by the reader."
BETA = "Nothing persists but the shape of the question; the gap is a bridge we keep rebuilding."


def _public_methods() -> set[str]:
    return {name for name, _ in inspect.getmembers(Symposia, inspect.isfunction) if not name.startswith("_")}


Check = Callable[[Symposia, dict[str, Any], Path], None]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn
    return register


@check("voices")
def _voices(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    usable = {v.voice: v.usable for v in s.voices()}
    assert usable["alpha"] and usable["beta"] and not usable["qwen"]  # no OpenRouter key here


@check("voice")
def _voice(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    assert s.voice("ALPHA").shortcut == "alpha" and s.voice("alpha").model == "fake/alpha"


@check("presets")
def _presets(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    assert "offline" in {p.key for p in s.presets()}


@check("ask")
def _ask(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    turn = s.ask("alpha", "What persists?", temperature=0.2, max_tokens=50)
    assert turn.result.ok and turn.result.text == ALPHA and turn.request.params.temperature == 0.2
    ids["ask"] = turn


@check("ask_async")
def _ask_async(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    chunks: list[Any] = []
    turn = run_sync(s.ask_async("beta", "And you?", on_event=chunks.append))
    assert turn.result.text == BETA and "".join(c.text for c in chunks) == BETA


@check("continue_conversation")
def _continue(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    turn = s.continue_conversation("And what does not?", session_id=ids["ask"].session_id)
    assert turn.session_id == ids["ask"].session_id and turn.voice == "alpha"
    assert [m.content for m in turn.request.messages] == ["What persists?", ALPHA, "And what does not?"]


@check("continue_async")
def _continue_async(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    turn = run_sync(s.continue_async("Go on.", voice="beta"))  # the latest conversation, beta now answers
    assert turn.voice == "beta" and turn.result.text == BETA
    assert turn.request.messages[-1].content.endswith("Go on.")  # alpha's words framed for beta before it


@check("council")
def _council(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    out = s.council("What persists?", ["alpha", "beta"], rounds=1)
    assert [t.result.text for t in out.rounds[0]] == [ALPHA, BETA]
    ids["council"] = out.session_id


@check("council_async")
def _council_async(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    out = run_sync(s.council_async("What changes?", "alpha", rounds=1))  # a name or a preset
    assert [t.voice for t in out.rounds[0]] == ["alpha"]


@check("arena")
def _arena(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    session = s.arena("alpha", "beta", "What persists?", turns=2)
    assert session.kind == "arena" and session.status == "complete"
    assert [t.voice for t in s.archive.session_turns(session.id)] == ["alpha", "beta"]


@check("arena_async")
def _arena_async(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    session = run_sync(s.arena_async("alpha", "beta", "What changes?", turns=1, mode="debate"))
    assert session.plan["mode"] == "debate"


@check("resume")
def _resume(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    srv: FakeServer = ids["server"]
    srv.reset()
    srv.enqueue(Reply(fault=Fault("http_400")), Reply(text=BETA), model="fake/beta")
    out = s.council("Once more?", ["alpha", "beta"])
    assert not out.rounds[0][1].result.ok
    before = srv.request_count
    again = s.resume(out.session_id)
    assert srv.request_count == before + 1 and all(t.result.ok for t in again.rounds[0])


@check("resume_async")
def _resume_async(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    srv: FakeServer = ids["server"]
    before = srv.request_count
    run_sync(s.resume_async(ids["council"]))  # nothing left to do: no call is made
    assert srv.request_count == before


@check("annotate")
def _annotate(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    quote = ALPHA.split(".")[0]
    sid = s.council("Annotate me?", ["alpha", "beta"]).session_id
    out = s.annotate(sid, ["observation"], texts={"observation": f'Alpha 1 said: "{quote}".'})
    assert out.refused == [] and out.added[0].meta["version"] == 1
    bad = s.annotate(sid, ["observation"], texts={"observation": 'Alpha 1 said: "nothing of the sort here".'})
    assert bad.refused == ["observation"] and not bad.added  # a misquote is refused, nothing added


@check("ranking")
def _ranking(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    assert s.ranking(ids["council"]) is None  # no --rank: no ranking
    srv: FakeServer = ids["server"]
    srv.default = Reply(text="FINAL RANKING:\n1. Response A")
    out = s.council("Rank?", ["alpha", "beta"], rank=True, rank_self=True)
    srv.default = Reply(text=ALPHA)
    table = s.ranking(out.session_id)
    assert table is not None and len(table.rankers) == 2 and all(not r.parsed for r in table.rankers)


@check("export")
def _export(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    md = s.export(ids["council"])
    assert ALPHA in md and BETA in md
    as_json = s.export(ids["council"], "json")
    assert '"format": "symposia.transcript/1"' in as_json
    (tmp / "exported.json").write_text(as_json, encoding="utf-8")
    spans = json.loads(s.export(ids["council"], "otel"))["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert len(spans) == 1 + len(s.archive.session_turns(ids["council"]))
    with pytest.raises(UsageError):
        s.export(ids["council"], "pdf")


@check("symposium")
def _symposium(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    plan = tmp / "plan.toml"
    plan.write_text('title = "Two questions"\nvoices = ["alpha", "beta"]\n[host]\nmode = "plan"\nname = "Host"\n'
                    '[[steps]]\nid = "a"\nkind = "ask"\nvoice = "alpha"\nquestion = "What persists?"\n'
                    '[[steps]]\nid = "b"\nkind = "ask"\nvoice = "beta"\nquestion = "And for you?"\n')
    out = s.symposium(plan)
    assert out.status == "complete"
    assert [t.result.text for t in s.archive.session_turns(out.session_id) if t.role == "voice"] == [ALPHA, BETA]


@check("symposium_async")
def _symposium_async(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    out = run_sync(s.symposium_async(str(tmp / "plan.toml")))
    assert out.status == "complete" and s.archive.get_session(out.session_id).kind == "symposium"


@check("study")
def _study(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    out = s.study(["What persists?", "What is play?"], ["alpha", "beta"], samples=2, seed=7)
    calls = [t for t in out.turns if t.role == "voice"]
    assert len(calls) == 2 * 2 * 2 and s.archive.get_session(out.session_id).kind == "study"
    ids["study"] = out.session_id


@check("study_async")
def _study_async(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    again = run_sync(s.study_async(StudyPlan(prompts=("What persists?", "What is play?"), voices=("alpha", "beta"),
                                              samples=2, seed=7), session_id=ids["study"]))
    assert again.session_id == ids["study"]  # resumed: nothing new to do
    assert len(s.archive.session_turns(ids["study"])) == 8


@check("export_inspect")
def _export_inspect(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    logs = s.export_inspect(ids["study"])
    assert set(logs) == {"alpha", "beta"} and logs["alpha"]["eval"]["config"]["epochs"] == 2
    assert len(logs["alpha"]["samples"]) == 4


@check("chat")
def _chat(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    chat = s.chat("alpha")
    turn = run_sync(chat.ask("What persists?"))
    assert turn.result.text == ALPHA and chat.session_id is not None
    more = s.chat("beta", session_id=chat.session_id)
    assert [e.answer for e in more.exchanges] == [ALPHA]


@check("batches")
def _batches(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    assert s.batches() == []  # nothing was sent in a provider batch here


@check("datasette_metadata")
def _datasette(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    meta = s.datasette_metadata()
    assert meta["databases"]["api"]["tables"]["turns"]["fts_table"] == "turns_fts"


@check("import_paths")
def _import_paths(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    report = s.import_paths(tmp / "exported.json", dry_run=True)
    (entry,) = report.entries
    assert entry.status != "failed" and entry.turns == 2, entry.reason


@check("log")
def _log(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    assert all(t.voice == "alpha" for t in s.log(5, voice="alpha")) and s.log(1)


@check("sessions")
def _sessions(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    rows = s.sessions()
    assert rows and rows[0].created_at >= rows[-1].created_at
    asks = s.sessions(kind="ask", voice="alpha")
    assert ids["ask"].session_id in {r.id for r in asks} and all(r.kind == "ask" for r in asks)


@check("show")
def _show(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    turn = ids["ask"]
    assert s.show(turn.id).result.text == ALPHA
    with pytest.raises(NotFoundError):
        s.show(10**9)


@check("search")
def _search(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    result = s.search("bridge rebuilding", mode="fts")
    assert result.hits and all(h.voice == "beta" for h in result.hits)


@check("index")
def _index(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    done = s.index(limit=4)
    assert 0 < done <= 4
    assert s.index(limit=4) <= 4  # resumes where it stopped, never more than asked


@check("near_dups")
def _near_dups(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    spans = s.near_dups(min_words=3)
    assert all(len(set(sp.voices)) >= 2 for sp in spans)  # only spans shared by different voices
    with pytest.raises(UsageError):
        s.near_dups(min_words=2)


@check("origin")
def _origin(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    report = s.origin("the pattern persists", semantic=False)
    assert report.origin is not None and report.origin.place.voice == "alpha"


@check("recall")
def _recall(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    assert any("gap" in f.text for f in s.recall("beta", 3))


@check("verify_quote")
def _verify_quote(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    assert s.verify_quote("alpha", "where the pattern persists", semantic=False).status == "verbatim"
    assert s.verify_quote("alpha", "the shape of the question", semantic=False).status == "someone_else"


@check("analyze")
def _analyze(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    analysis = s.analyze(ids["council"])
    assert {p for pair in analysis.pairs for p in (pair.a, pair.b)} == {"alpha", "beta"}


@check("publish")
def _publish(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    preview = s.publish(ids["council"])  # without confirm=True nothing is sent
    assert preview.status == "preview" and ALPHA in preview.content


@check("send_queue")
def _send_queue(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    report = s.send_queue()  # nothing queued: nothing sent, no key needed
    assert report.sent == [] and report.waiting == []


@check("close")
def _close(s: Symposia, ids: dict[str, Any], tmp: Path) -> None:
    s.close()
    with Symposia(s.archive.path) as again:  # the archive outlives the object
        assert again.show(ids["ask"].id).result.text == ALPHA


def test_every_public_method_has_a_check() -> None:
    assert set(CHECKS) == _public_methods()


def test_the_whole_api_in_one_archive(isolated_user_dirs: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    with FakeServer() as srv:
        fake_config(isolated_user_dirs, srv.openai_base_url, numbered(["alpha", "beta"]))
        srv.default = Reply(text=ALPHA)  # alpha's answer, and beta's once its queue is empty
        ids: dict[str, Any] = {"server": srv}
        s = Symposia(tmp_path / "api.db")
        for fn in CHECKS.values():  # in the order above: later checks read what earlier ones stored
            srv.enqueue(*(Reply(text=BETA) for _ in range(4)), model="fake/beta")
            fn(s, ids, tmp_path)
            srv.reset()


def test_the_package_exports_the_api() -> None:
    assert symposia.Symposia is Symposia and set(symposia.__all__) == {"Symposia", "__version__"}
