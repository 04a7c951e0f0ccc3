"""Moving a whole archive between backends (SQLite <-> PostgreSQL) and a canonical dump to compare two.

:func:`copy_archive` copies every row of every symposia table, ids included, into an empty archive (the
destination's own indexes, full-text index included, are built by its schema as rows arrive). Applied
migrations must match. :func:`dump_archive` writes the same rows as sorted JSON lines, independent of
the backend, so ``dump(src) == dump(copy)`` is the proof that a copy lost nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from symposia.archive.store import Archive
from symposia.archive.tokens import answer_index
from symposia.errors import ArchiveError

__all__ = ["TABLES", "copy_archive", "dump_archive"]

# Parents before children; (table, order-by key). Derived columns (PostgreSQL's fts, terms, words) are not
# copied: the destination derives its own (the terms of each answer, when it is PostgreSQL).
TABLES: tuple[tuple[str, str], ...] = (
    ("sessions", "id"),
    ("turns", "id"),
    ("turn_chunks", "id"),
    ("embedded_turns", "turn_id"),
    ("publications", "id"),
    ("batch_jobs", "id"),
    ("batch_items", "job_id, custom_id"),
)
_GENERATED = frozenset({"fts", "terms", "words"})
_IDENTITY = frozenset({"turns", "turn_chunks", "publications", "batch_jobs"})  # integer ids the database assigns
_BATCH = 2000


def _tables(archive: Archive) -> list[tuple[str, str]]:
    applied = {str(r[0]) for r in archive.query("SELECT name FROM _migrations")}
    need = {"turn_chunks": "m003_embeddings", "embedded_turns": "m003_embeddings",
            "publications": "m004_publications", "batch_jobs": "m006_batches", "batch_items": "m006_batches"}
    return [(t, k) for t, k in TABLES if need.get(t, "m001_initial") in applied]


def _rows(archive: Archive, table: str, key: str) -> Iterator[dict[str, Any]]:
    """Every row of ``table`` in key order, read in pages (no generated columns)."""
    offset = 0
    while True:
        rows = archive.query(f"SELECT * FROM {table} ORDER BY {key} LIMIT ? OFFSET ?", (_BATCH, offset))
        for r in rows:
            yield {k: r[k] for k in r.keys() if k not in _GENERATED}  # noqa: SIM118 - a row iterates values
        if len(rows) < _BATCH:
            return
        offset += _BATCH


def copy_archive(src: Archive, dst: Archive) -> dict[str, int]:
    """Copy every row of ``src`` into the empty ``dst``; returns rows copied per table."""
    src_m = [str(r[0]) for r in src.query("SELECT name FROM _migrations")]
    dst_m = [str(r[0]) for r in dst.query("SELECT name FROM _migrations")]
    if sorted(src_m) != sorted(dst_m):
        raise ArchiveError(f"the archives have different schemas ({len(src_m)} vs {len(dst_m)} migrations): "
                           "open both with the same symposia version first")
    if dst.query("SELECT count(*) FROM sessions")[0][0]:
        raise ArchiveError(f"{dst.path} is not empty: copy into a new archive")
    counts: dict[str, int] = {}
    with dst.transaction() as conn:
        for table, key in _tables(src):
            n = 0
            batch: list[dict[str, Any]] = []
            columns: list[str] = []
            for row in _rows(src, table, key):
                if table == "turns" and dst.dialect == "postgresql":
                    row["terms"], row["words"] = answer_index(str(row["answer"] or ""))
                if not columns:
                    columns = list(row)
                batch.append(row)
                if len(batch) >= _BATCH:
                    _insert(conn, table, columns, batch)
                    n += len(batch)
                    batch = []
            if batch:
                _insert(conn, table, columns, batch)
                n += len(batch)
            counts[table] = n
        if dst.dialect == "postgresql":  # explicit ids were inserted: move each identity past them
            for table, _ in _tables(src):
                if table in _IDENTITY:
                    conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"GREATEST((SELECT max(id) FROM {table}), 1))")
    return counts


def _insert(conn: Any, table: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    cols = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", [tuple(r[c] for c in columns) for r in rows])


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": bytes(value).hex()}
    if isinstance(value, float):
        return repr(value)
    return value


def dump_archive(archive: Archive) -> Iterator[str]:
    """The archive as sorted JSON lines (``{"table": ..., "row": {...}}``), the same for any backend."""
    yield json.dumps({"migrations": sorted(str(r[0]) for r in archive.query("SELECT name FROM _migrations"))})
    for table, key in _tables(archive):
        for row in _rows(archive, table, key):
            yield json.dumps({"table": table, "row": {k: _plain(v) for k, v in sorted(row.items())}},
                             ensure_ascii=False, sort_keys=True)
