"""`symposia batches` (the provider batches an archive has sent, with status and cost) and the ``--batch``
switch that study, council and resume share."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from symposia.cli.context import Options, err, friendly_errors, out, pass_options

BATCH_HELP = ("Send the calls through the providers' batch APIs (about half price, results within 24 h; "
              "stop any time and run again with --resume). Providers without one are called live.")


def use_batches(s: Any) -> None:
    """Make the session's runtime send its calls in provider batches."""
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.dialogue.batching import BatchExecutor

    s.runtime.executor = BatchExecutor(s.archive, note=lambda text: err.print(f"[dim]{escape(text)}[/]"),
                                       prices=s.runtime.prices)


@click.command("batches")
@click.option("--open", "open_only", is_flag=True, help="Only batches not yet collected.")
@click.option("-n", "--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the batches as JSON.")
@pass_options
@friendly_errors
def batches_cmd(opts: Options, open_only: bool, limit: int, as_json: bool) -> None:
    """The provider batches sent from this archive: status, requests, results and cost (at the batch price).

    \b
    Examples:
      symposia batches
      symposia batches --open --json
    """
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.archive.batches import BatchLedger

    with opts.open() as s:
        jobs = BatchLedger(s.archive).jobs(open_only=open_only, limit=limit)
    if as_json:
        click.echo(json.dumps([{
            "id": j.remote_id, "tag": j.tag, "provider": j.provider, "status": j.status,
            "remote_status": j.remote_status, "requests": j.requests, "bytes": j.bytes, "succeeded": j.succeeded,
            "failed": j.failed, "cost": j.cost, "created_at": j.created_at.isoformat(),
            "ended_at": j.ended_at.isoformat() if j.ended_at else None, "found": j.found, "note": j.note}
            for j in jobs], indent=2))
        return
    if not jobs:
        err.print("No batches in this archive." if not open_only else "No open batches.")
        return
    t = Table(title="Provider batches")
    for c in ("Batch", "Provider", "Status", "Provider status", "Requests", "OK", "Failed", "Cost", "Created"):
        t.add_column(c, justify="right" if c in ("Requests", "OK", "Failed", "Cost") else "left")
    for j in jobs:
        t.add_row(escape(j.remote_id or j.tag), escape(j.provider), j.status, escape(j.remote_status or "—"),
                  str(j.requests), str(j.succeeded), str(j.failed), "—" if j.cost is None else f"{j.cost:.4f}",
                  j.created_at.strftime("%Y-%m-%d %H:%M"))
    out.print(t)
    for j in jobs:
        if j.note:
            err.print(f"[dim]{escape(j.remote_id or j.tag)}: {escape(j.note)}[/]")
    total = sum(j.cost or 0.0 for j in jobs)
    err.print(f"[dim]{len(jobs)} batch(es), {sum(j.requests for j in jobs)} requests, cost {total:.4f}[/]")


QUEUE_HELP = ("Queue the calls in the shared PostgreSQL archive for `symposia worker` processes (on any "
              "machine) to make; this command waits for them.")


def _pg_url(opts: Options) -> str:
    url = opts.archive
    if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
        raise click.UsageError("workers share a PostgreSQL archive: give --archive postgresql://user:pass@host/db "
                               "(or set SYMPOSIA_ARCHIVE)")
    return url


def use_queue(s: Any, opts: Options) -> None:
    """Make the session's runtime queue its calls for workers."""
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.dialogue.workers import QueueExecutor

    s.runtime.executor = QueueExecutor(s.archive, _pg_url(opts))


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 512), default=8, show_default=True,
              help="Calls this worker makes at once (each provider's own `concurrency` holds across workers).")
@click.option("--name", help="A name for this worker in the record (default: worker).")
@click.option("--stalled-s", type=click.FloatRange(2, 3600), default=10.0, show_default=True,
              help="A worker silent this long is taken for dead: its calls go back in the queue.")
@click.option("--until-idle", is_flag=True, help="Stop when the queue is empty instead of waiting for more.")
@pass_options
@friendly_errors
def worker_cmd(opts: Options, concurrency: int, name: str | None, stalled_s: float, until_idle: bool) -> None:
    """Make the calls queued in a shared PostgreSQL archive (by `study --queue` or `council --queue`),
    with this machine's voices and keys; stop with Ctrl-C. Run as many as you like, anywhere.

    \b
    Examples:
      symposia --archive postgresql://me@dbhost/symposia worker --concurrency 16
    """
    # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
    from symposia.api import run_sync
    from symposia.dialogue.workers import run_worker

    url = _pg_url(opts)
    with opts.open() as s:
        err.print(f"[dim]worker {escape(name or 'worker')} on {escape(str(s.archive.path))}, "
                  f"{concurrency} at once[/]")
        run_sync(run_worker(s.runtime, url, concurrency=concurrency, stalled_s=stalled_s, name=name,
                            until_idle=until_idle))
