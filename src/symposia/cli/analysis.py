"""`symposia analyze` (what one session's voices share, measured honestly) and `symposia study`
(many prompts x voices x samples with control prompts, then the statistics).

:mod:`symposia.analysis` is imported inside the commands: it loads numpy, onnxruntime, wordfreq and
markdown-it, which `symposia --help` and every other verb should not pay for.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from symposia import paths
from symposia.analysis.warmup import STEPS, Warmup, warming, while_running
from symposia.api import run_sync
from symposia.cli.batches import BATCH_HELP, QUEUE_HELP, use_batches, use_queue
from symposia.cli.collector import settling
from symposia.cli.context import Options, err, friendly_errors, out, pass_options
from symposia.cli.live import LiveView, usage_table
from symposia.dialogue.study import StudyPlan, load_prompt_file, run_study


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


def _print_diversity(rows: Any, meanings: dict[str, str]) -> None:
    t = Table(title="Diversity")
    for c in ("Voices", "Answers", "Mean cos", "Vendi", "distinct-1", "distinct-2", "self-BLEU"):
        t.add_column(c, justify="left" if c == "Voices" else "right")
    for d in rows:
        t.add_row(escape(d.label), str(d.n), _n(d.mean_cos), _n(d.vendi), _n(d.distinct_1), _n(d.distinct_2),
                  _n(d.self_bleu))
    out.print(t)
    for m in meanings.values():
        out.print(f"  [dim]{escape(m)}[/]")


def _print_session(a: Any) -> None:
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.analysis import MEANINGS

    out.print(_matrix_table("Similarity of answers (cosine)", a.voices, a.matrix))
    out.print(f"Floor: {_n(a.floor)} ({escape(a.floor_source)})")
    if a.floor_info is not None and a.floor_info.unreliable:
        out.print(f"[yellow]Floor unreliable: {escape(a.floor_info.unreliable)}[/]")
    if a.pairs:
        t = Table(title="Pairs")
        for c in ("Voices", "Answers", "Shown", "Lift"):
            t.add_column(c, justify="left" if c == "Voices" else "right")
        for p in a.pairs:
            t.add_row(escape(f"{p.a} · {p.b}"), _n(p.inter), _n(p.prompts), _n(p.lift))
        out.print(t)
    _print_diversity(a.diversity, MEANINGS)
    words = [m for m in a.motifs if not m.phrase and len(m.uses) >= 2]
    free = [m for m in words if m.unprompted_voices][:20]
    echo = sorted((m for m in words if m.status == "echo"), key=lambda m: (-len(m.uses), m.label))[:15]
    for title, rows in (("Shared images not in what the voices were shown", free),
                        ("Shared images the voices were shown (echo)", echo)):
        t = Table(title=title)
        for c in ("Image", "Status", "Echo", "Unprompted", "Zipf", "P(k of M)"):
            t.add_column(c)
        for m in rows:
            t.add_row(escape(m.label), m.status.upper(), escape(", ".join(m.echo_voices)),
                      escape(", ".join(m.unprompted_voices)), _n(m.zipf), _n(m.tail_p))
        out.print(t)
    t = Table(title="Key formulations")
    t.add_column("Source")
    t.add_column("Formulation")
    for f in a.formulations:
        t.add_row(escape(a.names.get(f.voice, f.voice)), escape(f.quote))
    out.print(t)


def _print_study(a: Any) -> None:
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.analysis import MEANINGS

    if a.floor_unreliable:
        out.print(f"[yellow]Floor unreliable: {escape(a.floor_unreliable)}[/]")
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
        _print_diversity(s.diversity, MEANINGS)
    if a.echo is not None:
        t = Table(title="Echo effect: cosine to the other voices' answers, fresh vs after being shown them")
        for c in ("Voice", "Fresh", "Exposed", "Effect", "95% CI", "Prompts"):
            t.add_column(c, justify="left" if c == "Voice" else "right")
        for e in a.echo:
            t.add_row(escape(e.voice), _n(e.fresh), _n(e.exposed), _n(e.effect), f"[{_n(e.ci[0])}, {_n(e.ci[1])}]",
                      str(e.prompts))
        out.print(t)


def _verdict(v: Any) -> None:
    out.print(f"[bold]{escape(v.headline)}[/]")
    for p in v.points:
        out.print(f"  • {escape(p)}")


def session_verdict(archive: Any, session_id: str) -> list[Path]:
    """Analyse a finished session as `symposia analyze` does by default, write the report and the SVG heatmap
    to the data dir (the PNG, whose drawing costs more than the rest of the report, is `analyze`'s), print
    the verdict; return the files written."""
    from symposia.analysis import analyze_session, write_report  # deferred: see the module docstring

    a = analyze_session(archive, session_id)
    written = write_report(a, paths.under(paths.data_dir() / "analysis", paths.check_session_id(session_id)),
                           png=False)
    _verdict(a.verdict)
    return written


_RENAMED = ("--controls was two things: use --control-prompts FILE for `study` (prompts to run) and "
            "--floor-answers FILE or --floor-from QUERY for `analyze` (texts that make the floor)")


def _renamed(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value:
        raise click.UsageError(_RENAMED, ctx)


def _declared_floor(archive: Any, session_id: str, floor_answers: Path | None, floor_from: str | None,
                    seed: int, size: int, refresh: bool) -> Any:
    """The floor to use: the frozen one unless a refresh (or a first source) is asked for; a new one is
    drawn from the declared source and frozen. None when no floor was ever declared."""
    from symposia.analysis.floor import (  # deferred: see the module docstring
        floor_from_query,
        floor_from_texts,
        frozen_floor,
        frozen_floor_file,
        save_frozen_floor,
    )

    if floor_answers and floor_from:
        raise click.UsageError("give one floor source: --floor-answers FILE or --floor-from QUERY")
    stored = frozen_floor_file(session_id)
    old = frozen_floor(session_id)
    if old is not None and not refresh:
        frozen = old
        if floor_answers or floor_from:
            wanted = f"answers file {floor_answers.name}" if floor_answers else f"archive query '{floor_from}'"
            if wanted != frozen.source:
                raise click.UsageError(f"this session's floor is frozen ({frozen.source}, {stored}); add "
                                       "--refresh-floor to draw a new one from the source you gave")
        return frozen
    if floor_answers:
        floor = floor_from_texts(load_prompt_file(floor_answers), source=f"answers file {floor_answers.name}",
                                 seed=seed, n=size)
    elif floor_from:
        floor = floor_from_query(archive, floor_from, exclude_session=session_id, seed=seed, n=size)
    elif refresh and old is not None:
        if old.kind != "query":
            raise click.UsageError("--refresh-floor of an answers file needs the file again: --floor-answers FILE")
        floor = floor_from_query(archive, str(old.meta["query"]), exclude_session=session_id, seed=seed, n=size)
    else:
        return None
    save_frozen_floor(session_id, floor)
    return floor


def _report_study(archive: Any, session_id: str, out_dir: Path | None, as_json: bool) -> None:
    """Analyse a study session, write its report files, and print it (tables or JSON)."""
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.analysis import analyze_study, report_json, write_report

    err.print("[dim]Embedding answers and computing statistics…[/]")
    st = analyze_study(archive, session_id)
    target = out_dir or paths.under(paths.data_dir() / "analysis", paths.check_session_id(session_id))
    written = write_report(st, target)
    if as_json:
        click.echo(report_json(st), nl=False)
    else:
        _print_study(st)
        _verdict(st.verdict)
    err.print("report: " + ", ".join(str(p) for p in written))


@click.command("analyze")
@click.argument("session_id")
@click.option("--floor-answers", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The floor from answers to unrelated prompts (TOML/JSON list, or one per line; >= 50).")
@click.option("--floor-from", metavar="QUERY",
              help='The floor from archive answers matching QUERY, e.g. "kind=study voice=qwen" '
                   "(keys: kind, voice, session, model, status; a value may end in *).")
@click.option("--floor-seed", type=int, default=0, show_default=True, help="Seed of the random draw of floor texts.")
@click.option("--floor-size", type=click.IntRange(2, 100000), default=200, show_default=True,
              help="Floor texts drawn at random when the source offers more.")
@click.option("--refresh-floor", is_flag=True,
              help="Draw the floor again (it is frozen with the session's analysis the first time).")
@click.option("--controls", hidden=True, expose_value=False, callback=_renamed)
@click.option("--chooser", help="A voice that did not take part chooses the key formulations (kept only if verbatim).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the report (Markdown, JSON, HTML) and heatmap (PNG, SVG).")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON.")
@pass_options
@friendly_errors
def analyze_cmd(opts: Options, session_id: str, floor_answers: Path | None, floor_from: str | None,
                floor_seed: int, floor_size: int, refresh_floor: bool, chooser: str | None,
                out_dir: Path | None, as_json: bool) -> None:
    """Measure what the voices of SESSION_ID share: similarity against a declared floor, diversity,
    images labelled ECHO or UNPROMPTED, spans shared between voices, key formulations, and a verdict in
    plain words. The floor is frozen with the analysis: re-running gives the same numbers.

    \b
    Examples:
      symposia analyze 20260131-2210
      symposia analyze 20260131-2210 --floor-answers control-answers.txt --out report/
      symposia analyze 20260131-2210 --floor-from "kind=study" --refresh-floor
    """
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast (the
    # chooser's module is light; the analysis stack is imported below, after any warm-up has ended)
    from symposia.analysis.formulations import choose_formulations

    with opts.open() as s:
        session = s.archive.get_session(session_id)
        paths.check_session_id(session.id)  # the report's file names: refuse before any work or paid call
        if session.kind == "study":
            if floor_answers or floor_from or refresh_floor:
                raise click.UsageError(f"{session.id} is a study: its floor is the answers to its control prompts "
                                       "(--floor-answers, --floor-from and --refresh-floor are for other sessions)")
            _report_study(s.archive, session.id, out_dir, as_json)
            return
        forms = None
        rejected: list[dict[str, str]] = []
        if chooser:
            turns = s.archive.session_turns(session.id)
            s.runtime.ready([s.catalog.voice(chooser)])  # its provider's imports, before the warm-up's
            warmup = Warmup(settling(STEPS))  # the analysis stack loads while the chooser answers
            choice = run_sync(while_running(choose_formulations(s.runtime, chooser, turns, session_id=session.id),
                                            warmup))
            warmup.join()  # before this thread imports any of the analysis (one importer at a time)
            forms, rejected = list(choice.accepted), list(choice.rejected)
        # deferred: the analysis stack (numpy, onnxruntime, datasketch, wordfreq) loads only here
        from symposia.analysis import analyze_session, report_json, write_report

        err.print("[dim]Embedding answers…[/]")
        floor = _declared_floor(s.archive, session.id, floor_answers, floor_from, floor_seed, floor_size,
                                refresh_floor)
        a = analyze_session(s.archive, session.id, floor=floor, formulations=forms)
        a.rejected_formulations = rejected
        target = out_dir or paths.under(paths.data_dir() / "analysis", paths.check_session_id(session.id))
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
@click.option("--control-prompts", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Control battery: unrelated prompts to run (>= 20, so the floor has >= 50 answers).")
@click.option("--controls", hidden=True, expose_value=False, callback=_renamed)
@click.option("--echo", is_flag=True,
              help="Also run each prompt with the other voices' fresh answers shown, and report the echo effect.")
@click.option("--reword", help="A voice that rewrites each prompt without its key images (cue stripping).")
@click.option("-s", "--system", help="System prompt for every call.")
@click.option("-t", "--temperature", type=click.FloatRange(min=0.0))
@click.option("--max-tokens", type=click.IntRange(min=1))
@click.option("--seed", type=click.IntRange(0, 2**31 - 1),
              help="Base sampling seed: each call's seed derives from it and its step (default: fresh, recorded).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--resume", "resume_id", help="Finish a stopped study; finished calls are not repeated.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Folder for the report.")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON.")
@click.option("--batch", "batch", is_flag=True, help=BATCH_HELP)
@click.option("--queue", "queue", is_flag=True, help=QUEUE_HELP)
@click.option("--no-report", is_flag=True, help="Store the calls only; analyse later with `symposia analyze ID`.")
@pass_options
@friendly_errors
def study_cmd(opts: Options, prompts_file: Path | None, voices: str | None, preset: str | None, samples: int,
              control_prompts: Path | None, echo: bool, reword: str | None, system: str | None,
              temperature: float | None, max_tokens: int | None, seed: int | None, concurrency: int,
              resume_id: str | None, out_dir: Path | None, as_json: bool, batch: bool, queue: bool,
              no_report: bool) -> None:
    """Put each prompt of PROMPTS_FILE to each voice in a fresh context, K samples, plus a control
    battery; then intra, inter, floor, lift, permutation tests and bootstrap CIs per voice pair.

    \b
    Examples:
      symposia study prompts.toml --voices qwen,grok,kimi --samples 5 --control-prompts controls.toml
      symposia study prompts.toml --voices qwen,grok --samples 5 --control-prompts controls.toml --echo
      symposia study --resume 20260201-0930-study
      symposia study prompts.toml --voices opus,gpt --samples 20 --batch    (half price, within 24 h)
    """

    with opts.open() as s:
        if batch:
            use_batches(s)
        if queue:
            use_queue(s, opts)
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
                             controls=tuple(load_prompt_file(control_prompts)) if control_prompts else (),
                             echo=echo,
                             reword=s.catalog.voice(reword).shortcut if reword else None, system=system,
                             temperature=temperature, max_tokens=max_tokens, concurrency=concurrency, seed=seed)
            err.print(f"[dim]{plan.calls} calls planned.[/]")
        view = LiveView(err)
        # While the calls run, a background thread loads what the report will need (see Warmup).
        warmup = None if no_report else Warmup(settling(STEPS))
        outcome: Any = None
        try:
            with view:
                outcome = run_sync(run_study(s.runtime, plan, session_id=session_id,
                                             observer=warming(view, warmup)))
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
                    again = " --batch" if batch else ""
                    err.print(f"[yellow]Resume with: symposia study --resume {sid}{again}[/]")
        if not no_report:
            if warmup is not None:
                warmup.join()  # before this thread imports any of the analysis (one importer at a time)
            _report_study(s.archive, outcome.session_id, out_dir, as_json)
