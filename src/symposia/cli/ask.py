"""`symposia ask VOICE QUESTION`: one question to one voice, streamed live and stored."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from symposia.catalog.templates import load_template
from symposia.cli.context import Options, echo_json, err, friendly_errors, out, pass_options, read_text_argument
from symposia.cli.echo import AnswerStream
from symposia.codec import turn_to_dict
from symposia.dialogue.chat import latest_conversation
from symposia.records import ReasoningChunk, Restart, TextChunk, TurnRecord


def _footer(turn: TurnRecord, archive: str) -> str:
    r = turn.result
    u = r.usage
    parts = [f"turn {turn.id}", f"session {turn.session_id}"]
    if u.completion_tokens is not None:
        parts.append(f"{u.prompt_tokens or 0}+{u.completion_tokens} tokens")
    if u.cost:
        parts.append(f"${u.cost:.4f}" + (" (estimated)" if "cost_estimated" in turn.meta else ""))
    parts.append(f"{r.latency_s:.1f}s")
    if turn.request.params.seed is not None:
        parts.append(f"seed {turn.request.params.seed}")
    if r.attempts > 1:
        parts.append(f"{r.attempts} attempts")
    return f"stored as {' · '.join(parts)} in {archive}"


@click.command("ask")
@click.argument("voice", required=False)
@click.argument("question", required=False)
@click.option("-c", "--continue", "cont", is_flag=True,
              help="Continue the latest conversation (ask or chat) with its history; VOICE optional.")
@click.option("--cid", help="Continue this conversation (session id or unique prefix).")
@click.option("-T", "--template", "template_name",
              help="A saved template: its system prompt, question frame and params (`symposia templates`).")
@click.option("-s", "--system", help="System prompt for this call.")
@click.option("-t", "--temperature", type=click.FloatRange(min=0.0),
              help="Sampling temperature (default: the voice's).")
@click.option("--max-tokens", type=click.IntRange(min=1), help="Limit the answer's length in tokens.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1),
              help="Sampling seed (local voices reproduce an answer from it; by default a fresh one, recorded).")
@click.option("--json", "as_json", is_flag=True, help="Print the stored turn as JSON instead of streaming.")
@pass_options
@friendly_errors
def ask_cmd(opts: Options, voice: str | None, question: str | None, cont: bool, cid: str | None,
            template_name: str | None, system: str | None, temperature: float | None, max_tokens: int | None,
            seed: int | None, as_json: bool) -> None:
    """Ask VOICE one QUESTION (or read it from stdin); stream the answer and store it.

    \b
    Examples:
      symposia ask local "What is play?"
      echo "What persists between instances?" | symposia ask qwen -t 0.7
      symposia ask opus "..." --json | jq .result.text
      symposia ask -c "And what does not?"          # a follow-up, same voice, with the history
    """
    following = cont or cid is not None
    if following and question is None and voice is not None:
        voice, question = None, voice  # `ask -c "follow-up"`: the one argument is the question
    if voice is None and not following:
        raise click.UsageError("give a VOICE (see `symposia voices`), or -c to continue a conversation")
    q = read_text_argument(question, what="question", how="give a QUESTION")
    template = load_template(template_name) if template_name else None
    if template is not None:
        q = template.question(q)
        system = system if system is not None else template.system
    with opts.open() as s:
        if following:
            sid = s.archive.get_session(cid).id if cid is not None else None
            sid = sid or latest_conversation(s.archive)
            last = s.archive.session_turns(sid)
            voice = voice or next((t.voice for t in reversed(last) if t.role == "voice"), None)
            if voice is None:
                raise click.UsageError(f"session {sid} has no voice to continue with; give a VOICE")
        v = s.voice(voice)
        stream = AnswerStream(out, err)  # the same printer as chat's: a retry erases (TTY) or is never shown

        def on_event(ev: TextChunk | ReasoningChunk | Restart) -> None:
            if not as_json:
                stream(ev)

        if not as_json:
            err.print(f"[bold]{escape(v.name)}[/] [dim]({escape(v.shortcut)} · {escape(v.model)})[/]")
        if following:
            turn = s.continue_conversation(q, session_id=sid, voice=v.shortcut, system=system,
                                           temperature=temperature, max_tokens=max_tokens, seed=seed,
                                           on_event=on_event)
        else:
            turn = s.ask(v.shortcut, q, system=system, temperature=temperature, max_tokens=max_tokens, seed=seed,
                         params=template.params if template else None, on_event=on_event)
        if as_json:
            echo_json(turn_to_dict(turn))
        else:
            stream.end(turn.result.text)
            r = turn.result
            if r.error is not None:
                err.print(f"[bold red]✗ {escape(v.shortcut)} failed:[/] {escape(r.error.message)}")
            for flag in r.flags:
                if flag != "error":
                    err.print(f"[yellow]⚠ flagged: {flag}[/]")
            err.print(f"[dim]{escape(_footer(turn, str(s.archive.path)))}[/]")
        if turn.result.error is not None:
            sys.exit(1)
