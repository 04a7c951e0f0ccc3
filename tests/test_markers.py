"""`scripts/test --fast` leaves out tests by marker; a browser test without its marker would slip into the
inner loop (and fail where no Chromium is installed). Every module that drives Playwright is marked."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).parent


def test_every_playwright_module_is_marked_browser() -> None:
    unmarked = [p.name for p in sorted(TESTS.glob("test_*.py"))
                if "playwright" in (text := p.read_text(encoding="utf-8")) and p.name != Path(__file__).name
                and "pytestmark = pytest.mark.browser" not in text]
    assert unmarked == []
