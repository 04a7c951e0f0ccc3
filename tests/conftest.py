"""Every test runs with its own config dir, data dir and archive, and no real API key in sight."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from symposia.testing.postgres import TempCluster, create_database, pg_bin

# Property tests explore new examples on every developer run; CI (HYPOTHESIS_PROFILE=ci, set by
# ./scripts/test) replays a fixed set so its verdict depends on the code alone. A bug a developer run
# finds is kept as an explicit example test. Neither profile has a deadline: a busy machine is not a bug.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

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


# The PostgreSQL server for tests: the one `scripts/test` started (SYMPOSIA_TEST_PG_URL), else a throwaway
# cluster of this test session. With SYMPOSIA_REQUIRE_PG=1 (set by scripts/test, so in CI) a missing server
# fails the run instead of skipping its tests.


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database."""
    url = os.environ.get("SYMPOSIA_TEST_PG_URL")
    if url:
        yield url
        return
    if pg_bin("initdb") is None:
        message = "PostgreSQL is not installed (apt-get install postgresql) and SYMPOSIA_TEST_PG_URL is not set"
        if os.environ.get("SYMPOSIA_REQUIRE_PG") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with TempCluster() as cluster:
        yield cluster.url


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh empty database for one test."""
    return create_database(pg_server)
