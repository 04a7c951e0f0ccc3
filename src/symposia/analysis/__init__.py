"""Analysis: key formulations that are verbatim, convergence measured honestly (similarity against a
declared floor, diversity, shared images against a fixed reference labelled echo or unprompted, shared
spans between voices, a verdict in plain words), study statistics.

    >>> from symposia.analysis import analyze_session, report_markdown
    >>> with Symposia() as s:
    ...     print(report_markdown(analyze_session(s.archive, "sym-2026...")))

Names are imported from their modules on first use (deferred: ``import symposia.analysis.warmup`` and a
command that analyses only at its end must not load numpy, onnxruntime, datasketch and wordfreq up front).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from symposia.analysis.analyze import PairStat, SessionAnalysis, analyze_session, answer_turns
    from symposia.analysis.diversity import MEANINGS, Diversity
    from symposia.analysis.floor import Floor, floor_from_query, floor_from_texts
    from symposia.analysis.formulations import (
        Formulation,
        FormulationChoice,
        accept_choices,
        choose_formulations,
        extract_formulations,
        formulation_rows,
    )
    from symposia.analysis.motifs import Answer, Background, Motif, shared_motifs
    from symposia.analysis.report import report_html, report_json, report_markdown, write_report
    from symposia.analysis.spans import SharedSpan, Source, shared_spans
    from symposia.analysis.study import EchoEffect, StudyAnalysis, analyze_study
    from symposia.analysis.verdict import Verdict

__all__ = [
    "MEANINGS",
    "Answer",
    "Background",
    "Diversity",
    "EchoEffect",
    "Floor",
    "Formulation",
    "FormulationChoice",
    "Motif",
    "PairStat",
    "SessionAnalysis",
    "SharedSpan",
    "Source",
    "StudyAnalysis",
    "Verdict",
    "accept_choices",
    "analyze_session",
    "analyze_study",
    "answer_turns",
    "choose_formulations",
    "extract_formulations",
    "floor_from_query",
    "floor_from_texts",
    "formulation_rows",
    "report_html",
    "report_json",
    "report_markdown",
    "shared_motifs",
    "shared_spans",
    "write_report",
]

_HOME: dict[str, str] = {
    "PairStat": "symposia.analysis.analyze",
    "SessionAnalysis": "symposia.analysis.analyze",
    "analyze_session": "symposia.analysis.analyze",
    "answer_turns": "symposia.analysis.analyze",
    "MEANINGS": "symposia.analysis.diversity",
    "Diversity": "symposia.analysis.diversity",
    "Floor": "symposia.analysis.floor",
    "floor_from_query": "symposia.analysis.floor",
    "floor_from_texts": "symposia.analysis.floor",
    "Formulation": "symposia.analysis.formulations",
    "FormulationChoice": "symposia.analysis.formulations",
    "accept_choices": "symposia.analysis.formulations",
    "choose_formulations": "symposia.analysis.formulations",
    "extract_formulations": "symposia.analysis.formulations",
    "formulation_rows": "symposia.analysis.formulations",
    "Answer": "symposia.analysis.motifs",
    "Background": "symposia.analysis.motifs",
    "Motif": "symposia.analysis.motifs",
    "shared_motifs": "symposia.analysis.motifs",
    "report_html": "symposia.analysis.report",
    "report_json": "symposia.analysis.report",
    "report_markdown": "symposia.analysis.report",
    "write_report": "symposia.analysis.report",
    "SharedSpan": "symposia.analysis.spans",
    "Source": "symposia.analysis.spans",
    "shared_spans": "symposia.analysis.spans",
    "EchoEffect": "symposia.analysis.study",
    "StudyAnalysis": "symposia.analysis.study",
    "analyze_study": "symposia.analysis.study",
    "Verdict": "symposia.analysis.verdict",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once looked up, an ordinary attribute
    return value
