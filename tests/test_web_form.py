"""The New-session form in real Chromium: nothing overflows its column, and voices that cannot run
(no key) are disabled with the reason shown, while usable ones can be ticked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from symposia.testing import FakeServer
from symposia.web import create_app
from symposia.web.server import BackgroundServer

pytestmark = pytest.mark.browser  # drives Chromium: left out of `scripts/test --fast`

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture
def url(isolated_user_dirs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-form-000000")
    with FakeServer() as srv:
        config = isolated_user_dirs / "config" / "config.toml"
        config.write_text(f'[providers.fake]\nkind = "openai"\nbase_url = "{srv.openai_base_url}"\n'
                          'key_env = "FAKE_API_KEY"\n\n[voices.alpha]\nprovider = "fake"\nmodel = "fake/alpha"\n'
                          'name = "Alpha 1"\n', encoding="utf-8")
        with BackgroundServer(create_app(tmp_path / "form.db", config)) as web:
            yield web.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


OVERFLOW = """() => {
  const out = [];
  for (const form of document.querySelectorAll('form.start')) {
    const box = form.getBoundingClientRect();
    for (const el of form.querySelectorAll('select, textarea, input, fieldset, button')) {
      const r = el.getBoundingClientRect();
      if (r.width && (r.right > box.right + 1 || r.left < box.left - 1)) out.push(el.name || el.tagName);
    }
  }
  return {out, scroll: document.documentElement.scrollWidth, view: window.innerWidth};
}"""


@pytest.mark.parametrize("width", [1280, 800, 420])
def test_no_control_leaves_its_form_at_any_width(browser: Any, url: str, width: int, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(f"{url}/new")
        page.screenshot(path=str(tmp_path / f"new-{width}.png"), full_page=True)
        found = page.evaluate(OVERFLOW)
        assert found["out"] == [], f"controls wider than their form at {width}px: {found['out']}"
        assert found["scroll"] <= found["view"], f"the page scrolls sideways at {width}px"
    finally:
        page.close()


def test_keyless_voices_are_disabled_with_the_reason(browser: Any, url: str) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{url}/new")
        alpha = page.locator('#council-form input[name=voices][value=alpha]')
        qwen = page.locator('#council-form input[name=voices][value=qwen]')
        assert alpha.is_enabled() and not qwen.is_enabled()
        label = page.locator('#council-form label:has(input[value=qwen])').inner_text()
        assert "OPENROUTER_API_KEY not set" in label
        assert page.locator('#ask-form option[value=qwen]').get_attribute("disabled") is not None
        assert page.locator('#ask-form option[value=alpha]').get_attribute("disabled") is None
        alpha.check()
        assert alpha.is_checked()
    finally:
        page.close()


@pytest.fixture
def two_voices(isolated_user_dirs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from symposia.testing import Reply

    monkeypatch.setenv("FAKE_API_KEY", "k-fake-form-000000")
    with FakeServer() as srv:
        srv.default = Reply(text="A **considered** reply.")
        config = isolated_user_dirs / "config" / "config.toml"
        text = f'[providers.fake]\nkind = "openai"\nbase_url = "{srv.openai_base_url}"\nkey_env = "FAKE_API_KEY"\n'
        for v in ("alpha", "beta"):
            text += f'\n[voices.{v}]\nprovider = "fake"\nmodel = "fake/{v}"\nname = "{v.title()} 1"\n'
        config.write_text(text, encoding="utf-8")
        with BackgroundServer(create_app(tmp_path / "form.db", config)) as web:
            yield web.url


def test_an_arena_starts_from_the_page(browser: Any, two_voices: str) -> None:
    page = browser.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{two_voices}/new")
        form = page.locator("#arena-form")
        form.locator("textarea[name=topic]").fill("Is convergence evidence of anything?")
        form.locator("select[name=voice_a]").select_option("alpha")
        form.locator("select[name=voice_b]").select_option("beta")
        form.locator("select[name=mode]").select_option("debate")
        form.locator("input[name=turns]").fill("2")
        form.locator("button").click()
        page.wait_for_url("**/live/**")
        # Playwright's expect() polls from outside the page: no page-side eval, which the CSP forbids.
        expect(page.locator("#live-status")).to_have_attribute("data-status", "complete", timeout=30_000)
        assert page.locator("#panels .panel, #panels > *").count() == 2
        # Finished answers are the model's Markdown rendered (and sanitised on the server).
        assert page.locator("#panels strong", has_text="considered").count() == 2
    finally:
        page.close()


PLAN = '''title = "A small symposium"
voices = ["alpha", "beta"]
[host]
mode = "plan"
name = "The Host"
[[steps]]
id = "ask-alpha"
kind = "ask"
voice = "alpha"
question = "What persists?"
[[steps]]
id = "ask-beta"
kind = "ask"
voice = "beta"
question = "And for you?"
'''


def test_a_symposium_starts_from_a_pasted_plan_and_a_bad_plan_says_where(browser: Any, two_voices: str) -> None:
    page = browser.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{two_voices}/new")
        page.locator("#symposium-form textarea[name=plan]").fill(PLAN.replace('voice = "beta"', 'voice = "nobody"'))
        page.locator("#symposium-form button").click()
        problem = page.locator("#problem").inner_text()
        assert "nobody" in problem
        # The plan the user typed is kept in the form to fix.
        assert "nobody" in page.locator("#symposium-form textarea[name=plan]").input_value()
        page.locator("#symposium-form textarea[name=plan]").fill(PLAN)
        page.locator("#symposium-form button").click()
        page.wait_for_url("**/live/**")
        expect(page.locator("#live-status")).to_have_attribute("data-status", "complete", timeout=30_000)
        assert "considered" in page.locator("#panels").inner_text()
    finally:
        page.close()
