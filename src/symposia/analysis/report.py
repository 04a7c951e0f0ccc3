"""Reports of an analysis: a Markdown section, JSON, and a standalone HTML page with the heatmap
embedded as a data URI. Everything a model wrote is escaped (Markdown table cells, HTML text)."""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import markdown_it

from symposia import markdown as md
from symposia.analysis.analyze import SessionAnalysis
from symposia.analysis.heatmap import heatmap_svg, write_heatmaps
from symposia.analysis.study import StudyAnalysis

__all__ = ["report_html", "report_json", "report_markdown", "write_report"]

MAX_MOTIFS = 40


def _n(x: float | None, digits: int = 2) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _p(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "—"
    return "< 0.001" if x < 0.001 else f"{x:.3f}"


def _matrix_md(labels: Sequence[str], matrix: Sequence[Sequence[float | None]]) -> str:
    return md.table(["", *(md.inline(x) for x in labels)],
                  [[f"**{md.inline(a)}**", *(_n(x) for x in row)] for a, row in zip(labels, matrix, strict=True)])


def _session_md(a: SessionAnalysis, heatmap: str | None, level: int) -> str:
    h = "#" * level
    parts = [f"{h} Convergence analysis",
             f"*Session {md.inline(a.session.id)} ({md.inline(a.session.kind)}), {len(a.voices)} voices; encoder "
             f"{md.inline(a.encoder)}.*",
             f"{h}# Verdict", f"**{md.inline(a.verdict.headline)}**",
             "\n".join(f"- {md.inline(p)}" for p in a.verdict.points)]
    parts += [f"{h}# Similarity of answers", "Mean cosine between voices' answers (the diagonal: between a "
              "voice's own answers, where it gave several).", _matrix_md(a.voices, a.matrix)]
    if heatmap:
        parts.append(f"![Similarity heatmap]({heatmap})")
    parts.append(f"Floor (unrelated answers, same encoder): **{_n(a.floor)}** — {md.inline(a.floor_source)}.")
    if a.pairs:
        parts.append(md.table(["Voices", "Answers", "What they were shown", "Lift"],
                            [[f"{md.inline(p.a)} · {md.inline(p.b)}", _n(p.inter), _n(p.prompts), _n(p.lift)]
                             for p in a.pairs]))
    shared = [m for m in a.motifs if len(m.uses) >= 2]
    echo = sorted((m for m in shared if m.status == "echo" and not m.phrase),
                  key=lambda m: (-len(m.uses), m.label))[:MAX_MOTIFS]
    free = [m for m in shared if m.unprompted_voices and (not m.phrase or len(m.unprompted_voices) >= 2)]
    parts.append(f"{h}# Shared images")
    parts.append("ECHO: the word was in what that voice was shown (after lemmatising); UNPROMPTED: it was not; "
                 "MIXED: some voices were shown it. Only unprompted uses count toward convergence. Rarity: inverse "
                 "document frequency over the background; P(k of M): chance that this many voices use it "
                 "independently at their base rates; BH q: that after Benjamini–Hochberg correction.")
    header = ["Image", "Status", "Echo (shown it)", "Unprompted", "Rarity", "P(k of M)", "BH q"]

    def motif_rows(ms: Sequence[Any]) -> list[list[str]]:
        return [[md.inline(m.label) + (" *(phrase)*" if m.phrase else ""), m.status.upper(),
                 md.inline(", ".join(m.echo_voices)) or "—", md.inline(", ".join(m.unprompted_voices)) or "—",
                 _n(m.rarity), _p(m.tail_p), _p(m.q_value)] for m in ms]

    if free:
        parts += [f"{h}## Not in what the voices were shown", md.table(header, motif_rows(free[:MAX_MOTIFS]))]
    if echo:
        parts += [f"{h}## Echo: in what the voices were shown", md.table(header, motif_rows(echo))]
    if not shared:
        parts.append("*No content word is shared by two voices.*")
    elif a.background is None:
        parts.append("*No base rates: no control battery and no other sessions in the archive.*")
    parts.append(f"{h}# Shared spans")
    if a.spans:
        rows = []
        for s in a.spans[:20]:
            where = "; ".join(f"{md.inline(a.span_sources[i].voice)}"
                              + ("" if a.span_sources[i].session_id == a.session.id
                                 else f" (session {md.inline(a.span_sources[i].session_id or '?')})")
                              + f": “{md.inline(t)}”" for i, t in s.spans)
            rows.append([str(s.words), "ECHO" if s.echo else "not in prompts", where])
        parts.append(md.table(["Words", "Status", "Where"], rows))
    else:
        parts.append("*No near-verbatim span of five or more words is shared.*")
    parts.append(f"{h}# Key Formulations")
    if a.formulations:
        parts.append(md.table(["Source", "Formulation"],
                              [[md.inline(a.names.get(f.voice, f.voice)), f"“{md.inline(f.quote)}”"]
                               for f in a.formulations]))
    else:
        parts.append("*None found.*")
    if a.rejected_formulations:
        parts.append("*Rejected, not verbatim in the cited voice's answers:* " + "; ".join(
            f"{md.inline(r.get('voice', ''))} — “{md.inline(r.get('quote', ''))}”" for r in a.rejected_formulations))
    return "\n\n".join(parts) + "\n"


def _study_md(a: StudyAnalysis, heatmap: str | None, level: int) -> str:
    h = "#" * level
    plan = a.plan
    parts = [f"{h} Study: {md.inline(a.session.title)}",
             f"*Session {md.inline(a.session.id)}: {len(plan.prompts)} prompts × {len(plan.voices)} voices × "
             f"{plan.samples} samples, {len(plan.controls)} control prompts; encoder {md.inline(a.encoder)}. "
             f"Floor: {md.inline(a.floor_source)}.*",
             f"{h}# Verdict", f"**{md.inline(a.verdict.headline)}**",
             "\n".join(f"- {md.inline(p)}" for p in a.verdict.points)]
    for s in a.sets:
        title = "Prompts as written" if s.name == "prompts" else "Cue-stripped rewordings"
        parts.append(f"{h}# {title}")
        parts.append("\n".join(f"{i}. {md.inline(p)}" for i, p in enumerate(s.prompts, 1)))
        parts.append("Diagonal: intra (same-model resampling); off-diagonal: inter (same prompt, across voices).")
        parts.append(_matrix_md(s.voices, s.matrix))
        if heatmap and s.name == "prompts":
            parts.append(f"![Similarity heatmap]({heatmap})")
        parts.append(md.table(["Voices", "Intra A", "Intra B", "Inter (95% CI)", "Floor", "Lift (95% CI)",
                             "p same prompt", "BH q", "p distinguishable"],
                            [[f"{md.inline(p.a)} · {md.inline(p.b)}", _n(p.intra_a), _n(p.intra_b),
                              f"{_n(p.inter)} [{_n(p.inter_ci[0])}, {_n(p.inter_ci[1])}]", _n(p.floor),
                              f"{_n(p.lift)}" + (f" [{_n(p.lift_ci[0])}, {_n(p.lift_ci[1])}]" if p.lift_ci else ""),
                              _p(p.p_same_prompt), _p(p.q_same_prompt), _p(p.p_distinct)] for p in s.pairs]))
        parts.append("*p same prompt*: prompt labels permuted (do the two voices agree more on the same prompt than "
                     "across prompts?). *p distinguishable*: voice labels shuffled within prompts (is each voice more "
                     "like itself than like the other?). Intra share > 0.8: " + ", ".join(
                         f"{md.inline(v)} {_n(x)}" for v, x in s.intra_over_08.items()) + ".")
        if s.cue_echo is not None:
            parts.append(f"Answers using a cue word the rewording removed: {s.cue_echo:.0%}.")
        rows = [[md.inline(hh.prompt), md.inline(hh.motif.label), hh.motif.status.upper(),
                 md.inline(", ".join(hh.motif.unprompted_voices)) or "—", _p(hh.motif.tail_p), _p(hh.motif.q_value)]
                for hh in s.motifs if hh.motif.unprompted_voices][:MAX_MOTIFS]
        if rows:
            parts.append(md.table(["Prompt", "Image", "Status", "Unprompted by", "P(k of M)", "BH q"], rows))
    return "\n\n".join(parts) + "\n"


def report_markdown(a: SessionAnalysis | StudyAnalysis, *, heatmap: str | None = None, level: int = 2) -> str:
    """The analysis as a Markdown section (``level`` = heading depth), e.g. to append to a transcript."""
    return _study_md(a, heatmap, level) if isinstance(a, StudyAnalysis) else _session_md(a, heatmap, level)


def report_json(a: SessionAnalysis | StudyAnalysis) -> str:
    return json.dumps(_clean(a.to_dict()), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _clean(x: Any) -> Any:
    """NaN (no value) becomes null: JSON has no NaN."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def _matrix_of(a: SessionAnalysis | StudyAnalysis) -> tuple[list[str], list[list[float | None]], float | None]:
    if isinstance(a, StudyAnalysis):
        s = a.sets[0]
        floors = [p.floor for p in s.pairs if p.floor is not None]
        return s.voices, s.matrix, (sum(floors) / len(floors) if floors else None)
    return a.voices, a.matrix, a.floor


def report_html(a: SessionAnalysis | StudyAnalysis) -> str:
    """A standalone page: the Markdown report rendered with raw HTML disabled, the heatmap as an SVG data URI."""
    labels, matrix, floor = _matrix_of(a)
    svg = heatmap_svg(labels, matrix, title="Similarity of answers", floor=floor)
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    md = markdown_it.MarkdownIt("commonmark", {"html": False}).enable("table")
    body = md.render(report_markdown(a, heatmap=None, level=1))
    title = html.escape(a.session.title or a.session.id)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>Analysis: {title}</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top}}
img{{max-width:100%}}</style></head>
<body>
<p><img alt="Similarity heatmap" src="{uri}"></p>
{body}
</body></html>
"""


def write_report(a: SessionAnalysis | StudyAnalysis, out_dir: Path) -> list[Path]:
    """Write ``<id>.analysis.md``, ``.json``, ``.html`` and the heatmap (``.heatmap.svg``/``.png``) to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sid = a.session.id
    labels, matrix, floor = _matrix_of(a)
    written = write_heatmaps(out_dir / f"{sid}.heatmap", labels, matrix, title="Similarity of answers", floor=floor)
    img = next((p for p in written if p.suffix == ".png"), written[0]).name
    files = {f"{sid}.analysis.md": report_markdown(a, heatmap=img), f"{sid}.analysis.json": report_json(a),
             f"{sid}.analysis.html": report_html(a)}
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
        written.append(out_dir / name)
    return written
