"""The Live page follows a session another process runs (the CLI, another machine): every call shows
up as it lands in the archive, and the page ends with the session's status. Real Chromium, real
uvicorn, and a second archive connection playing the other process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from symposia.archive import Archive
from symposia.records import Message, SessionRecord, TurnRecord, TurnRequest, TurnResult, utcnow
from symposia.web import create_app
from symposia.web.server import BackgroundServer

pytestmark = pytest.mark.browser  # drives Chromium: left out of `scripts/test --fast`

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _turn(session_id: str, seq: int, voice: str, text: str) -> TurnRecord:
    now = utcnow()
    return TurnRecord(id=None, session_id=session_id, seq=seq, voice=voice, voice_name=voice.title(),
                      provider="elsewhere", step_key=f"r1:{voice}",
                      request=TurnRequest(model=f"m/{voice}", messages=(Message("user", "What persists?"),)),
                      result=TurnResult(text=text, finish_reason="stop", model_requested=f"m/{voice}",
                                        started_at=now, ended_at=now))


def test_a_session_run_elsewhere_is_watched_as_its_calls_land(browser: Any, isolated_user_dirs: Path,
                                                              tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    other = Archive.open(db)  # "the other process"
    try:
        other.create_session(SessionRecord(id="20261201-120000-council-abcd", kind="council",
                                           title="What persists?", created_at=utcnow()))
        other.add_turn(_turn("20261201-120000-council-abcd", 1, "alpha", "Alpha: the gap is generative."))
        with BackgroundServer(create_app(db, None)) as web:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{web.url}/live")
            link = page.locator("#elsewhere a")
            expect(link).to_have_text("council · What persists?", timeout=30_000)
            link.click()
            expect(page.locator("#live-status")).to_have_attribute("data-status", "running", timeout=30_000)
            expect(page.locator("#panels")).to_contain_text("Alpha: the gap is generative.", timeout=30_000)
            assert "Beta" not in page.locator("#panels").inner_text()
            # The other process stores its next call: the open page shows it without a reload.
            other.add_turn(_turn("20261201-120000-council-abcd", 2, "beta", "Beta: synchrony, not solipsism."))
            expect(page.locator("#panels")).to_contain_text("Beta: synchrony, not solipsism.", timeout=30_000)
            other.set_session_status("20261201-120000-council-abcd", "complete")
            expect(page.locator("#live-status")).to_have_attribute("data-status", "complete", timeout=30_000)
            page.close()
    finally:
        other.close()
