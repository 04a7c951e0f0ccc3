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
from symposia import paths
from symposia.analysis.analyze import SessionAnalysis
from symposia.analysis.diversity import MEANINGS, Diversity
from symposia.analysis.heatmap import heatmap_svg, write_heatmaps
from symposia.analysis.study import StudyAnalysis

__all__ = ["FULL_TABLES_MAX_VOICES", "PAIRS_SHOWN", "heatmap_input", "report_html", "report_json", "report_markdown",
           "write_report"]

MAX_MOTIFS = 40

#: Up to this many voices the Markdown and HTML reports print every pair (the similarity matrix, each
#: pair's similarity and pooled diversity). Above it, a table of every pair helps no reader (100 voices:
#: a 100-column matrix and 4,950 rows, and 1.4 s of rendering): the heatmap shows the matrix, the
#: :data:`PAIRS_SHOWN` most and least similar pairs are listed, and the JSON report keeps every number.
FULL_TABLES_MAX_VOICES = 12
PAIRS_SHOWN = 10


def _n(x: float | None, digits: int = 2) -> str:
    """A number as shown: from the value the JSON report holds (rounded to 4 places), so the Markdown, HTML
    and JSON reports of one analysis can never disagree by a double rounding."""
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{round(float(x), 4):.{digits}f}"


