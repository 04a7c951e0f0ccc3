"""The convergence report of a session, from :mod:`symposia.analysis` when it is installed.

The analysis embeds every answer, so a result is cached per session, its latest turn and its frozen
floor (the one `symposia analyze` drew and froze, so the page shows the CLI's numbers): the
report page and its heatmap image (served separately, so the SVG is loaded as an image and can
never run anything) share one computation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from symposia.archive import Archive

__all__ = ["Report", "analysis_missing", "session_report"]

CACHE_SIZE = 8


@dataclass(frozen=True)
class Report:
    markdown: str  # the analysis report (contains model text: render it through the sanitiser)
    heatmap_svg: str | None  # None when fewer than two voices answered


def analysis_missing() -> str | None:
    """Why the analysis cannot run here, or None when it can."""
    try:
        # deferred: the analysis stack (numpy, onnxruntime) loads only when a report is shown; the package
        # imports its modules lazily, so the report module (which needs them all) is imported too
        import symposia.analysis
        import symposia.analysis.report  # noqa: F401
    except ImportError as exc:
        return f"The analysis package is not installed or failed to import ({exc})."
    return None


_cache: OrderedDict[tuple[str, int, float], Report] = OrderedDict()
_lock = threading.Lock()


def _latest_turn(archive: Archive, session_id: str) -> int:
    rows = archive.query("SELECT COALESCE(MAX(id), 0) FROM turns WHERE session_id = ?", (session_id,))
    return int(rows[0][0])


def session_report(archive: Archive, session_id: str) -> Report:
    """Analyse a stored session (cached until it gains a turn). Raises what the analysis raises."""
    # deferred: the analysis stack (numpy, onnxruntime) loads only when a report is shown
    from symposia.analysis import analyze_session, analyze_study, report_markdown
    from symposia.analysis.floor import frozen_floor, frozen_floor_file
    from symposia.analysis.heatmap import heatmap_svg

    floor_file = frozen_floor_file(session_id)
    key = (session_id, _latest_turn(archive, session_id), floor_file.stat().st_mtime if floor_file.exists() else 0.0)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    # deferred: the analysis stack (numpy, onnxruntime) loads only when a report is shown
    from symposia.analysis.report import heatmap_input

    # a study session's report is the study analysis (the same one `symposia study` prints)
    # the session's frozen floor, as `symposia analyze` uses it: the page and the CLI show the same numbers
    analysis: Any = (analyze_study(archive, session_id) if archive.get_session(session_id).kind == "study"
                     else analyze_session(archive, session_id, floor=frozen_floor(session_id)))
    voices, matrix, floor = heatmap_input(analysis)
    labels = [analysis.names.get(v, v) for v in voices]
    svg = heatmap_svg(labels, matrix, title="Similarity of answers", floor=floor) if len(labels) >= 2 else None
    report = Report(report_markdown(analysis, heatmap=None, level=2), svg)
    with _lock:
        _cache[key] = report
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return report
