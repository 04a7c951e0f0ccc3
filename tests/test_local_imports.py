"""Function-local imports of our own modules exist only to defer something heavy, and say so.

A local import hides a dependency from a reader (and once hid import cycles). The rule (docs/
ARCHITECTURE.md): allowed only to defer a heavy or optional dependency (llama.cpp, the SDKs,
matplotlib, the analysis stack, the web stack, PostgreSQL) or to keep the CLI's start fast, and a
comment on the import line, the line above it, or the line that opens its block says why
("deferred", "lazy", "heavy", "optional", "start-up").
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "symposia"
REASON = ("deferred", "defer", "lazy", "lazily", "heavy", "optional", "start-up", "startup")


def _local_imports() -> list[tuple[Path, int]]:
    found: list[tuple[Path, int]] = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                ours = (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("symposia")) or (
                    isinstance(node, ast.Import) and any(a.name.startswith("symposia") for a in node.names))
                if ours:
                    found.append((path, node.lineno))
    return found


def test_every_local_import_of_our_own_code_says_why() -> None:
    silent = []
    for path, line in _local_imports():
        lines = path.read_text(encoding="utf-8").splitlines()
        top = line - 1
        while top > 0 and lines[top - 1].strip().startswith(("from ", "import ")):
            top -= 1  # a block of imports shares the comment above its first line
        window = " ".join(lines[max(0, top - 2):line]).lower()
        if not any(word in window for word in REASON):
            silent.append(f"{path.relative_to(SRC.parent)}:{line}: {lines[line - 1].strip()}")
    assert silent == [], "function-local imports with no reason given:\n" + "\n".join(silent)
