"""`symposia chat VOICE`: an interactive conversation, one line per question, every turn stored."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from symposia.api import Symposia, run_sync
from symposia.cli.context import Options, err, friendly_errors, out, pass_options
from symposia.cli.echo import AnswerStream
from symposia.dialogue.chat import Chat
from symposia.errors import SymposiaError
from symposia.records import Params, TurnRecord
from symposia.redact import redact

HELP = """Commands:
  /switch VOICE   later questions go to VOICE (it sees the conversation so far)
  /retry          ask the same voice the last question again; the new answer replaces the old
  /undo           drop the last question and answer from the conversation
  /system TEXT    set the system prompt (empty TEXT clears it)
  /quit           end the chat (or Ctrl-D)
  //text          send a question that starts with "/"
"""


def _read_line(interactive: bool) -> str | None:
    """The next input line without its newline; None at end of input."""
    if interactive:
        err.print("[bold cyan]you>[/] ", end="")
        try:
            return input()
        except EOFError:
            err.print()
            return None
    line = sys.stdin.readline()
    return line.rstrip("\r\n") if line else None


def _footer(turn: TurnRecord) -> None:
    r = turn.result
    if r.error is not None:
        err.print(f"[bold red]✗ {escape(turn.voice)} failed:[/] {escape(r.error.message)} "
                  f"[dim](stored as turn {turn.id}; /retry is not needed, just ask again)[/]")
        return
    for flag in r.flags:
        err.print(f"[yellow]⚠ flagged: {flag}[/]")
    u = r.usage
    parts = [f"turn {turn.id}"]
    if u.completion_tokens is not None:
        parts.append(f"{u.prompt_tokens or 0}+{u.completion_tokens} tokens")
    if u.cost:
        parts.append(f"${u.cost:.4f}")
    parts.append(f"{r.latency_s:.1f}s")
    err.print(f"[dim]{' · '.join(parts)}[/]")


async def _answer(chat: Chat, question: str | None) -> None:
    """Ask (or, with ``question`` None, retry) and print the answer as it streams."""
    if question is None:
        voice = chat.rt.catalog.voice(chat.exchanges[-1].voice) if chat.exchanges else chat.voice
    else:
        voice = chat.voice
    err.print(f"[bold]{escape(voice.name)}[/]" + (" [dim](retry)[/]" if question is None else ""))
    stream = AnswerStream(out, err)  # ask's printer: a retried attempt is erased (TTY) or never shown (pipe)
    if question is None:
        turn = await chat.retry(on_event=stream)
    else:
        turn = await chat.ask(question, on_event=stream)
    stream.end(turn.result.text)
    _footer(turn)


async def _command(chat: Chat, name: str, arg: str) -> bool:
    """Run one /command; False means the chat ends."""
    if name in ("quit", "exit", "q"):
        return False
    if name == "switch":
        if not arg:
            raise click.UsageError("/switch needs a voice, e.g. /switch grok")
        v = chat.switch(arg)
        err.print(f"[dim]now talking to {escape(v.name)} ({escape(v.shortcut)})[/]")
    elif name == "retry":
        await _answer(chat, None)
    elif name == "undo":
        gone = chat.undo()
        err.print(f"[dim]dropped: {escape(gone.question[:60])} → {escape(gone.voice_name)}'s answer[/]")
    elif name == "system":
        chat.set_system(arg)
        err.print(f"[dim]{'system prompt set' if chat.system else 'system prompt cleared'}[/]")
    elif name == "help":
        err.print(HELP, markup=False)
    else:
        err.print(f"[yellow]unknown command /{escape(name)}[/]")
        err.print(HELP, markup=False)
    return True


async def _loop(chat: Chat, interactive: bool) -> None:
    while True:
        line = _read_line(interactive)
        if line is None:
            return
        text = line.strip()
        if not text:
            continue
        try:
            if text.startswith("/") and not text.startswith("//"):
                name, _, arg = text[1:].partition(" ")
                if not await _command(chat, name.lower(), arg.strip()):
                    return
            else:
                await _answer(chat, text[1:] if text.startswith("//") else text)
        except (SymposiaError, click.UsageError) as exc:
            # One bad command (unknown voice, nothing to undo) must not end the conversation.
            msg = exc.message if isinstance(exc, click.UsageError) else str(exc)
            err.print(f"[bold red]Error:[/] {escape(redact(msg))}")


@click.command("chat")
@click.argument("voice", required=False)
@click.option("--resume", "resume_id", metavar="SESSION_ID",
              help="Continue a stored chat (id or unique prefix).")
@click.option("-s", "--system", help="System prompt (also settable during the chat with /system).")
@click.option("-t", "--temperature", type=click.FloatRange(min=0.0),
              help="Sampling temperature (default: the voice's).")
@click.option("--max-tokens", type=click.IntRange(min=1), help="Limit each answer's length in tokens.")
@pass_options
@friendly_errors
def chat_cmd(opts: Options, voice: str | None, resume_id: str | None, system: str | None,
             temperature: float | None, max_tokens: int | None) -> None:
    """Talk with VOICE, one question per line; every answer is stored as it ends.

    \b
    Commands: /switch VOICE, /retry, /undo, /system TEXT, /quit (or Ctrl-D), /help.
    Lines can also be piped in:  printf 'Hello\\n/switch grok\\nAnd you?\\n' | symposia chat qwen
    \b
    Examples:
      symposia chat qwen -s "Answer in one paragraph."
      symposia chat --resume 20261125-194428-chat-3f9a
    """
    if voice is None and resume_id is None:
        raise click.UsageError("give a VOICE to talk to, or --resume SESSION_ID to continue a chat")
    params = Params(temperature=temperature, max_tokens=max_tokens)
    interactive = sys.stdin.isatty()
    s: Symposia
    with opts.open() as s:
        if resume_id is not None:
            chat = Chat.resume(s.runtime, resume_id, voice=voice, system=system, params=params)
            n = len(chat.exchanges)
            plural = "s" if n != 1 else ""
            err.print(f"[dim]resuming chat {escape(chat.session_id or '')}: {n} exchange{plural} so far[/]")
        else:
            assert voice is not None
            chat = Chat(s.runtime, voice, system=system, params=params)
        s.runtime.provider(chat.voice)  # a missing key stops us before the first question
        err.print(f"[bold]{escape(chat.voice.name)}[/] [dim]({escape(chat.voice.shortcut)} · "
                  f"{escape(chat.voice.model)}) — /help for commands, /quit to end[/]")

        async def go() -> None:
            try:
                await _loop(chat, interactive)
            finally:
                try:
                    chat.close()
                finally:
                    await s.runtime.aclose()

        run_sync(go())
        if chat.session_id is not None:
            sid = escape(chat.session_id)
            err.print(f"[dim]chat stored as session {sid} in {escape(str(s.archive.path))}; "
                      f"continue with `symposia chat --resume {sid}`[/]")
