"""The LLM-host seed on the web page, in real Chromium: outside-source quotes carry a visible badge, and the
host's drafts — refused ones included — sit behind a closed disclosure, never in the transcript."""

from __future__ import annotations

from pathlib import Path

import pytest

from symposia.api import Symposia, run_sync
from symposia.dialogue.plan import load_plan
from symposia.dialogue.symposium import run_symposium
from symposia.web import create_app
from symposia.web.server import BackgroundServer

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: run scripts/install-browser (Debian's chromium) to run the browser tests",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need the [browser] extra (playwright)")

SEED = Path(__file__).parent / "fixtures" / "seed"


def test_outside_sources_are_badged_and_drafts_are_behind_a_disclosure(isolated_user_dirs: Path,
                                                                       tmp_path: Path) -> None:
    config = isolated_user_dirs / "config" / "config.toml"
    text = (f'[providers.seed]\nkind = "scripted"\noptions = {{ path = "{SEED / "script.toml"}" }}\n'
            f'[providers.host]\nkind = "scripted"\noptions = {{ path = "{SEED / "host_llm.toml"}" }}\n')
    text += "".join(f'\n[voices.{v}]\nprovider = "seed"\n' for v in ("qwen", "grok", "deepseek", "glm47", "kimi"))
    config.write_text(text + '\n[voices.opus]\nprovider = "host"\n', encoding="utf-8")
    db = tmp_path / "w.db"
    with Symposia(db) as s:
        sid = run_sync(run_symposium(s.runtime, load_plan(SEED / "plan_llm.toml"))).session_id
    with BackgroundServer(create_app(db, config)) as web, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(f"{web.url}/session/{sid}")
            badges = page.locator("#transcript sup.badge.outside")
            assert badges.count() >= 8 and badges.first.is_visible()
            assert "outside source" in badges.first.inner_text()
            transcript = page.locator("#transcript").inner_text()
            assert "solipsism. This?" not in transcript and "Synchrony, not solipsism" not in transcript
            assert "Provenance" in transcript
            refused = page.locator("#drafts article.draft-refused").first
            assert not refused.is_visible()  # closed until asked for
            page.locator("#drafts summary").click()
            assert refused.is_visible() and "you wrote" in refused.inner_text()
        finally:
            browser.close()