def _p(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "—"
    return "< 0.001" if round(x, 4) < 0.001 else _n(x, 3)


def _diversity_md(rows: Sequence[Diversity]) -> str:
    table = md.table(["Voices", "Answers", "Mean cosine", "Vendi", "distinct-1", "distinct-2", "self-BLEU"],
                   [[md.inline(d.label), str(d.n), _n(d.mean_cos), _n(d.vendi), _n(d.distinct_1), _n(d.distinct_2),
                     _n(d.self_bleu)] for d in rows])
    return table + "\n\n" + "\n".join(f"- *{md.inline(v)}*" for v in MEANINGS.values())


def _matrix_md(labels: Sequence[str], matrix: Sequence[Sequence[float | None]]) -> str:
    return md.table(["", *(md.inline(x) for x in labels)],
                  [[f"**{md.inline(a)}**", *(_n(x) for x in row)] for a, row in zip(labels, matrix, strict=True)])


def _extremes(pairs: Sequence[Any]) -> list[Any]:
    """The :data:`PAIRS_SHOWN` most and least similar pairs (by their answers), most similar first."""
    ranked = sorted(pairs, key=lambda p: (-p.inter, p.a, p.b))
    if len(ranked) <= 2 * PAIRS_SHOWN:
        return ranked
    return ranked[:PAIRS_SHOWN] + ranked[-PAIRS_SHOWN:]


def _session_md(a: SessionAnalysis, heatmap: str | None, level: int) -> str:
    h = "#" * level
    parts = [f"{h} Convergence analysis",
             f"*Session {md.inline(a.session.id)} ({md.inline(a.session.kind)}), {len(a.voices)} voices; encoder "
             f"{md.inline(a.encoder)}.*",
             f"{h}# Verdict", f"**{md.inline(a.verdict.headline)}**",
             "\n".join(f"- {md.inline(p)}" for p in a.verdict.points)]
    full = len(a.voices) <= FULL_TABLES_MAX_VOICES
    parts += [f"{h}# Similarity of answers", "Mean cosine between voices' answers (the diagonal: between a "
              "voice's own answers, where it gave several)."]
    parts.append(_matrix_md(a.voices, a.matrix) if full else
                 f"*{len(a.voices)} voices: the matrix is the heatmap's; every value is in the JSON report.*")
    if heatmap:
        parts.append(f"![Similarity heatmap]({heatmap})")
    parts.append(f"Floor (unrelated answers, same encoder): **{_n(a.floor)}** — {md.inline(a.floor_source)}.")
    if a.floor_info is not None:
        f = a.floor_info
        parts.append(f"*Floor source: {md.inline(f.kind)}; seed {f.seed}; {len(f.texts)} texts of "
                     f"{f.candidates} offered; {f.pairs} text pairs; frozen with this analysis (ids in the JSON report)"
                     + (f"; UNRELIABLE: {md.inline(f.unreliable)}" if f.unreliable else "") + ".*")
    shown_pairs = a.pairs if full else _extremes(a.pairs)
    if shown_pairs:
        if not full:
            parts.append(f"*The {PAIRS_SHOWN} most and {PAIRS_SHOWN} least similar of the {len(a.pairs)} pairs, "
                         "most similar first; every pair is in the JSON report.*")
        parts.append(md.table(["Voices", "Answers", "What they were shown", "Lift"],
                            [[f"{md.inline(p.a)} · {md.inline(p.b)}", _n(p.inter), _n(p.prompts), _n(p.lift)]
                             for p in shown_pairs]))
    if full:
        parts += [f"{h}# Diversity", "Per voice (its own answers) and per pair (both voices' answers pooled).",
                  _diversity_md(a.diversity)]
    else:
        labels = {f"{p.a} · {p.b}" for p in shown_pairs}
        listed = list(a.diversity[:len(a.voices)]) + [d for d in a.diversity[len(a.voices):] if d.label in labels]
        parts += [f"{h}# Diversity", "Per voice (its own answers), and pooled for the pairs listed above (every "
                  "pair is in the JSON report).", _diversity_md(listed)]
    shared = [m for m in a.motifs if len(m.uses) >= 2]
    echo = sorted((m for m in shared if m.status == "echo" and not m.phrase),
                  key=lambda m: (-len(m.uses), m.label))[:MAX_MOTIFS]
    free = [m for m in shared if m.unprompted_voices and (not m.phrase or len(m.unprompted_voices) >= 2)]
    parts.append(f"{h}# Shared images")
    parts.append("Content words (lemmatised, stopwords removed) used by two or more voices; the voices' and models' "
                 "names and ordinary words are left out. ECHO: the word was in what that voice was shown (the "
                 "prompt's words always are); UNPROMPTED: it was not; MIXED: some voices were shown it. Only "
                 "unprompted uses count toward convergence. Zipf: general-language frequency from the shipped "
                 "wordfreq table (3 = once per million words, 5 = once per 100,000; lower = rarer); P(k of M): "
                 "chance that this many voices use it independently at their base rates from a reliable floor; "
                 "BH q: that after Benjamini–Hochberg correction.")
    header = ["Image", "Status", "Echo (shown it)", "Unprompted", "Zipf", "P(k of M)", "BH q"]

    def motif_rows(ms: Sequence[Any]) -> list[list[str]]:
        return [[md.inline(m.label) + (" *(phrase)*" if m.phrase else ""), m.status.upper(),
                 md.inline(", ".join(m.echo_voices)) or "—", md.inline(", ".join(m.unprompted_voices)) or "—",
                 _n(m.zipf), _p(m.tail_p), _p(m.q_value)] for m in ms]

    if free:
        parts += [f"{h}## Not in what the voices were shown", md.table(header, motif_rows(free[:MAX_MOTIFS]))]
    if echo:
        parts += [f"{h}## Echo: in what the voices were shown", md.table(header, motif_rows(echo))]
    if not shared:
        parts.append("*No content word is shared by two voices.*")
    elif a.background is None:
        parts.append("*No base rates: no reliable floor was declared.*")
    parts.append(f"{h}# Shared spans")
    parts.append("Runs of five or more words written by two different voices, and sentences two voices wrote with "
                 "only a few words changed (*near*, found by MinHash); a voice repeating itself never counts.")
    if a.spans:
        rows = []
        for s in a.spans[:20]:
            where = "; ".join(f"{md.inline(a.span_sources[i].voice)}: “{md.inline(t)}”" for i, t in s.spans)
            rows.append([str(s.words), "verbatim" if s.verbatim else "near", "ECHO" if s.echo else "not in prompts",
                         where])
        parts.append(md.table(["Words", "Match", "Status", "Where"], rows))
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
    title = a.session.title if a.session.title.startswith("Study") else f"Study: {a.session.title}"
    parts = [f"{h} {md.inline(title)}",
             f"*Session {md.inline(a.session.id)}: {len(plan.prompts)} prompts × {len(plan.voices)} voices × "
             f"{plan.samples} samples, {len(plan.controls)} control prompts"
             + (", each prompt also run with the other voices' answers shown (echo)" if plan.echo else "")
             + f"; encoder {md.inline(a.encoder)}. Floor: {md.inline(a.floor_source)}"
             + (f" — UNRELIABLE: {md.inline(a.floor_unreliable)}" if a.floor_unreliable else "") + ".*",
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
        parts += [f"{h}## Diversity ({'prompts as written' if s.name == 'prompts' else 'rewordings'})",
                  "Per prompt, then averaged over prompts: per voice (its K samples) and per pair (pooled).",
                  _diversity_md(s.diversity)]
        rows = [[md.inline(hh.prompt), md.inline(hh.motif.label), hh.motif.status.upper(),
                 md.inline(", ".join(hh.motif.unprompted_voices)) or "—", _p(hh.motif.tail_p), _p(hh.motif.q_value)]
                for hh in s.motifs if hh.motif.unprompted_voices][:MAX_MOTIFS]
        if rows:
            parts.append(md.table(["Prompt", "Image", "Status", "Unprompted by", "P(k of M)", "BH q"], rows))
    if a.echo is not None:
        parts += [f"{h}# Echo effect",
                  "Mean cosine of a voice's answer with the other voices' fresh answers to the same prompt and sample: "
                  "written fresh, and written after being shown those answers. Effect = exposed − fresh (95% "
                  "bootstrap CI over prompts): how much similarity exposure alone adds.",
                  md.table(["Voice", "Fresh", "Exposed", "Echo effect (95% CI)", "Prompts"],
                         [[md.inline(e.voice), _n(e.fresh), _n(e.exposed),
                           f"{_n(e.effect)} [{_n(e.ci[0])}, {_n(e.ci[1])}]", str(e.prompts)] for e in a.echo])]
    return "\n\n".join(parts) + "\n"


def report_markdown(a: SessionAnalysis | StudyAnalysis, *, heatmap: str | None = None, level: int = 2) -> str:
    """The analysis as a Markdown section (``level`` = heading depth), e.g. to append to a transcript."""
    return _study_md(a, heatmap, level) if isinstance(a, StudyAnalysis) else _session_md(a, heatmap, level)


def report_json(a: SessionAnalysis | StudyAnalysis) -> str:
    """The analysis as JSON: one key per line at the top, and each item of a list (a pair, a motif, a row of
    the matrix) on a line of its own. Python's fast encoder makes each line (``indent`` would use the
    slow one: 57 ms for the 10,000 records of 100 voices, against 16)."""
    def one(x: Any) -> str:
        return json.dumps(x, ensure_ascii=False, allow_nan=False)

    lines = []
    for key, value in _clean(a.to_dict()).items():
        if isinstance(value, list) and value:
            body = ",\n".join(f"    {one(item)}" for item in value)
            lines.append(f"  {one(key)}: [\n{body}\n  ]")
        else:
            lines.append(f"  {one(key)}: {one(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _clean(x: Any) -> Any:
    """NaN (no value) becomes null: JSON has no NaN."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def heatmap_input(a: SessionAnalysis | StudyAnalysis) -> tuple[list[str], list[list[float | None]], float | None]:
    """Voices, similarity matrix and floor the heatmap of an analysis shows."""
    if isinstance(a, StudyAnalysis):
        s = a.sets[0]
        floors = [p.floor for p in s.pairs if p.floor is not None]
        return s.voices, s.matrix, (sum(floors) / len(floors) if floors else None)
    return a.voices, a.matrix, a.floor


def report_html(a: SessionAnalysis | StudyAnalysis, *, svg: str | None = None) -> str:
    """A standalone page: the Markdown report rendered with raw HTML disabled, the heatmap as an SVG data URI
    (``svg``: the heatmap already drawn for this analysis, if it was)."""
    if svg is None:
        labels, matrix, floor = heatmap_input(a)
        svg = heatmap_svg(labels, matrix, title="Similarity of answers", floor=floor)
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    renderer = markdown_it.MarkdownIt("commonmark", {"html": False}).enable("table")
    body = renderer.render(report_markdown(a, heatmap=None, level=1))
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


def write_report(a: SessionAnalysis | StudyAnalysis, out_dir: Path, *, png: bool = True) -> list[Path]:
    """Write ``<id>.analysis.md``, ``.json``, ``.html`` and the heatmap (``.heatmap.svg``, and ``.png`` unless
    ``png`` is False) to ``out_dir``. The Markdown shows the SVG, which is always there."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sid = a.session.id
    labels, matrix, floor = heatmap_input(a)
    svg = heatmap_svg(labels, matrix, title="Similarity of answers", floor=floor)  # drawn once: file and page
    written = write_heatmaps(paths.session_file(out_dir, sid, ".heatmap"), labels, matrix,
                             title="Similarity of answers", floor=floor, png=png, svg_text=svg)
    img = written[0].name  # the SVG
    files = {".analysis.md": report_markdown(a, heatmap=img), ".analysis.json": report_json(a),
             ".analysis.html": report_html(a, svg=svg)}
    for suffix, text in files.items():
        target = paths.session_file(out_dir, sid, suffix)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
