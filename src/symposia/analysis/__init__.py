"""Analysis: key formulations that are verbatim, convergence measured honestly (similarity against a
declared floor, diversity, shared images against a fixed reference labelled echo or unprompted, shared
spans between voices, a verdict in plain words), study statistics.

    >>> from symposia.analysis import analyze_session, report_markdown
    >>> with Symposia() as s:
    ...     print(report_markdown(analyze_session(s.archive, "sym-2026...")))
"""

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
