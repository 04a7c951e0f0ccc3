"""`symposia annotate SESSION`: observations, key formulations, a synthesis and a closing, added after the fact."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from symposia.cli.context import Options, err, friendly_errors, out, pass_options
from symposia.cli.council import save_transcript
from symposia.dialogue.annotation import ANNOTATION_KINDS


class EditorPerson:
    """You write the annotation: in $EDITOR (tables as TOML), or typed at the prompt with --no-editor."""

    def __init__(self, editor: bool) -> None:
        self.editor = editor

    def write(self, kind: str, template: str, problem: str | None) -> str | None:
        if problem:
            err.print(f"[red]Refused:[/]\n{escape(problem)}")
        if self.editor or kind in ("formulations", "synthesis"):
            text = click.edit(template, extension=".toml" if kind in ("formulations", "synthesis") else ".md")
            return text.strip() if text and text.strip() else None
        typed: str = click.prompt(f"The {kind} (empty to skip)", default="", show_default=False, err=True)
        return typed.strip() or None


class FilePerson:
    """The annotation read from a file (scripts, tests): refused text is not asked for again."""

    def __init__(self, text: str) -> None:
        self.text = text

    def write(self, kind: str, template: str, problem: str | None) -> str | None:
        return None if problem else self.text


@click.command("annotate")
@click.argument("session_id")
@click.option("-k", "--kind", "kinds", multiple=True, type=click.Choice(ANNOTATION_KINDS),
              help="What to add (repeatable). Default with --host: all four; without: observation.")
@click.option("--host", "host", metavar="VOICE",
              help="A voice drafts it from the record (e.g. opus); every quote it attributes is checked.")
@click.option("--from", "from_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read your annotation from a file (Markdown; TOML rows for formulations and synthesis).")
@click.option("--no-editor", is_flag=True, help="Type an observation or closing at the prompt instead of $EDITOR.")
@click.option("--intent", help="What the annotation should attend to (for --host).")
@click.option("--title", help="The synthesis title.")
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the updated transcript (default: the data dir's transcripts/).")
@pass_options
@friendly_errors
def annotate_cmd(opts: Options, session_id: str, kinds: tuple[str, ...], host: str | None, from_file: Path | None,
                 no_editor: bool, intent: str | None, title: str | None, out_path: Path | None) -> None:
    """Add observations, key formulations, a synthesis or a closing to a finished SESSION.

    Works on any session: a council, an imported transcript, a symposium. Every version is kept in the
    record; the transcript shows the latest. A quote attributed to a voice must be its exact words.

    \b
    Examples:
      symposia annotate 20260131-2000 --host opus             a voice writes all four
      symposia annotate 20260131-2000 -k synthesis             you write it, in $EDITOR
      symposia annotate 20260131-2000 -k observation --from note.md
    """
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.api import run_sync
    from symposia.cli.live import StreamPrinter
    from symposia.dialogue.annotation import annotate

    chosen = list(kinds) or (list(ANNOTATION_KINDS) if host else ["observation"])
    with opts.open() as s:
        session = s.archive.get_session(session_id)
        person = None
        if host is None:
            person = FilePerson(from_file.read_text(encoding="utf-8")) if from_file else EditorPerson(not no_editor)
        else:
            host = s.catalog.voice(host).shortcut
        outcome = run_sync(annotate(s.runtime, session.id, chosen, host=host, person=person, intent=intent,
                                    title=title, observer=StreamPrinter(err)))
        for turn in outcome.added:
            out.print(f"added {escape(str(turn.meta.get('kind')))} v{turn.meta.get('version')} (turn {turn.id})")
        target = save_transcript(s, session.id, out_path)
        err.print(f"transcript: {target}")
        if outcome.refused:
            err.print(f"[red]Refused:[/] {escape(', '.join(outcome.refused))} (see `symposia export {session.id} "
                      "-f json` for what was wrong)")
            raise SystemExit(1)
