"""`symposia arena A B`: two voices talk to each other, streamed live turn by turn and stored."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
from rich.markup import escape

from symposia.api import Symposia, run_sync
from symposia.cli.context import Options, echo_json, err, friendly_errors, out, pass_options, read_text_argument
from symposia.codec import session_to_dict, turn_to_dict
from symposia.dialogue.arena import MODES, ArenaEvent, TurnFinished, TurnStarted, resume_arena, run_arena
from symposia.records import Params, ReasoningChunk, Restart, TextChunk, TurnRecord

DEFAULT_TURNS = 6


def arena_summary(session_id: str, turns: Sequence[TurnRecord], archive: str) -> str:
    """One line: how many turns, tokens and cost, and where the arena is stored."""
    ok = [t for t in turns if t.result.error is None]
    tokens = sum((t.result.usage.prompt_tokens or 0) + (t.result.usage.completion_tokens or 0) for t in turns)
    costs = [t.result.usage.cost for t in turns if t.result.usage.cost is not None]
    parts = [f"{len(ok)} turn{'s' if len(ok) != 1 else ''}", f"{tokens} tokens"]
    parts.append(f"${sum(costs):.4f}" if costs else "cost unknown")
    return f"arena {session_id}: {' · '.join(parts)} · stored in {archive}"


class ArenaEventPrinter:
    """Streams an arena to the terminal: a heading per speaker, the answer on stdout, notes on stderr."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.reasoning = False

    def __call__(self, ev: ArenaEvent) -> None:
        if self.quiet:
            return
        if isinstance(ev, TurnStarted):
            out.print(f"\n[bold]## {escape(ev.name)}[/]\n")
            if ev.resumed:
                err.print(f"[dim](turn {ev.index}, stored earlier: not asked again)[/]")
        elif isinstance(ev, TurnFinished):
            self._end_reasoning()
            r = ev.turn.result
            if ev.resumed:
                out.print(r.text, markup=False)
            else:
                out.print()
            if r.error is not None:
                err.print(f"[bold red]✗ turn {ev.index} ({escape(ev.turn.voice)}) failed:[/] "
                          f"{escape(r.error.message)}")
            for flag in r.flags:
                if flag != "error":
                    err.print(f"[yellow]⚠ turn {ev.index} flagged: {flag}[/]")
        elif isinstance(ev, ReasoningChunk):
            if not self.reasoning:
                err.print("[dim]thinking…[/]")
                self.reasoning = True
            err.print(f"[dim]{escape(ev.text)}[/]", end="")
        elif isinstance(ev, TextChunk):
            self._end_reasoning()
            out.print(ev.text, end="", markup=False)
        elif isinstance(ev, Restart):
            err.print(f"\n[yellow]↻ retrying (attempt {ev.attempt}): {escape(ev.reason)}[/]")

    def _end_reasoning(self) -> None:
        if self.reasoning:
            err.print()
            self.reasoning = False


@click.command("arena")
@click.argument("voice_a", required=False)
@click.argument("voice_b", required=False)
@click.option("--mode", type=click.Choice(MODES), default="free", show_default=True,
              help="free: open conversation; debate: A for, B against; interview: A asks, B answers; "
                   "collaborative: they build one answer together.")
@click.option("--turns", type=click.IntRange(min=1),
              help=f"Total turns; A speaks the odd ones, B the even ones (default: {DEFAULT_TURNS}; "
                   "with --resume, the stored number, and more extends the arena).")
@click.option("--topic", help="What they talk about (default: read from standard input).")
@click.option("-s", "--system", help="Added to both sides' system prompts.")
@click.option("-t", "--temperature", type=click.FloatRange(min=0.0),
              help="Sampling temperature (default: each voice's).")
@click.option("--max-tokens", type=click.IntRange(min=1), help="Limit each turn's length in tokens.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the stored session and turns as JSON at the end.")
@click.option("--resume", "resume_id", metavar="SESSION_ID",
              help="Continue a stored arena (id or unique prefix) from its plan; finished turns are not "
                   "asked again.")
@pass_options
@friendly_errors
def arena_cmd(opts: Options, voice_a: str | None, voice_b: str | None, mode: str, turns: int | None,
              topic: str | None, system: str | None, temperature: float | None, max_tokens: int | None,
              as_json: bool, resume_id: str | None) -> None:
    """Let VOICE_A and VOICE_B talk to each other for --turns turns, streamed and stored.

    Each sees its own turns as its own and the other's as what it is told. Every turn is stored as
    it ends; a failed turn stops the arena, and `symposia arena --resume SESSION_ID` continues it
    later without asking finished turns again.

    \b
    Examples:
      symposia arena qwen grok --mode debate --topic "Models have no inner life." --turns 4
      echo "What is attention?" | symposia arena kimi deepseek --mode collaborative
      symposia arena --resume 20261125-194428-arena-3f9a --turns 8
    """
    if resume_id is not None:
        if voice_a is not None or topic is not None:
            raise click.UsageError("--resume continues a stored arena with its own voices and topic; "
                                   "give either --resume SESSION_ID or VOICE_A VOICE_B, not both")
    elif voice_a is None or voice_b is None:
        raise click.UsageError("give two voices, VOICE_A and VOICE_B (or --resume SESSION_ID)")
    text = read_text_argument(topic, what="topic", how="give the topic with --topic TEXT") if resume_id is None else ""
    params = Params(temperature=temperature, max_tokens=max_tokens)
    printer = ArenaEventPrinter(as_json)
    s: Symposia
    with opts.open() as s:
        if resume_id is not None:
            plan = s.archive.get_session(resume_id).plan
            names = [str(v) for v in plan.get("voices", [])]
        else:
            names = [str(voice_a), str(voice_b)]
        for v in names:
            s.runtime.provider(s.voice(v))  # a missing key stops us before anything is stored

        async def go() -> str:
            try:
                if resume_id is not None:
                    return await resume_arena(s.runtime, resume_id, turns=turns, on_event=printer)
                return await run_arena(s.runtime, names[0], names[1], text, mode, turns or DEFAULT_TURNS,
                                       system=system, params=params, on_event=printer)
            finally:
                await s.runtime.aclose()

        sid = run_sync(go())
        session = s.archive.get_session(sid)
        stored = s.archive.session_turns(sid)
        if as_json:
            data = {"session": session_to_dict(session), "turns": [turn_to_dict(t) for t in stored]}
            echo_json(data)
        else:
            out.print()
            if session.status == "failed":
                err.print(f"[bold red]The arena stopped at a failed turn.[/] Finished turns are stored; "
                          f"continue later with `symposia arena --resume {escape(sid)}`.")
            err.print(f"[dim]{escape(arena_summary(sid, stored, str(s.archive.path)))}[/]")
        if session.status == "failed":
            sys.exit(1)
