"""The layer contract (docs/ARCHITECTURE.md) holds, and it really catches a back-edge."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT), "--config", str(config), "--no-cache"],
        cwd=src.parent, env=env, capture_output=True, text=True, timeout=300,
    )


def test_the_layer_contract_is_kept() -> None:
    result = _lint(ROOT / "src", ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Layers only point down KEPT" in result.stdout


def test_a_back_edge_breaks_the_contract(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "symposia", src / "symposia",
                    ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.gguf"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    records = src / "symposia" / "records.py"
    # A bottom-layer module reaching for the archive: the kind of import the contract exists to stop.
    records.write_text(records.read_text() + "\nfrom symposia.archive import store as _store  # noqa\n")
    result = _lint(src, tmp_path / "pyproject.toml")
    assert result.returncode != 0
    assert "Layers only point down BROKEN" in result.stdout
    assert "symposia.records is not allowed to import symposia.archive" in result.stdout
