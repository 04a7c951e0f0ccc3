"""Prompt templates: a saved system prompt and question frame, used with ``-T NAME``.

A template is ``templates/NAME.toml`` in the user's config directory::

    system = "You are a careful philosopher. Answer in three sentences."
    prompt = "Consider this question from the inside: {input}"   # optional; {input} is the question
    params = { temperature = 0.9 }                                   # optional

``symposia templates edit NAME`` creates or opens one in $EDITOR; ``templates list`` lists them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from symposia import paths
from symposia.errors import ConfigError
from symposia.records import Params

__all__ = ["STARTER", "Template", "load_template", "template_names", "template_path", "templates_dir"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
STARTER = '''# A symposia template (used with -T NAME). Every field is optional.
system = ""
# {input} is replaced by the question; without a prompt the question is sent as it is.
prompt = "{input}"
# params = { temperature = 0.7, max_tokens = 400 }
'''


@dataclass(frozen=True)
class Template:
    name: str
    system: str | None = None
    prompt: str | None = None
    params: Params = field(default_factory=Params)

    def question(self, text: str) -> str:
        """The question as the template frames it."""
        return self.prompt.replace("{input}", text) if self.prompt else text


def templates_dir() -> Path:
    return paths.config_dir() / "templates"


def template_path(name: str) -> Path:
    if not _NAME.match(name):
        raise ConfigError(f"invalid template name {name!r}: letters, digits, '.', '_' and '-' only")
    return templates_dir() / f"{name}.toml"


def template_names() -> list[str]:
    d = templates_dir()
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


def load_template(name: str) -> Template:
    path = template_path(name)
    if not path.exists():
        known = ", ".join(template_names()) or "none yet"
        raise ConfigError(f"no template {name!r} (templates: {known}); create it with "
                          f"`symposia templates edit {name}`")
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+)", str(exc))
        raise ConfigError(f"invalid TOML: {exc}", path=path, line=int(m.group(1)) if m else None) from None
    unknown = sorted(set(data) - {"system", "prompt", "params"})
    if unknown:
        raise ConfigError(f"unknown field(s) {unknown}; a template has system, prompt and params", path=path)
    for key in ("system", "prompt"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"{key} must be a string", path=path, field=key)
    raw_params = data.get("params", {})
    if not isinstance(raw_params, dict):
        raise ConfigError("params must be a table, e.g. params = { temperature = 0.7 }", path=path,
                          field="params")
    try:
        params = Params.from_dict(raw_params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid params: {exc}", path=path, field="params") from None
    return Template(name, data.get("system") or None, data.get("prompt") or None, params)
