"""Prices as data: estimate a call's cost from its token usage when the provider reports none.

The shipped table (``catalog/prices.toml``) holds list prices per million tokens, each dated and
sourced; ``prices.toml`` in the user's config directory overrides or adds entries. A cost the
provider reported is never replaced; an estimate is marked as one where it is stored and shown.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from symposia import paths
from symposia.errors import ConfigError
from symposia.records import Usage

__all__ = ["Price", "PriceTable", "load_prices"]


@dataclass(frozen=True)
class Price:
    input: float  # USD per million prompt tokens
    output: float  # USD per million completion tokens (reasoning tokens are billed as output)
    as_of: date
    source: str

    def cost(self, usage: Usage) -> float | None:
        if usage.prompt_tokens is None or usage.completion_tokens is None:
            return None
        return (usage.prompt_tokens * self.input + usage.completion_tokens * self.output) / 1_000_000

    def note(self) -> dict[str, Any]:
        return {"input_per_mtok": self.input, "output_per_mtok": self.output,
                "as_of": self.as_of.isoformat(), "source": self.source}


@dataclass(frozen=True)
class PriceTable:
    models: dict[str, Price] = field(default_factory=dict)

    def estimate(self, model: str, usage: Usage) -> tuple[float, Price] | None:
        """The estimated cost of a call to ``model`` with ``usage``, and the price used; None if unknown."""
        price = self.models.get(model)
        if price is None:
            return None
        cost = price.cost(usage)
        return None if cost is None else (cost, price)


def _parse(data: dict[str, Any], where: str) -> dict[str, Price]:
    out: dict[str, Price] = {}
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise ConfigError(f"{where}: [models] must be a table of model ids")
    for model, d in models.items():
        if not isinstance(d, dict):
            raise ConfigError(f"{where}: models.{model!r} must be a table with input, output, as_of, source")
        try:
            as_of = d.get("as_of", date.min)
            if not isinstance(as_of, date):
                raise TypeError("as_of must be a date (2026-12-01)")
            inp, outp = float(d["input"]), float(d["output"])
            if inp < 0 or outp < 0:
                raise ValueError("prices cannot be negative")
            out[model] = Price(inp, outp, as_of, str(d.get("source", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: models.{model!r}: {exc} (need input and output, USD per "
                              "million tokens)") from None
    return out


def load_prices(user_file: Path | None = None) -> PriceTable:
    """The shipped table, overridden entry by entry by the user's ``prices.toml`` (if any)."""
    shipped = tomllib.loads(resources.files("symposia.catalog").joinpath("prices.toml").read_text("utf-8"))
    models = _parse(shipped, "symposia's prices.toml")
    path = user_file if user_file is not None else paths.config_dir() / "prices.toml"
    if path.exists():
        try:
            user = tomllib.loads(path.read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}", path=path) from None
        models.update(_parse(user, str(path)))
    return PriceTable(models)
