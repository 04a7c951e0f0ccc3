"""The voice catalog: providers, voices (shortcuts) and presets, loaded from data.

The built-in ``voices.toml`` ships with the package; the user's ``config.toml`` extends it
(new providers, voices, presets) and overrides any field of an existing entry. Every problem in
either file is reported as a :class:`~symposia.errors.ConfigError` naming the file, the line and
the field, because a user fixing a config file needs to know where to look.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from symposia import paths
from symposia.errors import ConfigError, UnknownPresetError, UnknownVoiceError
from symposia.providers.base import ProviderKind, ProviderSpec, Timeouts
from symposia.records import Params
from symposia.tomlfile import TomlFile, dotted

BUILTIN_RESOURCE = "voices.toml"
SECTIONS = ("providers", "voices", "presets")
KINDS: tuple[str, ...] = get_args(ProviderKind)


# --------------------------------------------------------------------------------------------
# Public records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """A name users gave a voice from ``since`` on (e.g. Kimi was "Mirror", later "Threshold")."""

    label: str
    since: date


@dataclass(frozen=True)
class Voice:
    """One catalog entry: a shortcut mapped to a provider, a model id and default parameters."""

    shortcut: str
    provider: str
    model: str
    name: str
    family: str = ""
    maker: str = ""
    aliases: tuple[str, ...] = ()
    labels: tuple[Label, ...] = ()  # sorted by ``since``
    params: Params = field(default_factory=Params)
    description: str = ""

    def label_on(self, day: date | None = None) -> str | None:
        """The label in use on ``day`` (default: today): the latest whose ``since`` <= day."""
        day = day or date.today()
        current: str | None = None
        for lab in sorted(self.labels, key=lambda x: x.since):
            if lab.since <= day:
                current = lab.label
        return current


@dataclass(frozen=True)
class Preset:
    """A named council of voices (shortcuts)."""

    key: str
    name: str
    voices: tuple[str, ...]
    description: str = ""
    chair: str | None = None  # the voice that chairs this council when none is named




@dataclass(frozen=True)
class Catalog:
    """Everything the catalog files define, merged, validated and ready to use."""

    providers: dict[str, ProviderSpec]
    voices: dict[str, Voice]
    presets: dict[str, Preset]
    sources: tuple[Path, ...] = ()

    def voice(self, name: str) -> Voice:
        """The voice for a shortcut (case-insensitive), else one whose alias or display name matches.

        Raises :class:`UnknownVoiceError` with up to three close shortcuts.
        """
        key = name.strip().casefold()
        for shortcut, v in self.voices.items():
            if shortcut.casefold() == key:
                return v
        found = self.by_alias(name)
        if found is not None:
            return found
        raise UnknownVoiceError(name, _close(key, self.voices))

    def by_alias(self, name: str) -> Voice | None:
        """The first voice whose display name or one of whose aliases is ``name`` (case-insensitive)."""
        key = " ".join(name.split()).casefold()
        if not key:
            return None
        for v in self.voices.values():
            if key == " ".join(v.name.split()).casefold():
                return v
            if any(key == " ".join(a.split()).casefold() for a in v.aliases):
                return v
        return None

    def provider_for(self, voice: Voice | str) -> ProviderSpec:
        """The provider spec a voice (or shortcut) is served by."""
        v = voice if isinstance(voice, Voice) else self.voice(voice)
        try:
            return self.providers[v.provider]
        except KeyError:  # only possible for a Voice built outside load_catalog
            raise ConfigError(f"voice {v.shortcut!r} uses unknown provider {v.provider!r}",
                              field=f"voices.{v.shortcut}.provider") from None

    def preset(self, name: str) -> Preset:
        """A preset by key or display name (case-insensitive)."""
        key = " ".join(name.split()).casefold()
        for p in self.presets.values():
            if key in (p.key.casefold(), " ".join(p.name.split()).casefold()):
                return p
        raise UnknownPresetError(name, _close(key, self.presets), list(self.presets))

    def resolve_voices(self, names_or_preset: str | Iterable[str]) -> list[Voice]:
        """Voices for a preset, a shortcut, or a list of either (a string may be comma-separated).

        Duplicates are dropped, order kept. A name that is both a voice and a preset is the voice.
        """
        items = [names_or_preset] if isinstance(names_or_preset, str) else list(names_or_preset)
        names = [part.strip() for item in items for part in item.split(",") if part.strip()]
        out: list[Voice] = []
        for n in names:
            try:
                got = [self.voice(n)]
            except UnknownVoiceError:
                try:
                    got = [self.voice(s) for s in self.preset(n).voices]
                except UnknownPresetError:
                    raise UnknownVoiceError(n, _close(n.casefold(), [*self.voices, *self.presets])) from None
            for v in got:
                if v not in out:
                    out.append(v)
        return out


def _close(key: str, names: Iterable[str]) -> list[str]:
    """Up to three names close to ``key``, for "did you mean" hints."""
    by_fold: dict[str, str] = {}
    for n in names:
        by_fold.setdefault(n.casefold(), n)
    return [by_fold[m] for m in difflib.get_close_matches(key, list(by_fold), n=3, cutoff=0.6)]


# --------------------------------------------------------------------------------------------
# File schema (every field optional: a user file may override just one field of an entry)
# --------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class _TimeoutsIn(_Strict):
    connect: float | None = Field(default=None, gt=0)
    idle: float | None = Field(default=None, gt=0)
    total: float | None = Field(default=None, gt=0)


class _ProviderIn(_Strict):
    kind: ProviderKind | None = None
    base_url: str | None = None
    key_env: str | None = None  # "" in a user file removes an inherited key variable
    key_required: bool | None = None
    concurrency: int | None = Field(default=None, ge=1)
    max_attempts: int | None = Field(default=None, ge=1)
    max_retry_after: float | None = Field(default=None, ge=0)
    timeouts: _TimeoutsIn | None = None
    headers: dict[str, str] | None = None
    options: dict[str, Any] | None = None
    description: str | None = None


_MONTH = re.compile(r"^\d{4}-\d{2}$")


class _LabelIn(_Strict):
    label: str
    since: date

    @field_validator("since", mode="before")
    @classmethod
    def _parse_since(cls, v: object) -> object:
        # TOML has real dates (2026-01-15) but not months; "2026-01" means the 1st of the month.
        if isinstance(v, datetime):
            return v.date()
        if isinstance(v, str):
            s = v.strip()
            try:
                if _MONTH.match(s):
                    return date.fromisoformat(s + "-01")
                return date.fromisoformat(s)
            except ValueError:
                raise ValueError(f"expected a date like \"2026-01\" or \"2026-01-15\", not {s!r}") from None
        return v


class _ParamsIn(_Strict):
    temperature: float | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=1)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: list[str] | None = None
    seed: int | None = None
    extra: dict[str, Any] | None = None


class _VoiceIn(_Strict):
    provider: str | None = None
    model: str | None = None
    name: str | None = None
    family: str | None = None
    maker: str | None = None
    aliases: list[str] | None = None
    labels: list[_LabelIn] | None = None
    params: _ParamsIn | None = None
    description: str | None = None


class _PresetIn(_Strict):
    name: str | None = None
    voices: list[str] | None = None
    chair: str | None = None
    description: str | None = None


class _FileIn(_Strict):
    providers: dict[str, _ProviderIn] = Field(default_factory=dict)
    voices: dict[str, _VoiceIn] = Field(default_factory=dict)
    presets: dict[str, _PresetIn] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


# Where each entry and each of its top-level fields was last set: (section, name[, key]) -> file.
_Origins = dict[tuple[str, ...], TomlFile]


def load_catalog(user_config: Path | None = None) -> Catalog:
    """Load the built-in catalog, then extend/override it with the user's config file.

    ``user_config`` defaults to :func:`symposia.paths.config_file` and is skipped when absent;
    an explicitly given file must exist.
    """
    builtin = resources.files("symposia.catalog").joinpath(BUILTIN_RESOURCE)
    builtin_path = Path(str(builtin))
    sources = [TomlFile(builtin_path, builtin.read_text(encoding="utf-8"))]

    path = user_config if user_config is not None else paths.config_file()
    if user_config is not None or path.exists():
        sources.append(TomlFile.read(path, "config file"))

    merged: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in SECTIONS}
    origins: _Origins = {}
    for i, src in enumerate(sources):
        data = _parse(src, builtin=(i == 0))
        for section in SECTIONS:
            for raw_name, entry in data.get(section, {}).items():
                # Voice and preset names are what users type: case-insensitive.
                name = raw_name if section == "providers" else raw_name.casefold()
                origins.setdefault((section, name), src)
                for key in entry:
                    origins[(section, name, key)] = src
                merged[section][name] = _deep_merge(merged[section].get(name, {}), entry)

    providers = {n: _build_provider(n, d, origins) for n, d in merged["providers"].items()}
    voices = {n: _build_voice(n, d, origins, providers) for n, d in merged["voices"].items()}
    presets = {n: _build_preset(n, d, origins, voices) for n, d in merged["presets"].items()}
    return Catalog(providers=providers, voices=voices, presets=presets,
                   sources=tuple(s.path for s in sources if s.path is not None))


def _parse(src: TomlFile, *, builtin: bool) -> dict[str, dict[str, dict[str, Any]]]:
    """TOML -> validated, partial entries (only the fields the file sets)."""
    raw = src.parse()

    ours = raw if builtin else {k: v for k, v in raw.items() if k in SECTIONS}
    if not builtin:
        # The user's config.toml also holds settings for other parts of symposia; leave those
        # alone, but catch a near-miss such as [voice.qwen] that would otherwise be ignored.
        for k in raw:
            if k not in SECTIONS:
                close = difflib.get_close_matches(k, SECTIONS, n=1, cutoff=0.75)
                if close:
                    raise src.error(f"unknown table [{k}]: did you mean [{close[0]}]?", k)

    try:
        model = _FileIn.model_validate(ours)
    except ValidationError as exc:
        raise _validation_error(src, exc) from None
    return {
        section: {name: entry.model_dump(exclude_unset=True)
                  for name, entry in getattr(model, section).items()}
        for section in SECTIONS
    }


def _validation_error(src: TomlFile, exc: ValidationError) -> ConfigError:
    errs = exc.errors()
    first = errs[0]
    full = first["loc"]
    # Lines are found per key, not per array element: stop at the first list index.
    loc: list[str] = []
    for part in full:
        if not isinstance(part, str):
            break
        loc.append(part)
    at_table, at_key = tuple(loc[:-1]), (loc[-1] if loc else None)
    more = f" (and {len(errs) - 1} more problem{'s' if len(errs) > 2 else ''})" if len(errs) > 1 else ""
    if first["type"] == "extra_forbidden" and full and isinstance(full[-1], str):
        key = full[-1]
        schema_path = tuple(p for p in full[:-1] if isinstance(p, str))
        if len(loc) == len(full):
            at_table, at_key = schema_path, key
        allowed = _allowed_fields(schema_path)
        hint = ""
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        if close:
            hint = f" Did you mean {close[0]!r}?"
        # A common slip: `temperature = 0.3` straight under [voices.x] instead of its params.
        sub = {"voices": "params", "providers": "timeouts"}.get(schema_path[0]) if len(full) == 3 else None
        if sub and not close:
            nested = difflib.get_close_matches(key, _allowed_fields((*schema_path, sub)), n=1, cutoff=0.8)
            if nested:
                table = f"[{dotted(full[:-1])}.{sub}]"
                hint = (f" It belongs in {table}." if nested[0] == key
                        else f" Did you mean {nested[0]!r}? It belongs in {table}.")
        where = f"[{dotted(full[:-1])}]" if len(full) > 1 else "the top level"
        msg = f"unknown field {key!r} in {where}.{hint} Allowed: {', '.join(allowed)}{more}"
        return src.error(msg, *at_table, *([at_key] if at_key else []))
    detail = str(first["msg"]).removeprefix("Value error, ")
    return src.error(f"{dotted(full)}: {detail}{more}", *at_table, *([at_key] if at_key else []))


def _allowed_fields(table: tuple[str, ...]) -> list[str]:
    """Field names allowed in the table at ``table`` (for "unknown field" hints)."""
    models: dict[tuple[str, ...], type[BaseModel]] = {
        (): _FileIn, ("providers",): _ProviderIn, ("voices",): _VoiceIn, ("presets",): _PresetIn,
        ("providers", "timeouts"): _TimeoutsIn, ("voices", "params"): _ParamsIn,
        ("voices", "labels"): _LabelIn,
    }
    shape = table[:1] + table[2:] if len(table) >= 2 else table  # drop the entry name
    model = models.get(shape)
    return list(model.model_fields) if model else []


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` wins; nested tables (params, timeouts, options, headers) merge key by key."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _missing(origins: _Origins, section: str, name: str, fieldname: str, what: str) -> ConfigError:
    src = origins[(section, name)]
    return src.error(f"[{section}.{name}] has no {fieldname!r}: {what}", section, name, fieldname)


def _build_provider(name: str, d: dict[str, Any], origins: _Origins) -> ProviderSpec:
    kind = d.get("kind")
    if kind is None:
        raise _missing(origins, "providers", name, "kind", f"expected one of {', '.join(KINDS)}")
    key_env = d.get("key_env") or None
    t = d.get("timeouts", {})
    defaults = Timeouts()
    return ProviderSpec(
        name=name,
        kind=cast(ProviderKind, kind),
        base_url=d.get("base_url") or None,
        key_env=key_env,
        key_required=d.get("key_required", key_env is not None),
        concurrency=d.get("concurrency"),
        max_attempts=d.get("max_attempts", 4),
        max_retry_after=d.get("max_retry_after", ProviderSpec.max_retry_after),
        timeouts=Timeouts(connect=t.get("connect", defaults.connect), idle=t.get("idle", defaults.idle),
                          total=t.get("total", defaults.total)),
        headers=dict(d.get("headers", {})),
        options=dict(d.get("options", {})),
        description=d.get("description", ""),
    )


def _build_voice(name: str, d: dict[str, Any], origins: _Origins,
                 providers: Mapping[str, ProviderSpec]) -> Voice:
    for req in ("provider", "model"):
        if not d.get(req):
            raise _missing(origins, "voices", name, req, "every voice needs a provider and a model id")
    provider = d["provider"]
    if provider not in providers:
        close = _close(provider.casefold(), providers)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        src = origins[("voices", name, "provider")]
        raise src.error(f"voice {name!r} uses unknown provider {provider!r}.{hint} "
                        f"Known providers: {', '.join(providers)}", "voices", name, "provider")
    p = d.get("params", {})
    labels = sorted((Label(x["label"], x["since"]) for x in d.get("labels", [])), key=lambda x: x.since)
    return Voice(
        shortcut=name,
        provider=provider,
        model=d["model"],
        name=d.get("name") or name,
        family=d.get("family", ""),
        maker=d.get("maker", ""),
        aliases=tuple(d.get("aliases", ())),
        labels=tuple(labels),
        params=Params(temperature=p.get("temperature"), max_tokens=p.get("max_tokens"),
                      top_p=p.get("top_p"), stop=tuple(p.get("stop", ())), seed=p.get("seed"),
                      extra=dict(p.get("extra", {}))),
        description=d.get("description", ""),
    )


def _build_preset(name: str, d: dict[str, Any], origins: _Origins, voices: Mapping[str, Voice]) -> Preset:
    members = d.get("voices")
    if not members:
        raise _missing(origins, "presets", name, "voices", "list the voice shortcuts of this preset")
    def known(m: str, field: str) -> str:
        key = m.strip().casefold()
        if key not in voices:
            close = _close(key, voices)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            src = origins[("presets", name, field)]
            raise src.error(f"preset {name!r} names unknown voice {m!r}.{hint}", "presets", name, field)
        return key

    chair = d.get("chair")
    return Preset(key=name, name=d.get("name") or name, voices=tuple(known(m, "voices") for m in members),
                  description=d.get("description", ""), chair=known(chair, "chair") if chair else None)
