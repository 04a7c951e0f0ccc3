"""`symposia council`, `symposia resume` and `symposia export`."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from symposia import paths
from symposia.analysis.warmup import VERDICT_STEPS, Warmup, warming
from symposia.cli.batches import BATCH_HELP, QUEUE_HELP, use_batches, use_queue
from symposia.cli.collector import settling
from symposia.cli.context import Options, err, friendly_errors, out, pass_options, read_text_argument
from symposia.cli.live import LiveView, usage_table
from symposia.dialogue.council import CouncilPlan, council_preview, run_council
from symposia.errors import EXIT_FAILED, LeaseLost, SessionBusy
from symposia.redact import redact
from symposia.render.inspect_log import inspect_logs


def write_atomically(path: Path, text: str) -> None:
    """Never leave a half-written transcript: write a temp file beside it, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(redact(text))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_session(s: Any, session_id: str, fmt: str, *, include_content: bool = False) -> str:
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.render.otel import otel_trace
    from symposia.render.transcript import transcript_json, transcript_markdown

    session = s.archive.get_session(session_id)
    turns = s.archive.session_turns(session.id)
    if fmt == "html":
        # deferred: markdown-it and nh3 come with the [web] extra
        from symposia.web.transcript import standalone_html

        return standalone_html(session, turns)
    if fmt == "json":
        return json.dumps(transcript_json(session, turns), ensure_ascii=False, indent=2) + "\n"
    if fmt == "otel":
        trace = otel_trace(session, turns, include_content=include_content)
        return json.dumps(trace, ensure_ascii=False, indent=2) + "\n"
    return transcript_markdown(session, turns)


def transcript_path(session_id: str, out_path: Path | None) -> Path:
    """Where a session's transcript goes: ``--out``, else ``<data dir>/transcripts/<id>.md`` (id checked)."""
    return out_path or paths.session_file(paths.data_dir() / "transcripts", session_id, ".md")


def save_transcript(s: Any, session_id: str, out_path: Path | None) -> Path:
    target = transcript_path(session_id, out_path)
    write_atomically(target, render_session(s, session_id, "md"))
    return target


