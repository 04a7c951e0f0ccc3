"""Every row of an archive's tables, to show that something changed nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (timestamps included): equal dumps mean nothing changed."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(map(tuple, conn.execute(f"SELECT * FROM {t}")), key=repr) for t in tables}
    finally:
        conn.close()
