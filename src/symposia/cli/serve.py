"""`symposia serve`: the local web page over the archive (needs the ``web`` extra)."""

from __future__ import annotations

import ipaddress

import click
from rich.markup import escape

from symposia.cli.context import Options, err, friendly_errors, pass_options


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback exposes the archive and paid calls to the network.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@pass_options
@friendly_errors
def serve_cmd(opts: Options, host: str, port: int) -> None:
    """Browse the archive and watch sessions live in a local web page.

    \b
    Example:
      symposia serve              then open http://127.0.0.1:8765/
    """
    try:
        import uvicorn

        # deferred: loaded when this verb runs, so `symposia --help` and the other verbs start fast
        from symposia.web import create_app
    except ImportError as exc:
        raise click.ClickException(f"the web page needs the web extra: pip install 'symposia[web]' ({exc})") from exc
    loopback = is_loopback(host)
    if not loopback:
        err.print(f"[bold red]WARNING:[/] listening on {escape(host)}, not on loopback: anyone who can reach "
                  "this address can read the whole archive and start sessions that spend your API credits. "
                  "There is no login. Use --host 127.0.0.1 unless you mean it.")
    app = create_app(opts.archive, opts.config, allowed_hosts=None if loopback else ["*"])
    shown = f"[{host}]" if ":" in host else host
    err.print(f"symposia: serving {escape(str(app.state.web.archive_path))} on http://{escape(shown)}:{port}/ "
              "(Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
