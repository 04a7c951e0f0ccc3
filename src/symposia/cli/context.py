"""Shared CLI plumbing: the consoles, the global options, and turning errors into messages."""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click
from rich.console import Console
from rich.markup import escape

from symposia.errors import EXIT_INTERRUPTED, SymposiaError
from symposia.paths import UnsafePathError
from symposia.redact import RedactingStream, redact

if TYPE_CHECKING:
    from symposia.archive import Archive

F = TypeVar("F", bound=Callable[..., Any])

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


class Options:
    """Values of the group's options, passed to every command."""

    def __init__(self, archive: Path | str | None, config: Path | None, force_archive: bool = False) -> None:
        self.archive = archive
        self.config = config
        self.force_archive = force_archive

    def open(self) -> Any:
        # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
        from symposia.api import Symposia

        return Symposia(self.archive, config=self.config, adopt_archive=self.force_archive)

    def open_archive(self) -> Archive:
        """The archive alone (commands that need no voices)."""
        # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
        from symposia.archive import Archive

        return Archive.open(self.archive, adopt=self.force_archive)


pass_options = click.make_pass_decorator(Options)


def redact_terminal() -> Callable[[], None]:
    """Put a :class:`~symposia.redact.RedactingStream` in front of stdout and stderr (everything the
    process prints: Rich consoles, click.echo, warnings, tracebacks); return a function that drains
    and removes them. Idempotent: streams already wrapped are left alone."""
    wrapped: list[tuple[str, RedactingStream]] = []
    for name in ("stdout", "stderr"):
        current = getattr(sys, name)
        if current is not None and not isinstance(current, RedactingStream):
            stream = RedactingStream(current)
            setattr(sys, name, stream)
            wrapped.append((name, stream))

    def undo() -> None:
        for name, stream in wrapped:
            stream.drain()
            if getattr(sys, name) is stream:
                setattr(sys, name, stream.inner)

    return undo


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def echo_json(value: Any) -> None:
    """Print ``value`` (a dataclass, or JSON-shaped data holding dataclasses, dates and paths) as JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif isinstance(value, list):
        value = [dataclasses.asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v
                 for v in value]
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=_jsonable))


def read_text_argument(value: str | None, *, what: str, how: str) -> str:
    """An argument that may also come on standard input (``-`` or omitted), stripped and non-empty."""
    if value is None or value == "-":
        if sys.stdin.isatty():
            raise click.UsageError(f"{how}, or pipe the {what} on standard input")
        value = sys.stdin.read()
    if not value.strip():
        raise click.UsageError(f"the {what} is empty")
    return value.strip()


def friendly_errors(fn: F) -> F:
    """Print a SymposiaError as one actionable line (never a traceback, never a key) and exit with its
    code: 2 when nothing could start (a usage or config problem), 1 when it ran and failed; 130 on Ctrl-C."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (SymposiaError, UnsafePathError) as exc:
            err.print(f"[bold red]Error:[/] {escape(redact(str(exc)))}")
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            err.print("[yellow]Interrupted.[/] Finished turns are stored in the archive.")
            sys.exit(EXIT_INTERRUPTED)

    return cast(F, wrapper)
