"""Which failures to retry, how long to wait, and how to turn a vendor's error into ours.

Pure functions and a small policy object: no SDK imports here, so the rules can be read and tested
on their own. The vendor rules come from docs/PROVIDERS.md:

* retry: connection errors, timeouts, 408, 409, 429, 500, 502, 503, 504, Anthropic 529, errors
  reported inside a 200 stream, and DashScope ``Throttling.AllocationQuota`` (a transient
  throttle, although its wording says "insufficient_quota");
* never retry: 400/422 (the request is wrong), 401/403 (the key is wrong or the content refused),
  402 (no credit), 404 (no such model), moderation refusals (DashScope ``DataInspectionFailed``,
  OpenRouter 403), Anthropic's ``enforced_spend_limit_reached`` 429, and OpenAI-style
  ``insufficient_quota`` 429s (the account is out of credit: waiting does not help).
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from symposia.errors import ProviderError
from symposia.redact import redact

# Codes that look like quota/rate problems but are transient throttles (DashScope).
_THROTTLE_CODES = frozenset({"throttling", "throttling.allocationquota", "throttling.ratequota",
                             "throttling.user"})
# Content refusals: retrying sends the same text to the same filter.
_MODERATION_CODES = frozenset({"datainspectionfailed", "data_inspection_failed", "content_filter",
                               "moderation", "moderation_error", "content_flagged",
                               "content_policy_violation", "flagged"})
# The account has no money left: waiting does not help.
_SPEND_CODES = frozenset({"enforced_spend_limit_reached", "insufficient_quota", "billing_hard_limit_reached",
                          "contract_spend_limit_reached", "insufficient_credits"})

_STATUS_KINDS: dict[int, tuple[str, bool]] = {
    400: ("bad_request", False),
    401: ("auth", False),
    402: ("payment_required", False),
    403: ("forbidden", False),
    404: ("not_found", False),
    408: ("timeout", True),
    409: ("conflict", True),
    413: ("bad_request", False),
    422: ("bad_request", False),
    429: ("rate_limited", True),
    500: ("server_error", True),
    502: ("server_error", True),
    503: ("server_error", True),
    504: ("timeout", True),
    529: ("overloaded", True),
}


def error_codes(body: Mapping[str, Any] | str | None) -> list[str]:
    """Every code/type string an error body carries (OpenAI, Anthropic, DashScope, OpenRouter shapes).

    ``body`` may be the whole JSON body (``{"error": {...}}``) or its inner ``error`` object, as the
    SDKs hand either one over.
    """
    if not isinstance(body, Mapping):
        return []
    out: list[str] = []
    layers: list[Mapping[str, Any]] = [body]
    inner = body.get("error")
    if isinstance(inner, Mapping):
        layers.append(inner)
    for layer in layers:
        for key in ("code", "error_code", "type"):
            v = layer.get(key)
            if isinstance(v, str | int) and not isinstance(v, bool):
                out.append(str(v))
        details = layer.get("details")
        if isinstance(details, Mapping):  # Anthropic: error.details.error_code
            v = details.get("error_code")
            if isinstance(v, str):
                out.append(v)
        meta = layer.get("metadata")
        if isinstance(meta, Mapping) and meta.get("reasons"):  # OpenRouter moderation metadata
            out.append("moderation")
    return out


def error_message(body: Mapping[str, Any] | str | None, fallback: str = "") -> str:
    """The provider's human message from an error body, else ``fallback``; always redacted."""
    msg: Any = None
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            msg = inner.get("message")
        elif isinstance(inner, str):
            msg = inner
        if not msg:
            msg = body.get("message")
    elif isinstance(body, str) and body.strip():
        msg = body.strip()[:500]
    if not isinstance(msg, str) or not msg:
        msg = fallback
    return redact(msg)


def _lower_set(codes: Iterable[str]) -> set[str]:
    return {c.lower() for c in codes}


def classify(status: int | None, body: Mapping[str, Any] | str | None) -> tuple[str, bool]:
    """Return ``(kind, retryable)`` for a failed call.

    ``status`` is the HTTP status, or ``None`` for an error reported inside a stream that began with
    200 (those are retryable unless the body names a refusal or a spending limit).
    """
    codes = _lower_set(error_codes(body))
    text = body.lower() if isinstance(body, str) else ""
    if any(c.startswith("throttling") for c in codes) or "throttling.allocationquota" in text:
        return "rate_limited", True
    if codes & _MODERATION_CODES or "datainspectionfailed" in text:
        return "moderation", False
    if status in (None, 429) and (codes & _SPEND_CODES or "enforced_spend_limit_reached" in text):
        return "spend_limit", False
    if status is None:
        if "overloaded_error" in codes:
            return "overloaded", True
        if "rate_limit_error" in codes:
            return "rate_limited", True
        if codes & {"invalid_request_error", "authentication_error", "permission_error"}:
            return "bad_request", False
        return "stream_error", True
    if status == 403 and ("moderation" in text or "flagged" in text):
        return "moderation", False
    known = _STATUS_KINDS.get(status)
    if known is not None:
        return known
    if status >= 500:
        return "server_error", True
    if 200 <= status < 300:  # an error object inside a 200 response (a stream that failed)
        return "stream_error", True
    return "http_error", False


