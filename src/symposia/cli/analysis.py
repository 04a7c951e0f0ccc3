"""`symposia analyze` (what one session's voices share, measured honestly) and `symposia study`
(many prompts x voices x samples with a control battery, then the statistics)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from symposia import paths
from symposia.cli.context import Options, err, friendly_errors, out, pass_options


def _n(x: float | None) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:.2f}"


def _matrix_table(title: str, labels: list[str], matrix: list[list[float | None]]) -> Table:
    t = Table(title=title)
    t.add_column("")
    for v in labels:
        t.add_column(escape(v), justify="right")
    for v, row in zip(labels, matrix, strict=True):
        t.add_row(escape(v), *(_n(x) for x in row))
    return t


def _print_session(a: Any) -> None:
    out.print(_matrix_table("Similarity of answers (cosine)", a.voices, a.matrix))
    out.print(f"Floor: {_n(a.floor)} ({escape(a.floor_source)})")
    if a.pairs:
        t = Table(title="Pairs")
        for c in ("Voices", "Answers", "Shown", "Lift"):
            t.add_column(c, justify="left" if c == "Voices" else "right")
        for p in a.pairs:
            t.add_row(escape(f"{p.a} · {p.b}"), _n(p.inter), _n(p.prompts), _n(p.lift))
        out.print(t)
    words = [m for m in a.motifs if not m.phrase and len(m.uses) >= 2]
    free = [m for m in words if m.unprompted_voices][:20]
    echo = sorted((m for m in words if m.status == "echo"), key=lambda m: (-len(m.uses), m.label))[:15]
    for title, rows in (("Shared images not in what the voices were shown", free),
                        ("Shared images the voices were shown (echo)", echo)):
        t = Table(title=title)
        for c in ("Image", "Status", "Echo", "Unprompted", "P(k of M)"):
            t.add_column(c)
        for m in rows:
            t.add_row(escape(m.label), m.status.upper(), escape(", ".join(m.echo_voices)),
                      escape(", ".join(m.unprompted_voices)), _n(m.tail_p))
        out.print(t)
    t = Table(title="Key formulations")
    t.add_column("Source")
    t.add_column("Formulation")
    for f in a.formulations:
        t.add_row(escape(a.names.get(f.voice, f.voice)), escape(f.quote))
    out.print(t)


def _print_study(a: Any) -> None:
    for s in a.sets:
        out.print(_matrix_table(f"Similarity ({s.name}): diagonal intra, off-diagonal inter", s.voices, s.matrix))
        t = Table(title=f"Pairs ({s.name})")
        for c in ("Voices", "Inter", "Floor", "Lift", "Lift 95% CI", "p same prompt", "q", "p distinct"):
            t.add_column(c, justify="left" if c == "Voices" else "right")
        for p in s.pairs:
            ci = f"[{_n(p.lift_ci[0])}, {_n(p.lift_ci[1])}]" if p.lift_ci else "—"
            t.add_row(escape(f"{p.a} · {p.b}"), _n(p.inter), _n(p.floor), _n(p.lift), ci,
                      f"{p.p_same_prompt:.3f}", f"{p.q_same_prompt:.3f}", f"{p.p_distinct:.3f}")
        out.print(t)


def _verdict(v: Any) -> None:
    out.print(f"[bold]{escape(v.headline)}[/]")
    for p in v.points:
        out.print(f"  • {escape(p)}")


def session_verdict(archive: Any, session_id: str) -> list[Path]:
    """Analyse a finished session as `symposia analyze` does by default, write the report and heatmap to
    the data dir, print the verdict; return the files written."""
    from symposia.analysis import analyze_session, write_report

    a = analyze_session(archive, session_id)
    written = write_report(a, paths.data_dir() / "analysis" / session_id)
    _verdict(a.verdict)
    return written


def _read_texts(path: Path) -> list[str]:
    from symposia.analysis.study import load_prompt_file

    return load_prompt_file(path)


def _report_study(archive: Any, session_id: str, out_dir: Path | None, as_json: bool) -> None:
    """Analyse a study session, write its report files, and print it (tables or JSON)."""
    from symposia.analysis import analyze_study, report_json, write_report

    err.print("[dim]Embedding answers and computing statistics…[/]")
    st = analyze_study(archive, session_id)
    written = write_report(st, out_dir or paths.data_dir() / "analysis" / session_id)
    if as_json:
        click.echo(report_json(st), nl=False)
    else:
        _print_study(st)
        _verdict(st.verdict)
    err.print("report: " + ", ".join(str(p) for p in written))


@click.command("analyze")
@click.argument("session_id")
@click.option("--controls", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Answers to unrelated prompts (TOML/JSON list, or one per line) for the floor and base rates.")
@click.option("--no-archive", is_flag=True, help="Do not use other sessions in the archive as the background.")
@click.option("--chooser", help="A voice that did not take part chooses the key formulations (kept only if verbatim).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the report (Markdown, JSON, HTML) and heatmap (PNG, SVG).")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON.")
@pass_options
@friendly_errors
def analyze_cmd(opts: Options, session_id: str, controls: Path | None, no_archive: bool, chooser: str | None,
                out_dir: Path | None, as_json: bool) -> None:
    """Measure what the voices of SESSION_ID share: similarity against a floor, images labelled ECHO or
    UNPROMPTED, shared spans, key formulations, and a verdict in plain words.

    \b
    Examples:
      symposia analyze 20260131-2210
      symposia analyze 20260131-2210 --controls controls.toml --out report/
    """
    from symposia.analysis import analyze_session, report_json, write_report
    from symposia.analysis.formulations import choose_formulations
    from symposia.api import run_sync

    with opts.open() as s:
        session = s.archive.get_session(session_id)
        if session.kind == "study":
            _report_study(s.archive, session.id, out_dir, as_json)
            return
        forms = None
        rejected: list[dict[str, str]] = []
        if chooser:
            turns = s.archive.session_turns(session.id)
            choice = run_sync(choose_formulations(s.runtime, chooser, turns, session_id=session.id))
            forms, rejected = list(choice.accepted), list(choice.rejected)
        err.print("[dim]Embedding answers…[/]")
        a = analyze_session(s.archive, session.id, controls=_read_texts(controls) if controls else None,
                            use_archive=not no_archive, formulations=forms)
        a.rejected_formulations = rejected
        target = out_dir or paths.data_dir() / "analysis" / session.id
        written = write_report(a, target)
        if as_json:
            click.echo(report_json(a), nl=False)
        else:
            _print_session(a)
            _verdict(a.verdict)
        for r in rejected:
            err.print(f"[yellow]Rejected (not verbatim):[/] {escape(r['voice'])} — {escape(r['quote'])}")
        err.print("report: " + ", ".join(str(p) for p in written))


@click.command("study")
@click.argument("prompts_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--voices", help="Comma-separated voices, e.g. qwen,grok,kimi.")
@click.option("-p", "--preset", help="A named council of voices.")
@click.option("--samples", "-k", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Samples per prompt and voice, each in a fresh context.")
@click.option("--controls", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Control battery: unrelated prompts (>= 20 recommended) for the floor and base rates.")
@click.option("--reword", help="A voice that rewrites each prompt without its key images (cue stripping).")
@click.option("-s", "--system", help="System prompt for every call.")
@click.option("-t", "--temperature", type=float)
@click.option("--max-tokens", type=int)
@click.option("--seed", type=click.IntRange(0, 2**31 - 1),
              help="Base sampling seed: each call's seed derives from it and its step (default: fresh, recorded).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--resume", "resume_id", help="Finish a stopped study; finished calls are not repeated.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Folder for the report.")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON.")
@pass_options
@friendly_errors
def study_cmd(opts: Options, prompts_file: Path | None, voices: str | None, preset: str | None, samples: int,
              controls: Path | None, reword: str | None, system: str | None, temperature: float | None,
              max_tokens: int | None, seed: int | None, concurrency: int, resume_id: str | None,
              out_dir: Path | None, as_json: bool) -> None:
    """Put each prompt of PROMPTS_FILE to each voice in a fresh context, K samples, plus a control
    battery; then intra, inter, floor, lift, permutation tests and bootstrap CIs per voice pair.

    \b
    Examples:
      symposia study prompts.toml --voices qwen,grok,kimi --samples 5 --controls controls.toml
      symposia study --resume 20260201-0930-study
    """
    from symposia.analysis import run_study
    from symposia.analysis.study import StudyPlan, load_prompt_file
    from symposia.api import run_sync
    from symposia.cli.live import LiveView, usage_table

    with opts.open() as s:
        session_id: str | None = None
        if resume_id:
            session = s.archive.get_session(resume_id)
            if session.kind != "study":
                raise click.UsageError(f"{session.id} is a {session.kind} session, not a study")
            plan = StudyPlan.from_dict(dict(session.plan))
            session_id = session.id
        else:
            if prompts_file is None:
                raise click.UsageError("give a PROMPTS file (or --resume ID)")
            names: list[str] = []
            if preset:
                names += list(s.catalog.preset(preset).voices)
            if voices:
                names += [v.strip() for v in voices.split(",") if v.strip()]
            if not names:
                raise click.UsageError("name the voices: --voices a,b,c or --preset NAME")
            resolved = tuple(dict.fromkeys(s.catalog.voice(n).shortcut for n in names))
            plan = StudyPlan(prompts=tuple(load_prompt_file(prompts_file)), voices=resolved, samples=samples,
                             controls=tuple(load_prompt_file(controls)) if controls else (),
                             reword=s.catalog.voice(reword).shortcut if reword else None, system=system,
                             temperature=temperature, max_tokens=max_tokens, concurrency=concurrency, seed=seed)
            err.print(f"[dim]{plan.calls} calls planned.[/]")
        view = LiveView(err)
        outcome: Any = None
        try:
            with view:
                outcome = run_sync(run_study(s.runtime, plan, session_id=session_id, observer=view))
        finally:
            sid = session_id or (outcome.session_id if outcome is not None else None)
            if sid is None:
                latest = s.archive.list_sessions(limit=1, kind="study")
                sid = latest[0].id if latest else None
            if sid is not None:
                turns = s.archive.session_turns(sid)
                if turns:
                    err.print(usage_table(turns))
                status = s.archive.get_session(sid).status
                err.print(f"[dim]session {sid} ({status}) in {s.archive.path}[/]")
                if status != "complete":
                    err.print(f"[yellow]Resume with: symposia study --resume {sid}[/]")
        _report_study(s.archive, outcome.session_id, out_dir, as_json)
