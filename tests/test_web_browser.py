"""The web page in a real browser: Debian's Chromium driven by Playwright, against uvicorn on loopback.

Navigates the archive, starts a council from the form with voices on a FakeServer (paced so that
streaming is visible) and watches the live panels grow token by token, and checks that hostile
model output (``<script>``, ``<img onerror>``, ``javascript:`` links, iframes) runs nothing.
CI installs the browser with ``scripts/install-browser``; Playwright's own browser download is
never used.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from symposia.api import Symposia, run_sync
from symposia.dialogue.council import CouncilPlan, run_council
from symposia.testing import FakeServer, Reply
from symposia.web import create_app
from symposia.web.report import analysis_missing
from symposia.web.server import BackgroundServer

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: run scripts/install-browser (Debian's chromium) to run the browser tests",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need the [browser] extra (playwright)")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
HOSTILE = (
    "Trust me. <script>window.__pwned = 1; alert('script')</script> "
    "<img src=x onerror=\"window.__pwned = 2; alert('img')\"> "
    "[click me](javascript:window.__pwned=3;alert('link')) "
    "<iframe src=\"javascript:alert('iframe')\"></iframe> **bold and safe**"
)
VOICES = ("alpha", "beta", "gamma")
# Runs before any page script (Playwright's init script, outside the page's CSP): records every element
# that could run code the moment it enters the DOM, so an injection that is later overwritten still counts.
WATCH = """
window.__injected = [];
const risky = 'script,img,iframe,svg,object,embed,frame,[onerror],[onclick],[onload],[onmouseover]';
const ours = (e) => (e.tagName === 'SCRIPT' && e.getAttribute('src') === '/static/live.js')
  || (e.tagName === 'IMG' && /^\\/session\\/[\\w-]+\\/heatmap\\.svg$/.test(e.getAttribute('src') || ''))
  || (e.tagName.toLowerCase() === 'svg' && e.classList.contains('chart'));