def parse_retry_after(headers: Mapping[str, str] | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date), if given."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms is not None:
        try:
            v = float(ms) / 1000.0
        except ValueError:
            v = math.nan
        if math.isfinite(v) and v >= 0:
            return v
    ra = lowered.get("retry-after")
    if ra is None:
        return None
    ra = ra.strip()
    try:
        v = float(ra)
    except ValueError:
        try:
            when = parsedate_to_datetime(ra)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    return v if math.isfinite(v) and v >= 0 else None


@dataclass(frozen=True)
class RetryPolicy:
    """Whole-turn retries: exponential backoff from ``base`` doubling per attempt, plus up to
    ``jitter`` (a fraction) of random extra, at most ``cap`` seconds; but never less than the
    server's Retry-After, which is honoured up to ``max_retry_after`` seconds (a longer one makes
    the turn fail at once, saying so, rather than hang or hammer)."""

    max_attempts: int = 4
    base: float = 0.5
    cap: float = 30.0
    jitter: float = 0.1
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"invalid max_attempts {self.max_attempts}, expected >= 1")
        if self.base < 0 or self.cap < 0 or self.jitter < 0 or self.max_retry_after < 0:
            raise ValueError("invalid retry policy: base, cap and jitter must be >= 0")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to sleep after failed attempt number ``attempt`` (1 for the first)."""
        backoff = self.base * (2.0 ** max(0, attempt - 1))
        if self.jitter:
            backoff *= 1.0 + random.random() * self.jitter
        backoff = min(backoff, self.cap)
        if retry_after is not None and retry_after > backoff:
            return min(retry_after, self.max_retry_after)
        return backoff


def status_error(provider: str, status: int | None, body: Mapping[str, Any] | str | None,
                 headers: Mapping[str, str] | None = None, fallback: str = "") -> ProviderError:
    """A :class:`ProviderError` for an HTTP error (or a 200 stream's error event), classified."""
    kind, retryable = classify(status, body)
    codes = error_codes(body)
    code = next((c for c in codes if c.lower() not in {"error", "invalid_request_error"}), None)
    if code is None and codes:
        code = codes[0]
    message = error_message(body, fallback or (f"HTTP {status}" if status is not None else "stream error"))
    hint = _HINTS.get(kind)
    if hint and hint not in message:
        message = f"{message} ({hint})"
    return ProviderError(message, provider=provider, status=status, retryable=retryable, kind=kind,
                         code=redact(code) if code else None, retry_after=parse_retry_after(headers))


# Sent when a server needs no key: an explicit value stops the SDKs from falling back to
# $OPENAI_API_KEY / $ANTHROPIC_API_KEY, which would leak that key to whatever host base_url names.
NO_KEY = "no-key"


def transport_errors() -> tuple[type[BaseException], ...]:
    """Low-level network errors that can escape a client's own wrapping (e.g. mid-stream): httpx's (the
    streaming providers'), and httpx2's once an SDK has loaded it (the SDKs use it; it is not imported
    here for them, which would cost every council's start-up). Asked for when an error table is built,
    so a table built after an SDK loaded httpx2 includes its errors."""
    errs: list[type[BaseException]] = [ConnectionError, EOFError]
    try:
        import httpx
    except ImportError:  # pragma: no cover - a core dependency
        pass
    else:
        errs.append(httpx.TransportError)
    httpx2 = sys.modules.get("httpx2")
    if httpx2 is not None:
        errs.append(httpx2.TransportError)
    try:
        import anyio

        errs += [anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError]
    except ImportError:
        pass
    return tuple(errs)


def response_body(response: Any, fallback: Any) -> Any:
    """The JSON (or text) body of an error response, else ``fallback`` (what the SDK parsed)."""
    try:
        return response.json()
    except Exception:
        try:
            text = response.text
        except Exception:
            return fallback
        return text if isinstance(text, str) and text.strip() else fallback


def describe_cause(exc: BaseException) -> str:
    """A short description of a transport failure, from the innermost exception."""
    inner: BaseException = exc
    while inner.__cause__ is not None:
        inner = inner.__cause__
    msg = str(inner) or type(inner).__name__
    if inner is not exc and str(exc):
        msg = f"{exc} ({msg})" if msg != str(exc) else msg
    return msg


_HINTS = {
    "auth": "check the API key",
    "payment_required": "the account has no credit left",
    "spend_limit": "the account's spending limit is reached",
    "not_found": "check the model id in the voice catalog",
    "moderation": "the provider's content filter refused the request",
}


def timeout_error(provider: str, what: str) -> ProviderError:
    """A retryable timeout; ``what`` says which limit fired, e.g. ``"no data for 120 s"``."""
    return ProviderError(f"timed out: {what}", provider=provider, retryable=True, kind="timeout")


def connection_error(provider: str, detail: str) -> ProviderError:
    """A retryable transport failure (refused, reset, dropped mid-stream)."""
    return ProviderError(redact(f"connection failed: {detail}"), provider=provider, retryable=True,
                         kind="connection")
