"""`symposia keys`: store API keys in the user's keys.toml (mode 0600) and see which are set."""

from __future__ import annotations

import json
import sys

import click

from symposia import paths
from symposia.cli.context import Options, err, friendly_errors, out, pass_options
from symposia.keys import key_sources, store_key


@click.group("keys")
def keys_cmd() -> None:
    """API keys: `keys set NAME` stores one in keys.toml (0600); `keys list` shows which are set."""


@keys_cmd.command("set")
@click.argument("name")
@click.option("--value", help="The key (avoid: it lands in your shell history). Default: prompt, or stdin.")
@friendly_errors
def keys_set(name: str, value: str | None) -> None:
    """Store the key for environment variable NAME (e.g. OPENROUTER_API_KEY) in keys.toml.

    The value is read without echo from the terminal, or from standard input when piped.
    The environment still wins over the file.
    """
    if value is None:
        value = sys.stdin.readline() if not sys.stdin.isatty() else click.prompt(
            f"{name}", hide_input=True, prompt_suffix=": ")
    path = store_key(name, value)
    err.print(f"stored {name} in {path} (mode 0600)")


@keys_cmd.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_options
@friendly_errors
def keys_list(opts: Options, as_json: bool) -> None:
    """Each provider's key variable and where it comes from (environment, keys.toml, missing). Never values."""
    with opts.open() as s:
        names = sorted({p.key_env for p in s.catalog.providers.values() if p.key_env})
    sources = key_sources(names)
    if as_json:
        click.echo(json.dumps(sources, indent=2))
        return
    for name in names:
        out.print(f"{name:<28} {sources[name]}", markup=False)


@keys_cmd.command("path")
def keys_path() -> None:
    """Where keys.toml lives."""
    click.echo(str(paths.keys_file()))
