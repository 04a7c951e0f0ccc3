"""`symposia symposium PLAN`: the host-led dialogue of the seed, from a plan file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click
from rich.markup import escape

from symposia.catalog import Voice
from symposia.cli.context import Options, err, friendly_errors, out, pass_options
from symposia.cli.council import run_and_report
from symposia.cli.live import StreamPrinter
from symposia.dialogue.authoring import person_template
from symposia.dialogue.plan import AskStep, BlindRoundStep, load_plan
from symposia.dialogue.symposium import run_symposium
from symposia.dialogue.visibility import messages_for
from symposia.records import TurnRecord


class TerminalHost:
    """The person at the keyboard hosts: types each question, watches the answer, adds observations."""

    def question(self, voice: Voice, intent: str | None, problem: str | None) -> str | None:
        if problem:
            err.print(f"[red]Refused — it misquotes the record:[/]\n{escape(problem)}")
        hint = f" (aim: {intent})" if intent else ""
        text: str = click.prompt(f"\nQuestion for {voice.name}{hint} (empty to skip)", default="",
                                 show_default=False, err=True)
        return text.strip() or None

    def observation(self, after: TurnRecord) -> str | None:
        text: str = click.prompt("Observation (empty for none)", default="", show_default=False, err=True)
        return text.strip() or None


    def compose(self, kind: str, intent: str | None, problem: str | None) -> str | None:
        if problem:
            err.print(f"[red]Refused — it misquotes the record:[/]\n{escape(problem)}")
        if kind in ("formulations", "synthesis"):  # a table: TOML rows in the editor
            edited = click.edit(person_template(kind, {}), extension=".toml")
            return edited.strip() if edited and edited.strip() else None
        hint = f" (aim: {intent})" if intent else ""
        text: str = click.prompt(f"\nThe {kind}{hint} (empty to leave it out)", default="", show_default=False,
                                 err=True)
        return text.strip() or None

    def next_voice(self, voices: Sequence[Voice]) -> Voice | None:
        names = {v.shortcut: v for v in voices}
        choice: str = click.prompt(f"\nNext voice ({', '.join(names)}; empty to finish)", default="",
                                   show_default=False, err=True)
        return names.get(choice.strip().lower()) if choice.strip() else None


@click.command("symposium")
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate the plan and show the literal questions; call nothing.")
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the Markdown transcript (default: the data dir's transcripts/).")
@click.option("--json", "as_json", is_flag=True, help="Print the session as JSON at the end.")
@pass_options
@friendly_errors
def symposium_cmd(opts: Options, plan_file: Path, dry_run: bool, out_path: Path | None, as_json: bool) -> None:
    """Run a host-led dialogue from PLAN_FILE (TOML): tailored questions, relayed quotes, synthesis.

    The host is the plan itself (literal questions), you (host.mode = "human": type each question), or a
    voice (host.mode = "llm": it drafts each question). Every quote in a question is checked against the
    record before it is sent; a misquote is refused. See `symposia.dialogue.plan` for the format.
    """
    plan = load_plan(plan_file)
    with opts.open() as s:
        for v in plan.voice_names():
            s.catalog.voice(v)  # unknown voices (a chair, the host's too) fail before anything is sent
        if dry_run:
            out.print(f"[bold]{escape(plan.title)}[/] — {len(plan.steps)} steps, host {escape(plan.host.name)} "
                      f"({plan.host.mode})")
            for step in plan.steps:
                line = f"  {step.id}: {step.kind}"
                if isinstance(step, AskStep):
                    voice = s.catalog.voice(step.voice)
                    line += f" → {voice.name} (sees: {step.sees})"
                    if step.question:
                        first = messages_for(voice.shortcut, voice.name, step.question, (), step.sees,
                                             plan.host.name)[-1].content
                        line += f"\n      {first[:200]!r}"
                elif isinstance(step, BlindRoundStep):
                    line += f" → {', '.join(step.voices)}"
                out.print(escape(line))
            out.print("[dim]Threaded voices will also see their earlier exchanges, which do not exist yet.[/]")
            return
        human = TerminalHost() if plan.host.mode == "human" else None
        if human is not None:
            printer = StreamPrinter(err)
            run_and_report(s, lambda view: run_symposium(s.runtime, plan, observer=printer, human=human),
                           out_path, as_json, live=False)
        else:
            run_and_report(s, lambda view: run_symposium(s.runtime, plan, observer=view), out_path, as_json)
