"""The CLI loads a verb's code only when that verb runs; its --help listing stays the verbs' own words."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from support import fake_config, numbered
from symposia.cli.main import COMMANDS, cli


def test_the_listing_is_each_commands_own_short_help() -> None:
    ctx = click.Context(cli)
    for name, (_, _, text) in COMMANDS.items():
        cmd = cli.get_command(ctx, name)
        assert cmd is not None and cmd.name == name
        assert cmd.get_short_help_str(10_000) == text, name


def _modules_after(args: list[str]) -> set[str]:
    code = ("import sys, json\nfrom symposia.cli.main import cli\n"
            f"try:\n    cli({args!r}, prog_name='symposia')\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_command_module_nor_sdk() -> None:
    loaded = _modules_after(["--help"])
    heavy = {"symposia.api", "symposia.cli.council", "symposia.importers", "symposia.analysis", "openai",
             "anthropic", "httpx", "ftfy", "pydantic", "starlette"}
    assert not heavy & loaded, heavy & loaded


def test_a_read_verb_loads_only_its_own_module() -> None:
    loaded = _modules_after(["presets"])
    assert "symposia.cli.voices" in loaded
    assert not {"symposia.cli.analysis", "symposia.cli.serve", "symposia.web", "openai"} & loaded


def test_every_verb_defined_in_the_cli_package_is_listed() -> None:
    import importlib
    import pkgutil

    import symposia.cli as package

    listed = {(module, attr) for module, attr, _ in COMMANDS.values()}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"symposia.cli.{info.name}")
        commands = {n: c for n, c in vars(module).items() if isinstance(c, click.Command)
                    and c.callback is not None and c.callback.__module__ == module.__name__}
        nested = {id(sub) for c in commands.values() if isinstance(c, click.Group) for sub in c.commands.values()}
        for name, cmd in commands.items():
            if id(cmd) not in nested and cmd is not cli:
                assert (info.name, name) in listed, f"symposia.cli.{info.name}.{name} is not in COMMANDS"


# What the analysis, the publishing verbs and the SDKs load: a council loads none of it before its first
# request (the analysis stack is imported after the answers, or by the warm-up thread while they come).
NOT_BEFORE_A_CALL = {"numpy", "onnxruntime", "datasketch", "scipy", "wordfreq", "matplotlib", "ftfy", "openai",
                     "anthropic", "httpx2", "symposia.cli.analysis", "symposia.analysis.analyze", "symposia.embed",
                     "symposia.publish.moltbook", "symposia.dialogue.resume", "symposia.archive.search"}


def test_a_council_loads_only_what_its_calls_need(isolated_user_dirs: Path) -> None:
    fake_config(isolated_user_dirs, "http://127.0.0.1:9/v1", numbered(["alpha", "beta"]))
    loaded = _modules_after(["council", "What persists?", "-m", "alpha", "-m", "beta", "--dry-run"])
    assert not NOT_BEFORE_A_CALL & loaded, NOT_BEFORE_A_CALL & loaded
    assert "symposia.cli.council" in loaded


def test_importing_the_api_loads_no_verb_stack() -> None:
    code = "import sys, json, symposia.api\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = set(json.loads(done.stdout))
    heavy = NOT_BEFORE_A_CALL | {"httpx", "symposia.dialogue.council", "symposia.render.transcript"}
    assert not heavy & loaded, heavy & loaded
