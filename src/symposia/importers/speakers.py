"""Who a name in a file stands for: a catalog voice (by id, marketing name, alias or family), or an
unknown speaker kept under a slug."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from symposia.catalog import Catalog, Voice
from symposia.errors import UnknownVoiceError
from symposia.importers.markdown import strip_md

__all__ = ["Speaker", "VoiceMapper", "slug"]

def slug(text: str) -> str:
    """``Claude Opus 4.6`` -> ``claude-opus-4-6``: the voice key of a model the catalog does not know."""
    s = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return s or "unknown"


@dataclass(frozen=True)
class Speaker:
    """Who a name in a file stands for: a catalog voice, or an unknown model kept under a slug."""

    voice: str
    name: str  # display name: the catalog's, or the name as the file wrote it
    family: str
    model: str  # the model id the file gave ("" if none)
    mapped: bool
    written: str  # the name exactly as the file wrote it

    def meta(self) -> dict[str, Any]:
        out: dict[str, Any] = {"family": self.family}
        if self.written and self.written != self.name:
            out["name_in_file"] = self.written
        if not self.mapped:
            out["unmapped"] = True
        return out


_MODEL_ID = re.compile(r"^[\w.-]+/[\w.:-]+$")


class VoiceMapper:
    """Maps names and model ids found in files to catalog voices.

    Tries, in order: the model id (exact, then its last part as an alias); the name as a shortcut,
    alias or display name; the name without a parenthesis ("GLM 4.7 (Z-AI)"), with it joined
    ("DeepSeek (v3)" -> "DeepSeek v3"), or the parenthesis alone when it is a model id; the name
    shortened by trailing words without digits ("Grok 4.1 Fast Beta"); a family name with one voice.
    A version never gets dropped: "GLM 4.6" is not GLM 4.7. Anything else is kept, unmapped.
    """

    def __init__(self, catalog: Catalog, hints: Iterable[str] = ()) -> None:
        self.catalog = catalog
        self.hints = list(hints)  # shortcuts already in the session: they settle a family name

    def _lookup(self, name: str) -> Voice | None:
        name = name.strip()
        if not name:
            return None
        try:
            return self.catalog.voice(name)
        except UnknownVoiceError:
            return None

    def by_model(self, model: str) -> Voice | None:
        key = model.strip().casefold()
        if not key:
            return None
        for v in self.catalog.voices.values():
            if v.model.casefold() == key:
                return v
        last = key.rsplit("/", 1)[-1].split(":", 1)[0]
        for v in self.catalog.voices.values():
            if v.model.casefold().rsplit("/", 1)[-1] == last:
                return v
        return self.catalog.by_alias(last)

    def _by_name(self, written: str) -> tuple[Voice | None, str]:
        """The voice for a written name, and a model id found inside it (in a parenthesis)."""
        name = strip_md(written)
        name = re.sub(r"['\u2019]s$", "", name).strip()
        model = ""
        paren = re.search(r"\(([^)]*)\)", name)
        inner = paren.group(1).strip() if paren else ""
        outer = (name[: paren.start()] + name[paren.end():]).strip() if paren else name
        if inner and _MODEL_ID.match(inner):
            model = inner
        candidates = [name, outer]
        if inner:
            candidates.append(f"{outer} {inner}")
        for sep in (" — ", " – ", " - ", ": "):
            if sep in outer:
                candidates.append(outer.split(sep, 1)[0])
        for c in candidates:
            v = self._lookup(c)
            if v is not None:
                return v, model
        if model:
            v = self.by_model(model)
            if v is not None:
                return v, model
        words = outer.split()
        while len(words) > 1 and not re.search(r"\d", words[-1]):
            words.pop()
            v = self._lookup(" ".join(words))
            if v is not None:
                return v, model
        if not re.search(r"\d", outer):
            family = [v for v in self.catalog.voices.values() if v.family.casefold() == outer.casefold()]
            hinted = [v for v in family if v.shortcut in self.hints]
            if len(hinted) == 1:
                return hinted[0], model
            if len(family) == 1:
                return family[0], model
        return None, model

    def resolve(self, written: str, model: str = "") -> Speaker:
        """The speaker a name (and/or model id) in a file stands for; never fails."""
        written = strip_md(written)
        voice: Voice | None = self.by_model(model) if model else None
        name_voice, inner_model = self._by_name(written) if written else (None, "")
        model = model or inner_model
        if voice is None:
            voice = name_voice
        if voice is not None:
            return Speaker(voice.shortcut, voice.name, voice.family, model, True, written)
        base = written or model.rsplit("/", 1)[-1]
        display = re.sub(r"\s*\([^)]*\)\s*", " ", base).strip() or base
        key = slug(model.rsplit("/", 1)[-1]) if model and not written else slug(display)
        return Speaker(key, display, display.split()[0] if display.split() else display, model, False, written)