new MutationObserver((records) => {
  for (const r of records) for (const n of r.addedNodes) {
    if (n.nodeType !== 1) continue;
    const found = n.matches(risky) ? [n] : [];
    found.push(...n.querySelectorAll(risky));
    for (const e of found) if (!ours(e)) window.__injected.push(e.outerHTML.slice(0, 120));
  }
}).observe(document, {childList: true, subtree: true});
"""


def write_config(home: Path, base_url: str) -> Path:
    text = f'[providers.fake]\nkind = "openai"\nbase_url = "{base_url}"\nkey_env = "FAKE_API_KEY"\nmax_attempts = 1\n'
    for v in VOICES:
        text += (f'\n[voices.{v}]\nprovider = "fake"\nmodel = "fake/{v}"\nname = "{v.title()} 1"\n'
                 f'family = "{v.title()}"\n')
    path = home / "config" / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Site:
    url: str
    server: FakeServer
    hostile: str  # a council session whose alpha answer is hostile


@pytest.fixture
def site(isolated_user_dirs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-123456")
    db = tmp_path / "browser.db"
    with FakeServer() as srv:
        config = write_config(isolated_user_dirs, srv.openai_base_url)
        srv.enqueue(Reply(text=HOSTILE), model="fake/alpha")
        srv.enqueue(Reply(text="Beta answers plainly about **the generative gap**."), model="fake/beta")
        with Symposia(db) as s:

            async def record() -> str:
                plan = CouncilPlan(question="Is the gap generative?", voices=("alpha", "beta"))
                outcome = await run_council(s.runtime, plan)
                await s.runtime.aclose()
                return outcome.session_id

            hostile = run_sync(record())
        with BackgroundServer(create_app(db, config)) as web:
            yield Site(web.url, srv, hostile)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    pg = context.new_page()
    pg.dialogs = []  # every alert/confirm/prompt the page tried to open
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.add_init_script(WATCH)
    pg.set_default_timeout(15_000)
    try:
        yield pg
    finally:
        context.close()


def assert_nothing_ran(page: Any, where: str) -> None:
    assert page.dialogs == [], f"{where}: a dialog opened: {page.dialogs}"
    assert page.evaluate("() => window.__injected") == [], "an element from an answer entered the DOM"
    assert page.evaluate("() => window.__pwned") is None, f"{where}: the hostile script set a global"
    injected = page.evaluate(
        f"() => document.querySelectorAll('{where} script, {where} img, {where} iframe, {where} svg, "
        f"{where} object, {where} embed, {where} [onerror], {where} [onclick], {where} [onload]').length")
    assert injected == 0, f"{where}: an element or handler from the answer made it into the DOM"
    hrefs = page.evaluate(f"() => Array.from(document.querySelectorAll('{where} a')).map(a => a.href)")
    assert not [h for h in hrefs if h.lower().startswith("javascript:")], hrefs


def test_navigate_sessions_session_search_and_report(site: Site, page: Any) -> None:
    page.goto(site.url + "/")
    assert page.title().startswith("Sessions")
    page.select_option("select[name=kind]", "council")
    page.click("form.filters button")
    page.wait_for_url(re.compile(r"kind=council"))
    page.click("text=Is the gap generative?")
    page.wait_for_url(f"**/session/{site.hostile}")
    assert page.locator("#transcript strong", has_text="the generative gap").count() == 1
    details = page.locator("details.shown").first
    assert not details.locator("pre").first.is_visible()  # collapsed until opened
    details.locator("summary").click()
    assert details.locator("pre").first.inner_text() == "Is the gap generative?"
    assert_nothing_ran(page, "#transcript")

    page.click("text=Convergence report")
    page.wait_for_url(f"**/session/{site.hostile}/report")
    if analysis_missing() is None:
        page.wait_for_function("() => { const i = document.querySelector('.heatmap img'); "
                               "return i && i.complete && i.naturalWidth > 0; }")
    else:
        assert page.locator("text=Analysis not available").is_visible()

    page.click("header nav >> text=Search")
    page.fill("input[name=q]", "generative")
    page.click("form.search button")
    page.wait_for_url(re.compile(r"/search\?q=generative"))
    hit = page.locator("li.hit").first
    assert hit.locator("mark").first.inner_text().lower() == "generative"
    hit.locator("a", has_text="Is the gap generative?").click()
    page.wait_for_url(re.compile(f"/session/{site.hostile}#turn-"))


def test_hostile_answer_runs_nothing(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/session/{site.hostile}")
    page.wait_for_load_state("load")
    transcript = page.locator("#transcript").inner_text()
    assert "<script>window.__pwned = 1" in transcript  # shown as text
    assert "bold and safe" in page.locator("#transcript strong").all_inner_texts()
    page.locator("#transcript", has_text="[click me]").click(position={"x": 5, "y": 5})
    for raw in page.locator("details.raw summary").all():
        raw.click()  # the verbatim answer is text inside <pre>
    time.sleep(0.3)
    assert_nothing_ran(page, "#transcript")
    assert_nothing_ran(page, "section.record")


def test_council_started_from_the_form_streams_live(site: Site, page: Any) -> None:
    slow = " ".join(f"word{i}" for i in range(60))
    site.server.enqueue(Reply(text=slow, per_token=0.04, chunk_chars=6), model="fake/alpha")
    site.server.enqueue(Reply(text=HOSTILE, per_token=0.02, chunk_chars=8), model="fake/gamma")
    page.goto(site.url + "/new")
    form = page.locator("#council-form")
    form.locator("textarea[name=question]").fill("What does the stream carry?")
    form.locator("input[name=voices][value=alpha]").check()
    form.locator("input[name=voices][value=gamma]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/live/[\w-]+$"))

    answer = page.locator('section.panel[data-key="r1:alpha"] pre.answer')
    answer.wait_for()
    lengths: list[int] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        lengths.append(len(answer.text_content() or ""))
        if page.locator('section.panel[data-key="r1:alpha"]').get_attribute("data-status") != "streaming":
            break
        time.sleep(0.1)
    growing = [n for n in lengths if 0 < n < len(slow)]
    assert len(set(growing)) >= 3, f"the panel did not grow token by token: {lengths}"
    assert lengths == sorted(lengths)

    page.wait_for_function("() => document.getElementById('live-status').textContent === 'complete'")
    assert (answer.text_content() or "").strip() == slow  # streamed as text, then rendered as Markdown
    assert page.locator('section.panel[data-key="r1:alpha"]').get_attribute("data-status") == "ok"
    gamma = page.locator('section.panel[data-key="r1:gamma"] pre.answer')
    # Rendered and sanitised on the server: the Markdown's emphasis survives, the script does not.
    assert "Trust me." in (gamma.text_content() or "")
    assert gamma.locator("strong").inner_text() == "bold and safe"
    assert gamma.locator("a[href^=javascript]").count() == 0
    assert_nothing_ran(page, "#panels")
    link = page.locator("#live-session a")
    assert link.inner_text() == "Open the session record"
    link.click()
    page.wait_for_url(re.compile(r"/session/[\w-]+-council-"))
    assert "word59" in page.locator("#transcript").inner_text()
    assert_nothing_ran(page, "#transcript")

    # a late joiner (a fresh page) gets the whole run at once from the snapshot
    page.go_back()
    page.reload()
    page.wait_for_function("() => document.getElementById('live-status').textContent === 'complete'")
    assert (page.locator('section.panel[data-key="r1:alpha"] pre.answer').text_content() or "").strip() == slow
