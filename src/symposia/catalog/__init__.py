"""The voice catalog: providers, voices and presets as data, and whether each voice is usable here."""

from __future__ import annotations

from symposia.catalog.catalog import (
    Catalog,
    Label,
    Preset,
    Voice,
    load_catalog,
)
from symposia.catalog.status import VoiceStatus, all_statuses, provider_status, voice_status
from symposia.errors import UnknownPresetError

__all__ = [
    "Catalog",
    "Label",
    "Preset",
    "UnknownPresetError",
    "Voice",
    "VoiceStatus",
    "all_statuses",
    "load_catalog",
    "provider_status",
    "voice_status",
]
