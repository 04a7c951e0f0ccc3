"""Anthropic's Message Batches API through the official ``anthropic`` SDK: requests inline, results as
a JSONL stream (``succeeded`` / ``errored`` / ``canceled`` / ``expired`` per ``custom_id``).

Message Batches carry no metadata, so a batch whose id was lost to a crash can only be matched by when
it was created and how many requests it holds (:meth:`AnthropicBatchClient.candidates`); the executor
adopts a match only when it is the only one, and uses its results only when their custom_ids are exactly
the job's (:mod:`symposia.dialogue.batching`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import anthropic

from symposia.errors import ProviderError
from symposia.providers.anthropic_native import DEFAULT_BASE_URL, messages_body, stop_reason
from symposia.providers.batch import BatchState, SdkBatchClient
from symposia.providers.retry import status_error
from symposia.providers.sdk import map_exception, sdk_error_table
from symposia.records import TurnRequest, TurnResult, Usage

__all__ = ["AnthropicBatchClient", "parse_result"]

_ERRORS = sdk_error_table(anthropic)


def parse_result(provider: str, result: Mapping[str, Any], model: str) -> TurnResult | ProviderError:
    """One entry of a batch's results (``{"type": "succeeded", "message": ...}`` etc.)."""
    kind = result.get("type")
    if kind == "succeeded" and isinstance(result.get("message"), Mapping):
        msg = result["message"]
        blocks = [b for b in msg.get("content") or [] if isinstance(b, Mapping)]
        usage = msg.get("usage") if isinstance(msg.get("usage"), Mapping) else {}
        prompt = sum(int(usage.get(k) or 0) for k in ("input_tokens", "cache_creation_input_tokens",
                                                      "cache_read_input_tokens"))
        return TurnResult(
            text="".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text"),
            reasoning="".join(str(b.get("thinking", "")) for b in blocks if b.get("type") == "thinking"),
            finish_reason=stop_reason(msg.get("stop_reason")), model_requested=model,
            model_reported=msg.get("model"), request_id=msg.get("id"),
            usage=Usage(prompt_tokens=prompt if usage else None, completion_tokens=usage.get("output_tokens")),
        )
    if kind == "errored":
        error = result.get("error")
        return status_error(provider, None, error if isinstance(error, Mapping) else None,
                            fallback="the batch request failed")
    what = "expired" if kind == "expired" else "cancelled" if kind == "canceled" else "failed"
    return ProviderError(f"batch request {what} before it ran", provider=provider, retryable=True,
                         kind=f"batch_{what}", code=str(kind))


class AnthropicBatchClient(SdkBatchClient):
    """Message Batches on Anthropic (or any server speaking its wire format)."""

    def _new_client(self) -> anthropic.AsyncAnthropic:
        t = self.spec.timeouts
        return anthropic.AsyncAnthropic(api_key=self._api_key, base_url=self.spec.base_url or DEFAULT_BASE_URL,
                                        max_retries=3, timeout=anthropic.Timeout(t.total, connect=t.connect),
                                        default_headers=dict(self.spec.headers) or None)

    def _map_error(self, exc: Exception) -> ProviderError | None:
        return map_exception(_ERRORS, self.spec.name, exc)

    def line(self, custom_id: str, request: TurnRequest) -> dict[str, Any]:
        return {"custom_id": custom_id, "params": messages_body(request)}

    tagged = False

    async def submit(self, lines: Sequence[dict[str, Any]], tag: str) -> str:
        # not retried by the SDK: a create whose answer was lost may have made the batch (see candidates)
        batch = await self._call("creating the message batch",
                                 self._sdk().with_options(max_retries=0).messages.batches.create(requests=list(lines)))
        return str(batch.id)

    async def candidates(self, tag: str, since_unix: float, count: int) -> list[str]:
        """Every batch created within a few seconds before ``since_unix`` and the submission's timeout
        after it, holding ``count`` requests. Message Batches carry no metadata, so this is a guess
        that the caller checks: a batch's results must name exactly the job's custom_ids."""
        page = await self._call("listing message batches", self._sdk().messages.batches.list(limit=100))
        latest = since_unix + self.spec.timeouts.total + 60
        found: list[str] = []
        async for b in page:
            created = b.created_at.timestamp() if isinstance(b.created_at, datetime) else 0.0
            if created < since_unix - 60:
                break
            c = b.request_counts
            total = c.processing + c.succeeded + c.errored + c.canceled + c.expired
            if since_unix - 5 <= created <= latest and total == count:
                found.append(str(b.id))
        return found

    async def state(self, remote_id: str) -> BatchState:
        b = await self._call(f"polling message batch {remote_id}", self._sdk().messages.batches.retrieve(remote_id))
        c = b.request_counts
        return BatchState(remote_id, "ended" if b.processing_status == "ended" else "running",
                          str(b.processing_status),
                          {"processing": c.processing, "succeeded": c.succeeded, "errored": c.errored,
                           "canceled": c.canceled, "expired": c.expired})

    async def results(self, remote_id: str, models: Mapping[str, str]) -> dict[str, TurnResult | ProviderError]:
        stream = await self._call(f"reading results of {remote_id}", self._sdk().messages.batches.results(remote_id))
        out: dict[str, TurnResult | ProviderError] = {}
        async for entry in stream:
            cid = str(entry.custom_id)
            out[cid] = parse_result(self.spec.name, entry.result.model_dump(), models.get(cid, ""))
        return out

    async def cancel(self, remote_id: str) -> None:
        await self._call(f"cancelling message batch {remote_id}", self._sdk().messages.batches.cancel(remote_id))
