"""The TOML loader shared by the catalog, plans and keys: parse errors and the line of any key path."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symposia.errors import ConfigError
from symposia.tomlfile import TomlFile, dotted, locate


@pytest.mark.parametrize(
    ("text", "path", "line"),
    [
        ('[a]\nx = 1\n[a.b]\ny = 2\n', ("a", "b", "y"), 4),
        ('[a]\nb.y = 2\n', ("a", "b", "y"), 2),
        ('[voices."gemini-pro"]\nmodel = "m"\n', ("voices", "gemini-pro", "model"), 2),
        ('[a]\ns = """\n[a.b]\ny = 1\n"""\n[a.b]\nz = 1\n', ("a", "b", "y"), 6),
        ('[a]\np = { y = 1 }\n', ("a", "p", "y"), 2),
        ('[a]\nx = 1\n', ("c", "y"), None),
        # arrays of tables are indexed by position; a key missing from an element falls back to its header
        ('[[s]]\nk = 1\n\n[[s]]\nk = 2\nv = 3\n', ("s", 1, "v"), 6),
        ('[[s]]\nk = 1\n\n[[s]]\nk = 2\n', ("s", 1, "q"), 4),
        ('[[s]]\nk = 1\n[[s.rows]]\nv = 1\n[[s]]\n[[s.rows]]\n[[s.rows]]\nv = 2\n', ("s", 1, "rows", 1, "v"), 8),
        ('[[s]]\nrows = [{ v = 1 }, { v = 2 }]\n', ("s", 0, "rows", 1, "v"), 2),
    ],
)
def test_locate(text: str, path: tuple[str | int, ...], line: int | None) -> None:
    assert locate(text, path) == line


_key = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(_key, st.lists(_key, min_size=1, max_size=4, unique=True)), min_size=1, max_size=5))
def test_every_key_of_every_array_element_is_found_on_its_own_line(
        tables: list[tuple[str, list[str]]]) -> None:
    """Write arrays of tables whose elements set keys; each (array, index, key) maps to its written line."""
    lines: list[str] = []
    where: dict[tuple[str | int, ...], int] = {}
    counts: dict[str, int] = {}
    for name, keys in tables:
        index = counts.get(name, 0)
        counts[name] = index + 1
        lines.append(f"[[arr_{name}]]")
        for k in keys:
            lines.append(f"{k} = 1")
            where[(f"arr_{name}", index, k)] = len(lines)
    text = "\n".join(lines) + "\n"
    assert TomlFile(None, text).parse()  # it is valid TOML
    for path, line in where.items():
        assert locate(text, path) == line


def test_parse_error_names_the_line_and_read_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        TomlFile(tmp_path / "x.toml", 'a = 1\nb = [c]\n').parse()
    assert info.value.line == 2 and str(info.value).startswith(f"{tmp_path / 'x.toml'}:2: invalid TOML")
    with pytest.raises(ConfigError, match="plan not found"):
        TomlFile.read(tmp_path / "missing.toml", "plan")
    (tmp_path / "latin1.toml").write_bytes(b'a = "\xe9"\n')
    with pytest.raises(ConfigError, match="plan is not UTF-8 text"):
        TomlFile.read(tmp_path / "latin1.toml", "plan")


def test_error_points_at_the_key_and_names_the_dotted_field(tmp_path: Path) -> None:
    src = TomlFile(tmp_path / "p.toml", '[[steps]]\nkind = "ask"\n\n[[steps]]\nvoice = "x"\n')
    err = src.error("bad voice", "steps", 1, "voice")
    assert (err.line, err.field, err.path) == (5, "steps[1].voice", tmp_path / "p.toml")
    assert dotted(("voices", "kimi", "labels", 0, "since")) == "voices.kimi.labels[0].since"
