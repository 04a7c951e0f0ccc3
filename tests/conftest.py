"""Every test runs with its own config dir, data dir and archive, and no real API key in sight."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

PLANTED = "sk-or-v1-PLANTEDPLANTEDPLANTED0000"


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "user"
    (home / "config").mkdir(parents=True)
    (home / "data").mkdir(parents=True)
    monkeypatch.setenv("SYMPOSIA_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("SYMPOSIA_DATA_DIR", str(home / "data"))
    monkeypatch.delenv("SYMPOSIA_ARCHIVE", raising=False)
    for var in list(os.environ):
        if var.endswith("_API_KEY"):
            monkeypatch.delenv(var, raising=False)
    yield home


# CI installs everything and starts every server, so there a skipped test is a failure in disguise:
# with SYMPOSIA_NO_SKIPS=1 (set by ./scripts/test) any skip, at collection or in a test, fails the run.
NO_SKIPS = os.environ.get("SYMPOSIA_NO_SKIPS") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if NO_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, and SYMPOSIA_NO_SKIPS=1 forbids skips: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if NO_SKIPS and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"module skipped, and SYMPOSIA_NO_SKIPS=1 forbids skips: {report.longrepr}"
