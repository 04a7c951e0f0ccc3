"""Can a voice be used here, right now? Key present, local server listening, local model installed.

Checks are cheap and private: environment and files, ``importlib`` lookups, and a TCP connect
to loopback only (0.3 s). Nothing here ever contacts a remote host or shows a key.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from symposia.catalog.catalog import Catalog, Voice
from symposia.errors import ConfigError, MissingKeyError
from symposia.keys import resolve_key
from symposia.providers.base import ProviderSpec
from symposia.providers.local import model_for
from symposia.redact import redact

CONNECT_TIMEOUT_S = 0.3
LOCAL_EXTRA_HINT = "pip install 'symposia[local]'"


@dataclass(frozen=True)
class VoiceStatus:
    """Whether ``voice`` (a shortcut) can be called, and why (or why not) in a few words."""

    voice: str
    usable: bool
    reason: str


def voice_status(catalog: Catalog, voice: Voice | str) -> VoiceStatus:
    """The status of one voice (a Voice or a shortcut)."""
    v = voice if isinstance(voice, Voice) else catalog.voice(voice)
    usable, reason = provider_status(catalog.provider_for(v), v.model)
    return VoiceStatus(v.shortcut, usable, reason)


def all_statuses(catalog: Catalog) -> list[VoiceStatus]:
    """The status of every voice, in catalog order; each provider is checked once."""
    seen: dict[tuple[str, str], tuple[bool, str]] = {}
    out: list[VoiceStatus] = []
    for v in catalog.voices.values():
        spec = catalog.provider_for(v)
        key = (v.provider, v.model if spec.kind == "local" else "")  # local models differ per voice
        if key not in seen:
            seen[key] = provider_status(spec, v.model)
        usable, reason = seen[key]
        out.append(VoiceStatus(v.shortcut, usable, reason))
    return out


def provider_status(spec: ProviderSpec, model: str | None = None) -> tuple[bool, str]:
    """(usable, reason) for one provider (for a local one: for its ``model``, whose package must be installed)."""
    if spec.kind == "scripted":
        path = spec.options.get("path")
        if path and not Path(str(path)).expanduser().exists():
            return False, f"script file {path} not found"
        return True, "scripted replies"
    if spec.kind == "local":
        package = model_for(spec, model or "").package
        if not (_installed("llama_cpp") and _installed(package)):
            return False, LOCAL_EXTRA_HINT
        return True, "local model installed"
    if spec.kind == "llm":
        if not _installed("llm"):
            return False, "the `llm` package is not installed: pip install 'symposia[local]' (or llm + a plugin)"
        return True, "llm plugins (the model must be one `llm models` lists)"

    try:
        key = resolve_key(spec)
    except MissingKeyError as exc:
        return False, f"{exc.env_var} not set"
    except ConfigError as exc:  # an unsafe or broken keys.toml: say so, it blocks every key
        return False, redact(str(exc))

    origin = _loopback_origin(spec.base_url)
    if origin is not None:
        host, port, shown = origin
        if not _listening(host, port):
            return False, f"no server at {shown}"
        return True, f"server at {shown}"
    if key is not None and spec.key_env:
        return True, f"{spec.key_env} set"
    return True, "ready"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package raises instead of returning None
        return False


def _loopback_origin(base_url: str | None) -> tuple[str, int, str] | None:
    """(host, port, "scheme://host:port") when ``base_url`` points at this machine, else None."""
    if not base_url:
        return None
    parts = urlsplit(base_url)
    host = parts.hostname
    if not host or not _is_loopback_name(host):
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return host, port, f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _is_loopback_name(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listening(host: str, port: int) -> bool:
    """True if something accepts a TCP connection at host:port; only loopback addresses are tried."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return False
    for family, kind, proto, _, addr in infos:
        try:
            if not ipaddress.ip_address(str(addr[0]).split("%")[0]).is_loopback:
                continue
        except ValueError:
            continue
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(CONNECT_TIMEOUT_S)
            try:
                sock.connect(addr)
            except OSError:
                continue
            return True
    return False
