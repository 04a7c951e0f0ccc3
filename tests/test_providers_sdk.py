"""The SDK error table: the most specific class an exception belongs to decides, whatever the table's order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anthropic
import httpx2
import openai
import pytest

from symposia.errors import ProviderError
from symposia.providers.retry import transport_errors
from symposia.providers.sdk import map_exception, map_exceptions, sdk_error_table


@pytest.mark.parametrize("sdk", [openai, anthropic])
def test_most_specific_rule_wins_in_any_order(sdk: object) -> None:
    table = sdk_error_table(sdk)
    backwards = dict(reversed(list(table.items())))
    request = httpx2.Request("POST", "http://127.0.0.1/")  # both SDKs sit on httpx2
    timeout = sdk.APITimeoutError(request=request)  # type: ignore[attr-defined]  # also an APIConnectionError
    refused = sdk.APIConnectionError(message="refused", request=request)  # type: ignore[attr-defined]
    for t in (table, backwards):
        e = map_exception(t, "p", timeout)
        assert e is not None and (e.kind, e.retryable) == ("timeout", True)
        c = map_exception(t, "p", refused)
        assert c is not None and c.kind == "connection"
    bad = map_exception(table, "p", json.JSONDecodeError("x", "doc", 0))
    assert bad is not None and bad.kind == "stream_error" and bad.retryable
    assert map_exception(table, "p", KeyError("not ours")) is None
    assert all(map_exception(table, "p", cls("x")) is not None for cls in (ConnectionError, EOFError))
    assert set(transport_errors()) <= set(table)


def test_map_exceptions_chains_the_sdk_error_and_lets_unknown_ones_through() -> None:
    table = sdk_error_table(openai)
    with pytest.raises(ProviderError) as info, map_exceptions(table, "openrouter"):
        raise ConnectionResetError("reset by peer")
    assert info.value.kind == "connection" and isinstance(info.value.__cause__, ConnectionResetError)
    assert "reset by peer" in str(info.value) and info.value.provider == "openrouter"
    with pytest.raises(KeyError), map_exceptions(table, "openrouter"):
        raise KeyError("mine")


def test_an_sdk_table_built_after_the_streaming_path_knows_httpx2s_transport_errors() -> None:
    """The streaming providers import the table machinery before any SDK exists in the process; a batch
    client's table, built once the SDK (and its httpx2) is loaded, must still know httpx2's errors."""
    code = ("import symposia.providers.streaming, sys\n"
            "assert 'httpx2' not in sys.modules\n"
            "import httpx2, openai\n"
            "from symposia.providers.sdk import sdk_error_table\n"
            "assert httpx2.TransportError in sdk_error_table(openai)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")})
    assert done.returncode == 0, done.stderr
