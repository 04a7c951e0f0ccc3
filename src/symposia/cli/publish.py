"""`symposia publish`: post a session to Moltbook — a preview unless --yes; --queue sends what waits."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

from symposia.cli.context import Options, echo_json, friendly_errors, pass_options

_PARTS = ("full", "formulations", "synthesis")  # symposia.publish.content.PARTS, without importing it here


def _when(dt: datetime | None) -> str:
    if dt is None:
        return "now"
    delta = (dt - datetime.now(UTC)).total_seconds()
    rel = "due now" if delta <= 0 else f"in {int(delta // 60) + (1 if delta % 60 else 0)} min"
    return f"{dt.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({rel})"


def _ask(challenge: str, why: str) -> str | None:
    """Ask the person to solve the challenge the solver was unsure of; empty means leave it waiting."""
    click.echo(f"Moltbook asks a verification question (the solver is unsure: {why}):\n  {challenge}", err=True)
    click.echo("Answer once: ten wrong answers in a row suspend the account. Leave empty to answer later.",
               err=True)
    typed: str = click.prompt("Answer", default="", show_default=False, err=True)
    return typed.strip() or None


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _report(result: Any, as_json: bool = False) -> None:
    """One publishing outcome: a line to stdout (or the whole result as JSON), and the exit status it calls for."""
    if as_json:
        echo_json(result)
    else:
        click.echo(result.message)
        if result.publication_id is not None and result.status != "posted":
            click.echo(f"(publication #{result.publication_id}, status {result.status})")
    if result.status in ("failed", "awaiting_verification"):
        sys.exit(1)


@click.command("publish")
@click.argument("session_id", required=False)
@click.option("--to", "target", type=click.Choice(["moltbook"]), default="moltbook", show_default=True,
              help="Where to publish.")
@click.option("--submolt", default="general", show_default=True, help="The submolt (community) to post in.")
@click.option("--title", help="Post title (default: the session's title; at most 300 characters).")
@click.option("--part", type=click.Choice(_PARTS), default="full", show_default=True,
              help="The whole transcript, or only its Key Formulations or Synthesis sections.")
@click.option("--yes", "confirm", is_flag=True, help="Really post. Posts are public and permanent in mirrors.")
@click.option("--queue", "run_queue", is_flag=True, help="Send the queued posts that are due; list what waits.")
@click.option("--verify", "verify_id", type=int, metavar="PUBLICATION",
              help="Answer the verification challenge of a post left awaiting verification.")
@click.option("--answer", help="With --verify: the answer (a number, e.g. 18 or 18.00).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the outcome as JSON (the preview, the post, or what the queue sent and what waits).")
@pass_options
@friendly_errors
def publish_cmd(opts: Options, session_id: str | None, target: str, submolt: str, title: str | None, part: str,
                confirm: bool, run_queue: bool, verify_id: int | None, answer: str | None, as_json: bool) -> None:
    """Publish a session to Moltbook. Without --yes, only shows what would be posted.

    \b
    The key comes from MOLTBOOK_API_KEY or keys.toml (mode 0600) and is sent to
    https://www.moltbook.com/api/v1 only. One post per 30 minutes: a later one is queued.
    \b
      symposia publish 20261125-194428-symposium-3f9a            preview
      symposia publish 20261125-194428 --part synthesis --yes     post the Synthesis
      symposia publish --queue                                    send what is due, list what waits
    """
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.publish.queue import publish_session, send_queue, verify_pending

    ask = _ask if _interactive() else None
    with opts.open_archive() as archive:
        if verify_id is not None:
            _report(verify_pending(archive, verify_id, answer, ask=ask), as_json)
            return
        if run_queue:
            report = send_queue(archive, ask=ask)
            failed = any(r.status in ("failed", "awaiting_verification") for r in report.sent)
            if as_json:
                echo_json(report)
                if failed:
                    sys.exit(1)
                return
            for r in report.sent:
                click.echo(f"#{r.publication_id} {r.status}: {r.message}")
            if not report.sent:
                click.echo("Nothing due to send.")
            if report.waiting:
                click.echo(f"Waiting ({len(report.waiting)}):")
                for p in report.waiting:
                    click.echo(f"  #{p.id}  {_when(p.not_before)}  m/{p.submolt}  {p.title!r}  (session "
                               f"{p.session_id})")
            if failed:
                sys.exit(1)
            return
        if not session_id:
            raise click.UsageError("give a session ID to publish (see `symposia log`), or --queue / --verify")
        result = publish_session(archive, session_id, submolt=submolt, title=title, part=part, confirm=confirm,
                                 to=target, ask=ask)
        if result.status == "preview" and not as_json:
            note = " (shortened at a section boundary)" if result.shortened else ""
            click.echo(f"Preview for moltbook, m/{result.submolt}: nothing was posted.")
            click.echo(f"Title:  {result.title}")
            click.echo(f"Length: {result.length:,} of 40,000 characters{note}")
            click.echo("-" * 72)
            click.echo(result.content, nl=not result.content.endswith("\n"))
            click.echo("-" * 72)
            click.echo("Nothing was posted; add --yes to publish. Posts are public and permanent in public mirrors.")
            return
        _report(result, as_json)
