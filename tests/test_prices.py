"""Cost everywhere: a price table as data estimates what providers do not report, and says so."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from support import write_user_config
from symposia.catalog.prices import Price, load_prices
from symposia.cli.main import cli
from symposia.errors import ConfigError
from symposia.records import Usage
from symposia.testing import FakeServer, Reply


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "k-fake-prices-000000")


def _config(home: Path, srv: FakeServer) -> None:
    write_user_config(home, f"""
[providers.direct]
kind = "anthropic"
base_url = "{srv.anthropic_base_url}"
key_env = "FAKE_API_KEY"
max_attempts = 1

[providers.router]
kind = "openai"
base_url = "{srv.openai_base_url}"
key_env = "FAKE_API_KEY"
max_attempts = 1

[voices.opus-direct]
provider = "direct"
model = "claude-opus-4-5"
name = "Claude Opus 4.5 (direct)"

[voices.opus-router]
provider = "router"
model = "anthropic/claude-opus-4.5"
name = "Claude Opus 4.5 (router)"
""")


def _ask(voice: str) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["ask", voice, "What persists?", "--json"])
    assert result.exit_code == 0, result.output
    record: dict[str, object] = json.loads(result.output)
    return record


def test_a_direct_anthropic_call_gets_an_estimated_cost(isolated_user_dirs: Path) -> None:
    with FakeServer() as srv:
        _config(isolated_user_dirs, srv)
        srv.enqueue(Reply(text="An answer.", prompt_tokens=1000, completion_tokens=2000), model="claude-opus-4-5")
        record = _ask("opus-direct")
    result = record["result"]
    assert isinstance(result, dict)
    assert result["usage"]["cost"] == pytest.approx((1000 * 5.0 + 2000 * 25.0) / 1e6)
    note = record["meta"]["cost_estimated"]  # type: ignore[index]
    assert note["input_per_mtok"] == 5.0 and note["as_of"] == "2025-11-24" and note["source"]


def test_a_reported_cost_is_never_replaced(isolated_user_dirs: Path) -> None:
    with FakeServer() as srv:
        _config(isolated_user_dirs, srv)
        srv.enqueue(Reply(text="Routed.", prompt_tokens=1000, completion_tokens=2000, cost=0.123),
                    model="anthropic/claude-opus-4.5")
        record = _ask("opus-router")
    assert record["result"]["usage"]["cost"] == 0.123  # type: ignore[index]
    assert "cost_estimated" not in record["meta"]  # type: ignore[operator]


def test_the_users_prices_override_the_shipped_ones_and_the_terminal_says_estimated(
        isolated_user_dirs: Path) -> None:
    (isolated_user_dirs / "config" / "prices.toml").write_text(
        '[models."claude-opus-4-5"]\ninput = 1.0\noutput = 1.0\nas_of = 2026-12-01\nsource = "our contract"\n')
    with FakeServer() as srv:
        _config(isolated_user_dirs, srv)
        srv.enqueue(Reply(text="Cheaper.", prompt_tokens=500_000, completion_tokens=500_000), model="claude-opus-4-5")
        result = CliRunner().invoke(cli, ["ask", "opus-direct", "What persists?"])
    assert result.exit_code == 0, result.output
    assert "$1.0000 (estimated)" in result.output


def test_a_broken_user_price_file_names_the_entry(isolated_user_dirs: Path) -> None:
    path = isolated_user_dirs / "config" / "prices.toml"
    path.write_text('[models."x"]\ninput = "cheap"\noutput = 1\n')
    with pytest.raises(ConfigError) as info:
        load_prices(path)
    assert "models.'x'" in str(info.value) and str(path) in str(info.value)


@settings(deadline=None)
@given(st.integers(0, 10**7), st.integers(0, 10**7), st.floats(0, 100), st.floats(0, 100))
def test_cost_is_linear_in_tokens(p: int, c: int, pin: float, pout: float) -> None:
    price = Price(pin, pout, date(2026, 1, 1), "test")
    one = price.cost(Usage(prompt_tokens=p, completion_tokens=c))
    two = price.cost(Usage(prompt_tokens=2 * p, completion_tokens=2 * c))
    assert one is not None and two == pytest.approx(2 * one)
    assert price.cost(Usage(prompt_tokens=None, completion_tokens=c)) is None
