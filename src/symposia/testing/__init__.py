"""Test support: a fake LLM provider on loopback speaking the OpenAI and Anthropic wire formats.

    with FakeServer() as srv:
        srv.enqueue(Reply(text="hello", reasoning="hmm"), Reply(fault=Fault("http_429", retry_after=1)))
        client = openai.OpenAI(base_url=srv.openai_base_url, api_key="test")

Run ``python -m symposia.testing --port 8765`` to point a real config at it.
"""

from __future__ import annotations

from symposia.testing.fake_server import FAULT_KINDS, BatchSettings, FakeServer, Fault, RecordedRequest, Reply

__all__ = ["FAULT_KINDS", "BatchSettings", "FakeServer", "Fault", "RecordedRequest", "Reply"]
