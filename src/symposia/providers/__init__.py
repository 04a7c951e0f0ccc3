"""Providers: one small async protocol over every way of reaching a model."""

from __future__ import annotations

from symposia.providers.base import Provider, ProviderKind, ProviderSpec, Timeouts
from symposia.providers.registry import make_provider

__all__ = ["Provider", "ProviderKind", "ProviderSpec", "Timeouts", "make_provider"]
