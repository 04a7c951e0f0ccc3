"""One exception tree in symposia.errors, drawn in its docstring, and the exit codes the CLI derives from it."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import symposia
from symposia import errors
from symposia.cli.context import friendly_errors
from symposia.cli.main import cli

SRC = Path(symposia.__file__).parent
TREE = [obj for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, errors.SymposiaError) and obj.__module__ == errors.__name__]


def test_every_error_class_lives_in_errors_py() -> None:
    ours = {cls.__name__ for cls in TREE}
    outside = []
    for path in SRC.rglob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                    (b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else "") in ours
                    for b in node.bases):
                outside.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}")
    assert outside == []


def test_the_docstring_draws_every_class_under_its_parent() -> None:
    doc = errors.__doc__ or ""
    drawn = {line.split("──")[-1].split()[0]: line.index(line.split("──")[-1].split()[0])
             for line in doc.splitlines() if "──" in line}
    assert set(drawn) == {cls.__name__ for cls in TREE} - {"SymposiaError"}
    for cls in TREE:
        if cls is errors.SymposiaError:
            continue
        parent = cls.__mro__[1]
        # drawn one level (4 columns) right of its first base; the first level starts at column 8
        expected = 8 if parent is errors.SymposiaError else drawn[parent.__name__] + 4
        assert drawn[cls.__name__] == expected, cls.__name__


@pytest.mark.parametrize("cls", TREE, ids=lambda c: c.__name__)
def test_exit_code_is_two_exactly_for_usage_errors(cls: type[errors.SymposiaError]) -> None:
    assert cls.exit_code == (2 if issubclass(cls, errors.UsageError) else 1)


def _raising(exc: BaseException) -> click.Command:
    @click.command()
    @friendly_errors
    def cmd() -> None:
        raise exc

    return cmd


@pytest.mark.parametrize(("exc", "code"), [
    (errors.ConfigError("broken", path=Path("c.toml"), line=3), 2),
    (errors.UnknownVoiceError("qwne", ["qwen"]), 2),
    (errors.NotFoundError("no session with id 'x'"), 2),
    (errors.ProviderError("upstream failed", provider="p"), 1),
    (errors.ArchiveError("disk full"), 1),
    (errors.SymposiaError("it ran and failed"), 1),
    (KeyboardInterrupt(), 130),
])
def test_friendly_errors_exit_with_the_errors_code(exc: BaseException, code: int) -> None:
    res = CliRunner().invoke(_raising(exc))
    assert res.exit_code == code
    assert "Traceback" not in res.output


def test_exit_codes_of_the_real_cli(isolated_user_dirs: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["presets"]).exit_code == 0
    assert runner.invoke(cli, ["ask"]).exit_code == 2  # click: a missing argument
    assert runner.invoke(cli, ["ask", "qwne", "hi"]).exit_code == 2  # UnknownVoiceError
    assert runner.invoke(cli, ["show", "no-such-session"]).exit_code == 2  # NotFoundError
    garbage = isolated_user_dirs / "not-sqlite.db"
    garbage.write_bytes(b"this is not a database" * 100)
    res = runner.invoke(cli, ["--archive", str(garbage), "log"])  # the archive cannot be read: it ran, and failed
    assert res.exit_code == 1 and str(garbage) in res.stderr
