"""How one streamed answer is shown: `ask` and `chat` share it, so a retry looks the same in both.

On a terminal the text is shown as it arrives, and a restarted attempt erases what the failed one
showed (cursor up over the rows it took, clear to the end of the screen). Anywhere else (``ask ... >
file``, ``chat`` in a pipe) nothing is streamed: only the final answer is printed, once, so a retried
attempt's partial text can never corrupt the output. Reasoning goes, dimmed, to stderr.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape

from symposia.records import ReasoningChunk, Restart, TextChunk

__all__ = ["AnswerEcho", "AnswerStream"]


class AnswerEcho:
    """Where an answer's text goes as it streams: shown live on a terminal (and erased on a restart),
    printed once at the end anywhere else."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.shown: list[str] = []

    def text(self, piece: str) -> None:
        if self.live:
            self.console.print(piece, end="", markup=False)
            self.shown.append(piece)

    def rows(self) -> int:
        """Terminal rows the shown text occupies (wrapped at the console's width)."""
        width = max(1, self.console.width)
        lines = "".join(self.shown).split("\n")
        return sum(max(1, -(-cell_len(line) // width)) for line in lines)

    def restart(self) -> None:
        if self.live and self.shown:
            up = self.rows() - 1
            self.console.file.write("\r" + (f"\x1b[{up}A" if up else "") + "\x1b[J")
            self.console.file.flush()
        self.shown.clear()

    def final(self, text: str) -> None:
        if not self.live:
            self.console.print(text, end="", markup=False)
        self.console.print()


class AnswerStream:
    """The ``on_event`` of one call: text through an :class:`AnswerEcho` on ``out``, reasoning and
    retry notes on ``err``. Call :meth:`end` with the stored answer's text once the call is over."""

    def __init__(self, out: Console, err: Console) -> None:
        self.echo = AnswerEcho(out)
        self.err = err
        self.reasoning = False

    def __call__(self, ev: TextChunk | ReasoningChunk | Restart) -> None:
        if isinstance(ev, ReasoningChunk):
            if not self.reasoning:
                self.err.print("[dim]thinking…[/]")
                self.reasoning = True
            self.err.print(f"[dim]{escape(ev.text)}[/]", end="")
        elif isinstance(ev, TextChunk):
            self._end_reasoning()
            self.echo.text(ev.text)
        else:
            self.echo.restart()
            self.err.print(f"\n[yellow]↻ retrying (attempt {ev.attempt}): {escape(ev.reason)}[/]")

    def _end_reasoning(self) -> None:
        if self.reasoning:
            self.err.print()
            self.reasoning = False

    def end(self, text: str) -> None:
        """The call is over: ``text`` (the stored answer) is printed if it was not shown live."""
        self._end_reasoning()
        self.echo.final(text)
