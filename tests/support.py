"""User config files for tests: voices served by the fake provider server or by the scripted provider.

Tests configure voices exactly as a user would — a ``config.toml`` in the (isolated) user config dir —
so the catalog's real loading and merging is exercised every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# (shortcut, model id, display name[, family])
VoiceSpec = tuple[str, str, str] | tuple[str, str, str, str]


def write_user_config(home: Path, text: str) -> Path:
    path = home / "config" / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def voice_tables(provider: str, voices: Sequence[VoiceSpec]) -> str:
    out = ""
    for v in voices:
        shortcut, model, name = v[0], v[1], v[2]
        out += f'\n[voices.{shortcut}]\nprovider = "{provider}"\nmodel = "{model}"\nname = "{name}"\n'
        if len(v) == 4:
            out += f'family = "{v[3]}"\n'
    return out


def numbered(voices: Sequence[str], prefix: str = "fake/") -> list[VoiceSpec]:
    """``alpha`` -> ("alpha", "fake/alpha", "Alpha 1", "Alpha"): the shape the council/study/web tests use."""
    return [(v, f"{prefix}{v}", f"{v.title()} 1", v.title()) for v in voices]


def fake_config(home: Path, base_url: str, voices: Sequence[VoiceSpec], *, max_attempts: int = 2,
                concurrency: int | None = None, extra: str = "") -> Path:
    """Voices on a ``symposia.testing.FakeServer`` (OpenAI wire), keyed by ``FAKE_API_KEY``."""
    text = f'[providers.fake]\nkind = "openai"\nbase_url = "{base_url}"\nkey_env = "FAKE_API_KEY"\n'
    text += f"max_attempts = {max_attempts}\n"
    if concurrency is not None:
        text += f"concurrency = {concurrency}\n"
    return write_user_config(home, text + extra + voice_tables("fake", voices))


def scripted_config(home: Path, script: str, voices: Sequence[VoiceSpec]) -> Path:
    """Voices answered by the scripted provider from ``script`` (TOML); returns the script's path."""
    path = home / "script.toml"
    path.write_text(script, encoding="utf-8")
    write_user_config(home, f'[providers.script]\nkind = "scripted"\noptions = {{ path = "{path}" }}\n'
                      + voice_tables("script", voices))
    return path


def drop_provenance(markdown: str) -> str:
    """A transcript without its provenance block (session id, date, versions), for layout comparisons."""
    start = markdown.find("## Provenance\n")
    if start < 0:
        return markdown
    end = markdown.find("\n\n---\n\n", start)
    return markdown[:start] + (markdown[end + len("\n\n---\n\n"):] if end >= 0 else "").lstrip("\n") \
        if end >= 0 else markdown[:start].rstrip("-\n") + "\n"


def stable_provenance(markdown: str) -> str:
    """A transcript with its session id and date replaced by placeholders (golden files)."""
    import re

    markdown = re.sub(r"(- \*\*Session:\*\* )`[^`]+`", r"\1`SESSION`", markdown, count=1)
    return re.sub(r"(- \*\*Date:\*\* )\d{4}-\d{2}-\d{2}", r"\1DATE", markdown, count=1)