@click.command("council")
@click.argument("question", required=False)
@click.option("-p", "--preset", help="A named council (see `symposia presets`).")
@click.option("-m", "--voice", "voices", multiple=True, help="A voice; repeat for several (-m qwen -m grok).")
@click.option("--rounds", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Later rounds show each voice the others' previous answers.")
@click.option("--chair", help="A voice that writes the synthesis (agreement, divergence, unique insights…); "
              "default: the preset's chair, if it names one.")
@click.option("--rank", is_flag=True, help="Add anonymised peer ranking of the final round (each ranker its own "
              "shuffled order, its own answer left out).")
@click.option("--rank-self", is_flag=True, help="With --rank: rankers also rank their own (anonymised) answer.")
@click.option("-s", "--system", help="System prompt for every voice.")
@click.option("-t", "--temperature", type=click.FloatRange(min=0.0))
@click.option("--max-tokens", type=click.IntRange(min=1))
@click.option("--seed", type=click.IntRange(0, 2**31 - 1),
              help="Base sampling seed: each call's seed derives from it and its step (default: fresh, recorded).")
@click.option("--token-budget", type=click.IntRange(min=1), default=6000, show_default=True,
              help="How much of the others' answers a voice is shown in later rounds (tokens, estimated).")
@click.option("--max-cost", type=click.FloatRange(min=0.0),
              help="Stop before the reported spend would pass this many dollars/credits.")
@click.option("--dry-run", is_flag=True, help="Show what each voice would be sent, call nothing.")
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the Markdown transcript (default: the data dir's transcripts/).")
@click.option("--json", "as_json", is_flag=True, help="Print the session as JSON at the end.")
@click.option("--batch", "batch", is_flag=True, help=BATCH_HELP)
@click.option("--queue", "queue", is_flag=True, help=QUEUE_HELP)
@click.option("--analyze/--no-analyze", default=True, show_default=True,
              help="After the council, measure what the voices share (as `symposia analyze`) and print the verdict.")
@pass_options
@friendly_errors
def council_cmd(opts: Options, question: str | None, preset: str | None, voices: tuple[str, ...], rounds: int,
                chair: str | None, rank: bool, rank_self: bool, system: str | None, temperature: float | None,
                max_tokens: int | None, seed: int | None, token_budget: int, max_cost: float | None,
                dry_run: bool, out_path: Path | None, as_json: bool, batch: bool, queue: bool,
                analyze: bool) -> None:
    """Put one QUESTION to several voices at once; optional rounds, chair synthesis and ranking.

    \b
    Examples:
      symposia council "What persists between instances?" --preset core
      symposia council "What is play?" -m local -m local --rounds 2
      symposia council "..." --preset seven --rounds 2 --chair opus --rank --max-cost 0.50
    """
    q = read_text_argument(question, what="question", how="give a QUESTION")
    with opts.open() as s:
        names: list[str] = []
        if preset:
            names += list(s.catalog.preset(preset).voices)
            chair = chair or s.catalog.preset(preset).chair
        names += list(voices)
        if not names:
            raise click.UsageError("name the voices: --preset NAME or -m VOICE (repeatable)")
        resolved = [s.catalog.voice(n).shortcut for n in names]
        if len(set(resolved)) != len(resolved):
            raise click.UsageError(f"a voice is named twice: {', '.join(resolved)} (each voice speaks once a round)")
        if chair:
            chair = s.catalog.voice(chair).shortcut
        plan = CouncilPlan(question=q, voices=tuple(resolved), rounds=rounds, chair=chair, rank=rank,
                           rank_self=rank_self,
                           system=system, temperature=temperature, max_tokens=max_tokens,
                           token_budget=token_budget, max_cost=max_cost, preset=preset, seed=seed)
        if dry_run:
            for v, req in council_preview(s.runtime, plan):
                out.print(f"[bold]{escape(v.name)}[/] ({escape(v.shortcut)} · {escape(v.model)}) would be sent:")
                out.print_json(json.dumps({"system": req.system, "messages": [m.to_dict() for m in req.messages],
                                           "params": req.params.to_dict()}, ensure_ascii=False))
            if rounds > 1:
                out.print("[dim]Later rounds add the others' answers, which do not exist yet.[/]")
            return
        if batch:
            use_batches(s)
        if queue:
            use_queue(s, opts)
        # a council of one voice has nothing to compare: no analysis, so nothing to warm up while it runs
        run_and_report(s, lambda view: run_council(s.runtime, plan, observer=view), out_path, as_json,
                       after=print_ranking, keep_answers=not as_json,
                       analyze=analyze and not as_json and len(resolved) >= 2)


def print_ranking(s: Any, session_id: str) -> None:
    """The peer ranking's aggregate in the terminal: mean rank, votes, and rankers that failed to parse."""
    from rich.table import Table

    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.dialogue.ranking import ranking_table

    table = ranking_table(s.archive.session_turns(session_id))
    if table is None:
        return
    t = Table(title="Peer ranking (mean position, 1 = best; own answers left out)")
    for col in ("Voice", "Mean rank", "Votes"):
        t.add_column(col)
    for r in table.rows:
        t.add_row(escape(r.name), f"{r.mean_rank:.2f}" if r.mean_rank is not None else "—", str(r.votes))
    err.print(t)
    for rk in table.rankers:
        shown = ", ".join(f"{label}={escape(voice)}" for label, voice in rk.labels.items())
        flag = "" if rk.parsed else " [red]could not be parsed: left out[/]"
        err.print(f"[dim]{escape(rk.name)} saw {shown}[/]{flag}")


def run_and_report(s: Any, start: Any, out_path: Path | None, as_json: bool, session_id: str | None = None,
                   live: bool = True, after: Any = None, keep_answers: bool = False, analyze: bool = False) -> None:
    """Run an orchestrator under the live view, then print the usage table and write the transcript.

    ``keep_answers``: print each answer in full as it finishes. ``analyze``: then analyse the session
    (when at least two voices answered), print the verdict and where the report and heatmap went.
    """
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.api import run_sync

    view = LiveView(err, keep_answers=keep_answers)
    view.interactive = view.interactive and live
    # While the voices answer, a background thread loads what the analysis will need (see Warmup).
    warmup = Warmup(settling(VERDICT_STEPS)) if analyze else None
    outcome: Any = None
    status: str | None = None
    busy = lost = False
    before = _last_session(s)
    try:
        with view:
            outcome = run_sync(start(warming(view, warmup)))
        if warmup is not None:
            warmup.flush()  # the last answers: prepared for the analysis while the table and transcript are written
    except SessionBusy:
        busy = True  # another process runs it: nothing of ours to report
        raise
    except LeaseLost:
        lost = True  # another runner took the session over: it finishes it, not a resume of ours
        raise
    finally:
        # Interrupted, the orchestrator returned nothing: the newest session is ours only if this run made it
        # (a run that failed before its first write made none, and must not report someone else's).
        latest = _last_session(s)
        sid = session_id or getattr(outcome, "session_id", None) or (latest if latest != before else None)
        if sid is not None and not busy:
            turns = s.archive.session_turns(sid)
            if turns:
                err.print(usage_table(turns))
            if after is not None:
                after(s, sid)
            target = save_transcript(s, sid, out_path)
            status = s.archive.get_session(sid).status
            report: list[Path] = []
            if analyze and status == "complete" and len({t.voice for t in turns
                                                         if t.role == "voice" and t.result.ok}) >= 2:
                err.print("[dim]Measuring what the voices share…[/]")
                if warmup is not None:
                    warmup.join()  # before this thread imports any of the analysis (one importer at a time)
                # deferred: the analysis verbs' module (and through it the analysis stack) loads only here
                from symposia.cli.analysis import session_verdict

                report = session_verdict(s.archive, sid)
            err.print(f"[dim]session {sid} ({status}) in {s.archive.path}[/]")
            err.print(f"transcript: {target}")
            heatmaps = [str(p) for p in report if ".heatmap." in p.name]
            if report:
                err.print(f"report: {', '.join(str(p) for p in report if str(p) not in heatmaps)}")
                err.print(f"heatmap: {', '.join(heatmaps)}")
            rt = s.runtime
            if rt.calls_kept:
                err.print(f"[dim]calls: {rt.calls_made} made, {rt.calls_kept} kept from the record[/]")
            if status == "incomplete":
                err.print(f"[yellow]Incomplete: a step was refused (see the transcript). Fix the plan, then: "
                          f"symposia resume {sid} --plan FIXED.toml[/]")
            elif status != "complete" and not lost:
                err.print(f"[yellow]Resume with: symposia resume {sid}[/]")
    if as_json and outcome is not None:
        click.echo(render_session(s, session_id or outcome.session_id, "json"))
    if status in ("incomplete", "failed"):  # it ran, and did not do all it was asked (every call failed)
        sys.exit(EXIT_FAILED)


def _last_session(s: Any) -> str | None:
    sessions = s.archive.list_sessions(limit=1)
    return sessions[0].id if sessions else None


@click.command("resume")
@click.argument("session_id")
@click.option("--max-cost", type=click.FloatRange(min=0.0),
              help="A new spending limit for the rest of the session.")
@click.option("--wait", type=click.FloatRange(min=0.0), default=0.0, show_default=True, metavar="SECONDS",
              help="If another process is running this session, wait this long for it instead of refusing.")
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A corrected symposium plan: steps are compared by id, finished calls whose inputs are "
                   "unchanged are kept, the rest are made; both plan versions are recorded.")
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the session as JSON at the end.")
@click.option("--batch", "batch", is_flag=True, help=BATCH_HELP)
@pass_options
@friendly_errors
def resume_cmd(opts: Options, session_id: str, max_cost: float | None, wait: float, plan_file: Path | None,
               out_path: Path | None, as_json: bool, batch: bool) -> None:
    """Finish an interrupted or incomplete session; calls already stored are not repeated (nor paid for again).

    One session has one runner: a second `resume` of a session that is running refuses, naming the
    process and host running it (or waits, with --wait).

    \b
    With --plan, resume a symposium from a corrected plan (say, a question that misquoted a voice):
      symposia resume 20260131-2000 --plan fixed.toml
    """
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.dialogue.plan import load_plan
    from symposia.dialogue.resume import resume_session

    with opts.open() as s:
        if batch:
            use_batches(s)
        session = s.archive.get_session(session_id)
        transcript_path(session.id, out_path)  # an id that cannot be a file name fails before any call
        plan = load_plan(plan_file) if plan_file is not None else None  # the live view notes the diff
        run_and_report(s, lambda view: resume_session(s.runtime, session.id, observer=view, max_cost=max_cost,
                                                      plan=plan, wait=wait),
                       out_path, as_json, session_id=session.id)


def _export_inspect(s: Any, session_id: str, out_dir: Path | None) -> None:
    if out_dir is None or str(out_dir) == "-":
        raise click.UsageError("-f inspect writes one log per voice: give a folder with -o DIR")
    session = s.archive.get_session(session_id)
    logs = inspect_logs(session, s.archive.session_turns(session.id))
    for voice, log in logs.items():
        target = paths.under(out_dir, f"{paths.check_session_id(session.id)}-{voice}.json")
        write_atomically(target, json.dumps(log, ensure_ascii=False, indent=1) + "\n")
        err.print(f"wrote {target}")
    err.print(f"[dim]open them with: inspect view --log-dir {out_dir}[/]")


@click.command("export")
@click.argument("session_id")
@click.option("-f", "--format", "fmt", type=click.Choice(["md", "json", "html", "otel", "inspect"]), default="md",
              show_default=True,
              help="md: the transcript in the seed's shape; json: the full record; html: one standalone page; "
                   "otel: OTLP-JSON spans (GenAI conventions); "
                   "inspect: a study as Inspect AI eval logs, one per voice, into the folder -o names.")
@click.option("--include-content", is_flag=True,
              help="otel: put the messages and answers in the spans (off: metadata and usage only).")
@click.option("-o", "--out", "out_path", type=click.Path(path_type=Path),
              help="Write to a file (atomically) instead of standard output; '-' is standard output. "
                   "With -f inspect: a folder.")
@pass_options
@friendly_errors
def export_cmd(opts: Options, session_id: str, fmt: str, include_content: bool, out_path: Path | None) -> None:
    """A session rendered from the record: the Markdown transcript, the full JSON, a standalone HTML page,
    or OpenTelemetry spans. Every transcript starts with its provenance (session, date, host, models,
    version)."""
    with opts.open() as s:
        if fmt == "inspect":
            _export_inspect(s, session_id, out_path)
            return
        if out_path is not None and out_path.is_dir():
            raise click.UsageError(f"-o {out_path} is a folder; -f {fmt} writes one file")
        text = render_session(s, s.archive.get_session(session_id).id, fmt, include_content=include_content)
        if out_path is None or str(out_path) == "-":
            click.echo(text, nl=False)
        else:
            write_atomically(out_path, text)
            err.print(f"wrote {out_path}")

