"""The web page, server side: pages, filters, exports, security headers, hostile answers, live sessions.

Real parts throughout: a FakeServer on loopback speaking the OpenAI wire, a real SQLite archive,
sessions recorded through the Python API, the app through Starlette's TestClient (and through
uvicorn on a loopback port where a stream must be read while it is still running).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.testclient import TestClient

from support import fake_config, numbered
from symposia.api import Symposia, run_sync
from symposia.cli.main import cli
from symposia.dialogue.council import CouncilPlan, run_council
from symposia.records import SessionRecord, utcnow
from symposia.testing import FakeServer, Fault, Reply
from symposia.web import create_app
from symposia.web.live import LiveRun
from symposia.web.report import analysis_missing
from symposia.web.security import CONTENT_SECURITY_POLICY
from symposia.web.server import BackgroundServer, free_port
from symposia.web.state import WebState

HOSTILE = (
    "Before <script>window.__pwned = 1; alert(1)</script> then <img src=x onerror=alert(1)> and "
    "[x](javascript:alert(1)) and [y](JAVASCRIPT:window.__pwned=3) and "
    '<iframe src="https://example.invalid/"></iframe> and <a href="javascript:alert(2)" onclick="alert(3)">a</a> '
    "and **<svg onload=alert(4)>bold</svg>** end."
)
BETA = "Beta says **the gap is generative** and that synchrony is not solipsism."
VOICES = ("alpha", "beta", "gamma")


def write_config(home: Path, base_url: str) -> Path:
    return fake_config(home, base_url, numbered(VOICES), max_attempts=1)


@dataclass
class World:
    db: Path
    server: FakeServer
    council: str
    ask_truncated: str
    ask_failed: str


@pytest.fixture
def world(isolated_user_dirs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """An archive with a council (one hostile answer), a truncated ask, a failed ask and a host note."""
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    db = tmp_path / "web.db"
    with FakeServer() as srv:
        write_config(isolated_user_dirs, srv.openai_base_url)
        srv.enqueue(Reply(text=HOSTILE, cost=0.002), model="fake/alpha")
        srv.enqueue(Reply(text=BETA, cost=0.01), model="fake/beta")
        srv.enqueue(Reply(text="Gamma begins a long thought and", finish_reason="length"), model="fake/gamma")
        srv.enqueue(Reply(fault=Fault("http_400", message="the fake rejects this request")), model="fake/beta")
        with Symposia(db) as s:

            async def record() -> tuple[str, str, str]:
                council = await run_council(s.runtime, CouncilPlan(question="What persists?", voices=("alpha", "beta")))
                s.runtime.record_host(council.session_id, "Both voices reach for the gap.", kind="observation",
                                      step_key="obs-1", host_name="Host")
                truncated = await s.ask_async("gamma", "Say something long")
                failed = await s.ask_async("beta", "Fail please")
                await s.runtime.aclose()  # in the loop its HTTP clients belong to
                return council.session_id, truncated.session_id, failed.session_id

            council, truncated, failed = run_sync(record())
        yield World(db, srv, council, truncated, failed)


def client_for(db: Path, config: Path | None = None) -> TestClient:
    return TestClient(create_app(db, config), base_url="http://127.0.0.1")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def dangerous(html: str) -> list[str]:
    """Everything in the page that could run script: script/iframe/img/svg elements (but our own static
    script, chart and heatmap), on* attributes, javascript:/data:/vbscript: URLs."""
    parser = _Tags()
    parser.feed(html)
    bad: list[str] = []
    for tag, attrs in parser.tags:
        ours = (tag == "script" and attrs.get("src") == "/static/live.js") or (
            tag == "svg" and attrs.get("class") == "chart") or (  # the voice page's own bar chart
            tag == "img" and re.fullmatch(r"/session/[\w-]+/heatmap\.svg", attrs.get("src") or "") is not None)
        if tag in ("script", "iframe", "img", "svg", "object", "embed", "frame") and not ours:
            bad.append(f"<{tag}>")
        for name, value in attrs.items():
            if name.startswith("on"):
                bad.append(f"{tag}[{name}]")
            if name in ("href", "src", "action", "formaction") and value and \
                    re.sub(r"\s", "", value).lower().startswith(("javascript:", "data:", "vbscript:")):
                bad.append(f"{tag}[{name}={value}]")
    return bad


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "the form carries no CSRF token"
    return m.group(1)


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[int | None, str, dict[str, object]]]:
    """(id, event, data) for each SSE message (comments and retry lines skipped)."""
    ev_id: int | None = None
    name = "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield ev_id, name, json.loads("\n".join(data))
            ev_id, name, data = None, "message", []
        elif line.startswith("id:"):
            ev_id = int(line[3:].strip())
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


# -- pages -----------------------------------------------------------------------------------------


def test_sessions_list_shows_kind_voices_cost_status_and_filters(world: World) -> None:
    with client_for(world.db) as c:
        page = c.get("/")
        assert page.status_code == 200
        html = page.text
        for sid in (world.council, world.ask_truncated, world.ask_failed):
            assert f'href="/session/{sid}"' in html
        row = html[html.index(f'href="/session/{world.council}"'):]
        row = row[:row.index("</tr>")]
        assert 'href="/voice/alpha"' in row and 'href="/voice/beta"' in row
        assert "$0.0120" in row and "complete" in row  # 0.002 + 0.01, as reported
        assert "failed" in html  # the failed ask

        councils = c.get("/", params={"kind": "council"}).text
        assert world.council in councils and world.ask_truncated not in councils
        gammas = c.get("/", params={"voice": "gamma"}).text
        assert world.ask_truncated in gammas and world.council not in gammas
        texts = c.get("/", params={"q": "synchrony"}).text  # found in an answer, not the title
        assert world.council in texts and world.ask_failed not in texts
        none = c.get("/", params={"q": "100%_no_such"}).text  # LIKE wildcards are taken literally
        assert "0 sessions" in none
        failed = c.get("/", params={"status": "failed"}).text
        assert world.ask_failed in failed and world.council not in failed


def test_sessions_list_paginates(world: World) -> None:
    with Symposia(world.db) as s:
        for i in range(60):
            s.archive.create_session(SessionRecord(id=f"20200101-0000{i:02d}-ask-pg{i:02d}", kind="ask",
                                                   title=f"filler {i}", created_at=utcnow()))
    with client_for(world.db) as c:
        first = c.get("/").text
        assert "63 sessions" in first and "page 1 of 2" in first
        assert 'rel="next" href="?page=2"' in first
        second = c.get("/", params={"page": "2"}).text
        ids = set(re.findall(r'href="/session/([^"#/]+)"', first))
        ids2 = set(re.findall(r'href="/session/([^"#/]+)"', second))
        assert len(ids) == 50 and len(ids2) == 13 and not ids & ids2
        filtered = c.get("/", params={"kind": "ask", "page": "2"}).text
        assert 'href="?kind=ask&amp;page=1"' in filtered  # the filters survive paging


def test_session_page_shows_transcript_and_the_record_of_every_turn(world: World) -> None:
    with client_for(world.db) as c:
        html = c.get(f"/session/{world.council}").text
        assert "What persists?" in html
        assert "<strong>the gap is generative</strong>" in html  # Markdown rendered
        assert "<details class=\"shown\">" in html and "What Alpha 1 was shown" in html
        assert "<h4>user</h4><pre>What persists?</pre>" in html
        assert "$0.0100" in html and "finish" in html.lower() and "fake/beta" in html
        assert f'href="/session/{world.council}/export.md"' in html
        assert f'href="/session/{world.council}/export.json"' in html
        assert f'href="/session/{world.council}/report"' in html
        truncated = c.get(f"/session/{world.ask_truncated}").text
        assert "truncated" in truncated and "length" in truncated
        failed = c.get(f"/session/{world.ask_failed}").text
        assert "the fake rejects this request" in failed and "HTTP 400" in failed
        # an id prefix redirects to the full id; an unknown one is a 404 with a message
        short = c.get(f"/session/{world.council[:-2]}", follow_redirects=False)
        assert short.status_code == 307 and short.headers["location"] == f"/session/{world.council}"
        missing = c.get("/session/nope-nope")
        assert missing.status_code == 404 and "no session with id" in missing.text


def test_exports_are_exactly_what_symposia_export_prints(world: World) -> None:
    runner = CliRunner()
    with client_for(world.db) as c:
        for sid in (world.council, world.ask_failed):
            for fmt in ("md", "json"):
                res = runner.invoke(cli, ["--archive", str(world.db), "export", sid, "-f", fmt])
                assert res.exit_code == 0, res.output
                got = c.get(f"/session/{sid}/export.{fmt}")
                assert got.status_code == 200
                assert got.text == res.stdout
                assert got.headers["content-type"].startswith("application/json" if fmt == "json" else "text/markdown")
        assert json.loads(c.get(f"/session/{world.council}/export.json").text)["session"]["id"] == world.council


def test_every_page_sends_csp_and_nosniff(world: World) -> None:
    with client_for(world.db) as c:
        for url in ("/", f"/session/{world.council}", "/search?q=gap", "/voice/beta", "/new", "/live",
                    "/static/style.css", "/session/nope"):
            r = c.get(url)
            assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, url
            assert "script-src 'self'" in r.headers["content-security-policy"]
            assert "unsafe-inline" not in r.headers["content-security-policy"]
            assert r.headers["x-content-type-options"] == "nosniff", url
            assert r.headers["x-frame-options"] == "DENY"


def test_hostile_answers_are_neutralised_in_every_page(world: World) -> None:
    with client_for(world.db) as c:
        pages = {
            "session": c.get(f"/session/{world.council}").text,
            "search": c.get("/search", params={"q": "Before"}).text,
            "voice": c.get("/voice/alpha").text,
            "list": c.get("/", params={"q": "script"}).text,
        }
        for name, html in pages.items():
            assert dangerous(html) == [], name
        session = pages["session"]
        # shown as text, not dropped and not run
        assert "&lt;script&gt;window.__pwned = 1; alert(1)&lt;/script&gt;" in session
        assert "&lt;img src=x onerror=alert(1)&gt;" in session
        assert "&lt;iframe" in session
        assert not re.search(r"<a\s[^>]*href=\"\s*javascript", session, re.IGNORECASE)
        assert "Before" in pages["search"] and "alpha" in pages["search"]


def test_host_header_must_be_loopback(world: World) -> None:
    app = create_app(world.db)
    with TestClient(app, base_url="http://evil.example") as c:
        assert c.get("/").status_code == 400  # DNS rebinding: a foreign name pointing at 127.0.0.1
    with TestClient(app, base_url="http://localhost:8765") as c:
        assert c.get("/").status_code == 200


# -- search, voices, report ----------------------------------------------------------------------------


def test_search_with_filters(world: World) -> None:
    with client_for(world.db) as c:
        found = c.get("/search", params={"q": "generative"}).text
        assert f'/session/{world.council}#turn-' in found and "<mark>generative</mark>" in found
        assert "1 matching turn, 1 shown" in found
        assert "Nothing found" in c.get("/search", params={"q": "generative", "voice": "alpha"}).text
        assert "1 matching turn, 1 shown" in c.get("/search", params={"q": "generative", "voice": "beta"}).text
        host = c.get("/search", params={"q": "gap", "role": "host"}).text
        assert "1 matching turn, 1 shown" in host
        assert "Both voices reach for" in host.replace("<mark>", "").replace("</mark>", "")
        voice_only = c.get("/search", params={"q": "gap", "role": "voice"}).text
        assert "Both voices reach" not in voice_only
        assert "Nothing found" in c.get("/search", params={"q": "generative", "until": "2000-01-01"}).text
        assert "1 matching turn, 1 shown" in c.get("/search", params={"q": "generative", "since": "2000-01-01"}).text
        bad = c.get("/search", params={"q": "gap", "since": "yesterday"})
        assert bad.status_code == 400 and "cannot read" in bad.text
        form = c.get("/search").text
        for field in ('name="q"', 'name="voice"', 'name="role"', 'name="since"', 'name="until"', 'name="semantic"'):
            assert field in form


def test_voice_page_turns_over_time_and_formulations(world: World) -> None:
    with client_for(world.db) as c:
        r = c.get("/voice/beta")
        assert r.status_code == 200
        html = r.text
        assert "Beta 1" in html and "fake/beta" in html
        assert "Turns (2)" in html  # the council answer and the failed ask
        month = time.strftime("%Y-%m", time.gmtime())
        assert f"<td>{month}</td>" in html and '<rect x="0.0"' in html
        assert "the gap is generative" in html  # recalled (a bold span of its answer)
        assert c.get("/voice/nobody").status_code == 404


def test_report_page_renders_the_analysis_or_says_it_is_unavailable(world: World,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with client_for(world.db) as c:
        if analysis_missing() is None:
            r = c.get(f"/session/{world.council}/report")
            assert r.status_code == 200, r.text
            assert f'src="/session/{world.council}/heatmap.svg"' in r.text
            assert dangerous(r.text) == []
            svg = c.get(f"/session/{world.council}/heatmap.svg")
            assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
            assert svg.text.lstrip().startswith("<svg") and "<script" not in svg.text
        monkeypatch.setitem(sys.modules, "symposia.analysis", None)  # as if the package were not installed
        r = c.get(f"/session/{world.council}/report")
        assert r.status_code == 501 and "Analysis not available" in r.text


# -- starting sessions and watching them live ----------------------------------------------------------


def test_start_forms_need_the_csrf_token(world: World, isolated_user_dirs: Path) -> None:
    config = isolated_user_dirs / "config" / "config.toml"
    with client_for(world.db, config) as c:
        form = c.get("/new")
        assert 'name="csrf_token"' in form.text and "symposia_csrf" in form.headers["set-cookie"]
        assert "Alpha 1" in form.text
        r = c.post("/new/council", data={"question": "q", "voices": ["alpha"]}, follow_redirects=False)
        assert r.status_code == 403
        r = c.post("/new/council", data={"question": "q", "voices": ["alpha"], "csrf_token": "forged.deadbeef"},
                   follow_redirects=False)
        assert r.status_code == 403
        # a token from another browser (cookie mismatch) is refused too
        other = client_for(world.db, config)
        stolen = csrf_token(other.get("/new").text)
        r = c.post("/new/council", data={"question": "q", "voices": ["alpha"], "csrf_token": stolen},
                   follow_redirects=False)
        assert r.status_code == 403
        assert world.server.request_count == 4  # nothing was called


def test_form_problems_are_shown(world: World, isolated_user_dirs: Path) -> None:
    config = isolated_user_dirs / "config" / "config.toml"
    with client_for(world.db, config) as c:
        token = csrf_token(c.get("/new").text)
        r = c.post("/new/council", data={"question": "  ", "voices": ["alpha"], "csrf_token": token})
        assert r.status_code == 400 and "the question is empty" in r.text
        r = c.post("/new/council", data={"question": "q", "csrf_token": token})
        assert r.status_code == 400 and "name the voices" in r.text
        r = c.post("/new/council", data={"question": "q", "voices": ["alpah"], "csrf_token": token})
        assert r.status_code == 400 and "alpha" in r.text  # unknown voice, with a suggestion
        r = c.post("/new/council", data={"question": "q", "voices": ["alpha"], "rounds": "99", "csrf_token": token})
        assert r.status_code == 400 and "rounds must be between 1 and 10" in r.text


def test_council_from_the_form_streams_every_chunk_then_ends(world: World, isolated_user_dirs: Path) -> None:
    world.server.enqueue(Reply(text="Alpha streams its answer in many small pieces.", chunk_chars=4),
                         model="fake/alpha")
    world.server.enqueue(Reply(text="Gamma answers too, <b>not bold</b>.", chunk_chars=5), model="fake/gamma")
    config = isolated_user_dirs / "config" / "config.toml"
    with client_for(world.db, config) as c:
        token = csrf_token(c.get("/new").text)
        r = c.post("/new/council", data={"question": "What is play?", "voices": ["alpha", "gamma"],
                                         "rounds": "1", "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303
        live_url = r.headers["location"]
        assert re.fullmatch(r"/live/[\w-]+", live_url)
        page = c.get(live_url)
        assert page.status_code == 200 and 'src="/static/live.js"' in page.text
        assert dangerous(page.text) == []
        # Last-Event-ID -1: the whole log from its first event (what a client that saw nothing is owed)
        with c.stream("GET", live_url + "/events", headers={"Last-Event-ID": "-1"}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = list(parse_sse(stream.iter_lines()))
        # a plain late joiner after the end: one snapshot holding everything, then the stream closes
        with c.stream("GET", live_url + "/events") as stream:
            late = list(parse_sse(stream.iter_lines()))
    names = [e[1] for e in events]
    assert names[0] == "note" and names[-1] == "end"
    assert [e[1] for e in late] == ["snapshot"]
    snap = late[0][2]
    assert snap["status"] == "complete" and isinstance(snap["panels"], list)
    assert {str(p["key"]): p["text"] for p in snap["panels"]} == {
        "r1:alpha": "Alpha streams its answer in many small pieces.", "r1:gamma": "Gamma answers too, <b>not bold</b>."}
    chunks: dict[str, str] = {}
    for _, name, data in events:
        if name == "chunk":
            chunks[str(data["key"])] = chunks.get(str(data["key"]), "") + str(data["text"])
    assert chunks["r1:alpha"] == "Alpha streams its answer in many small pieces."
    assert chunks["r1:gamma"] == "Gamma answers too, <b>not bold</b>."
    assert sum(1 for e in events if e[1] == "chunk") >= 8  # one event per chunk, not one per answer
    assert [e[0] for e in events] == list(range(len(events)))
    end = events[-1][2]
    assert end["status"] == "complete"
    with Symposia(world.db) as s:
        session = s.archive.get_session(str(end["session_id"]))
        assert session.kind == "council" and session.status == "complete"
        assert {t.voice for t in s.archive.session_turns(session.id)} == {"alpha", "gamma"}


def test_ask_from_the_form(world: World, isolated_user_dirs: Path) -> None:
    world.server.enqueue(Reply(text="One voice answers."), model="fake/gamma")
    config = isolated_user_dirs / "config" / "config.toml"
    with client_for(world.db, config) as c:
        token = csrf_token(c.get("/new").text)
        r = c.post("/new/ask", data={"voice": "gamma", "question": "Who?", "csrf_token": token},
                   follow_redirects=False)
        assert r.status_code == 303
        with c.stream("GET", r.headers["location"] + "/events", headers={"Last-Event-ID": "-1"}) as stream:
            events = list(parse_sse(stream.iter_lines()))
        end = events[-1][2]
        assert events[-1][1] == "end" and end["status"] == "complete"
        assert "".join(str(d["text"]) for _, n, d in events if n == "chunk") == "One voice answers."
        html = c.get(f"/session/{end['session_id']}").text
        assert "One voice answers." in html and "ask" in html


def _live_run(app: Starlette, run_id: str) -> LiveRun:
    state: WebState = app.state.web
    run = state.live.get(run_id)
    assert run is not None
    return run


def test_late_joiner_gets_what_streamed_so_far_and_a_reconnect_resumes(world: World,
                                                                       isolated_user_dirs: Path) -> None:
    text = "".join(f"w{i:02d} " for i in range(40))
    world.server.enqueue(Reply(text=text, chunk_chars=4, per_token=0.03), model="fake/alpha")
    config = isolated_user_dirs / "config" / "config.toml"
    app = create_app(world.db, config)
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=20) as http:
        token = csrf_token(http.get("/new").text)
        r = http.post("/new/council", data={"question": "Slowly?", "voices": ["alpha"], "csrf_token": token})
        assert r.status_code == 303
        run_id = r.headers["location"].rsplit("/", 1)[1]
        run = _live_run(app, run_id)
        deadline = time.monotonic() + 10
        while sum(1 for n, _ in run.log if n == "chunk") < 5:
            assert time.monotonic() < deadline, "the fake server never streamed"
            time.sleep(0.01)
        with http.stream("GET", f"/live/{run_id}/events") as stream:
            events = list(parse_sse(stream.iter_lines()))
        snap_id, first, snapshot = events[0]
        assert first == "snapshot"
        panels = snapshot["panels"]
        assert isinstance(panels, list) and len(panels) == 1
        so_far = str(panels[0]["text"])
        assert so_far and text.startswith(so_far) and so_far != text  # joined mid-stream
        rest = "".join(str(d["text"]) for _, n, d in events[1:] if n == "chunk")
        assert so_far + rest == text  # nothing lost, nothing doubled
        assert events[-1][1] == "end"
        assert snap_id is not None and events[1][0] == snap_id + 1

        # a reconnect with Last-Event-ID gets exactly the events after it, from the log
        with http.stream("GET", f"/live/{run_id}/events", headers={"Last-Event-ID": "3"}) as stream:
            again = list(parse_sse(stream.iter_lines()))
        assert again[0][0] == 4 and again[0][1] == run.log[4][0]
        assert [e[1] for e in again] == [n for n, _ in run.log[4:]]
        # the late page itself shows the text so far, server-rendered
        assert text[:20] in http.get(f"/live/{run_id}").text


def test_serve_binds_loopback_by_default_and_warns_loudly_otherwise(tmp_path: Path) -> None:
    port = free_port()
    script = ("from symposia.cli.main import cli; from symposia.cli.serve import serve_cmd; "
              "cli.add_command(serve_cmd); cli(prog_name='symposia')")
    proc = subprocess.Popen([sys.executable, "-c", script, "--archive", str(tmp_path / "s.db"), "serve",
                             "--host", "0.0.0.0", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "symposia serve did not start"
                time.sleep(0.1)
        assert r.status_code == 200  # any Host is accepted once the user chose a public address
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert "WARNING" in stderr and "not on loopback" in stderr


# -- the sanitiser on its own ----------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<javascript:alert(1)>",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "![x](javascript:alert(1))",
    "![x](https://tracker.example/pixel.png)",
    '<iframe src="https://example.invalid/"></iframe>',
    '<a href="javascript:alert(1)">a</a>',
    '<div onmouseover="alert(1)">hover</div>',
    "<svg><script>alert(1)</script></svg>",
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | [y](javascript:alert(1)) |",
    "```html\n<script>alert(1)</script>\n```",
])
def test_sanitiser_neutralises(hostile: str) -> None:
    from symposia.web.sanitize import markdown_to_html

    html = str(markdown_to_html(hostile))
    assert dangerous(html) == [], html
    assert "<script" not in html.lower() and "<iframe" not in html.lower() and "<img" not in html.lower()


def test_sanitiser_keeps_what_a_transcript_needs() -> None:
    from symposia.web.sanitize import markdown_to_html

    md = ("## Round 1\n\n> **Qwen:** the offering burns *as* the altar\n\n| Source | Formulation |\n|---|---|\n"
          "| Qwen | line one<br>line two |\n\n1. first\n2. [a link](https://example.org/x)\n\n`code` ~~gone~~")
    html = str(markdown_to_html(md))
    for part in ("<h2>Round 1</h2>", "<blockquote>", "<strong>Qwen:</strong>", "<em>as</em>", "<table>",
                 "line one<br>line two", "<ol>", '<a href="https://example.org/x" rel="noopener noreferrer nofollow">',
                 "<code>code</code>", "<s>gone</s>"):
        assert part in html, part
