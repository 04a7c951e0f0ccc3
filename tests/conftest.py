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
