"""The terminal's live view of a session: a panel per voice streaming as tokens arrive, then a table of
tokens, cost and latency per call. On a non-terminal (pipes, CI) it prints one line per finished call.
With ``keep_answers`` every finished answer is printed in full as it ends and stays on screen."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from symposia.catalog import Voice
from symposia.records import ReasoningChunk, Restart, TextChunk, TurnRecord

TAIL_LINES = 6
REFRESH_HZ = 10


@dataclass
class _Pane:
    voice: Voice
    label: str
    text: list[str] = field(default_factory=list)
    thinking: int = 0
    started: float = field(default_factory=time.monotonic)
    done: TurnRecord | None = None
    restarts: int = 0

    def render(self, width: int) -> Panel:
        body = "".join(self.text)
        lines = body.splitlines()[-TAIL_LINES:] if body else []
        content = Text("\n".join(lines))
        if not body and self.thinking:
            content = Text(f"thinking… ({self.thinking} chunks)", style="dim")
        title = f"{self.voice.name} · {self.label}"
        if self.done is not None:
            r = self.done.result
            status = "[red]failed[/]" if not r.ok else f"[green]done[/] {r.latency_s:.1f}s"
            border = "red" if not r.ok else "green"
        else:
            status = f"[yellow]{time.monotonic() - self.started:.1f}s[/]"
            border = "yellow"
        if self.restarts:
            status += f" [yellow]↻{self.restarts}[/]"
        return Panel(content, title=escape(title), subtitle=status, border_style=border, width=width)


class LiveView:
    """An Observer that draws to a Rich console (stderr by default)."""

    def __init__(self, console: Console, *, max_panes: int = 8, keep_answers: bool = False) -> None:
        self.console = console
        self.keep_answers = keep_answers
        self.panes: dict[str, _Pane] = {}
        self.order: list[str] = []
        self.notes: list[str] = []
        self.max_panes = max_panes
        self.live: Live | None = None
        self.interactive = console.is_terminal

    def __enter__(self) -> LiveView:
        if self.interactive:
            # Redrawn at most REFRESH_HZ times a second by Rich's own thread, never per chunk: drawing
            # every chunk of 12 streaming voices halved the throughput on a terminal.
            self.live = Live(console=self.console, get_renderable=self._render,
                             refresh_per_second=REFRESH_HZ, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)
            self.live = None

    def _render(self) -> RenderableType:
        active = [k for k in self.order if self.panes[k].done is None]
        recent = [k for k in self.order if self.panes[k].done is not None][-2:]
        shown = (active + recent)[: self.max_panes]
        width = max(40, min(self.console.width, 100))
        done = sum(1 for p in self.panes.values() if p.done is not None)
        header = Text(f"{self.notes[-1] if self.notes else ''}  [{done}/{len(self.panes)} calls done]",
                      style="bold")
        return Group(header, *(self.panes[k].render(width) for k in shown))

    # -- Observer ---------------------------------------------------------------------------------
    def note(self, text: str) -> None:
        self.notes.append(text)
        if not self.interactive:
            self.console.print(f"[bold]{escape(text)}[/]")

    def turn_started(self, key: str, voice: Voice, label: str) -> None:
        self.panes[key] = _Pane(voice, label)
        self.order.append(key)

    def event(self, key: str, event: TextChunk | ReasoningChunk | Restart) -> None:
        pane = self.panes.get(key)
        if pane is None:
            return
        if isinstance(event, TextChunk):
            pane.text.append(event.text)
        elif isinstance(event, ReasoningChunk):
            pane.thinking += 1
        else:
            pane.text.clear()
            pane.restarts += 1

    def turn_finished(self, key: str, turn: TurnRecord) -> None:
        pane = self.panes.get(key)
        if pane is not None:
            pane.done = turn
        if self.keep_answers and turn.result.ok:
            # Printed above the live panes (Rich keeps it there when they go), or in sequence on a pipe.
            label = pane.label if pane is not None else key
            self.console.print(_answer_panel(turn, label, max(40, min(self.console.width, 100))), soft_wrap=False)
        elif not self.interactive:
            r = turn.result
            mark = "✗" if not r.ok else "✓"
            extra = f" — {r.error.message}" if r.error else (f" [{' '.join(r.flags)}]" if r.flags else "")
            self.console.print(f"{mark} {escape(turn.voice_name)} ({escape(key)}) {r.latency_s:.1f}s{escape(extra)}")


PER_CALL_ROWS = 40  # above this many calls the table has one row per voice (500 rows help nobody)


def _answer_panel(turn: TurnRecord, label: str, width: int) -> Panel:
    """A finished answer in full, titled with its voice and step, its time and flags underneath."""
    r = turn.result
    flags = f" · [yellow]{' '.join(r.flags)}[/]" if r.flags else ""
    return Panel(Text(r.text.strip() or "(empty)"), title=escape(f"{turn.voice_name} · {label}"),
                 subtitle=f"{r.latency_s:.1f}s{flags}", border_style="yellow" if r.flags else "green", width=width)


def usage_table(turns: Sequence[TurnRecord], title: str = "Calls") -> Table:
    """Tokens, cost and latency per call, with totals (voices by shortcut, to fit 80 columns); one row
    per voice instead when a voice made several calls (a council of rounds: the transcript has each
    call) or there are more than :data:`PER_CALL_ROWS` calls."""
    if len(turns) > PER_CALL_ROWS or len({t.voice for t in turns}) < len(turns):
        return _per_voice_table(turns, title)
    table = Table(title=title, title_justify="left")
    for col, justify in (("voice", "left"), ("step", "left"), ("in", "right"), ("out", "right"),
                         ("think", "right"), ("cost", "right"), ("ttft", "right"), ("time", "right"),
                         ("status", "left")):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    tin = tout = 0
    cost = 0.0
    for t in turns:
        r, u = t.result, t.result.usage
        tin += u.prompt_tokens or 0
        tout += u.completion_tokens or 0
        cost += u.cost or 0.0
        status = "[red]failed[/]" if not r.ok else ("[yellow]" + " ".join(r.flags) + "[/]" if r.flags else "ok")
        table.add_row(escape(t.voice), escape(t.step_key or ""), str(u.prompt_tokens or "–"),
                      str(u.completion_tokens or "–"), str(u.reasoning_tokens or "–"),
                      f"${u.cost:.4f}" if u.cost else "–", f"{r.ttft_s:.2f}s" if r.ttft_s is not None else "–",
                      f"{r.latency_s:.1f}s", status)
    table.add_section()
    table.add_row("total", "", str(tin), str(tout), "", f"${cost:.4f}", "", "", "")
    return table


def _per_voice_table(turns: Sequence[TurnRecord], title: str) -> Table:
    table = Table(title=f"{title} ({len(turns)}, by voice)", title_justify="left")
    for col, justify in (("voice", "left"), ("calls", "right"), ("failed", "right"), ("in", "right"),
                         ("out", "right"), ("cost", "right"), ("mean time", "right")):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    rows: dict[str, list[float]] = {}
    for t in turns:
        r, u = t.result, t.result.usage
        row = rows.setdefault(t.voice, [0, 0, 0, 0, 0.0, 0.0])
        row[0] += 1
        row[1] += 0 if r.ok else 1
        row[2] += u.prompt_tokens or 0
        row[3] += u.completion_tokens or 0
        row[4] += u.cost or 0.0
        row[5] += r.latency_s
    for voice, (n, failed, tin, tout, cost, latency) in rows.items():
        table.add_row(escape(voice), str(int(n)), f"[red]{int(failed)}[/]" if failed else "0", str(int(tin)),
                      str(int(tout)), f"${cost:.4f}" if cost else "–", f"{latency / n:.1f}s")
    table.add_section()
    table.add_row("total", str(len(turns)), str(sum(int(r[1]) for r in rows.values())),
                  str(sum(int(r[2]) for r in rows.values())), str(sum(int(r[3]) for r in rows.values())),
                  f"${sum(r[4] for r in rows.values()):.4f}", "")
    return table


class StreamPrinter:
    """An Observer for one call at a time (a person hosting): streams each answer under its voice's name."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def note(self, text: str) -> None:
        self.console.print(f"[dim]{escape(text)}[/]")

    def turn_started(self, key: str, voice: Voice, label: str) -> None:
        self.console.print(f"\n[bold]{escape(voice.name)}[/] [dim]{escape(label)}[/]")

    def event(self, key: str, event: TextChunk | ReasoningChunk | Restart) -> None:
        if isinstance(event, TextChunk):
            self.console.print(event.text, end="", markup=False, highlight=False)
        elif isinstance(event, Restart):
            self.console.print(f"\n[yellow]↻ retrying: {escape(event.reason)}[/]")

    def turn_finished(self, key: str, turn: TurnRecord) -> None:
        r = turn.result
        if r.error is not None:
            self.console.print(f"\n[red]✗ {escape(turn.voice_name)} failed: {escape(r.error.message)}[/]")
        else:
            self.console.print(f"\n[dim]({r.latency_s:.1f}s{', ' + ' '.join(r.flags) if r.flags else ''})[/]")
