"""OpenAI's Batch API through the official ``openai`` SDK: a JSONL file of chat-completion requests,
uploaded with ``purpose="batch"``, one batch per file, results in an output file and an error file.

The batch carries our tag as ``metadata["symposia_tag"]`` so that a batch submitted just before the
process died (or whose answer was lost) is found again by that tag (:meth:`OpenAIBatchClient.candidates`)
instead of being submitted twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import openai

from symposia.errors import ProviderError
from symposia.providers.batch import BatchState, SdkBatchClient
from symposia.providers.openai_compat import DEFAULT_BASE_URL, chat_body, map_finish, usage_from_dict
from symposia.providers.retry import status_error
from symposia.providers.sdk import map_exception, sdk_error_table
from symposia.records import TurnRequest, TurnResult

__all__ = ["OpenAIBatchClient", "parse_output_line"]

ENDPOINT: Literal["/v1/chat/completions"] = "/v1/chat/completions"
_ERRORS = sdk_error_table(openai)
_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
_LINE_ERRORS = {"batch_expired": "expired", "batch_cancelled": "cancelled"}


def parse_output_line(provider: str, obj: Mapping[str, Any], model: str) -> TurnResult | ProviderError:
    """One line of an output or error file as a result, or as the failure it reports."""
    response = obj.get("response")
    error = obj.get("error")
    if isinstance(response, Mapping) and response.get("status_code") == 200:
        body = response.get("body")
        body = body if isinstance(body, Mapping) else {}
        choices = body.get("choices") or [{}]
        choice = choices[0] if isinstance(choices[0], Mapping) else {}
        raw_message = choice.get("message")
        message: Mapping[str, Any] = raw_message if isinstance(raw_message, Mapping) else {}
        reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
        usage = body.get("usage")
        return TurnResult(
            text=str(message.get("content") or ""), reasoning=str(reasoning),
            finish_reason=map_finish(choice.get("finish_reason")), model_requested=model,
            model_reported=body.get("model"), request_id=response.get("request_id") or body.get("id"),
            usage=usage_from_dict(usage) if isinstance(usage, Mapping) else usage_from_dict({}),
        )
    if isinstance(response, Mapping):
        status = response.get("status_code")
        err_body = response.get("body")
        return status_error(provider, status if isinstance(status, int) else None,
                            err_body if isinstance(err_body, Mapping | str) else None)
    code = str(error.get("code")) if isinstance(error, Mapping) else "unknown"
    text = str(error.get("message")) if isinstance(error, Mapping) else "the batch returned no result"
    return ProviderError(f"batch request {_LINE_ERRORS.get(code, 'failed')}: {text}", provider=provider,
                         retryable=True, kind=f"batch_{_LINE_ERRORS.get(code, 'failed')}", code=code)


class OpenAIBatchClient(SdkBatchClient):
    """Batches on one OpenAI-compatible endpoint that implements ``/v1/files`` and ``/v1/batches``."""

    def _new_client(self) -> openai.AsyncOpenAI:
        t = self.spec.timeouts
        return openai.AsyncOpenAI(api_key=self._api_key, base_url=self.spec.base_url or DEFAULT_BASE_URL,
                                  max_retries=3, timeout=openai.Timeout(t.total, connect=t.connect),
                                  default_headers=dict(self.spec.headers) or None)

    def _map_error(self, exc: Exception) -> ProviderError | None:
        return map_exception(_ERRORS, self.spec.name, exc)

    def line(self, custom_id: str, request: TurnRequest) -> dict[str, Any]:
        return {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": chat_body(request)}

    tagged = True

    async def submit(self, lines: Sequence[dict[str, Any]], tag: str) -> str:
        data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()
        client = self._sdk()
        upload = await self._call("uploading the batch file", client.files.create(
            file=(f"{tag}.jsonl", data), purpose="batch"))
        # not retried by the SDK: a create whose answer was lost may have made the batch; our tag finds it
        batch = await self._call("creating the batch", client.with_options(max_retries=0).batches.create(
            input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h",
            metadata={"symposia_tag": tag}))
        return str(batch.id)

    async def candidates(self, tag: str, since_unix: float, count: int) -> list[str]:
        """The batches carrying ``metadata["symposia_tag"] == tag`` (newest first, back to a minute
        before ``since_unix``)."""
        client = self._sdk()
        page = await self._call("listing batches", client.batches.list(limit=100))
        found: list[str] = []
        async for batch in page:
            if batch.created_at < since_unix - 60:
                break
            if (batch.metadata or {}).get("symposia_tag") == tag:
                found.append(str(batch.id))
        return found

    async def state(self, remote_id: str) -> BatchState:
        b = await self._call(f"polling batch {remote_id}", self._sdk().batches.retrieve(remote_id))
        counts = b.request_counts
        return BatchState(remote_id, "ended" if b.status in _ENDED else "running", str(b.status),
                          {"total": counts.total, "completed": counts.completed, "failed": counts.failed}
                          if counts is not None else {})

    async def results(self, remote_id: str, models: Mapping[str, str]) -> dict[str, TurnResult | ProviderError]:
        client = self._sdk()
        b = await self._call(f"reading batch {remote_id}", client.batches.retrieve(remote_id))
        out: dict[str, TurnResult | ProviderError] = {}
        if b.status == "failed":  # the input was refused as a whole: every request failed with it
            reasons = "; ".join(f"{e.code}: {e.message}" for e in (b.errors.data or [])) if b.errors else ""
            failure = ProviderError(f"the batch was refused: {reasons or 'no reason given'}",
                                    provider=self.spec.name, retryable=False, kind="bad_request")
            return dict.fromkeys(models, failure)
        for file_id in (b.output_file_id, b.error_file_id):
            if not file_id:
                continue
            content = await self._call(f"downloading {file_id}", client.files.content(file_id))
            for raw in content.text.splitlines():
                if not raw.strip():
                    continue
                obj = json.loads(raw)
                cid = str(obj.get("custom_id"))
                out[cid] = parse_output_line(self.spec.name, obj, models.get(cid, ""))
        return out

    async def cancel(self, remote_id: str) -> None:
        await self._call(f"cancelling batch {remote_id}", self._sdk().batches.cancel(remote_id))
