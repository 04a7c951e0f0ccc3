"""`symposia templates`: saved system prompts and question frames for `-T NAME`."""

from __future__ import annotations

import json

import click

from symposia.catalog.templates import STARTER, load_template, template_names, template_path
from symposia.cli.context import err, friendly_errors, out


@click.group("templates")
def templates_cmd() -> None:
    """Templates: a system prompt, a question frame ({input}) and params, used with `ask -T NAME`."""


@templates_cmd.command("list")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def templates_list(as_json: bool) -> None:
    """Every saved template and its system prompt."""
    rows = [load_template(n) for n in template_names()]
    if as_json:
        click.echo(json.dumps([{"name": t.name, "system": t.system, "prompt": t.prompt,
                                "params": t.params.to_dict()} for t in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No templates yet. Create one: symposia templates edit NAME")
    for t in rows:
        out.print(f"{t.name}: {(t.system or t.prompt or '').splitlines()[0] if (t.system or t.prompt) else ''}",
                  markup=False)


@templates_cmd.command("show")
@click.argument("name")
@friendly_errors
def templates_show(name: str) -> None:
    """Print a template's file."""
    load_template(name)  # a clear error for a missing or broken one
    click.echo(template_path(name).read_text(encoding="utf-8"), nl=False)


@templates_cmd.command("edit")
@click.argument("name")
@friendly_errors
def templates_edit(name: str) -> None:
    """Create or edit a template in $EDITOR; it is checked when saved."""
    path = template_path(name)
    current = path.read_text(encoding="utf-8") if path.exists() else STARTER
    edited = click.edit(current, extension=".toml")
    if edited is None:
        err.print("unchanged")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(edited, encoding="utf-8")
    load_template(name)
    err.print(f"saved {path}")


@templates_cmd.command("path")
@click.argument("name", required=False)
def templates_path_cmd(name: str | None) -> None:
    """Where templates live (or where NAME's file is)."""
    click.echo(str(template_path(name) if name else template_path("x").parent))
