"""`symposia voices` and `symposia presets`: the catalog, and what is usable right now."""

from __future__ import annotations

import json

import click
from rich.markup import escape
from rich.table import Table

from symposia.catalog import load_catalog
from symposia.catalog.status import voice_status
from symposia.cli.context import Options, friendly_errors, out, pass_options


@click.group("voices", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.pass_context
@friendly_errors
def voices_cmd(ctx: click.Context, as_json: bool) -> None:
    """List voices and whether each is usable now (key present, server reachable, model installed)."""
    if ctx.invoked_subcommand is not None:
        return
    opts: Options = ctx.obj
    catalog = load_catalog(opts.config)
    rows = []
    for v in catalog.voices.values():
        st = voice_status(catalog, v)
        rows.append((v, st))
    if as_json:
        click.echo(json.dumps([{"voice": v.shortcut, "name": v.name, "provider": v.provider, "model": v.model,
                                "label": v.label_on(), "usable": st.usable, "reason": st.reason}
                               for v, st in rows], indent=2, ensure_ascii=False))
        return
    table = Table(title="Voices", title_justify="left")
    for col in ("voice", "name", "label", "provider", "model", "usable"):
        table.add_column(col, overflow="fold")
    why: dict[str, list[str]] = {}
    for v, st in rows:
        table.add_row(v.shortcut, v.name, v.label_on() or "", v.provider, v.model,
                      "[green]yes[/]" if st.usable else "[red]no[/]")
        if not st.usable:
            why.setdefault(st.reason, []).append(v.shortcut)
    out.print(table)
    # One line per reason rather than per voice: "OPENROUTER_API_KEY not set" once, with its voices.
    for reason, names in why.items():
        out.print(f"[red]not usable[/] ({escape(', '.join(names))}): {escape(reason)}")
    out.print("[dim]Details: symposia voices show NAME · presets: symposia presets[/]")

@voices_cmd.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@pass_options
@friendly_errors
def voices_show_cmd(opts: Options, name: str, as_json: bool) -> None:
    """Everything the catalog knows about one voice."""
    catalog = load_catalog(opts.config)
    v = catalog.voice(name)
    spec = catalog.provider_for(v)
    st = voice_status(catalog, v)
    if as_json:
        click.echo(json.dumps({
            "voice": v.shortcut, "name": v.name, "model": v.model, "family": v.family, "maker": v.maker,
            "label": v.label_on(), "labels": [{"label": lab.label, "since": lab.since.isoformat()} for lab in v.labels],
            "aliases": list(v.aliases), "params": v.params.to_dict(), "description": v.description,
            "provider": {"name": spec.name, "kind": spec.kind, "base_url": spec.base_url, "key_env": spec.key_env},
            "usable": st.usable, "reason": st.reason,
        }, indent=2, ensure_ascii=False))
        return
    out.print(f"[bold]{escape(v.name)}[/]  ({escape(v.shortcut)})")
    rows = [
        ("provider", f"{spec.name} ({spec.kind}) {spec.base_url or ''}".rstrip()),
        ("model", v.model),
        ("family", v.family),
        ("maker", v.maker),
        ("label now", v.label_on() or "—"),
        ("labels", ", ".join(f"{lab.label} since {lab.since.isoformat()}" for lab in v.labels) or "—"),
        ("aliases", ", ".join(v.aliases) or "—"),
        ("params", json.dumps(v.params.to_dict()) if v.params.to_dict() else "—"),
        ("key", spec.key_env or "none needed"),
        ("usable", "yes" if st.usable else f"no — {st.reason}"),
    ]
    if v.description:
        rows.append(("about", v.description))
    for k, val in rows:
        out.print(f"  [dim]{k:>10}[/]  {escape(str(val))}")


@click.command("presets")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@pass_options
@friendly_errors
def presets_cmd(opts: Options, as_json: bool) -> None:
    """Named councils of voices (use with --preset)."""
    catalog = load_catalog(opts.config)
    if as_json:
        click.echo(json.dumps([{"preset": p.key, "name": p.name, "voices": list(p.voices)}
                               for p in catalog.presets.values()], indent=2, ensure_ascii=False))
        return
    table = Table(title="Presets", title_justify="left")
    table.add_column("preset")
    table.add_column("name")
    table.add_column("voices")
    for p in catalog.presets.values():
        table.add_row(p.key, p.name, ", ".join(p.voices) + (f" (chair: {p.chair})" if p.chair else ""))
    out.print(table)
