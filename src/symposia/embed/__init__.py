"""Offline sentence embeddings matching all-MiniLM-L6-v2 (int8 ONNX on onnxruntime; no torch, no download).

    from symposia.embed import Embedder, embed_texts, EMBED_DIM
    vecs = Embedder.default().embed(["text", ...])   # float32 (n, 384), unit rows
"""

from symposia.embed.model import (
    DEFAULT_BATCH_SIZE,
    EMBED_DIM,
    MAX_TOKENS,
    MODEL_ID,
    Embedder,
    chunk_text,
    count_tokens,
    embed_texts,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "EMBED_DIM",
    "MAX_TOKENS",
    "MODEL_ID",
    "Embedder",
    "chunk_text",
    "count_tokens",
    "embed_texts",
]
