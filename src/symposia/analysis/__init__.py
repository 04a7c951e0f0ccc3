"""Analysis: key formulations that are verbatim, convergence measured honestly (similarity against a
floor, shared images labelled echo or unprompted, shared spans, a verdict in plain words), study mode.

    >>> from symposia.analysis import analyze_session, report_markdown
    >>> with Symposia() as s:
    ...     print(report_markdown(analyze_session(s.archive, "sym-2026...")))
"""

from symposia.analysis.analyze import PairStat, SessionAnalysis, analyze_session, answer_turns
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
from symposia.analysis.study import StudyAnalysis, StudyOutcome, StudyPlan, analyze_study, load_prompt_file, run_study
from symposia.analysis.verdict import Verdict

__all__ = [
    "Answer",
    "Background",
    "Formulation",
    "FormulationChoice",
    "Motif",
    "PairStat",
    "SessionAnalysis",
    "SharedSpan",
    "Source",
    "StudyAnalysis",
    "StudyOutcome",
    "StudyPlan",
    "Verdict",
    "accept_choices",
    "analyze_session",
    "analyze_study",
    "answer_turns",
    "choose_formulations",
    "extract_formulations",
    "formulation_rows",
    "load_prompt_file",
    "report_html",
    "report_json",
    "report_markdown",
    "run_study",
    "shared_motifs",
    "shared_spans",
    "write_report",
]
