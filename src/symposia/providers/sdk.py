"""Errors as data: tables from a client library's exception classes to our :class:`ProviderError`.

The ``map_exceptions`` idea of httpx: a caller lists the exception classes it may meet with the rule
that makes our :class:`~symposia.errors.ProviderError`, and :func:`map_exceptions` applies the rule of
the most specific class an exception belongs to. The streaming providers' table (httpx and the SSE
parser) is :data:`symposia.providers.streaming.WIRE_ERRORS`; the batch clients, which go through the
official SDKs, share the rules of :func:`sdk_error_table` (both SDKs are generated from one template).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from symposia.errors import ProviderError
from symposia.providers.retry import (
    connection_error,
    describe_cause,
    response_body,
    status_error,
    timeout_error,
    transport_errors,
)
from symposia.redact import redact

__all__ = ["ErrorRule", "ErrorTable", "malformed_rule", "map_exception", "map_exceptions", "sdk_error_table",
           "timeout_rule", "transport_rule"]

ErrorRule = Callable[[str, Any], ProviderError]
"""Makes our error from (provider name, the SDK's exception)."""
ErrorTable = Mapping[type[BaseException], ErrorRule]


def map_exception(table: ErrorTable, provider: str, exc: BaseException) -> ProviderError | None:
    """Our error for ``exc`` by the rule of its most specific class in ``table``; None if none applies."""
    for cls in type(exc).__mro__:
        rule = table.get(cls)
        if rule is not None:
            return rule(provider, exc)
    return None


@contextlib.contextmanager
def map_exceptions(table: ErrorTable, provider: str) -> Iterator[None]:
    """Re-raise any exception ``table`` knows as our ProviderError (chained); let others through."""
    try:
        yield
    except ProviderError:
        raise
    except Exception as exc:
        mapped = map_exception(table, provider, exc)
        if mapped is None:
            raise
        raise mapped from exc


def _status(provider: str, exc: Any) -> ProviderError:
    """An HTTP error response, or (status 2xx) an error event inside a stream that began with 200."""
    status: int | None = exc.status_code
    if status is not None and 200 <= status < 300:
        status, body = None, exc.body  # classify by the error type the event names
    else:
        body = response_body(exc.response, exc.body)
    return status_error(provider, status, body if isinstance(body, Mapping | str) else None,
                        exc.response.headers, fallback=redact(exc.message))


def _in_stream(provider: str, exc: Any) -> ProviderError:
    """An SDK ``APIError`` without a response: an ``error`` object inside a 200 stream."""
    return status_error(provider, None, exc.body if isinstance(exc.body, Mapping) else None,
                        fallback=redact(exc.message))


def transport_rule(provider: str, exc: Any) -> ProviderError:
    return connection_error(provider, describe_cause(exc))


def timeout_rule(provider: str, exc: Any) -> ProviderError:
    return timeout_error(provider, "the HTTP client timed out")


def malformed_rule(provider: str, exc: Any) -> ProviderError:
    return ProviderError("the stream carried malformed data", provider=provider, retryable=True,
                         kind="stream_error")


def sdk_error_table(sdk: Any) -> dict[type[BaseException], ErrorRule]:
    """The rules for an SDK module with the Stainless exception classes (``openai``, ``anthropic``)."""
    table: dict[type[BaseException], ErrorRule] = {
        sdk.APITimeoutError: timeout_rule,
        sdk.APIConnectionError: transport_rule,
        sdk.APIStatusError: _status,
        sdk.APIError: _in_stream,
        json.JSONDecodeError: malformed_rule,
    }
    table.update(dict.fromkeys(transport_errors(), transport_rule))
    return table
