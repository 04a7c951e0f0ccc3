"""Today's importer (``main``'s ``symposia.importers``), loadable beside the new one for baselines.

``load_main_importers()`` copies the package as it is on the ``main`` branch (``git show``) into a
temporary folder under another name (``symposia_main_importers``), rewriting its own imports, and
imports it: the same process can then time both on the same files. The rest of ``symposia``
(archive, catalog, records) is shared.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
NAME = "symposia_main_importers"


def base_commit() -> str:
    """Where this branch left ``main``: the importer as it was before this work."""
    return subprocess.run(["git", "-C", str(REPO), "merge-base", "HEAD", "main"], capture_output=True, text=True,
                          check=True).stdout.strip()


def load_main_importers(ref: str | None = None) -> ModuleType:
    """The importers package as of ``ref`` (default: the merge base with ``main``), importable as
    ``symposia_main_importers``."""
    ref = ref or base_commit()
    listing = subprocess.run(["git", "-C", str(REPO), "ls-tree", "--name-only", f"{ref}:src/symposia/importers/"],
                             capture_output=True, text=True, check=True).stdout.split()
    folder = Path(tempfile.mkdtemp(prefix="symposia-baseline-")) / NAME
    folder.mkdir()
    for name in listing:
        if not name.endswith(".py"):
            continue
        text = subprocess.run(["git", "-C", str(REPO), "show", f"{ref}:src/symposia/importers/{name}"],
                              capture_output=True, text=True, check=True).stdout
        (folder / name).write_text(text.replace("symposia.importers", NAME), encoding="utf-8")
    sys.path.insert(0, str(folder.parent))
    return importlib.import_module(NAME)
