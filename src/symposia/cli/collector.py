"""The command process's policy for Python's cycle collector.

A command lives seconds to minutes and keeps, until it exits, what start-up imported and what the
analysis warm-up loads (modules, classes, numpy, scipy, onnxruntime, the embedding model, wordfreq's
table): hundreds of thousands of objects that never become garbage. Left in the collector's
generations, every full collection walks them all again; in the tail of a council (after the last
answer, before the exit) one such collection took 50–63 ms, and the first collection after start-up
8–13 ms before the first request. So once they are loaded they are moved to the permanent generation
(:func:`gc.freeze`), which the collector skips; cyclic garbage made afterwards is still collected.

This is the choice of the ``symposia`` process for itself, made only once its entry point
(:func:`symposia.cli.main.main`) has called :func:`own`: the library (``symposia.api``), and the CLI
invoked from another program (a test's ``CliRunner``), leave that program's collector alone.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping

__all__ = ["own", "settle", "settling"]

_owned = False


def own() -> None:
    """This process is the ``symposia`` command: :func:`settle` applies from now on."""
    global _owned
    _owned = True


def settle() -> None:
    """Everything alive now lives until exit: out of the collector's way (in the command's own process)."""
    if _owned:
        gc.freeze()


def settling(steps: Mapping[str, Callable[[], object]]) -> dict[str, Callable[[], object]]:
    """A warm-up's ``steps``, then :func:`settle` once what they loaded is in memory."""
    return {**steps, "settle": settle}
